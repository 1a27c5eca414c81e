/**
 * The BFD Control packet (RFC 5880 §4.1), sans-IO: `encode(packet) -> Buffer` and
 * `decode(payload) -> DecodeResult`. Decoding applies the §6.8.6 reception checks that depend on
 * the packet alone and returns a typed discard reason instead of throwing: BFD discards bad
 * packets silently (no error is ever sent back), and a flood of them must cost no exceptions.
 *
 * Mandatory section, 24 octets:
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
 *   |                       My Discriminator                        |
 *   |                      Your Discriminator                       |
 *   |                    Desired Min TX Interval                    |
 *   |                   Required Min RX Interval                    |
 *   |                 Required Min Echo RX Interval                 |
 * followed, when A is set, by an authentication section (type, length, data). Intervals are in
 * microseconds on the wire and in this model.
 */
import { ErrorCode, MetalLbError } from '../util/errors';

/** The only protocol version (RFC 5880 §4.1). */
export const BFD_VERSION = 1;
/** Length of a Control packet without authentication. */
export const CONTROL_PACKET_LENGTH = 24;
/** Minimum length with the A bit set: the mandatory section plus Auth Type and Auth Len. */
export const MIN_AUTH_PACKET_LENGTH = 26;

/** Session states as carried in the Sta field (RFC 5880 §4.1). */
export const BfdState = { AdminDown: 0, Down: 1, Init: 2, Up: 3 } as const;
export type BfdState = (typeof BfdState)[keyof typeof BfdState];

/** Diagnostic codes (RFC 5880 §4.1); 9-31 are reserved and still carried. */
export const Diag = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledSessionDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;
export type Diag = (typeof Diag)[keyof typeof Diag];

const DIAG_TEXT: readonly string[] = [
  'no diagnostic',
  'control detection time expired',
  'echo function failed',
  'neighbor signaled session down',
  'forwarding plane reset',
  'path down',
  'concatenated path down',
  'administratively down',
  'reverse concatenated path down',
];

/** Human text for a diagnostic code, for logs and events. */
export function describeDiag(diag: number): string {
  return DIAG_TEXT[diag] ?? `reserved diagnostic ${diag}`;
}

const STATE_TEXT = ['AdminDown', 'Down', 'Init', 'Up'] as const;

/** The state's RFC name. */
export function stateName(state: BfdState): (typeof STATE_TEXT)[number] {
  return STATE_TEXT[state];
}

/** Authentication types (RFC 5880 §4.1), named in the discard message. */
const AUTH_TYPE_TEXT: readonly string[] = ['reserved', 'simple password', 'keyed MD5', 'meticulous keyed MD5', 'keyed SHA1', 'meticulous keyed SHA1'];

/**
 * One Control packet. There is no version (always 1) and no A bit: we configure no
 * authentication, so we never send one and decode discards every packet that has it.
 */
export interface ControlPacket {
  /** 0..31. */
  diag: number;
  state: BfdState;
  poll: boolean;
  final: boolean;
  controlPlaneIndependent: boolean;
  demand: boolean;
  /** Reserved for point-to-multipoint; decode discards packets with it set. */
  multipoint: boolean;
  /** 1..255 on receive (0 is discarded). */
  detectMult: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  requiredMinEchoRxUs: number;
}

/** Why a received payload was discarded (RFC 5880 §6.8.6 checks that need no session). */
export const DiscardCode = {
  /** Fewer than the 4 octets that hold the version and the Length field. */
  Truncated: 'truncated',
  /** Version other than 1. */
  BadVersion: 'badVersion',
  /** Length field under 24 (26 with the A bit: an A bit with no room for an auth section). */
  LengthTooSmall: 'lengthTooSmall',
  /** Length field larger than the UDP payload. */
  LengthExceedsPayload: 'lengthExceedsPayload',
  /** A bit set but the auth section's own length does not fit the packet. */
  AuthSectionMalformed: 'authSectionMalformed',
  /** A bit set with a well-formed section: we configure no authentication (§6.8.6). */
  AuthNotConfigured: 'authNotConfigured',
  ZeroDetectMult: 'zeroDetectMult',
  MultipointSet: 'multipointSet',
  ZeroMyDiscriminator: 'zeroMyDiscriminator',
  /** Your Discriminator 0 while State is Init or Up. */
  ZeroYourDiscriminator: 'zeroYourDiscriminator',
} as const;
export type DiscardCode = (typeof DiscardCode)[keyof typeof DiscardCode];

/** The result of decode: a packet, or the reason it was discarded with the offending value. */
export type DecodeResult = { ok: true; packet: ControlPacket } | { ok: false; code: DiscardCode; message: string };

function discard(code: DiscardCode, message: string): DecodeResult {
  return { ok: false, code, message };
}

