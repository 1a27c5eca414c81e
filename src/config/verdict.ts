/**
 * The verdict on a parsed configuration, and what to say about it, shared by the controller and
 * the speakers. Both publish the verdict in their ConfigurationState (src/k8s/configuration-state.ts)
 * and log warnings (accepted, but likely not what the user meant, such as a password Secret ending
 * in a newline) once per change: reparses are frequent and mostly change nothing, and a line
 * repeated on every one would bury the change that matters.
 */
import { configErrorSummary, formatConfigError } from './scope';
import type { ParseResult } from './types';

/** ConfigurationState condition reasons, upstream's values. */
export const ConditionReason = {
  Reconciled: 'Reconciled',
  ConfigurationError: 'ConfigurationError',
  UnknownError: 'UnknownError',
} as const;
/** One condition reason. */
export type ConditionReason = (typeof ConditionReason)[keyof typeof ConditionReason];

/**
 * A process's verdict on the latest configuration. A valid one may have disabled BGPPeers
 * (`disabledPeers`: their findings, one per line, as `validate` prints them).
 */
export type ConfigVerdict =
  | { readonly valid: true; readonly disabledPeers?: string }
  | { readonly valid: false; readonly reason: ConditionReason; readonly summary: string };

/** The findings that disabled a BGPPeer, one `<Kind>/<name>: <message> (peer disabled)` line each. */
export function disabledPeerFindings(parsed: ParseResult): string[] {
  return parsed.warnings.filter((w) => w.disablesPeer === true).map(formatConfigError);
}

/** The verdict of one parse: valid (with its disabled peers), or a ConfigurationError summarising every error. */
export function configVerdict(parsed: ParseResult): ConfigVerdict {
  if (!parsed.ok) return { valid: false, reason: ConditionReason.ConfigurationError, summary: configErrorSummary(parsed.errors) };
  const disabled = disabledPeerFindings(parsed);
  return disabled.length > 0 ? { valid: true, disabledPeers: disabled.join('\n') } : { valid: true };
}

/** What was last said about the configuration: the warnings and the error summary ('' = none). */
export interface ConfigReport {
  readonly warnings: string;
  readonly errors: string;
}

/** Nothing said yet. */
export const NOTHING_REPORTED: ConfigReport = { warnings: '', errors: '' };

/** {@link assessConfig}'s answer. */
export interface ConfigAssessment {
  readonly verdict: ConfigVerdict;
  /** What has now been said, for the next call. */
  readonly reported: ConfigReport;
  /** Warnings to log now: they differ from the last ones and are not empty. */
  readonly newWarnings: readonly string[] | undefined;
  /** The error summary to log now: the configuration is invalid differently from last time. */
  readonly newErrors: string | undefined;
}

/** The verdict of a parse, and which of its warnings and errors have not been reported yet. */
export function assessConfig(reported: ConfigReport, parsed: ParseResult): ConfigAssessment {
  const warningList = parsed.warnings.map(formatConfigError);
  const warnings = warningList.join('\n');
  const verdict = configVerdict(parsed);
  const errors = verdict.valid ? '' : verdict.summary;
  return {
    verdict,
    reported: { warnings, errors },
    newWarnings: warnings !== reported.warnings && warnings !== '' ? warningList : undefined,
    newErrors: errors !== reported.errors && errors !== '' ? errors : undefined,
  };
}
