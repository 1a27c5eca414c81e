/**
 * Where a hard-kill failover's time goes, read from the successor speaker's own log (debug level,
 * as the lab runs it): the kill, its probe misses of the holder, the Lease CAS that won, the start
 * of announcing (the first gratuitous frame goes out with it), and the client's first connect to
 * the new holder. Every time is this machine's wall clock, shared by the bench and the speakers.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Milliseconds from the kill to each step; undefined when the log does not show it. */
export interface FailoverPhases {
  /** The successor's first probe miss of the dead holder. */
  readonly firstMissMs?: number;
  /** The miss that proved the holder dead (detection). */
  readonly deadMs?: number;
  /** The takeover's Lease write answered. */
  readonly acquiredMs?: number;
  /** Announcing started: the table went to the responder and the first gratuitous frame out. */
  readonly announceMs?: number;
  /** The client's first successful connect to the new holder. */
  readonly clientMs: number;
}

interface LogLine {
  readonly time?: string;
  readonly event?: string;
  readonly ip?: string;
  readonly holder?: string;
  readonly misses?: number;
}

/** The newest log file of `node`'s speaker in the lab directory (cluster.ts names them so). */
export function speakerLogOf(labDir: string, node: string): string | undefined {
  const prefix = `speaker-${node}-`;
  const files = readdirSync(labDir).filter((f) => f.startsWith(prefix) && f.endsWith('.log'));
  const stamp = (f: string): number => Number(f.slice(prefix.length, -'.log'.length));
  files.sort((a, b) => stamp(a) - stamp(b));
  const last = files.at(-1);
  return last === undefined ? undefined : join(labDir, last);
}

/**
 * The phases of one takeover of `ip` from `holder` by the speaker that logged `logText`, for a kill
 * at `killMs` and a first client connect to the new holder at `clientAtMs`.
 */
export function failoverPhases(logText: string, ip: string, holder: string, killMs: number, clientAtMs: number): FailoverPhases {
  let firstMiss: number | undefined;
  let dead: number | undefined;
  let acquired: number | undefined;
  let announce: number | undefined;
  for (const raw of logText.split('\n')) {
    if (!raw.startsWith('{')) continue;
    let l: LogLine;
    try {
      l = JSON.parse(raw) as LogLine;
    } catch {
      continue;
    }
    const at = l.time === undefined ? NaN : Date.parse(l.time);
    if (!(at >= killMs)) continue;
    if (l.event === 'l2ProbeMiss' && l.holder === holder) {
      firstMiss ??= at;
      dead = at;
    } else if (l.event === 'l2Acquired' && l.ip === ip && acquired === undefined) acquired = at;
    else if (l.event === 'l2Announce' && l.ip === ip) {
      // The takeover is complete; the last miss before it was the one that proved death.
      announce = at;
      break;
    }
  }
  const rel = (x: number | undefined): number | undefined => (x === undefined ? undefined : x - killMs);
  return { firstMissMs: rel(firstMiss), deadMs: rel(dead), acquiredMs: rel(acquired), announceMs: rel(announce), clientMs: clientAtMs - killMs };
}

/** Read the successor's log and return the phases; undefined fields when it has no such lines. */
export function phasesFromLab(labDir: string, successor: string, ip: string, holder: string, killMs: number, clientAtMs: number): FailoverPhases {
  const file = speakerLogOf(labDir, successor);
  return failoverPhases(file === undefined ? '' : readFileSync(file, 'utf8'), ip, holder, killMs, clientAtMs);
}

/**
 * The median and the worst of each step: `detect` (kill to the miss that proved death), `takeover`
 * (that miss to announcing: the Lease CAS, then the responder table and the first gratuitous
 * frame) and `client` (announcing to the client's first connect to the new holder). The Lease
 * write's own line is not always there to split `takeover` (when the watch delivers the written
 * Lease before the write's answer, the speaker does not log the acquisition).
 */
export function summarisePhases(runs: readonly FailoverPhases[]): Record<string, number> {
  const steps: Record<string, number[]> = { detect: [], takeover: [], client: [] };
  for (const r of runs) {
    if (r.deadMs === undefined || r.announceMs === undefined) continue;
    steps.detect!.push(r.deadMs);
    steps.takeover!.push(r.announceMs - r.deadMs);
    steps.client!.push(r.clientMs - r.announceMs);
  }
  const out: Record<string, number> = {};
  for (const [name, xs] of Object.entries(steps)) {
    if (xs.length === 0) continue;
    xs.sort((a, b) => a - b);
    out[`${name}P50Ms`] = xs[Math.floor((xs.length - 1) / 2)]!;
    out[`${name}MaxMs`] = xs.at(-1)!;
  }
  return out;
}
