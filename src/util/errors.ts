/**
 * One catalogue of stable error codes (in the style of undici's UND_ERR_* and fastify's
 * FST_ERR_*): callers match on `code`, never on message text. Messages always carry the
 * offending value. BGP protocol errors have their own type, BgpError, in src/bgp/errors.ts,
 * because they map straight onto a NOTIFICATION.
 */
export const ErrorCode = {
  /** A configuration object failed validation (object and value are in the message). */
  ConfigInvalid: 'MLB_ERR_CONFIG_INVALID',
  /** An IP string or CIDR could not be parsed. */
  BadAddress: 'MLB_ERR_BAD_ADDRESS',
  /** A frame or packet could not be decoded. */
  BadFrame: 'MLB_ERR_BAD_FRAME',
  /** A call into the native addon failed; `errno` names the system error. */
  Native: 'MLB_ERR_NATIVE',
  /** The test or demo lab could not be brought up. */
  Lab: 'MLB_ERR_LAB',
  /** A command-line flag or file was rejected. */
  Usage: 'MLB_ERR_USAGE',
  /** An operation did not complete before its deadline. */
  Timeout: 'MLB_ERR_TIMEOUT',
  /** A BGP message could not be encoded (bad prefix, over 4096 octets): a bug in the caller. */
  BgpEncode: 'MLB_ERR_BGP_ENCODE',
  /** A BFD Control packet could not be encoded (a field out of range): a bug in the caller. */
  BfdEncode: 'MLB_ERR_BFD_ENCODE',
  /** The Kubernetes apiserver refused a request or could not be reached (`statusCode` in details). */
  KubeApi: 'MLB_ERR_KUBE_API',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error with a stable code from the catalogue above. */
export class MetalLbError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'MetalLbError';
    this.code = code;
    this.details = details;
  }
}

/** Narrow an unknown thrown value to a message string without losing non-Error throws. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