/** Decode one UDP payload. Never throws: every input yields a packet or a DiscardCode. */
export function decode(payload: Uint8Array): DecodeResult {
  if (payload.length < 4) return discard(DiscardCode.Truncated, `payload of ${payload.length} octets is shorter than a BFD header`);
  const b0 = payload[0]!;
  const b1 = payload[1]!;
  const version = b0 >>> 5;
  if (version !== BFD_VERSION) return discard(DiscardCode.BadVersion, `version ${version}, want ${BFD_VERSION}`);
  const auth = (b1 & 0x04) !== 0;
  const length = payload[3]!;
  const minLength = auth ? MIN_AUTH_PACKET_LENGTH : CONTROL_PACKET_LENGTH;
  if (length < minLength) {
    return discard(DiscardCode.LengthTooSmall, `length ${length} is under ${minLength}${auth ? ' (A bit set: no room for an authentication section)' : ''}`);
  }
  if (length > payload.length) return discard(DiscardCode.LengthExceedsPayload, `length ${length} exceeds the ${payload.length}-octet payload`);
  const detectMult = payload[2]!;
  if (detectMult === 0) return discard(DiscardCode.ZeroDetectMult, 'detect multiplier 0');
  if ((b1 & 0x01) !== 0) return discard(DiscardCode.MultipointSet, 'multipoint (M) bit set');
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const myDiscriminator = view.getUint32(4);
  const yourDiscriminator = view.getUint32(8);
  const state = ((b1 >>> 6) & 0x03) as BfdState;
  if (myDiscriminator === 0) return discard(DiscardCode.ZeroMyDiscriminator, 'my discriminator 0');
  if (yourDiscriminator === 0 && state !== BfdState.Down && state !== BfdState.AdminDown) {
    return discard(DiscardCode.ZeroYourDiscriminator, `your discriminator 0 in state ${stateName(state)}`);
  }
  // The A-bit check comes last in §6.8.6 (after session selection, which needs no auth).
  if (auth) {
    const authType = payload[24]!;
    const authLen = payload[25]!;
    if (authLen < 2 || CONTROL_PACKET_LENGTH + authLen > length) {
      return discard(DiscardCode.AuthSectionMalformed, `authentication section length ${authLen} does not fit a ${length}-octet packet`);
    }
    return discard(
      DiscardCode.AuthNotConfigured,
      `authentication type ${authType} (${AUTH_TYPE_TEXT[authType] ?? 'unknown'}) received but no authentication is configured`,
    );
  }
  return {
    ok: true,
    packet: {
      diag: b0 & 0x1f,
      state,
      poll: (b1 & 0x20) !== 0,
      final: (b1 & 0x10) !== 0,
      controlPlaneIndependent: (b1 & 0x08) !== 0,
      demand: (b1 & 0x02) !== 0,
      multipoint: false,
      detectMult,
      myDiscriminator,
      yourDiscriminator,
      desiredMinTxUs: view.getUint32(12),
      requiredMinRxUs: view.getUint32(16),
      requiredMinEchoRxUs: view.getUint32(20),
    },
  };
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new MetalLbError(ErrorCode.BfdEncode, `BFD ${name} ${value} outside ${min}..${max}`, { [name]: value });
  }
}

/**
 * Encode a Control packet (24 octets, no authentication). A field out of range is a bug in the
 * caller and throws MetalLbError(BfdEncode); so does P with F (RFC 5880 §4.1 forbids both).
 */
export function encode(p: ControlPacket): Buffer {
  checkRange('diag', p.diag, 0, 31);
  checkRange('state', p.state, 0, 3);
  checkRange('detectMult', p.detectMult, 0, 255);
  checkRange('myDiscriminator', p.myDiscriminator, 0, 0xffffffff);
  checkRange('yourDiscriminator', p.yourDiscriminator, 0, 0xffffffff);
  checkRange('desiredMinTxUs', p.desiredMinTxUs, 0, 0xffffffff);
  checkRange('requiredMinRxUs', p.requiredMinRxUs, 0, 0xffffffff);
  checkRange('requiredMinEchoRxUs', p.requiredMinEchoRxUs, 0, 0xffffffff);
  if (p.poll && p.final) throw new MetalLbError(ErrorCode.BfdEncode, 'BFD packet with both Poll and Final set', {});
  const buf = Buffer.alloc(CONTROL_PACKET_LENGTH);
  buf[0] = (BFD_VERSION << 5) | p.diag;
  buf[1] =
    (p.state << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.controlPlaneIndependent ? 0x08 : 0) |
    (p.demand ? 0x02 : 0) |
    (p.multipoint ? 0x01 : 0);
  buf[2] = p.detectMult;
  buf[3] = CONTROL_PACKET_LENGTH;
  buf.writeUInt32BE(p.myDiscriminator, 4);
  buf.writeUInt32BE(p.yourDiscriminator, 8);
  buf.writeUInt32BE(p.desiredMinTxUs, 12);
  buf.writeUInt32BE(p.requiredMinRxUs, 16);
  buf.writeUInt32BE(p.requiredMinEchoRxUs, 20);
  return buf;
}
