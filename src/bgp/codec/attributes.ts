/**
 * Path attributes (RFC 4271 §4.3, §5): each is <flags 1><type 1><length 1 or 2><value>, the
 * length taking 2 octets when the Extended Length flag (0x10) is set. We set that flag only
 * when a value exceeds 255 octets and accept it on any attribute. Decoding follows RFC 7606:
 * most malformed attributes make the UPDATE "treat-as-withdraw" (recorded, session stays up),
 * a few are discarded, and only MP_REACH/MP_UNREACH problems and unrecognised well-known
 * attributes reset the session.
 */
import { AttrErrorAction, BgpError, NotificationCode, UpdateSubcode } from '../errors';
import type { AttrIssue } from '../errors';
import { ErrorCode, MetalLbError } from '../../util/errors';
import { decodeMpReach, decodeMpUnreach, encodeMpReach, encodeMpUnreach } from './mp';
import { formatIpv4, parseIpv4 } from './prefix';
import { AsPathSegmentType, AttrFlag, AttrType } from './types';
import type { AsPathSegment, CodecContext, LargeCommunity, PathAttributes } from './types';
import type { Writer } from './writer';

/** The Optional and Transitive bits each known attribute must carry (RFC 4271 §5, RFC 1997, 4760, 8092). */
const expectedFlags: Record<number, number> = {
  [AttrType.Origin]: AttrFlag.Transitive,
  [AttrType.AsPath]: AttrFlag.Transitive,
  [AttrType.NextHop]: AttrFlag.Transitive,
  [AttrType.MultiExitDisc]: AttrFlag.Optional,
  [AttrType.LocalPref]: AttrFlag.Transitive,
  [AttrType.AtomicAggregate]: AttrFlag.Transitive,
  [AttrType.Aggregator]: AttrFlag.Optional | AttrFlag.Transitive,
  [AttrType.Communities]: AttrFlag.Optional | AttrFlag.Transitive,
  [AttrType.MpReachNlri]: AttrFlag.Optional,
  [AttrType.MpUnreachNlri]: AttrFlag.Optional,
  [AttrType.LargeCommunities]: AttrFlag.Optional | AttrFlag.Transitive,
};

/** Begin an attribute; the length is reserved as 2 octets and shrunk in endAttr when it fits in 1. */
export function beginAttr(w: Writer, flags: number, type: number): number {
  const at = w.length;
  w.u8(flags);
  w.u8(type);
  w.reserve(2);
  return at;
}

/** Finish an attribute begun at `at`, choosing the 1- or 2-octet length form. */
export function endAttr(w: Writer, at: number): void {
  const valueLen = w.length - at - 4;
  if (valueLen <= 255) {
    const buf = w.raw();
    buf.copyWithin(at + 3, at + 4, w.length);
    w.length -= 1;
    w.setU8(at + 2, valueLen);
  } else {
    w.setU8(at, w.raw()[at]! | AttrFlag.ExtendedLength);
    w.setU16(at + 2, valueLen);
  }
}

function fixed(w: Writer, type: number, write: () => void): void {
  const at = beginAttr(w, expectedFlags[type]!, type);
  write();
  endAttr(w, at);
}

function writeIpv4(w: Writer, address: string): void {
  const v = parseIpv4(address);
  if (v === undefined) throw new MetalLbError(ErrorCode.BgpEncode, `invalid IPv4 address ${JSON.stringify(address)}`);
  w.u32(v);
}

function writeAsn(w: Writer, asn: number, ctx: CodecContext): void {
  if (ctx.fourOctetAs) {
    w.u32(asn);
  } else {
    if (asn > 0xffff) throw new MetalLbError(ErrorCode.BgpEncode, `AS ${asn} does not fit a 2-octet AS_PATH`);
    w.u16(asn);
  }
}

