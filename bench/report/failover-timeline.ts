/**
 * Instrumented failover run for the report's timeline chart: the standard L2 scenario (real
 * apiserver, controller, three speakers, fast election flags) and a client connecting to the VIP
 * every 20 ms, with per-attempt timestamps. One hard kill (SIGKILL of the holder's speaker plus
 * its link cut), recovery, then one graceful handover (SIGTERM of the new holder), recovery.
 * Standalone: `npx tsx bench/report/failover-timeline.ts` prints the JSON as the last line.
 */
import { delay } from '../../test/harness/lab';
import { benchTeardown, nodeIndex, startConnectLoop, startL2Scenario, waitHolder, waitPresence, type Attempt } from '../../test/fixtures/e2e/kit';
import type { TimelineAttempt, TimelineMarker } from './svg';

/** The timeline and its two headline figures. */
export interface FailoverTimeline {
  readonly attempts: TimelineAttempt[];
  readonly markers: TimelineMarker[];
  /** Kill -> end of the first successful connect answered by another node. */
  readonly hardKillRecoveryMs: number;
  readonly gracefulRecoveryMs: number;
  /** Failed attempts started within 10 s after each event. */
  readonly hardKillFailedAttempts: number;
  readonly gracefulFailedAttempts: number;
  /** ms the SIGTERMed speaker took to exit (-1: did not exit within 20 s and was killed). */
  readonly gracefulExitMs: number;
  readonly from: string[];
}

const GRACE_MS = 20_000;

/** Run the scenario (about a minute) and return the timeline. */
export async function runFailoverTimeline(): Promise<FailoverTimeline> {
  const td = benchTeardown();
  try {
    const { c, ip } = await startL2Scenario(td);
    const loop = await startConnectLoop(c, ip, { intervalMs: 20, timeoutMs: 1000 });
    const t0 = Date.now();
    const markers: TimelineMarker[] = [];
    await delay(3000);

    // Hard kill: the speaker dies and the node drops off the LAN at the same moment.
    const holder = await waitHolder(c, ip);
    const h = nodeIndex(c, holder);
    const killAt = Date.now();
    markers.push({ tMs: killAt - t0, label: `SIGKILL + link down ${holder}` });
    await Promise.all([c.stopSpeaker(h, 'SIGKILL'), c.lab.linkDown(h)]);
    const moved = await loop.waitAttempt('traffic to move after the hard kill', (a) => a.ok && a.node !== holder && a.s >= killAt, 60_000);
    await delay(4000);
    await c.lab.linkUp(h);
    const restartAt = Date.now();
    markers.push({ tMs: restartAt - t0, label: `${holder} back` });
    await c.startSpeaker(h);
    await waitPresence(c, h, restartAt);
    await delay(4000);

    // Graceful: SIGTERM, the holder hands the VIP over before it stops.
    const holder2 = await waitHolder(c, ip);
    const h2 = nodeIndex(c, holder2);
    const p = c.speaker(h2);
    const termAt = Date.now();
    markers.push({ tMs: termAt - t0, label: `SIGTERM ${holder2}` });
    const exited = new Promise<number>((r) => p?.once('exit', () => r(Date.now() - termAt)));
    p?.kill('SIGTERM');
    const moved2 = await loop.waitAttempt('traffic to move after SIGTERM', (a) => a.ok && a.node !== holder2 && a.s >= termAt, 60_000);
    const exitMs = await Promise.race([exited, delay(GRACE_MS).then(() => -1)]);
    if (exitMs < 0) p?.kill('SIGKILL');
    await c.stopSpeaker(h2, 'SIGKILL');
    await delay(4000);
    await c.startSpeaker(h2);
    markers.push({ tMs: Date.now() - t0, label: `${holder2} back` });
    await delay(4000);
    await loop.stop();

    const rel = (a: Attempt): TimelineAttempt => ({ tMs: a.s - t0, durMs: a.e - a.s, ok: a.ok, ...(a.node ? { node: a.node } : {}) });
    const failedAfter = (at: number): number => loop.attempts.filter((a) => !a.ok && a.s >= at - 1000 && a.s < at + 10_000).length;
    return {
      attempts: loop.attempts.filter((a) => a.s >= t0).map(rel),
      markers,
      hardKillRecoveryMs: moved.e - killAt,
      gracefulRecoveryMs: moved2.e - termAt,
      hardKillFailedAttempts: failedAfter(killAt),
      gracefulFailedAttempts: failedAfter(termAt),
      gracefulExitMs: exitMs,
      from: [holder, holder2],
    };
  } finally {
    await td.run();
  }
}

if (require.main === module) {
  runFailoverTimeline().then(
    (r) => {
      const { attempts, ...rest } = r;
      process.stdout.write(`${JSON.stringify({ ...rest, attempts: attempts.length })}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    },
  );
}
