/**
 * Speakers at scale (docs/benchmarks.md): the real apiserver and controller, one speaker process per
 * lab node namespace (20 by default), two FRR routers (bgpd without zebra: one in the router
 * namespace, 10.77.0.1, one in the client namespace, 10.77.0.2; both AS 64501, every node a
 * passive neighbor) and 10,000 Services (10,000 VIPs), advertised by L2 and by BGP.
 *
 * 1. BGPPeers first (sessions Established), then every Service and its EndpointSlice (one ready
 *    endpoint on some node), still without an address: no pool exists yet.
 * 2. The clock starts when the pool, its L2Advertisement and BGPAdvertisement are applied, and stops
 *    when every VIP answers, both
 *    - on the wire: an ARP prober in the client namespace (test/fixtures/arp/arp-sweep-proc.ts)
 *      asks for every address of the pool, round robin over those not yet answered, at
 *      --arp-rate requests/s (default 1,000/s: a pass over 10,000 takes 10 s at first, the passes
 *      shorten as addresses answer); each address counts once it answered once. Every address is
 *      probed, none sampled; the pool holds exactly --vips addresses so every one is a VIP;
 *    - and by BGP: each router's `show bgp ipv4 unicast summary json` lists every node with
 *      pfxRcd = --vips (the Services are externalTrafficPolicy Cluster: every node advertises all).
 * 3. Idle: probing stops; once nothing but Lease renewals has been written for 5 s (at most 3 min),
 *    each speaker's CPU (utime + stime from /proc/PID/stat) over --window-s seconds (default 60),
 *    and its RSS (VmRSS) and peak (VmHWM) at the end; the apiserver's own request counters over the
 *    same window (writes/s, reads/s, as bench/api-load.ts).
 * 4. A last ARP sweep: each address asked once; unanswered addresses, addresses answered by more
 *    than one MAC, and VIPs per answering MAC.
 *
 * Run: npx tsx bench/speaker-scale.ts [--nodes=20] [--vips=10000] [--window-s=60] [--arp-rate=1000]
 * [--speaker-node-options=V8 flags] [--profile-dir=DIR]
 * (root; native addon built; `npm run build:ts` first, or speakers run through tsx and their RSS
 * includes the TypeScript loader). Last stdout line: {"nodes","vips","routers",
 * "poolToAllAnsweringMs","speakerRssMbMax","speakerRssMbP50","idleCpuPctMax",...}.
 * Targets: RSS <= 100 MB per speaker, idle CPU < 1 % per speaker.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { delay, waitFor } from '../test/harness/lab';
import { startCluster, RELEASE_NAMESPACE, BACKEND_PORT, type ApiRequestCount, type Cluster } from '../test/harness/cluster';
import { startFrr, type FrrHandle } from '../test/harness/routers/frr';
import { startProc, type ProcClient } from '../test/fixtures/arp/proc-client';
import { percentile, type Teardown } from '../test/fixtures/e2e/kit';
import { bgpAdvertisement, bgpPeer, l2Advertisement, LAB, pool, toYaml } from '../test/fixtures/manifests/metallb-config';
import { runLabBench, type BenchResult } from './lab-bench';

const flag = (name: string, dflt: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.slice(name.length + 3));
};
const NODES = flag('nodes', 20);
const VIPS = flag('vips', 10_000);
const WINDOW_S = flag('window-s', 60);
const ARP_RATE = flag('arp-rate', 1000);
/**
 * --profile-dir=DIR: node 1's speaker runs with --cpu-prof and --heapsnapshot-signal into DIR;
 * after the idle window it gets SIGUSR2 (heap snapshot) then SIGTERM (the CPU profile is written
 * at exit). The idle window's bounds are printed in the profile's clock (CLOCK_MONOTONIC µs).
 */
const PROFILE_DIR = process.argv.find((x) => x.startsWith('--profile-dir='))?.slice('--profile-dir='.length);
/** --speaker-node-options='--max-semi-space-size=4': NODE_OPTIONS of every speaker (V8 flags to compare). */
const SPEAKER_NODE_OPTIONS = process.argv.find((x) => x.startsWith('--speaker-node-options='))?.slice('--speaker-node-options='.length);
const NS = 'scale';
/** First VIP: 10.77.64.0 onwards stays inside the lab's 10.77/16 and off the bridge's /24. */
const FIRST_VIP = '10.77.64.0';
const POOL = 'scale';
const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'DELETECOLLECTION', 'APPLY', 'CREATE', 'UPDATE']);
const READ_VERBS = new Set(['GET', 'LIST']);

