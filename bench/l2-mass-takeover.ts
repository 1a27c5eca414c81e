/**
 * L2 mass takeover (docs/speaker.md "API cost"): the real apiserver, controller and three speakers
 * in lab node namespaces (fast election flags as in the e2e tests). Node 0's speaker starts alone
 * and acquires every one of `MASS_TAKEOVER_VIPS` L2 VIPs; then the other two start, and node 0 is
 * hard-killed (SIGKILL plus its link cut). Its successors must detect it on the wire, land each
 * VIP's Lease CAS and announce it. From the speakers' own logs, per VIP, the time from the kill to
 * its first `l2Announce` by a successor, and where the time went: detection (`l2HolderDead`),
 * the write queue (`queuedMs`), the apiserver (`writeMs`) and the announce after the write.
 * Last stdout line: {"vips","lastVipMs","p99Ms","p50Ms","detectMs","queueP99Ms","queueMaxMs",
 * "writeP99Ms","writeMaxMs","announceLagMaxMs"}. Target: lastVipMs (and p99Ms) <= 2000.
 * Env: MASS_TAKEOVER_VIPS (default 3000).
 */
import * as k8s from '@kubernetes/client-node';
import { delay, waitFor } from '../test/harness/lab';
import { startCluster, RELEASE_NAMESPACE, BACKEND_PORT, type Cluster } from '../test/harness/cluster';
import { FAST_ELECTION, percentile, waitPresence, type Teardown } from '../test/fixtures/e2e/kit';
import { speakerEvents, type SpeakerLogEvent } from '../test/fixtures/e2e/speaker-log';
import { labConfig, toYaml } from '../test/fixtures/manifests/metallb-config';
import { runLabBench, type BenchResult } from './lab-bench';

const VIPS = Number(process.env.MASS_TAKEOVER_VIPS ?? 3000);
const NS = 'mass';
/** 4,096 addresses inside the lab's 10.77/16. */
const POOL = '10.77.64.0/20';
/** Let the late speakers sync and start probing the holder before the kill. */
const SETTLE_MS = 3_000;

async function addServices(c: Cluster, n: number): Promise<void> {
  const discovery = c.kc.makeApiClient(k8s.DiscoveryV1Api);
  const nodes = c.lab.nodes.map((x) => x.name);
  let next = 0;
  // No NodePorts: the apiserver's default range holds 2,768, fewer than 3,000.
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) {
      const name = `svc-${i}`;
      await discovery.createNamespacedEndpointSlice({
        namespace: NS,
        body: {
          metadata: { name: `${name}-e2e`, labels: { 'kubernetes.io/service-name': name } },
          addressType: 'IPv4',
          endpoints: nodes.map((node, k) => ({ addresses: [`10.244.${k}.${(i % 250) + 1}`], nodeName: node, conditions: { ready: true, serving: true } })),
          ports: [{ port: BACKEND_PORT, protocol: 'TCP' }],
        },
      });
      await c.core.createNamespacedService({
        namespace: NS,
        body: { metadata: { name }, spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: BACKEND_PORT, protocol: 'TCP' }], selector: { app: name } } },
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function heldBy(c: Cluster, node: string): Promise<number> {
  const api = c.kc.makeApiClient(k8s.CoordinationV1Api);
  const list = await api.listNamespacedLease({ namespace: RELEASE_NAMESPACE, labelSelector: 'metallb.io/lease-kind=vip' });
  return list.items.filter((l) => l.spec?.holderIdentity === node).length;
}

/** First event per IP at or after `t0` from nodes other than `victim`. */
function firstPerIp(events: readonly SpeakerLogEvent[], t0: number): Map<string, SpeakerLogEvent> {
  const out = new Map<string, SpeakerLogEvent>();
  for (const e of events) {
    const ip = String(e['ip'] ?? '');
    if (e.time < t0 || ip === '') continue;
    const seen = out.get(ip);
    if (!seen || e.time < seen.time) out.set(ip, e);
  }
  return out;
}

async function main(td: Teardown): Promise<BenchResult> {
  const c = await startCluster(td, { nodes: 3, client: false, speakerArgs: FAST_ELECTION });
  const victim = c.lab.nodes[0]!.name;
  await c.apply(toYaml(labConfig({ pool: 'mass', addresses: [POOL] })));
  await c.startController();
  await c.startSpeaker(0);
  await c.core.createNamespace({ body: { metadata: { name: NS } } });
  const setup = Date.now();
  await addServices(c, VIPS);
  await waitFor(`${VIPS} VIP Leases held by ${victim}`, async () => (await heldBy(c, victim)) >= VIPS, { timeoutMs: 900_000, intervalMs: 2_000 });
  console.log(`${VIPS} VIPs held by ${victim} ${((Date.now() - setup) / 1000).toFixed(1)} s after the first create`);
  for (const i of [1, 2]) {
    const since = Date.now();
    await c.startSpeaker(i);
    await waitPresence(c, i, since);
  }
  await delay(SETTLE_MS);
  const t0 = Date.now();
  c.speaker(0)!.kill('SIGKILL');
  await c.lab.linkDown(0);
  await c.stopSpeaker(0, 'SIGKILL');
  const fromOthers = (event: string): SpeakerLogEvent[] => speakerEvents(c.lab.dir, event).filter((e) => !String(e['node'] ?? e['name'] ?? '').includes(victim));
  const announced = await waitFor(`all ${VIPS} VIPs announced again`, () => {
    const m = firstPerIp(fromOthers('l2Announce'), t0);
    return m.size >= VIPS ? m : undefined;
  }, { timeoutMs: 120_000, intervalMs: 250 });
  const acquired = firstPerIp(fromOthers('l2Acquired'), t0);
  const dead = fromOthers('l2HolderDead').filter((e) => e.time >= t0).map((e) => e.time - t0);
  const ms = [...announced.values()].map((e) => e.time - t0).sort((a, b) => a - b);
  const queued = [...acquired.values()].map((e) => Number(e['queuedMs'] ?? 0)).sort((a, b) => a - b);
  const writes = [...acquired.values()].map((e) => Number(e['writeMs'] ?? 0)).sort((a, b) => a - b);
  const lag = [...announced].map(([ip, e]) => e.time - (acquired.get(ip)?.time ?? e.time));
  console.log(`detections (ms after the kill): ${dead.join(' ')}; acquired ${acquired.size}`);
  return {
    vips: VIPS,
    lastVipMs: ms[ms.length - 1]!,
    p99Ms: percentile(ms, 99),
    p50Ms: percentile(ms, 50),
    firstVipMs: ms[0]!,
    detectMs: dead.length > 0 ? Math.max(...dead) : NaN,
    queueP99Ms: percentile(queued, 99),
    queueMaxMs: queued[queued.length - 1] ?? NaN,
    writeP99Ms: percentile(writes, 99),
    writeMaxMs: writes[writes.length - 1] ?? NaN,
    announceLagMaxMs: Math.max(0, ...lag),
  };
}

runLabBench(main);
