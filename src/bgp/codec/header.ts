/**
 * The 19-octet message header (RFC 4271 §4.1) and the framer that cuts a TCP byte stream into
 * whole messages. Header layout:
 *   marker  16 octets, all ones (kept for compatibility, RFC 4271 §4.1)
 *   length   2 octets, whole message including the header, 19..4096
 *   type     1 octet
 */
import { BgpError, HeaderSubcode, NotificationCode } from '../errors';
import { ErrorCode, MetalLbError } from '../../util/errors';
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './types';
import { Writer } from './writer';

const MARKER = Buffer.alloc(16, 0xff);

/** Start a message: marker, placeholder length, type. */
export function beginMessage(type: number, capacity = 64): Writer {
  const w = new Writer(capacity);
  w.bytes(MARKER);
  w.reserve(2);
  w.u8(type);
  return w;
}

/** Patch the length field and return the message; a message over 4096 octets is a bug in the caller. */
export function endMessage(w: Writer): Buffer {
  if (w.length > MAX_MESSAGE_LENGTH) {
    throw new MetalLbError(ErrorCode.BgpEncode, `BGP message of ${w.length} octets exceeds ${MAX_MESSAGE_LENGTH}`, {
      length: w.length,
    });
  }
  w.setU16(16, w.length);
  return w.finish();
}

function lengthData(buf: Buffer, at: number): Buffer {
  return Buffer.from(buf.subarray(at + 16, at + 18));
}

/**
 * Check the header at buf[at..]: marker and length bounds. Returns the message length.
 * RFC 4271 §6.1: a bad marker is 1/1, a length outside 19..4096 is 1/2 with the length as data.
 */
export function checkHeader(buf: Buffer, at: number): number {
  for (let i = 0; i < 16; i++) {
    if (buf[at + i] !== 0xff) {
      throw new BgpError(NotificationCode.MessageHeader, HeaderSubcode.ConnectionNotSynchronized, 'marker is not all ones');
    }
  }
  const length = buf.readUInt16BE(at + 16);
  if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH) {
    throw new BgpError(
      NotificationCode.MessageHeader,
      HeaderSubcode.BadMessageLength,
      `message length ${length} outside ${HEADER_LENGTH}..${MAX_MESSAGE_LENGTH}`,
      lengthData(buf, at),
    );
  }
  return length;
}

/** The header's length field as NOTIFICATION data, for per-type length errors (RFC 4271 §6.1). */
export function badLength(buf: Buffer, what: string): BgpError {
  return new BgpError(
    NotificationCode.MessageHeader,
    HeaderSubcode.BadMessageLength,
    `${what}: bad message length ${buf.length}`,
    lengthData(buf, 0),
  );
}

/**
 * Reassembles whole messages from arbitrary TCP chunks (sans-IO, like pg-protocol's parser).
 * After a header error the stream is unusable: RFC 4271 treats it as fatal, so the framer stays
 * failed and rethrows the same error. A push whose chunk held whole messages before the bad
 * header returns those first; check `error` after consuming them.
 */
export class Framer {
  private pending: Buffer = Buffer.alloc(0);
  private failed: BgpError | undefined;

  /** Feed bytes; returns every message completed so far (each a standalone Buffer). */
  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw this.failed;
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    let at = 0;
    try {
      while (data.length - at >= HEADER_LENGTH) {
        const length = checkHeader(data, at);
        if (data.length - at < length) break;
        out.push(data.subarray(at, at + length));
        at += length;
      }
    } catch (err) {
      this.failed = err as BgpError;
      // Messages before the bad header are whole and valid: hand them over (a NOTIFICATION the
      // peer sent just before garbage must still be read and logged); `error` then says the
      // stream failed, and the next push rethrows.
      if (out.length > 0) {
        this.pending = Buffer.alloc(0);
        return out;
      }
      throw err;
    }
    // Keep the tail as its own copy so the big chunk it came from can be freed.
    this.pending = at === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(at));
    return out;
  }

  /** The header error that failed the stream, once one has. */
  get error(): BgpError | undefined {
    return this.failed;
  }

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.pending.length;
  }
}