const ipText = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
const ip4 = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0) >>> 0;
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** Run `fn` over `items` with at most `limit` in flight. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Services without NodePorts (the default range holds 2,768), each with one ready endpoint. */
async function addServices(c: Cluster, count: number): Promise<void> {
  const discovery = c.kc.makeApiClient(k8s.DiscoveryV1Api);
  const nodes = c.lab.nodes.map((n) => n.name);
  await inParallel(
    Array.from({ length: count }, (_, i) => i),
    // Requests wait on a busy 2-core machine far more than they cost: 8 in flight made 5 a second.
    32,
    async (i) => {
      const name = `svc-${i}`;
      await discovery.createNamespacedEndpointSlice({
        namespace: NS,
        body: {
          metadata: { name: `${name}-e2e`, labels: { 'kubernetes.io/service-name': name } },
          addressType: 'IPv4',
          endpoints: [{ addresses: [`10.244.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`], nodeName: nodes[i % nodes.length]!, conditions: { ready: true, serving: true } }],
          ports: [{ port: BACKEND_PORT, protocol: 'TCP' }],
        },
      });
      await c.core.createNamespacedService({
        namespace: NS,
        body: { metadata: { name }, spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: BACKEND_PORT, protocol: 'TCP' }], selector: { app: name } } },
      });
    },
  );
}

/** Per neighbor (address without FRR's `*` for dynamic ones): state and prefixes received. */
async function bgpSummary(frr: FrrHandle): Promise<Map<string, { state: string; pfxRcd: number }>> {
  const data = JSON.parse((await frr.vtysh('show bgp ipv4 unicast summary json')) || '{}') as { peers?: Record<string, { state?: string; pfxRcd?: number }> };
  return new Map(Object.entries(data.peers ?? {}).map(([k, v]) => [k.replace(/^\*/, ''), { state: v.state ?? '', pfxRcd: v.pfxRcd ?? 0 }]));
}

/** True when every node is Established with `frr` and has sent it every VIP. */
async function routerHasAll(frr: FrrHandle, c: Cluster): Promise<boolean> {
  const s = await bgpSummary(frr);
  return c.lab.nodes.every((n) => s.get(n.ipv4)?.state === 'Established' && s.get(n.ipv4)!.pfxRcd >= VIPS);
}

/** CPU time (utime + stime, all threads) of `pid` in ms, from /proc/PID/stat. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5) (utime, stime) are at 11 and 12 after the command name.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/**
 * VmRSS, VmHWM and RssAnon of `pid` in MB. RSS counts the node binary's code pages (~45 MB here),
 * shared by every Node process on a host; RssAnon is the process's own memory.
 */
function memMb(pid: number): { rss: number; hwm: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, anon: kb('RssAnon') / 1024 };
}

function requestSum(counts: readonly ApiRequestCount[], pred: (x: ApiRequestCount) => boolean): number {
  return counts.filter((x) => x.resource !== '' && pred(x)).reduce((s, x) => s + x.value, 0);
}

/**
 * A wrapper that execs node (its first argument) with the profiling flags for node1's speaker and
 * unchanged for the others (Node refuses --cpu-prof in NODE_OPTIONS); exec keeps the PID.
 */
function profileWrapper(dir: string): string {
  const path = join(dir, 'profile-node1.sh');
  const flags = `--cpu-prof --cpu-prof-dir=${dir} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`;
  writeFileSync(path, `#!/bin/sh\nnode="$1"; shift\ncase " $* " in *" --node-name node1 "*) exec "$node" ${flags} "$@";; esac\nexec "$node" "$@"\n`, { mode: 0o755 });
  return path;
}

