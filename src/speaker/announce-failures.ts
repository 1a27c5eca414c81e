/**
 * An L2 announce fails when none of the interfaces an L2Advertisement names exists on this node.
 * The election asks again on every tick until one appears, so the failure is reported (a log line,
 * and upstream's Warning Event on each Service with the IP) once per IP and interface selection,
 * not once per tick; a success or a withdrawal forgets it.
 */

/** The Event reason, upstream's. */
export const ANNOUNCE_FAILED = 'announceFailed';

/** Upstream's message (its grammar kept: users grep for it). */
export function announceFailedMessage(ip: string, node: string): string {
  return `the interfaces specified by LB IP "${ip}" doesn't exist in assigned node "${node}" with protocol "layer2"`;
}

/** {@link announceOutcome}'s answer. */
export interface AnnounceOutcome {
  /** The failed selection to remember for the IP; undefined to forget it. */
  readonly failedSelection: string | undefined;
  /** Report the failure now: this selection had not failed before. */
  readonly report: boolean;
}

/**
 * What an announce result means for reporting, given the selection that last failed for the IP
 * (`previous`, undefined when none did).
 */
export function announceOutcome(previous: string | undefined, interfaces: 'all' | readonly string[], ok: boolean): AnnounceOutcome {
  if (ok) return { failedSelection: undefined, report: false };
  const selection = JSON.stringify(interfaces);
  return { failedSelection: selection, report: selection !== previous };
}