/** Append the attributes in ascending type order (RFC 4271 §5 recommends it), unknown ones last. */
export function encodeAttributes(w: Writer, a: PathAttributes, ctx: CodecContext): void {
  if (a.origin !== undefined) fixed(w, AttrType.Origin, () => w.u8(a.origin!));
  if (a.asPath !== undefined) {
    fixed(w, AttrType.AsPath, () => {
      for (const seg of a.asPath!) {
        w.u8(seg.type);
        w.u8(seg.asns.length);
        for (const asn of seg.asns) writeAsn(w, asn, ctx);
      }
    });
  }
  if (a.nextHop !== undefined) fixed(w, AttrType.NextHop, () => writeIpv4(w, a.nextHop!));
  if (a.med !== undefined) fixed(w, AttrType.MultiExitDisc, () => w.u32(a.med!));
  if (a.localPref !== undefined) fixed(w, AttrType.LocalPref, () => w.u32(a.localPref!));
  if (a.atomicAggregate) fixed(w, AttrType.AtomicAggregate, () => undefined);
  if (a.aggregator !== undefined) {
    fixed(w, AttrType.Aggregator, () => {
      writeAsn(w, a.aggregator!.asn, ctx);
      writeIpv4(w, a.aggregator!.address);
    });
  }
  if (a.communities !== undefined) fixed(w, AttrType.Communities, () => a.communities!.forEach((c) => w.u32(c)));
  if (a.mpReach !== undefined) fixed(w, AttrType.MpReachNlri, () => encodeMpReach(w, a.mpReach!));
  if (a.mpUnreach !== undefined) fixed(w, AttrType.MpUnreachNlri, () => encodeMpUnreach(w, a.mpUnreach!));
  if (a.largeCommunities !== undefined) {
    fixed(w, AttrType.LargeCommunities, () => {
      for (const lc of a.largeCommunities!) {
        w.u32(lc.globalAdmin);
        w.u32(lc.localData1);
        w.u32(lc.localData2);
      }
    });
  }
  for (const raw of a.unknown ?? []) {
    const at = beginAttr(w, raw.flags & ~AttrFlag.ExtendedLength, raw.typeCode);
    w.bytes(raw.value);
    endAttr(w, at);
  }
}

/** A fatal UPDATE error: thrown, so at most one per message. */
function updateError(subcode: number, message: string, data: Buffer, action: AttrErrorAction): BgpError {
  return new BgpError(NotificationCode.UpdateMessage, subcode, message, data, action);
}

/** Shared data of issues that carry none (zero octets: nothing can write into it). */
const NO_DATA = Buffer.alloc(0);

/** A non-fatal UPDATE error: plain data, no stack trace, so a thousand repeats stay cheap. */
function issue(subcode: number, reason: string, data: Buffer, action: AttrErrorAction): AttrIssue {
  return { code: NotificationCode.UpdateMessage, subcode, data, action, reason };
}

function readAsPath(v: Buffer, asnSize: number): AsPathSegment[] | undefined {
  const segs: AsPathSegment[] = [];
  let p = 0;
  while (p < v.length) {
    if (p + 2 > v.length) return undefined;
    const type = v[p]!;
    const count = v[p + 1]!;
    // RFC 7606 §7.2: unknown segment type, zero-length segment or overrun is a malformed AS_PATH.
    if (type < AsPathSegmentType.AsSet || type > AsPathSegmentType.ConfedSet || count === 0) return undefined;
    if (p + 2 + count * asnSize > v.length) return undefined;
    const asns: number[] = [];
    for (let i = 0; i < count; i++) {
      const q = p + 2 + i * asnSize;
      asns.push(asnSize === 4 ? v.readUInt32BE(q) : v.readUInt16BE(q));
    }
    segs.push({ type, asns });
    p += 2 + count * asnSize;
  }
  return segs;
}

/** A NEXT_HOP that can never be a valid unicast next hop (RFC 4271 §6.3). */
function badNextHop(v: number): boolean {
  return v === 0 || v === 0xffffffff || v >>> 28 === 0xe;
}

