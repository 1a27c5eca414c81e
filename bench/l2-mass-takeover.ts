/**
 * L2 mass takeover (docs/speaker.md "API cost"): the real apiserver, controller and three speakers
 * in lab node namespaces (fast election flags as in the e2e tests). Node 0's speaker starts alone
 * and acquires every one of `MASS_TAKEOVER_VIPS` L2 VIPs; then the other two start, and node 0 is
 * hard-killed (SIGKILL plus its link cut). Its successors must detect it on the wire, land each
 * VIP's Lease CAS and announce it.
 *
 * Measured on the wire, not from logs: a watcher on the router's side of the lab bridge
 * (test/fixtures/arp/owner-watch-proc.ts) asks ARP who-has for every VIP not yet moved, round
 * robin, and at once for any VIP a new owner announces gratuitously; per VIP, the time from the
 * kill to the first reply from a MAC other than node 0's. Before the kill the same watcher checks
 * that node 0 answers for every VIP; after the last VIP moved it keeps asking for a few seconds and
 * counts VIPs that two MACs answer (two owners: must be 0). The speakers' logs add where the time
 * went: detection (`l2HolderDead`), the write queue (`queuedMs`) and the apiserver (`writeMs`).
 * The CPU the successors, kube-apiserver and etcd spent from the kill to the last VIP (from /proc)
 * shows what paced it on this machine.
 * Last stdout line: {"vips","lastVipMs","p99Ms","p50Ms","firstVipMs","twoOwnerVips",...}.
 * Target: lastVipMs <= 2000 (the last VIP answering from its new owner within 2 s of the kill).
 * Env: MASS_TAKEOVER_VIPS (default 3000), MASS_TAKEOVER_ASK_PER_SEC (watcher requests/s, 1000).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import { delay, waitFor } from '../test/harness/lab';
import { startCluster, RELEASE_NAMESPACE, BACKEND_PORT, type Cluster } from '../test/harness/cluster';
import { FAST_ELECTION, percentile, waitPresence, type Teardown } from '../test/fixtures/e2e/kit';
import { speakerEvents, type SpeakerLogEvent } from '../test/fixtures/e2e/speaker-log';
import { labConfig, toYaml } from '../test/fixtures/manifests/metallb-config';
import { startProc } from '../test/fixtures/arp/proc-client';
import type { WatchResult } from '../test/fixtures/arp/owner-watch-proc';
import { runLabBench, type BenchResult } from './lab-bench';

const VIPS = Number(process.env.MASS_TAKEOVER_VIPS ?? 3000);
/** The watcher's requests a second: a VIP still to move is asked at least every VIPS / this s; each speaker receives every request, so more would tax the successors under test. */
const ASK_PER_SEC = Number(process.env.MASS_TAKEOVER_ASK_PER_SEC ?? 1000);
/** An unused lab address the watcher asks from. */
const WATCHER_IP = '10.77.0.250';
/** After the last VIP moved: how long to keep asking every VIP, looking for two owners. */
const CHECK_MS = 3_000;
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

/** The VIPs the controller assigned to the Services of the bench, in Service order. */
async function assignedVips(c: Cluster): Promise<string[]> {
  const list = await c.core.listNamespacedService({ namespace: NS });
  return list.items.flatMap((s) => (s.status?.loadBalancer?.ingress ?? []).map((g) => g.ip ?? '')).filter((ip) => ip !== '');
}

