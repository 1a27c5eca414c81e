/**
 * OPEN (RFC 4271 §4.2) and capabilities (RFC 5492). Body layout after the header:
 *   version 1, my AS 2, hold time 2, BGP identifier 4, opt param len 1, opt params
 * Each optional parameter is <type 1><len 1><value>; type 2 holds capabilities, each
 * <code 1><len 1><value>. We put every capability in one parameter (as FRR and GoBGP do)
 * and accept any split on input. Only syntax is checked here; version, peer AS, identifier
 * and hold time are semantic checks done by the FSM (RFC 4271 §6.2).
 */
import { BgpError, NotificationCode, OpenSubcode } from '../errors';
import { beginMessage, badLength, endMessage } from './header';
import { formatIpv4, parseIpv4 } from './prefix';
import { CapabilityCode, HEADER_LENGTH, MessageType } from './types';
import type { Capability, OpenMessage } from './types';
import type { Writer } from './writer';
import { ErrorCode, MetalLbError } from '../../util/errors';

/** Optional parameter type for capabilities (RFC 5492 §4). */
const PARAM_CAPABILITIES = 2;
/** Graceful restart flag bits in the 4-bit field (RFC 4724 §3, RFC 8538 §2) and per-AFI flag. */
const GR_RESTART = 0x8;
const GR_NOTIFICATION = 0x4;
const GR_FORWARDING = 0x80;

function openError(subcode: number, message: string, data?: Buffer): BgpError {
  return new BgpError(NotificationCode.OpenMessage, subcode, message, data);
}

function writeCapability(w: Writer, cap: Capability): void {
  switch (cap.kind) {
    case 'multiprotocol':
      // code 1, len 4: AFI 2, reserved 1, SAFI 1 (RFC 4760 §8)
      w.u8(CapabilityCode.Multiprotocol);
      w.u8(4);
      w.u16(cap.afi);
      w.u8(0);
      w.u8(cap.safi);
      return;
    case 'routeRefresh':
      w.u8(CapabilityCode.RouteRefresh);
      w.u8(0);
      return;
    case 'fourOctetAs':
      w.u8(CapabilityCode.FourOctetAs);
      w.u8(4);
      w.u32(cap.asn);
      return;
    case 'extendedNextHop':
      // code 5: per tuple NLRI AFI 2, NLRI SAFI 2, next hop AFI 2 (RFC 8950 §3)
      w.u8(CapabilityCode.ExtendedNextHop);
      w.u8(6 * cap.tuples.length);
      for (const t of cap.tuples) {
        w.u16(t.afi);
        w.u16(t.safi);
        w.u16(t.nextHopAfi);
      }
      return;
    case 'gracefulRestart': {
      // code 64: <flags 4 bits | restart time 12 bits> then per family AFI 2, SAFI 1, flags 1
      w.u8(CapabilityCode.GracefulRestart);
      w.u8(2 + 4 * cap.families.length);
      const flags = (cap.restarting ? GR_RESTART : 0) | (cap.notification ? GR_NOTIFICATION : 0);
      w.u16((flags << 12) | (cap.restartTimeSec & 0x0fff));
      for (const f of cap.families) {
        w.u16(f.afi);
        w.u8(f.safi);
        w.u8(f.forwardingPreserved ? GR_FORWARDING : 0);
      }
      return;
    }
    case 'unknown':
      w.u8(cap.code);
      w.u8(cap.value.length);
      w.bytes(cap.value);
      return;
  }
}

/** Encode an OPEN. */
export function encodeOpen(msg: OpenMessage): Buffer {
  const w = beginMessage(MessageType.Open, 96);
  w.u8(msg.version);
  w.u16(msg.myAs);
  w.u16(msg.holdTimeSec);
  const id = parseIpv4(msg.bgpIdentifier);
  if (id === undefined) {
    throw new MetalLbError(ErrorCode.BgpEncode, `invalid BGP identifier ${JSON.stringify(msg.bgpIdentifier)}`);
  }
  w.u32(id);
  const optLenAt = w.reserve(1);
  if (msg.capabilities.length > 0) {
    w.u8(PARAM_CAPABILITIES);
    const paramLenAt = w.reserve(1);
    for (const cap of msg.capabilities) writeCapability(w, cap);
    w.setU8(paramLenAt, w.length - paramLenAt - 1);
  }
  const optLen = w.length - optLenAt - 1;
  if (optLen > 255) throw new MetalLbError(ErrorCode.BgpEncode, `OPEN optional parameters of ${optLen} octets exceed 255`);
  w.setU8(optLenAt, optLen);
  return endMessage(w);
}

