/**
 * NOTIFICATION (RFC 4271 §4.5): error code 1, error subcode 1, data to the end of the message.
 * KEEPALIVE (RFC 4271 §4.4) is a bare header and lives here too, being the other tiny message.
 */
import { BgpError } from '../errors';
import { badLength, beginMessage, endMessage } from './header';
import { HEADER_LENGTH, MessageType } from './types';
import type { KeepaliveMessage, NotificationMessage } from './types';

/** Encode a NOTIFICATION; data longer than the message limit is cut (it is diagnostic only). */
export function encodeNotification(msg: NotificationMessage): Buffer {
  const w = beginMessage(MessageType.Notification, HEADER_LENGTH + 2 + msg.data.length);
  w.u8(msg.code);
  w.u8(msg.subcode);
  w.bytes(msg.data.subarray(0, 4096 - HEADER_LENGTH - 2));
  return endMessage(w);
}

/** Decode a NOTIFICATION whose header is already checked. */
export function decodeNotification(buf: Buffer): NotificationMessage {
  if (buf.length < HEADER_LENGTH + 2) throw badLength(buf, 'NOTIFICATION');
  return {
    type: MessageType.Notification,
    code: buf[HEADER_LENGTH]!,
    subcode: buf[HEADER_LENGTH + 1]!,
    data: Buffer.from(buf.subarray(HEADER_LENGTH + 2)),
  };
}

/** The NOTIFICATION that reports a BgpError. */
export function notificationFor(err: BgpError): NotificationMessage {
  return { type: MessageType.Notification, code: err.code, subcode: err.subcode, data: err.data };
}

const KEEPALIVE_BYTES = (() => {
  const w = beginMessage(MessageType.Keepalive, HEADER_LENGTH);
  return Buffer.from(endMessage(w));
})();

/** Encode a KEEPALIVE (19 octets). */
export function encodeKeepalive(): Buffer {
  return Buffer.from(KEEPALIVE_BYTES);
}

/** Decode a KEEPALIVE: RFC 4271 §4.4 fixes its length at 19. */
export function decodeKeepalive(buf: Buffer): KeepaliveMessage {
  if (buf.length !== HEADER_LENGTH) throw badLength(buf, 'KEEPALIVE');
  return { type: MessageType.Keepalive };
}
