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
 * Stops follow the VIP's current holder; `overlongStops` counts those that lasted the detection
 * time or longer anyway (then a takeover would be no false one: the holder looked dead that long).
 * The successor's own log says whether the stops were felt at all: `probeMisses` and
 * `maxConsecutiveMisses` (a run that never missed a probe proves nothing).
 * Last stdout line: {"falseTakeovers","stops","maxStopMs","probeMisses","maxConsecutiveMisses",...}.
 * Env: L2_STARVATION_SECONDS (default 600), L2_STARVATION_MODE (stop | hog | both),
 * L2_STARVATION_STOP_MS (longest stop), L2_STARVATION_SEED.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, setPriority } from 'node:os';
import type { Cluster } from '../test/harness/cluster';
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
/** Never notified: waiting on it is a precise sleep of this thread. */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

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

/**
 * One busy loop per core at normal priority (nice 0, below this process's), in the client
 * namespace so the lab stops them however the run ends.
 */
function startHogs(c: Cluster): ChildProcess[] {
  return cpus().map(() => {
    const hog = c.lab.spawn(c.lab.client!, [process.execPath, '-e', 'for (;;) {}']);
    if (hog.pid !== undefined) setPriority(hog.pid, 0);
    return hog;
  });
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
  // Let the successor find the holder's MACs and start probing before the first stop.
  await delay(2_000);
  const before = await vipLease(c, ip);
  if (!before) throw new Error(`no Lease for ${ip}`);
  console.log(`holder ${holder}; ${MODE} for ${SECONDS} s, stops up to ${STOP_MS} ms (detection takes at least ${MIN_DETECTION_MS} ms)`);

  // The stops must last what we say even on a starved machine: this process (not the speakers it
  // already started) runs at the highest priority, so a late timer of ours does not stretch a stop
  // past the detection time and pass for a false takeover. Each stop is measured anyway.
  setPriority(-20);
  const hogs = MODE === 'stop' ? [] : startHogs(c);
  const end = Date.now() + SECONDS * 1000;
  let stops = 0;
  let maxStopMs = 0;
  let overlongStops = 0;
  let moves = 0;
  let current = holder;
  while (Date.now() < end) {
    if (MODE !== 'hog') {
      const pid = c.speaker(nodeIndex(c, current))?.pid;
      if (pid === undefined) throw new Error(`no speaker process on ${current}`);
      const want = Math.round(STOP_MS * (0.5 + random() / 2));
      const t0 = performance.now();
      process.kill(pid, 'SIGSTOP');
      try {
        // A blocking sleep (a futex wait), not a timer: nothing else of ours can delay the SIGCONT.
        Atomics.wait(SLEEPER, 0, 0, want);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const stoppedMs = Math.round(performance.now() - t0);
      maxStopMs = Math.max(maxStopMs, stoppedMs);
      if (stoppedMs >= MIN_DETECTION_MS) overlongStops++;
      stops++;
    }
    await delay(GAP_MS[0] + random() * (GAP_MS[1] - GAP_MS[0]));
    const now = await vipLease(c, ip);
    if (now && now.holder !== current) {
      moves++;
      console.log(`${new Date().toISOString()}: the VIP moved from ${current} to ${now.holder} with every speaker alive`);
      current = now.holder;
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
    overlongStops,
    minDetectionMs: MIN_DETECTION_MS,
    hogs: hogs.length,
    probeMisses,
    maxConsecutiveMisses,
    probeMissesToTakeOver: DEFAULT_ELECTION_TIMING.probeMisses,
  };
}

runLabBench(main);
