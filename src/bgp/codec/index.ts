/**
 * The sans-IO BGP codec: `encode(msg, ctx) -> Buffer`, `decode(buf, ctx) -> Message`, and a
 * Framer for TCP chunks. Nothing here touches a socket (like GoBGP's pkg/packet/bgp).
 * decode either returns a message or throws a BgpError whose code/subcode/data form the
 * NOTIFICATION to send.
 */
import { BgpError, HeaderSubcode, NotificationCode } from '../errors';
import { checkHeader } from './header';
import { decodeKeepalive, decodeNotification, encodeKeepalive, encodeNotification } from './notification';
import { decodeOpen, encodeOpen } from './open';
import { decodeRouteRefresh, encodeRouteRefresh } from './route-refresh';
import { decodeUpdate, encodeUpdate } from './update';
import { HEADER_LENGTH, MessageType } from './types';
import type { CodecContext, Message } from './types';

export * from './types';
export { Framer } from './header';
export { endOfRib, endOfRibFamily } from './end-of-rib';
export { notificationFor } from './notification';
export { updateErrorAction } from './update';
export { afiOf, canonicalPrefix, formatIpv4, formatIpv6, parseIpv4, parseIpv6, prefixWireLength } from './prefix';

/** The context before OPENs are exchanged: 2-octet AS. */
export const initialContext: CodecContext = { fourOctetAs: false };

/** Encode any message. */
export function encode(msg: Message, ctx: CodecContext = initialContext): Buffer {
  switch (msg.type) {
    case MessageType.Open:
      return encodeOpen(msg);
    case MessageType.Update:
      return encodeUpdate(msg, ctx);
    case MessageType.Notification:
      return encodeNotification(msg);
    case MessageType.Keepalive:
      return encodeKeepalive();
    case MessageType.RouteRefresh:
      return encodeRouteRefresh(msg);
  }
}

/**
 * Decode exactly one message (as the Framer cuts them). The header's length must equal the
 * buffer's length; anything else is a Bad Message Length (RFC 4271 §6.1).
 */
export function decode(buf: Buffer, ctx: CodecContext = initialContext): Message {
  if (buf.length < HEADER_LENGTH) {
    throw new BgpError(NotificationCode.MessageHeader, HeaderSubcode.BadMessageLength, `message of ${buf.length} octets is shorter than a header`);
  }
  const length = checkHeader(buf, 0);
  if (length !== buf.length) {
    throw new BgpError(
      NotificationCode.MessageHeader,
      HeaderSubcode.BadMessageLength,
      `header length ${length} but ${buf.length} octets given`,
      Buffer.from(buf.subarray(16, 18)),
    );
  }
  const type = buf[18]!;
  switch (type) {
    case MessageType.Open:
      return decodeOpen(buf);
    case MessageType.Update:
      return decodeUpdate(buf, ctx);
    case MessageType.Notification:
      return decodeNotification(buf);
    case MessageType.Keepalive:
      return decodeKeepalive(buf);
    case MessageType.RouteRefresh:
      return decodeRouteRefresh(buf);
    default:
      // RFC 4271 §6.1: data is the offending type octet.
      throw new BgpError(NotificationCode.MessageHeader, HeaderSubcode.BadMessageType, `unknown message type ${type}`, Buffer.from([type]));
  }
}