/**
 * Decode attributes in buf[start..end). Non-fatal errors are pushed to `errors` and the
 * attribute dropped; fatal ones throw. Returns the attributes and whether parsing stopped early
 * (the rest of the attribute list could not be trusted, RFC 7606 §4).
 */
export function decodeAttributes(
  buf: Buffer,
  start: number,
  end: number,
  ctx: CodecContext,
  errors: AttrIssue[],
): PathAttributes {
  const a: PathAttributes = {};
  const seen = new Set<number>();
  let at = start;
  while (at < end) {
    const flags = buf[at]!;
    const hdr = flags & AttrFlag.ExtendedLength ? 4 : 3;
    if (at + hdr > end) {
      errors.push(issue(UpdateSubcode.MalformedAttributeList, 'attribute header truncated', NO_DATA, AttrErrorAction.TreatAsWithdraw));
      break;
    }
    const type = buf[at + 1]!;
    const len = hdr === 4 ? buf.readUInt16BE(at + 2) : buf[at + 2]!;
    const whole = buf.subarray(at, Math.min(at + hdr + len, end));
    if (at + hdr + len > end) {
      // RFC 7606 §4: an attribute overrunning the attribute list: treat-as-withdraw.
      errors.push(issue(UpdateSubcode.AttributeLengthError, `attribute ${type} of length ${len} overruns the attribute list`, Buffer.from(whole), AttrErrorAction.TreatAsWithdraw));
      break;
    }
    const v = buf.subarray(at + hdr, at + hdr + len);
    at += hdr + len;
    const isMp = type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri;
    if (seen.has(type)) {
      // RFC 7606 §3.g: a repeated MP attribute resets; any other repeat is discarded.
      if (isMp) throw updateError(UpdateSubcode.MalformedAttributeList, `attribute ${type} appears twice`, NO_DATA, AttrErrorAction.SessionReset);
      errors.push(issue(UpdateSubcode.MalformedAttributeList, `attribute ${type} appears twice`, NO_DATA, AttrErrorAction.AttributeDiscard));
      continue;
    }
    seen.add(type);
    const expected = expectedFlags[type];
    if (expected === undefined) {
      if ((flags & AttrFlag.Optional) === 0) {
        throw updateError(UpdateSubcode.UnrecognizedWellKnownAttribute, `unrecognized well-known attribute ${type}`, Buffer.from(whole), AttrErrorAction.SessionReset);
      }
      (a.unknown ??= []).push({ flags: flags & ~AttrFlag.ExtendedLength, typeCode: type, value: Buffer.from(v) });
      continue;
    }
    const withdraw = (subcode: number, message: string): void => {
      errors.push(issue(subcode, message, Buffer.from(whole), AttrErrorAction.TreatAsWithdraw));
    };
    if ((flags & (AttrFlag.Optional | AttrFlag.Transitive)) !== expected) {
      // RFC 7606 §3.c: conflicting Optional/Transitive bits make the attribute malformed.
      const reason = `attribute ${type} has flags 0x${flags.toString(16)}`;
      if (isMp) throw updateError(UpdateSubcode.AttributeFlagsError, reason, Buffer.from(whole), AttrErrorAction.SessionReset);
      errors.push(issue(UpdateSubcode.AttributeFlagsError, reason, Buffer.from(whole), AttrErrorAction.TreatAsWithdraw));
      continue;
    }
    switch (type) {
      case AttrType.Origin:
        if (len !== 1) withdraw(UpdateSubcode.AttributeLengthError, `ORIGIN length ${len}`);
        else if (v[0]! > 2) withdraw(UpdateSubcode.InvalidOriginAttribute, `ORIGIN value ${v[0]}`);
        else a.origin = v[0] as 0 | 1 | 2;
        break;
      case AttrType.AsPath: {
        const segs = readAsPath(v, ctx.fourOctetAs ? 4 : 2);
        if (segs === undefined) withdraw(UpdateSubcode.MalformedAsPath, 'malformed AS_PATH');
        else a.asPath = segs;
        break;
      }
      case AttrType.NextHop:
        if (len !== 4) withdraw(UpdateSubcode.AttributeLengthError, `NEXT_HOP length ${len}`);
        else if (badNextHop(v.readUInt32BE(0))) withdraw(UpdateSubcode.InvalidNextHopAttribute, `NEXT_HOP ${formatIpv4(v.readUInt32BE(0))}`);
        else a.nextHop = formatIpv4(v.readUInt32BE(0));
        break;
      case AttrType.MultiExitDisc:
        if (len !== 4) withdraw(UpdateSubcode.AttributeLengthError, `MULTI_EXIT_DISC length ${len}`);
        else a.med = v.readUInt32BE(0);
        break;
      case AttrType.LocalPref:
        if (len !== 4) withdraw(UpdateSubcode.AttributeLengthError, `LOCAL_PREF length ${len}`);
        else a.localPref = v.readUInt32BE(0);
        break;
      case AttrType.AtomicAggregate:
        // RFC 7606 §7.6: a malformed ATOMIC_AGGREGATE is discarded.
        if (len !== 0) errors.push(issue(UpdateSubcode.AttributeLengthError, `ATOMIC_AGGREGATE length ${len}`, Buffer.from(whole), AttrErrorAction.AttributeDiscard));
        else a.atomicAggregate = true;
        break;
      case AttrType.Aggregator: {
        const asnSize = ctx.fourOctetAs ? 4 : 2;
        // RFC 7606 §7.7: a malformed AGGREGATOR is discarded.
        if (len !== asnSize + 4) {
          errors.push(issue(UpdateSubcode.AttributeLengthError, `AGGREGATOR length ${len}`, Buffer.from(whole), AttrErrorAction.AttributeDiscard));
        } else {
          a.aggregator = {
            asn: asnSize === 4 ? v.readUInt32BE(0) : v.readUInt16BE(0),
            address: formatIpv4(v.readUInt32BE(asnSize)),
          };
        }
        break;
      }
      case AttrType.Communities:
        // RFC 7606 §7.8: length must be a non-zero multiple of 4.
        if (len === 0 || len % 4 !== 0) withdraw(UpdateSubcode.AttributeLengthError, `COMMUNITIES length ${len}`);
        else a.communities = Array.from({ length: len / 4 }, (_, i) => v.readUInt32BE(4 * i));
        break;
      case AttrType.LargeCommunities:
        // RFC 8092 §6: length must be a non-zero multiple of 12.
        if (len === 0 || len % 12 !== 0) withdraw(UpdateSubcode.AttributeLengthError, `LARGE_COMMUNITY length ${len}`);
        else a.largeCommunities = readLarge(v);
        break;
      case AttrType.MpReachNlri:
        a.mpReach = withAttributeData(whole, () => decodeMpReach(v));
        break;
      case AttrType.MpUnreachNlri:
        a.mpUnreach = withAttributeData(whole, () => decodeMpUnreach(v));
        break;
    }
  }
  return a;
}

/**
 * RFC 4271 §6.3: the Data field of an Optional Attribute Error (3/9) is the attribute (type,
 * length and value); the MP decoders see only the value, so the attribute is added here.
 */
function withAttributeData<T>(whole: Uint8Array, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof BgpError && err.data.length === 0) throw err.withData(Buffer.from(whole));
    throw err;
  }
}

function readLarge(v: Buffer): LargeCommunity[] {
  const out: LargeCommunity[] = [];
  for (let p = 0; p < v.length; p += 12) {
    out.push({ globalAdmin: v.readUInt32BE(p), localData1: v.readUInt32BE(p + 4), localData2: v.readUInt32BE(p + 8) });
  }
  return out;
}