async function main(td: Teardown): Promise<BenchResult> {
  const c = await startCluster(td, { nodes: NODES, client: true, speakerArgs: ['--log-level', 'info'], speakerPrefix: [...(SPEAKER_NODE_OPTIONS === undefined ? [] : ['env', `NODE_OPTIONS=${SPEAKER_NODE_OPTIONS}`]), ...(PROFILE_DIR === undefined ? [] : [profileWrapper(PROFILE_DIR)])] });
  const neighbors = c.lab.nodes.map((n) => ({ address: n.ipv4, remoteAs: LAB.nodeAsn, passive: true, families: ['ipv4' as const] }));
  const client = c.lab.client!;
  // Upstream's 90 s hold time, not the lab's 9 s: on this 2-core machine under other load, a
  // starved bgpd with 40 sessions (or a starved speaker) missed 9 s and the sessions flapped
  // (20 nodes x 2,000 VIPs, load average ~50, 2026-12-06).
  const frrTimers = { holdTimeSec: 90, keepaliveSec: 30 };
  const routers = [
    await startFrr(c.lab, { ...frrTimers, asn: LAB.routerAsn, routerId: c.lab.router.ipv4, neighbors, zebra: false, name: 'frr-r1' }),
    await startFrr(c.lab, { ...frrTimers, asn: LAB.routerAsn, routerId: client.ipv4, neighbors, zebra: false, name: 'frr-r2', ns: client.ns }),
  ];
  await c.apply(toYaml([bgpPeer('router1', { peerAddress: c.lab.router.ipv4, connectTime: '1s', holdTime: '90s' }), bgpPeer('router2', { peerAddress: client.ipv4, connectTime: '1s', holdTime: '90s' })]));
  const controller = await c.startController();
  for (let i = 0; i < NODES; i++) await c.startSpeaker(i);
  for (const r of routers) for (const n of c.lab.nodes) await r.waitEstablished(n.ipv4, 120_000);
  console.log(`${NODES} nodes: ${NODES * routers.length} BGP sessions Established`);

  await c.core.createNamespace({ body: { metadata: { name: NS } } });
  const t = Date.now();
  await addServices(c, VIPS);
  console.log(`${VIPS} Services and EndpointSlices created in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  const prober: ProcClient = await startProc(client.ns, 'test/fixtures/arp/arp-sweep-proc.ts', { iface: client.iface, ip: client.ipv4 }, (pid) => c.lab.trackPid(pid));
  const range = { first: FIRST_VIP, count: VIPS, ratePerSec: ARP_RATE };
  const lastVip = ipText(ip4(FIRST_VIP) + VIPS - 1);

  const t0 = Date.now();
  await c.apply(toYaml([pool(POOL, [`${FIRST_VIP}-${lastVip}`]), l2Advertisement(POOL, { ipAddressPools: [POOL] }), bgpAdvertisement(POOL, { ipAddressPools: [POOL] })]));
  await prober.call('watch', range);
  const bgpDoneAt: (number | undefined)[] = routers.map(() => undefined);
  let arpDoneAt: number | undefined;
  let lastLog = 0;
  await waitFor(
    `every VIP answering ARP and in both routers' tables`,
    async () => {
      const s = await prober.call<{ answered: number; lastAnswerAt: number; sent: number }>('status');
      if (s.answered >= VIPS) arpDoneAt ??= s.lastAnswerAt;
      for (let i = 0; i < routers.length; i++) if (bgpDoneAt[i] === undefined && (await routerHasAll(routers[i]!, c))) bgpDoneAt[i] = Date.now();
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        const pfx = await Promise.all(routers.map(async (r) => [...(await bgpSummary(r)).values()].reduce((m, x) => Math.min(m, x.pfxRcd), Infinity)));
        console.log(`+${((Date.now() - t0) / 1000).toFixed(0)} s: ${s.answered}/${VIPS} answer ARP (${s.sent} asked), min pfxRcd per router ${pfx.join(', ')}`);
      }
      return arpDoneAt !== undefined && bgpDoneAt.every((x) => x !== undefined);
    },
    { timeoutMs: 30 * 60_000, intervalMs: 1000 },
  );
  const arpMs = arpDoneAt! - t0;
  const bgpMs = bgpDoneAt.map((x) => x! - t0);
  console.log(`every VIP answering: ARP after ${arpMs} ms, BGP (per router) after ${bgpMs.join(', ')} ms`);

  // Idle: no probes; wait for the set-up writes (status objects, Events) to drain, as api-load does.
  const otherWrites = async (): Promise<number> => requestSum(await c.apiRequestTotals(), (x) => x.resource !== 'leases' && WRITE_VERBS.has(x.verb));
  const quietBy = Date.now() + 180_000;
  for (let last = await otherWrites(); Date.now() < quietBy; ) {
    await delay(5_000);
    const now = await otherWrites();
    if (now === last) break;
    last = now;
  }
  // With --profile-dir node1 pays for the profiler: its figures are reported apart.
  const measured = c.lab.nodes.filter((n) => PROFILE_DIR === undefined || n.index > 0);
  const pids = measured.map((n) => c.speaker(n.index)!.pid!);
  const profiledPid = PROFILE_DIR === undefined ? undefined : c.speaker(0)!.pid!;
  const profiledCpu0 = profiledPid === undefined ? 0 : cpuMs(profiledPid);
  const before = await c.apiRequestTotals();
  const cpu0 = pids.map(cpuMs);
  const w0 = Date.now();
  const w0Us = process.hrtime.bigint() / 1000n;
  await delay(WINDOW_S * 1000);
  const cpu1 = pids.map(cpuMs);
  console.log(`idle window in CLOCK_MONOTONIC µs: ${w0Us} ${process.hrtime.bigint() / 1000n}`);
  const secs = (Date.now() - w0) / 1000;
  const after = await c.apiRequestTotals();
  const mem = pids.map(memMb);
  const profiled: BenchResult = profiledPid === undefined ? {} : { profiledNode1IdleCpuPct: round(((cpuMs(profiledPid) - profiledCpu0) / (secs * 1000)) * 100), profiledNode1RssMb: round(memMb(profiledPid).rss, 1) };
  const cpuPct = cpu1.map((x, i) => ((x - cpu0[i]!) / (secs * 1000)) * 100).sort((a, b) => a - b);
  const rss = mem.map((m) => m.rss).sort((a, b) => a - b);
  const hwm = mem.map((m) => m.hwm).sort((a, b) => a - b);
  const anon = mem.map((m) => m.anon).sort((a, b) => a - b);
  const rate = (pred: (x: ApiRequestCount) => boolean): number => round((requestSum(after, pred) - requestSum(before, pred)) / secs, 3);
  console.log(`idle CPU % per speaker: ${cpuPct.map((x) => round(x)).join(' ')}`);
  console.log(`RSS MB per speaker: ${rss.map((x) => round(x, 1)).join(' ')}`);

  const sweep = await prober.call<{ answered: number; unansweredCount: number; unanswered: string[]; multiMac: number; perMac: Record<string, number> }>(
    'sweep',
    { ...range, graceMs: 2000 },
    VIPS * (1000 / ARP_RATE) + 60_000,
  );
  if (PROFILE_DIR !== undefined) {
    process.kill(profiledPid!, 'SIGUSR2');
    await waitFor('the heap snapshot of node 1', () => readdirSync(PROFILE_DIR).some((f) => f.endsWith('.heapsnapshot') && statSync(join(PROFILE_DIR, f)).size > 0 && Date.now() - statSync(join(PROFILE_DIR, f)).mtimeMs > 3000), { timeoutMs: 120_000, intervalMs: 500 });
    await c.stopSpeaker(0, 'SIGTERM');
    console.log(`profiles of node1 in ${PROFILE_DIR}: ${readdirSync(PROFILE_DIR).join(' ')}`);
  }
  const perNode = Object.values(sweep.perMac).sort((a, b) => a - b);
  const leases = await c.kc.makeApiClient(k8s.CoordinationV1Api).listNamespacedLease({ namespace: RELEASE_NAMESPACE, labelSelector: 'metallb.io/lease-kind=vip' });
  const held = leases.items.filter((l) => (l.spec?.holderIdentity ?? '') !== '').length;
  if (sweep.unansweredCount > 0) console.log(`last sweep: ${sweep.unansweredCount} unanswered, e.g. ${sweep.unanswered.join(' ')}`);
  return {
    nodes: NODES,
    vips: VIPS,
    routers: routers.length,
    poolToAllAnsweringMs: Math.max(arpMs, ...bgpMs),
    poolToAllArpMs: arpMs,
    poolToAllBgpMs: Math.max(...bgpMs),
    speakerRssMbMax: round(rss.at(-1)!, 1),
    speakerRssMbP50: round(percentile(rss, 50), 1),
    speakerRssMbMin: round(rss[0]!, 1),
    speakerPeakRssMbMax: round(hwm.at(-1)!, 1),
    speakerAnonRssMbMax: round(anon.at(-1)!, 1),
    speakerAnonRssMbP50: round(percentile(anon, 50), 1),
    idleCpuPctMax: round(cpuPct.at(-1)!),
    idleCpuPctP50: round(percentile(cpuPct, 50)),
    idleWindowS: round(secs, 1),
    apiWritesPerSec: rate((x) => WRITE_VERBS.has(x.verb)),
    apiLeaseWritesPerSec: rate((x) => x.resource === 'leases' && WRITE_VERBS.has(x.verb)),
    apiReadsPerSec: rate((x) => READ_VERBS.has(x.verb)),
    controllerRssMb: round(memMb(controller.pid!).rss, 1),
    vipLeasesHeld: held,
    sweepAnswered: sweep.answered,
    sweepUnanswered: sweep.unansweredCount,
    sweepMultiMac: sweep.multiMac,
    vipsPerNodeMin: perNode.length === NODES ? perNode[0]! : 0,
    vipsPerNodeMax: perNode.at(-1) ?? 0,
    arpRatePerSec: ARP_RATE,
    speakerNodeOptions: SPEAKER_NODE_OPTIONS ?? '',
    ...profiled,
  };
}

runLabBench(main);
