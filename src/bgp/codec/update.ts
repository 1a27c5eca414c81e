/**
 * UPDATE (RFC 4271 §4.3). Body layout after the header:
 *   withdrawn routes length 2, withdrawn routes (IPv4 NLRI),
 *   total path attribute length 2, path attributes, NLRI (IPv4) to the end.
 * IPv6 routes travel in MP_REACH/MP_UNREACH attributes (RFC 4760).
 */
import { AttrErrorAction, BgpError, NotificationCode, UpdateSubcode } from '../errors';
import type { AttrIssue } from '../errors';
import { decodeAttributes, encodeAttributes } from './attributes';
import { badLength, beginMessage, endMessage } from './header';
import { readPrefixes, writePrefix } from './prefix';
import { Afi, AttrType, HEADER_LENGTH, MessageType } from './types';
import type { CodecContext, UpdateMessage } from './types';

/** Encode an UPDATE; throws MetalLbError(BgpEncode) if it would exceed 4096 octets. */
export function encodeUpdate(msg: UpdateMessage, ctx: CodecContext): Buffer {
  const w = beginMessage(MessageType.Update, 256);
  const tmp = new Uint8Array(16);
  const wAt = w.reserve(2);
  for (const p of msg.withdrawn) writePrefix(w, p, Afi.Ipv4, tmp);
  w.setU16(wAt, w.length - wAt - 2);
  const aAt = w.reserve(2);
  encodeAttributes(w, msg.attributes, ctx);
  w.setU16(aAt, w.length - aAt - 2);
  for (const p of msg.nlri) writePrefix(w, p, Afi.Ipv4, tmp);
  return endMessage(w);
}

function malformed(message: string): BgpError {
  return new BgpError(NotificationCode.UpdateMessage, UpdateSubcode.MalformedAttributeList, message);
}

/** Decode an UPDATE whose header is already checked. */
export function decodeUpdate(buf: Buffer, ctx: CodecContext): UpdateMessage {
  if (buf.length < HEADER_LENGTH + 4) throw badLength(buf, 'UPDATE');
  let at = HEADER_LENGTH;
  const wlen = buf.readUInt16BE(at);
  at += 2;
  // RFC 4271 §6.3: lengths that overrun the message are a Malformed Attribute List.
  if (at + wlen + 2 > buf.length) throw malformed(`withdrawn routes length ${wlen} overruns the message`);
  const withdrawn = readPrefixes(buf, at, at + wlen, Afi.Ipv4, NotificationCode.UpdateMessage, UpdateSubcode.InvalidNetworkField);
  at += wlen;
  const alen = buf.readUInt16BE(at);
  at += 2;
  if (at + alen > buf.length) throw malformed(`total path attribute length ${alen} overruns the message`);
  const errors: AttrIssue[] = [];
  const attributes = decodeAttributes(buf, at, at + alen, ctx, errors);
  at += alen;
  // RFC 7606 §5.3: NLRI that cannot be parsed leave no choice but a session reset.
  const nlri = readPrefixes(buf, at, buf.length, Afi.Ipv4, NotificationCode.UpdateMessage, UpdateSubcode.InvalidNetworkField);
  if (errors.length === 0) {
    const missing = missingWellKnown(attributes, nlri.length > 0);
    if (missing !== undefined) {
      // RFC 4271 §6.3 data is the missing type code; RFC 7606 §3.d makes it treat-as-withdraw.
      errors.push({
        code: NotificationCode.UpdateMessage,
        subcode: UpdateSubcode.MissingWellKnownAttribute,
        data: Buffer.from([missing]),
        action: AttrErrorAction.TreatAsWithdraw,
        reason: `missing well-known attribute ${missing}`,
      });
    }
  }
  const msg: UpdateMessage = { type: MessageType.Update, withdrawn, attributes, nlri };
  if (errors.length > 0) msg.attrErrors = errors;
  return msg;
}

/** ORIGIN and AS_PATH go with any reachable route, NEXT_HOP with IPv4 NLRI in the body. */
function missingWellKnown(a: UpdateMessage['attributes'], hasNlri: boolean): number | undefined {
  const reach = hasNlri || (a.mpReach !== undefined && a.mpReach.nlri.length > 0);
  if (!reach) return undefined;
  if (a.origin === undefined) return AttrType.Origin;
  if (a.asPath === undefined) return AttrType.AsPath;
  if (hasNlri && a.nextHop === undefined) return AttrType.NextHop;
  return undefined;
}

/**
 * The worst RFC 7606 action among an UPDATE's non-fatal errors: treat-as-withdraw beats
 * attribute-discard; undefined when the UPDATE is clean.
 */
export function updateErrorAction(msg: UpdateMessage): AttrErrorAction | undefined {
  if (!msg.attrErrors) return undefined;
  return msg.attrErrors.some((e) => e.action === AttrErrorAction.TreatAsWithdraw)
    ? AttrErrorAction.TreatAsWithdraw
    : AttrErrorAction.AttributeDiscard;
}
