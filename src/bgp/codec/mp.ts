/**
 * MP_REACH_NLRI and MP_UNREACH_NLRI values (RFC 4760 §3, §4):
 *   MP_REACH:   AFI 2, SAFI 1, next hop length 1, next hop, reserved 1, NLRI...
 *   MP_UNREACH: AFI 2, SAFI 1, withdrawn NLRI...
 * For IPv6 the next hop is 16 octets (global) or 32 (global then link-local, RFC 2545 §3), the
 * link-local one being what a router on the same segment installs. With Extended Next Hop
 * (RFC 8950 §4) AFI 1 NLRI carry the same 16- or 32-octet IPv6 next hop; the length alone tells
 * the next hop's family, so one reader serves both. Any error here resets the
 * session (RFC 7606 §5.3, §7.11): without these attributes the routes cannot be located.
 */
import { BgpError, NotificationCode, UpdateSubcode } from '../errors';
import { ErrorCode, MetalLbError } from '../../util/errors';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6, readPrefixes, writePrefix } from './prefix';
import { Afi, Safi } from './types';
import type { MpReach, MpUnreach } from './types';
import type { Writer } from './writer';

function mpError(message: string): BgpError {
  return new BgpError(NotificationCode.UpdateMessage, UpdateSubcode.OptionalAttributeError, message);
}

function checkFamily(afi: number, safi: number): void {
  if ((afi !== Afi.Ipv4 && afi !== Afi.Ipv6) || safi !== Safi.Unicast) {
    throw mpError(`unsupported address family ${afi}/${safi}`);
  }
}

/** Write an MP_REACH_NLRI value. */
export function encodeMpReach(w: Writer, mp: MpReach): void {
  w.u16(mp.afi);
  w.u8(mp.safi);
  const nhLenAt = w.reserve(1);
  const tmp = new Uint8Array(16);
  for (const nh of mp.nextHops) {
    if (nh.includes(':')) {
      if (!parseIpv6(nh, tmp, 0)) throw new MetalLbError(ErrorCode.BgpEncode, `invalid next hop ${JSON.stringify(nh)}`);
      w.bytes(tmp);
    } else {
      const v = parseIpv4(nh);
      if (v === undefined) throw new MetalLbError(ErrorCode.BgpEncode, `invalid next hop ${JSON.stringify(nh)}`);
      w.u32(v);
    }
  }
  w.setU8(nhLenAt, w.length - nhLenAt - 1);
  w.u8(0); // reserved (RFC 4760 §3: was "number of SNPAs", must be 0)
  for (const p of mp.nlri) writePrefix(w, p, mp.afi, tmp);
}

/** Write an MP_UNREACH_NLRI value. */
export function encodeMpUnreach(w: Writer, mp: MpUnreach): void {
  w.u16(mp.afi);
  w.u8(mp.safi);
  const tmp = new Uint8Array(16);
  for (const p of mp.withdrawn) writePrefix(w, p, mp.afi, tmp);
}

function readNextHops(v: Buffer, at: number, len: number): string[] {
  switch (len) {
    case 4:
      return [formatIpv4(v.readUInt32BE(at))];
    case 16:
      return [formatIpv6(v, at)];
    case 32:
      return [formatIpv6(v, at), formatIpv6(v, at + 16)];
    default:
      throw mpError(`MP_REACH_NLRI next hop length ${len}`);
  }
}

/** Decode an MP_REACH_NLRI value. */
export function decodeMpReach(v: Buffer): MpReach {
  if (v.length < 5) throw mpError(`MP_REACH_NLRI length ${v.length}`);
  const afi = v.readUInt16BE(0);
  const safi = v[2]!;
  checkFamily(afi, safi);
  const nhLen = v[3]!;
  if (4 + nhLen + 1 > v.length) throw mpError(`MP_REACH_NLRI next hop length ${nhLen} overruns the attribute`);
  const nextHops = readNextHops(v, 4, nhLen);
  const nlri = readPrefixes(v, 5 + nhLen, v.length, afi, NotificationCode.UpdateMessage, UpdateSubcode.OptionalAttributeError);
  return { afi, safi, nextHops, nlri };
}

/** Decode an MP_UNREACH_NLRI value. */
export function decodeMpUnreach(v: Buffer): MpUnreach {
  if (v.length < 3) throw mpError(`MP_UNREACH_NLRI length ${v.length}`);
  const afi = v.readUInt16BE(0);
  const safi = v[2]!;
  checkFamily(afi, safi);
  const withdrawn = readPrefixes(v, 3, v.length, afi, NotificationCode.UpdateMessage, UpdateSubcode.OptionalAttributeError);
  return { afi, safi, withdrawn };
}