function readCapability(buf: Buffer, code: number, at: number, len: number): Capability {
  const bad = (): BgpError =>
    openError(OpenSubcode.Unspecific, `capability ${code} has bad length ${len}`, Buffer.from(buf.subarray(at - 2, at + len)));
  switch (code) {
    case CapabilityCode.Multiprotocol:
      if (len !== 4) throw bad();
      return { kind: 'multiprotocol', afi: buf.readUInt16BE(at), safi: buf[at + 3]! };
    case CapabilityCode.RouteRefresh:
      if (len !== 0) throw bad();
      return { kind: 'routeRefresh' };
    case CapabilityCode.FourOctetAs:
      if (len !== 4) throw bad();
      return { kind: 'fourOctetAs', asn: buf.readUInt32BE(at) };
    case CapabilityCode.ExtendedNextHop: {
      // RFC 8950 §3: a non-empty list of 6-octet tuples.
      if (len === 0 || len % 6 !== 0) throw bad();
      const tuples: Array<{ afi: number; safi: number; nextHopAfi: number }> = [];
      for (let p = at; p < at + len; p += 6) {
        tuples.push({ afi: buf.readUInt16BE(p), safi: buf.readUInt16BE(p + 2), nextHopAfi: buf.readUInt16BE(p + 4) });
      }
      return { kind: 'extendedNextHop', tuples };
    }
    case CapabilityCode.GracefulRestart: {
      if (len < 2 || (len - 2) % 4 !== 0) throw bad();
      const word = buf.readUInt16BE(at);
      const families: Array<{ afi: number; safi: number; forwardingPreserved: boolean }> = [];
      for (let p = at + 2; p < at + len; p += 4) {
        families.push({
          afi: buf.readUInt16BE(p),
          safi: buf[p + 2]!,
          forwardingPreserved: (buf[p + 3]! & GR_FORWARDING) !== 0,
        });
      }
      return {
        kind: 'gracefulRestart',
        restarting: ((word >>> 12) & GR_RESTART) !== 0,
        notification: ((word >>> 12) & GR_NOTIFICATION) !== 0,
        restartTimeSec: word & 0x0fff,
        families,
      };
    }
    default:
      // RFC 5492 §3: an unrecognised capability is ignored, but kept so it can be logged.
      return { kind: 'unknown', code, value: Buffer.from(buf.subarray(at, at + len)) };
  }
}

/** Decode an OPEN whose header is already checked. */
export function decodeOpen(buf: Buffer): OpenMessage {
  if (buf.length < HEADER_LENGTH + 10) throw badLength(buf, 'OPEN');
  let at = HEADER_LENGTH;
  const version = buf[at]!;
  const myAs = buf.readUInt16BE(at + 1);
  const holdTimeSec = buf.readUInt16BE(at + 3);
  const bgpIdentifier = formatIpv4(buf.readUInt32BE(at + 5));
  const optLen = buf[at + 9]!;
  at += 10;
  if (at + optLen !== buf.length) {
    throw openError(OpenSubcode.Unspecific, `optional parameters length ${optLen} does not match message length ${buf.length}`);
  }
  const capabilities: Capability[] = [];
  while (at < buf.length) {
    if (at + 2 > buf.length) throw openError(OpenSubcode.Unspecific, 'optional parameter header truncated');
    const type = buf[at]!;
    const len = buf[at + 1]!;
    const end = at + 2 + len;
    if (end > buf.length) throw openError(OpenSubcode.Unspecific, `optional parameter of length ${len} truncated`);
    if (type !== PARAM_CAPABILITIES) {
      // RFC 4271 §6.2: an optional parameter we do not recognise is 2/4.
      throw openError(OpenSubcode.UnsupportedOptionalParameter, `unsupported optional parameter type ${type}`);
    }
    let p = at + 2;
    while (p < end) {
      if (p + 2 > end) throw openError(OpenSubcode.Unspecific, 'capability header truncated');
      const code = buf[p]!;
      const clen = buf[p + 1]!;
      if (p + 2 + clen > end) throw openError(OpenSubcode.Unspecific, `capability ${code} of length ${clen} truncated`);
      capabilities.push(readCapability(buf, code, p + 2, clen));
      p += 2 + clen;
    }
    at = end;
  }
  return { type: MessageType.Open, version, myAs, holdTimeSec, bgpIdentifier, capabilities };
}
