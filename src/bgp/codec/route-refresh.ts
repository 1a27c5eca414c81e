/**
 * ROUTE-REFRESH (RFC 2918 §3): AFI 2, reserved 1 (the RFC 7313 message subtype), SAFI 1.
 * The message is exactly 23 octets.
 */
import { BgpError, NotificationCode, RouteRefreshSubcode } from '../errors';
import { beginMessage, endMessage } from './header';
import { HEADER_LENGTH, MessageType, RouteRefreshSubtype } from './types';
import type { RouteRefreshMessage } from './types';

/** Encode a ROUTE-REFRESH. */
export function encodeRouteRefresh(msg: RouteRefreshMessage): Buffer {
  const w = beginMessage(MessageType.RouteRefresh, HEADER_LENGTH + 4);
  w.u16(msg.afi);
  w.u8(msg.subtype);
  w.u8(msg.safi);
  return endMessage(w);
}

/**
 * Decode a ROUTE-REFRESH whose header is already checked. A wrong length is the RFC 7313 §5
 * error 7/1 with the whole message as data, except for a subtype other than 0, 1 and 2, which
 * §5 says to ignore: it decodes (the FSM then ignores it) whatever follows the four octets.
 */
export function decodeRouteRefresh(buf: Buffer): RouteRefreshMessage {
  const unknownSubtype = buf.length > HEADER_LENGTH + 4 && buf[HEADER_LENGTH + 2]! > RouteRefreshSubtype.EndOfRefresh;
  if (buf.length !== HEADER_LENGTH + 4 && !unknownSubtype) {
    throw new BgpError(
      NotificationCode.RouteRefresh,
      RouteRefreshSubcode.InvalidMessageLength,
      `ROUTE-REFRESH length ${buf.length}`,
      Buffer.from(buf),
    );
  }
  return {
    type: MessageType.RouteRefresh,
    afi: buf.readUInt16BE(HEADER_LENGTH),
    subtype: buf[HEADER_LENGTH + 2]!,
    safi: buf[HEADER_LENGTH + 3]!,
  };
}
