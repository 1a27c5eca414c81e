/**
 * Latency of one added prefix: from the moment the bench tells the speaker (child process in a
 * lab node namespace) to add a /32 until the route is in the router namespace's kernel table
 * (seen with `ip monitor route`), over 200 adds one at a time. Last stdout line:
 * {"p50Ms","p99Ms"}. Target: p99 <= 50 ms.
 *
 * The router is BIRD, which installs a route as soon as the UPDATE is parsed. FRR would add
 * its own batching on top (bgpd's route-processing work queue holds for 50 ms, zebra's for
 * 10 ms), so with FRR every add takes at least ~60 ms whatever the speaker does; the FRR figure
 * is printed too, for reference (set BGP_LATENCY_FRR=0 to skip it).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createLab, waitFor } from '../test/harness/lab';
import { inNs } from '../test/harness/lab-exec';
import { startBird } from '../test/harness/routers/bird';
import { startFrr } from '../test/harness/routers/frr';
import type { Lab } from '../test/harness/lab';
import { sessionConfig, startSpeaker } from '../test/fixtures/bgp/speaker-driver';
import type { RouteAttributes } from '../src/bgp/adj-rib-out';

const ADDS = 200;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Run the 200 adds against whatever router `startRouter` starts; returns sorted latencies. */
async function measure(name: string, startRouter: (lab: Lab) => Promise<{ waitEstablished(a: string, ms?: number): Promise<unknown> }>): Promise<number[]> {
  const lab = await createLab({ nodes: 1, name });
  try {
    const node = lab.nodes[0]!;
    const router = await startRouter(lab);
    const monitor = spawn('ip', inNs(lab.router.ns, ['ip', '-4', 'monitor', 'route']).slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    if (monitor.pid !== undefined) lab.trackPid(monitor.pid);
    const seen = new Map<string, number>();
    createInterface({ input: monitor.stdout }).on('line', (line) => {
      const m = /^(10\.99\.\d+\.\d+) .*proto (bgp|bird)/.exec(line);
      if (m?.[1] !== undefined && !seen.has(m[1])) seen.set(m[1], performance.now());
    });
    const speaker = startSpeaker(lab, node.ns, [
      { id: 'lat', config: sessionConfig({ peerAddress: lab.router.ipv4, localAsn: 64500, peerAsn: 64501, routerId: node.ipv4 }) },
    ], {});
    await speaker.waitEvent('established', (e) => e.event === 'established', 60_000);
    await router.waitEstablished(node.ipv4, 20_000);
    const routes: Record<string, RouteAttributes> = {};
    const latencies: number[] = [];
    for (let i = 0; i < ADDS; i++) {
      const ip = `10.99.${i >>> 8}.${i & 255}`;
      routes[`${ip}/32`] = {};
      const t0 = performance.now();
      speaker.setRoutes(routes);
      const t1 = await waitFor(`kernel route ${ip}`, () => seen.get(ip), { timeoutMs: 10_000, intervalMs: 1 });
      latencies.push(t1 - t0);
    }
    monitor.kill('SIGTERM');
    return latencies.sort((a, b) => a - b);
  } finally {
    await lab.destroy();
  }
}

function describe(name: string, l: number[]): string {
  return `${name}: ${ADDS} adds, min ${l[0]!.toFixed(1)} ms, p50 ${percentile(l, 50).toFixed(1)} ms, p99 ${percentile(l, 99).toFixed(1)} ms, max ${l.at(-1)!.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const neighbors = (lab: Lab) => [{ address: lab.nodes[0]!.ipv4, remoteAs: 64500, families: ['ipv4' as const] }];
  if (process.env.BGP_LATENCY_FRR !== '0') {
    const frr = await measure('bench-lat-frr', (lab) => startFrr(lab, { asn: 64501, routerId: lab.router.ipv4, neighbors: neighbors(lab) }));
    console.log(describe('FRR (reference, includes its 50+10 ms batching)', frr));
  }
  const bird = await measure('bench-lat-bird', (lab) => startBird(lab, { asn: 64501, routerId: lab.router.ipv4, neighbors: neighbors(lab) }));
  console.log(describe('BIRD', bird));
  console.log(JSON.stringify({ p50Ms: Number(percentile(bird, 50).toFixed(2)), p99Ms: Number(percentile(bird, 99).toFixed(2)) }));
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
