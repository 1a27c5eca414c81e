/**
 * BFD failure detection through the whole speaker, against FRR 8.4 (bgpd + bfdd) with a real
 * apiserver: one node, a BGPPeer with a BFDProfile of 300 ms x 3 (detection time 900 ms), FRR's
 * neighbor tied to BFD too, one routed Service.
 *
 * 1. Idle: the session runs Up for BFD_IDLE_SEC (default 600 s); every BFD Down the speaker logs
 *    in that time is a false Down (`falseDowns`).
 * 2. Cuts: each run cuts the node's link (router-side veth port down) and measures from just
 *    before `ip link set down` to the speaker's `bgpHeldForBfd` log line, the moment it closes the
 *    BGP session and so withdraws our routes on our side (`p50Ms`, `p99Ms`); and to the route
 *    leaving FRR's table, polled every 20 ms (`frrP50Ms`, `frrP99Ms`). Then the link comes back
 *    and the run waits for BFD Up, BGP Established and the route.
 *
 * The cut figure is an upper bound on detection: the link goes down a few ms after the clock
 * starts, and detection counts from the last packet heard, up to one transmit interval before the
 * cut; so expect about 900 ms minus up to 300 ms, plus timer and scheduling lateness.
 * Last stdout line: {"runs","p50Ms","p99Ms","frrP50Ms","frrP99Ms","idleSec","falseDowns"}.
 * Targets: p99 <= 1000 ms (detection time + 100 ms), falseDowns 0.
 * Env: BFD_DETECT_RUNS (default 20), BFD_IDLE_SEC (default 600).
 */
import type { Cluster } from '../test/harness/cluster';
import { delay } from '../test/harness/lab';
import { createService, percentile, type Teardown } from '../test/fixtures/e2e/kit';
import { runLabBench, type BenchResult } from './lab-bench';
import { bfdDownsBetween } from '../test/fixtures/e2e/speaker-log';
import { BGP_POOL_YAML, bfdProfileYaml, bgpPeerYaml, startBfdScenario, waitBfdBgpRoute, waitHeldForBfd, yamlDocs } from '../test/fixtures/e2e/bfd-scenario';

const RUNS = Number(process.env.BFD_DETECT_RUNS ?? 20);
const IDLE_SEC = Number(process.env.BFD_IDLE_SEC ?? 600);
const INTERVAL_MS = 300;
const MULT = 3;
/** After recovery, run at the negotiated rate for a while before the next cut. */
const SETTLE_MS = 1000;

const config = (c: Cluster): string =>
  yamlDocs(bfdProfileYaml('bench', { intervalMs: INTERVAL_MS, mult: MULT }), bgpPeerYaml('router', c.lab.router.ipv4, 'bfdProfile: bench'), BGP_POOL_YAML);

const fixed = (x: number): number => Number(x.toFixed(1));

async function main(td: Teardown): Promise<BenchResult> {
  const scenario = await startBfdScenario(td, { timers: { intervalMs: INTERVAL_MS, mult: MULT }, config });
  const { c, node, frr } = scenario;
  await createService(c, 'bench', 'routed', { pool: 'bgp' });
  await c.setEndpoints('bench', 'routed', [node.name]);
  const [ip] = await c.waitForIngress('bench', 'routed', 60_000);
  const prefix = `${ip}/32`;
  const waitAllUp = (): Promise<void> => waitBfdBgpRoute(scenario, prefix);
  await waitAllUp();

  const idleFrom = Date.now();
  console.log(`idle ${IDLE_SEC} s with BFD Up at ${INTERVAL_MS} ms x ${MULT}`);
  await delay(IDLE_SEC * 1000);
  const falseDowns = bfdDownsBetween(c.lab.dir, idleFrom, Date.now()).length;
  console.log(`false Downs while idle: ${falseDowns}`);

  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // The random part spreads the cut over the peer's transmit phase.
    await delay(SETTLE_MS + Math.random() * INTERVAL_MS);
    const t0 = Date.now();
    await c.lab.linkDown(node.index);
    const [held, gone] = await Promise.all([
      waitHeldForBfd(c, t0),
      frr.waitRouteGone(prefix, 10_000).then(() => Date.now()),
    ]);
    ours.push(held.time - t0);
    theirs.push(gone - t0);
    console.log(`run ${i + 1}/${RUNS}: our BGP session closed ${ours.at(-1)} ms after the cut, route gone from FRR after ${theirs.at(-1)} ms`);
    await c.lab.linkUp(node.index);
    await waitAllUp();
  }
  ours.sort((a, b) => a - b);
  theirs.sort((a, b) => a - b);
  console.log(`ms: ${ours.join(' ')}`);
  return {
    runs: ours.length,
    p50Ms: fixed(percentile(ours, 50)),
    p99Ms: fixed(percentile(ours, 99)),
    frrP50Ms: fixed(percentile(theirs, 50)),
    frrP99Ms: fixed(percentile(theirs, 99)),
    idleSec: IDLE_SEC,
    falseDowns,
  };
}

runLabBench(main);