/** CPU time (user + system, ms) of a process from /proc; 0 once it is gone. */
function cpuMs(pid: number | undefined): number {
  try {
    // Fields after the parenthesised command: utime and stime are the 12th and 13th, in clock ticks (100/s).
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** The PID of this bench's kube-apiserver or etcd: the one whose command line names the control plane's dir. */
function controlPlanePid(c: Cluster, binary: 'kube-apiserver' | 'etcd'): number | undefined {
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv[0]!.endsWith(`/${binary}`) && argv.some((a) => a.includes(c.cp.dir))) return Number(d);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const ms = (x: number): number => Math.round(x);

async function main(td: Teardown): Promise<BenchResult> {
  // Info, the chart's level: the lab's default debug logs a line per Lease event, which a takeover of thousands pays for.
  const c = await startCluster(td, { nodes: 3, client: false, speakerArgs: [...FAST_ELECTION, '--log-level', 'info'] });
  const victim = c.lab.nodes[0]!;
  await c.apply(toYaml(labConfig({ pool: 'mass', addresses: [POOL] })));
  await c.startController();
  await c.startSpeaker(0);
  await c.core.createNamespace({ body: { metadata: { name: NS } } });
  const setup = Date.now();
  await addServices(c, VIPS);
  await waitFor(`${VIPS} VIP Leases held by ${victim.name}`, async () => (await heldBy(c, victim.name)) >= VIPS, { timeoutMs: 900_000, intervalMs: 2_000 });
  console.log(`${VIPS} VIPs held by ${victim.name} ${((Date.now() - setup) / 1000).toFixed(1)} s after the first create`);
  const targets = await assignedVips(c);
  if (targets.length !== VIPS) throw new Error(`${targets.length} Services have an ingress IP, expected ${VIPS}`);

  const watcher = await startProc(c.lab.router.ns, 'test/fixtures/arp/owner-watch-proc.ts', { iface: c.lab.router.iface, senderIp: WATCHER_IP }, (pid) => c.lab.trackPid(pid));
  td.teardown(() => watcher.kill('SIGTERM'));
  const sweep = (): Promise<{ byMac: Record<string, number>; unanswered: number }> => watcher.call('sweep', { targets, ratePerSec: ASK_PER_SEC, waitMs: 500 }, 60_000);
  await waitFor(`${victim.name} (${victim.mac}) answering ARP for all ${VIPS} VIPs`, async () => {
    const s = await sweep();
    return s.byMac[victim.mac] === VIPS ? s : undefined;
  }, { timeoutMs: 120_000, intervalMs: 1_000 });

  for (const i of [1, 2]) {
    const since = Date.now();
    await c.startSpeaker(i);
    await waitPresence(c, i, since);
  }
  await delay(SETTLE_MS);
  // Who spent the CPU between the kill and the last VIP answering (on 2 cores, with the watcher).
  const pids = { speakers: [1, 2].map((i) => c.speaker(i)?.pid), apiserver: controlPlanePid(c, 'kube-apiserver'), etcd: controlPlanePid(c, 'etcd') };
  const cpuBefore = { speakers: pids.speakers.map(cpuMs), apiserver: cpuMs(pids.apiserver), etcd: cpuMs(pids.etcd) };
  await watcher.call('watch', { targets, oldMac: victim.mac, ratePerSec: ASK_PER_SEC });
  const t0 = Date.now();
  c.speaker(0)!.kill('SIGKILL');
  await c.lab.linkDown(0);
  await c.stopSpeaker(0, 'SIGKILL');
  await waitFor(`all ${VIPS} VIPs answering from a new owner`, async () => {
    const p = await watcher.call<{ moved: number; total: number }>('progress');
    return p.moved >= p.total ? p : undefined;
  }, { timeoutMs: 120_000, intervalMs: 100 });
  const cpu = { speakers: pids.speakers.map((p, k) => cpuMs(p) - cpuBefore.speakers[k]!), apiserver: cpuMs(pids.apiserver) - cpuBefore.apiserver, etcd: cpuMs(pids.etcd) - cpuBefore.etcd };
  const wire = await watcher.call<WatchResult>('stop', { checkMs: CHECK_MS, ratePerSec: ASK_PER_SEC }, 60_000);

  const answered = sorted(wire.answeredAtMs.map((at) => (at ?? NaN) - t0));
  const garps = wire.garpAtMs.filter((at): at is number => at !== null).map((at) => at - t0);
  const byNewOwner: Record<string, number> = {};
  for (const mac of wire.newMac) byNewOwner[mac] = (byNewOwner[mac] ?? 0) + 1;
  // Where the time went, from the successors' own logs (the victim wrote nothing after the kill).
  const since = (event: string): SpeakerLogEvent[] => speakerEvents(c.lab.dir, event).filter((e) => e.time >= t0);
  const acquired = firstPerIp(since('l2Acquired'), t0);
  const dead = since('l2HolderDead').map((e) => e.time - t0);
  const queued = sorted([...acquired.values()].map((e) => Number(e['queuedMs'] ?? 0)));
  const writes = sorted([...acquired.values()].map((e) => Number(e['writeMs'] ?? 0)));
  const lastAcquiredMs = Math.max(...[...acquired.values()].map((e) => e.time - t0));
  console.log(`detections (ms after the kill): ${dead.join(' ')}; new owners ${JSON.stringify(byNewOwner)}; requests ${wire.requestsSent}`);
  return {
    vips: VIPS,
    lastVipMs: ms(answered[answered.length - 1]!),
    p99Ms: ms(percentile(answered, 99)),
    p50Ms: ms(percentile(answered, 50)),
    firstVipMs: ms(answered[0]!),
    lastGratuitousMs: ms(Math.max(...garps)),
    twoOwnerVips: wire.twoOwners,
    oldOwnerReplies: wire.oldMacReplies,
    newOwners: Object.keys(byNewOwner).length,
    detectMs: dead.length > 0 ? Math.max(...dead) : NaN,
    lastLeaseWrittenMs: lastAcquiredMs,
    queueP99Ms: percentile(queued, 99),
    queueMaxMs: queued[queued.length - 1] ?? NaN,
    writeP99Ms: percentile(writes, 99),
    writeMaxMs: writes[writes.length - 1] ?? NaN,
    takeoverSpeakerCpuMs: Math.max(...cpu.speakers),
    takeoverApiserverCpuMs: cpu.apiserver,
    takeoverEtcdCpuMs: cpu.etcd,
    loadAverage1m: Math.round(loadavg()[0]! * 10) / 10,
    askPerSec: ASK_PER_SEC,
  };
}

runLabBench(main);
