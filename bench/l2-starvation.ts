/**
 * No false takeover while the holder is alive but starved (docs/speaker.md, failure detection):
 * the lab of bench/l2-failover.ts (real apiserver, controller, three speakers, one L2 Service) at
 * the speaker's default probe timing, for a fixed duration, with
 *   - `stop`: the holder's speaker repeatedly frozen with SIGSTOP for less than the shortest
 *     detection time (probe-misses x probe-timeout; by default at most 80 % of it, drawn from the
 *     upper half of that range), then SIGCONT, with 0.3-1.5 s between stops;
 *   - `hog`: one busy process per core at normal priority for the whole run;
 *   - `both` (default): the two at once.
 * No speaker ever dies, so every change of the VIP's holder is a false takeover: `falseTakeovers`
 * is the growth of the VIP Lease's leaseTransitions over the run (nothing is released either).
 * The successor's own log says whether the stops were felt at all: `probeMisses` and
 * `maxConsecutiveMisses` (a run that never missed a probe proves nothing).
 * Last stdout line: {"falseTakeovers","stops","maxStopMs","probeMisses","maxConsecutiveMisses",...}.
 * Env: L2_STARVATION_SECONDS (default 600), L2_STARVATION_MODE (stop | hog | both),
 * L2_STARVATION_STOP_MS (longest stop), L2_STARVATION_SEED.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { delay } from '../test/harness/lab';
import { nodeIndex, startL2Scenario, vipLease, waitHolder, waitPresence, type Teardown } from '../test/fixtures/e2e/kit';
import { DEFAULT_ELECTION_TIMING } from '../src/speaker/l2-election-core';
import { runLabBench, type BenchResult } from './lab-bench';
import { speakerLogOf } from './l2-failover-phases';

const MODES = ['stop', 'hog', 'both'] as const;
type Mode = (typeof MODES)[number];

const SECONDS = Number(process.env.L2_STARVATION_SECONDS ?? 600);
const MODE = (process.env.L2_STARVATION_MODE ?? 'both') as Mode;
/** The shortest time in which a stop can be taken for death: every probe of a round times out. */
const MIN_DETECTION_MS = DEFAULT_ELECTION_TIMING.probeMisses * DEFAULT_ELECTION_TIMING.probeTimeoutMs;
const STOP_MS = Number(process.env.L2_STARVATION_STOP_MS ?? Math.floor(MIN_DETECTION_MS * 0.8));
const SEED = Number(process.env.L2_STARVATION_SEED ?? 1);
const GAP_MS: readonly [number, number] = [300, 1_500];

/** mulberry32: a small seeded generator, so a run that found something can be repeated. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One busy loop per core at normal priority, killed by the teardown. */
function startHogs(td: Teardown): ChildProcess[] {
  const hogs = cpus().map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  td.teardown(() => {
    for (const h of hogs) h.kill('SIGKILL');
  });
  return hogs;
}

/** Probe misses of `holder` in one speaker log: how many, and the longest run of consecutive ones. */
function missesIn(logText: string, holder: string): { misses: number; maxConsecutive: number } {
  let misses = 0;
  let maxConsecutive = 0;
  for (const raw of logText.split('\n')) {
    if (!raw.includes('"l2ProbeMiss"')) continue;
    let l: { holder?: string; misses?: number };
    try {
      l = JSON.parse(raw) as typeof l;
    } catch {
      continue; // a line cut short by the copy
    }
    if (l.holder !== holder) continue;
    misses++;
    maxConsecutive = Math.max(maxConsecutive, l.misses ?? 0);
  }
  return { misses, maxConsecutive };
}

async function main(td: Teardown): Promise<BenchResult> {
  if (!MODES.includes(MODE)) throw new Error(`L2_STARVATION_MODE must be one of ${MODES.join(', ')}, not ${MODE}`);
  if (!(STOP_MS > 0 && STOP_MS < MIN_DETECTION_MS)) throw new Error(`L2_STARVATION_STOP_MS ${STOP_MS} must be between 0 and the ${MIN_DETECTION_MS} ms detection time`);
  const random = seededRandom(SEED);
  const { c, ip } = await startL2Scenario(td);
  for (let i = 0; i < c.lab.nodes.length; i++) await waitPresence(c, i, 0);
  const holder = await waitHolder(c, ip);
  const h = nodeIndex(c, holder);
  // Let the successor find the holder's MACs and start probing before the first stop.
  await delay(2_000);
  const before = await vipLease(c, ip);
  if (!before) throw new Error(`no Lease for ${ip}`);
  console.log(`holder ${holder}; ${MODE} for ${SECONDS} s, stops up to ${STOP_MS} ms (detection takes at least ${MIN_DETECTION_MS} ms)`);

  const hogs = MODE === 'stop' ? [] : startHogs(td);
  const pid = c.speaker(h)?.pid;
  if (pid === undefined) throw new Error(`no speaker process on ${holder}`);
  const end = Date.now() + SECONDS * 1000;
  let stops = 0;
  let maxStopMs = 0;
  let moves = 0;
  let lastHolder = holder;
  while (Date.now() < end) {
    if (MODE !== 'hog') {
      const want = Math.round(STOP_MS * (0.5 + random() / 2));
      const t0 = Date.now();
      process.kill(pid, 'SIGSTOP');
      try {
        await delay(want);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const stoppedMs = Date.now() - t0;
      // A late timer here would stop the holder for longer than we mean to: report it, so a run
      // whose stops overshot the detection time is not mistaken for a false takeover.
      maxStopMs = Math.max(maxStopMs, stoppedMs);
      stops++;
    }
    await delay(GAP_MS[0] + random() * (GAP_MS[1] - GAP_MS[0]));
    const now = await vipLease(c, ip);
    if (now && now.holder !== lastHolder) {
      moves++;
      console.log(`${new Date().toISOString()}: the VIP moved from ${lastHolder} to ${now.holder} with every speaker alive`);
      lastHolder = now.holder;
    }
  }
  for (const hog of hogs) hog.kill('SIGKILL');
  const after = await vipLease(c, ip);
  let probeMisses = 0;
  let maxConsecutiveMisses = 0;
  for (const n of c.lab.nodes) {
    const file = speakerLogOf(c.lab.dir, n.name);
    if (!file) continue;
    const m = missesIn(readFileSync(file, 'utf8'), holder);
    probeMisses += m.misses;
    maxConsecutiveMisses = Math.max(maxConsecutiveMisses, m.maxConsecutive);
  }
  return {
    mode: MODE,
    seconds: SECONDS,
    falseTakeovers: Math.max(moves, (after?.transitions ?? 0) - before.transitions),
    stops,
    stopLimitMs: STOP_MS,
    maxStopMs,
    minDetectionMs: MIN_DETECTION_MS,
    hogs: hogs.length,
    probeMisses,
    maxConsecutiveMisses,
    probeMissesToTakeOver: DEFAULT_ELECTION_TIMING.probeMisses,
  };
}

runLabBench(main);
