/**
 * BGP protocol errors. One error type, BgpError, carries exactly what a NOTIFICATION needs
 * (RFC 4271 §4.5: code, subcode, data), in the style of GoBGP's MessageError, plus the RFC 7606
 * action that tells the session whether the error resets it or only affects one UPDATE.
 */

/** NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313 §5 for route refresh). */
export const NotificationCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  Fsm: 5,
  Cease: 6,
  RouteRefresh: 7,
} as const;
export type NotificationCode = (typeof NotificationCode)[keyof typeof NotificationCode];

/** Message Header Error subcodes (RFC 4271 §6.1). */
export const HeaderSubcode = {
  ConnectionNotSynchronized: 1,
  BadMessageLength: 2,
  BadMessageType: 3,
} as const;

/** OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5 for 7). */
export const OpenSubcode = {
  Unspecific: 0,
  UnsupportedVersionNumber: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
} as const;

/** UPDATE Message Error subcodes (RFC 4271 §6.3). */
export const UpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOriginAttribute: 6,
  InvalidNextHopAttribute: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

/** Finite State Machine Error subcodes (RFC 6608 §3). */
export const FsmSubcode = {
  Unspecified: 0,
  UnexpectedInOpenSent: 1,
  UnexpectedInOpenConfirm: 2,
  UnexpectedInEstablished: 3,
} as const;

/** Cease subcodes (RFC 4486 §4, RFC 8538 for hard reset). */
export const CeaseSubcode = {
  MaxPrefixes: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
} as const;

/** ROUTE-REFRESH Message Error subcodes (RFC 7313 §5). */
export const RouteRefreshSubcode = {
  InvalidMessageLength: 1,
} as const;

/**
 * What an error does to the session (RFC 7606 §2). Only SessionReset sends a NOTIFICATION;
 * the other two keep the session up and affect one UPDATE (all its routes withdrawn, or one
 * attribute dropped).
 */
export const AttrErrorAction = {
  SessionReset: 'session-reset',
  TreatAsWithdraw: 'treat-as-withdraw',
  AttributeDiscard: 'attribute-discard',
} as const;
export type AttrErrorAction = (typeof AttrErrorAction)[keyof typeof AttrErrorAction];

const codeNames: Record<number, string> = {
  1: 'message header error',
  2: 'OPEN message error',
  3: 'UPDATE message error',
  4: 'hold timer expired',
  5: 'finite state machine error',
  6: 'cease',
  7: 'ROUTE-REFRESH message error',
};

const subcodeNames: Record<number, Record<number, string>> = {
  1: { 1: 'connection not synchronized', 2: 'bad message length', 3: 'bad message type' },
  2: {
    1: 'unsupported version number',
    2: 'bad peer AS',
    3: 'bad BGP identifier',
    4: 'unsupported optional parameter',
    6: 'unacceptable hold time',
    7: 'unsupported capability',
  },
  3: {
    1: 'malformed attribute list',
    2: 'unrecognized well-known attribute',
    3: 'missing well-known attribute',
    4: 'attribute flags error',
    5: 'attribute length error',
    6: 'invalid ORIGIN attribute',
    8: 'invalid NEXT_HOP attribute',
    9: 'optional attribute error',
    10: 'invalid network field',
    11: 'malformed AS_PATH',
  },
  5: {
    1: 'receive unexpected message in OpenSent state',
    2: 'receive unexpected message in OpenConfirm state',
    3: 'receive unexpected message in Established state',
  },
  6: {
    1: 'maximum number of prefixes reached',
    2: 'administrative shutdown',
    3: 'peer de-configured',
    4: 'administrative reset',
    5: 'connection rejected',
    6: 'other configuration change',
    7: 'connection collision resolution',
    8: 'out of resources',
    9: 'hard reset',
  },
  7: { 1: 'invalid message length' },
};

/**
 * Human text for a NOTIFICATION, for logs: "cease / administrative shutdown (6/2)".
 * Unknown codes are named as such rather than guessed.
 */
export function describeNotification(code: number, subcode: number): string {
  const name = codeNames[code] ?? 'unknown code';
  const sub = subcode === 0 ? 'unspecific' : (subcodeNames[code]?.[subcode] ?? 'unknown subcode');
  return `${name} / ${sub} (${code}/${subcode})`;
}

/** A BGP protocol error that maps straight onto a NOTIFICATION (RFC 4271 §4.5). */
export class BgpError extends Error {
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
  readonly action: AttrErrorAction;
  /** The message without the NOTIFICATION's name. */
  readonly reason: string;
  constructor(
    code: number,
    subcode: number,
    message: string,
    data: Buffer = Buffer.alloc(0),
    action: AttrErrorAction = AttrErrorAction.SessionReset,
  ) {
    super(`${message} [${describeNotification(code, subcode)}]`);
    this.name = 'BgpError';
    this.code = code;
    this.subcode = subcode;
    this.data = data;
    this.action = action;
    this.reason = message;
  }

  /** The same error carrying `data` (e.g. the whole attribute, which only the caller has). */
  withData(data: Buffer): BgpError {
    return new BgpError(this.code, this.subcode, this.reason, data, this.action);
  }
}

/**
 * A non-fatal UPDATE error (RFC 7606 treat-as-withdraw or attribute-discard) as plain data. An
 * UPDATE can carry a thousand of them (every repeat of an attribute is one): building an Error,
 * with its stack trace, for each made one such UPDATE cost 10-20 ms to decode. The fields are a
 * BgpError's, so `bgpErrorOf` turns one into a NOTIFICATION if a caller ever needs to.
 */
export interface AttrIssue {
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
  readonly action: AttrErrorAction;
  /** What was wrong, with the offending value ("attribute 4 appears twice"). */
  readonly reason: string;
}

/** The BgpError for an issue (a stack trace is taken here, once, not per issue while decoding). */
export function bgpErrorOf(issue: AttrIssue): BgpError {
  return new BgpError(issue.code, issue.subcode, issue.reason, issue.data, issue.action);
}

/** Type guard used by the session and the property tests. */
export function isBgpError(err: unknown): err is BgpError {
  return err instanceof BgpError;
}
