/**
 * Steady-state API cost of the speakers (docs/speaker.md "API cost", docs/architecture.md §7): the
 * real apiserver, controller and three speakers (default election timings: renew 10 s, lease 30 s)
 * in lab node namespaces, with 10, 100 and 1,000 L2 VIPs (one Service and one EndpointSlice each).
 * For each size, once every VIP has a Lease holder and a renew interval has passed, the apiserver's
 * own `apiserver_request_total` is read before and after a window (default 60 s) and the deltas are
 * split into writes (POST/PUT/PATCH/DELETE/APPLY), reads (GET/LIST: polling) and WATCH requests.
 * Non-resource requests (this bench's own GET /metrics, discovery) are left out.
 * Last stdout line: {"vips":[...],"writesPerSec":[...],"readsPerSec":[...],"watchesPerSec":[...],...}.
 * Target: writes <= 1 per node per second whatever the number of VIPs (a VIP Lease is written
 * only when its ownership changes; presence Leases are the steady-state cost); reads ~0.
 * Env: API_LOAD_WINDOW_S (default 60), API_LOAD_SIZES (default "10,100,1000"), API_LOAD_NODES
 * (default 3; up to 20 were run).
 */
import * as k8s from '@kubernetes/client-node';
import { delay, waitFor } from '../test/harness/lab';
import { startCluster, RELEASE_NAMESPACE, BACKEND_PORT, type ApiRequestCount, type Cluster } from '../test/harness/cluster';
import { benchTeardown } from '../test/fixtures/e2e/kit';
import { labConfig, toYaml } from '../test/fixtures/manifests/metallb-config';

const WINDOW_S = Number(process.env.API_LOAD_WINDOW_S ?? 60);
const SIZES = (process.env.API_LOAD_SIZES ?? '10,100,1000').split(',').map(Number);
const NODES = Number(process.env.API_LOAD_NODES ?? 3);
/** Default renew interval (10 s) plus margin: every holder has renewed once before the window. */
const SETTLE_MS = 15_000;
const NS = 'load';
/** 1,024 addresses cover the default sizes; 10,000 VIPs need a /18 (still inside the lab's 10.77/16). */
const POOL = Math.max(...SIZES) > 1000 ? '10.77.64.0/18' : '10.77.8.0/22';
const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'DELETECOLLECTION', 'APPLY', 'CREATE', 'UPDATE']);
const READ_VERBS = new Set(['GET', 'LIST']);

/** Run `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function addServices(c: Cluster, from: number, to: number): Promise<void> {
  const discovery = c.kc.makeApiClient(k8s.DiscoveryV1Api);
  const idx = Array.from({ length: to - from }, (_, i) => from + i);
  const nodes = c.lab.nodes.map((n) => n.name);
  // No NodePorts: the apiserver's default range holds 2,768, fewer than the largest size.
  await pool(idx, 8, async (i) => {
    const name = `svc-${i}`;
    await discovery.createNamespacedEndpointSlice({
      namespace: NS,
      body: {
        metadata: { name: `${name}-e2e`, labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4',
        endpoints: [{ addresses: [`10.244.0.${(i % 250) + 1}`], nodeName: nodes[i % nodes.length]!, conditions: { ready: true, serving: true } }],
        ports: [{ port: BACKEND_PORT, protocol: 'TCP' }],
      },
    });
    await c.core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name }, spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: BACKEND_PORT, protocol: 'TCP' }], selector: { app: name } } },
    });
  });
}

async function heldLeases(c: Cluster): Promise<number> {
  const api = c.kc.makeApiClient(k8s.CoordinationV1Api);
  const list = await api.listNamespacedLease({ namespace: RELEASE_NAMESPACE, labelSelector: 'metallb.io/lease-kind=vip' });
  return list.items.filter((l) => (l.spec?.holderIdentity ?? '') !== '').length;
}

function sum(counts: readonly ApiRequestCount[], pred: (x: ApiRequestCount) => boolean): number {
  return counts.filter(pred).reduce((s, x) => s + x.value, 0);
}

/**
 * Delta (after - before) per verb, resource, subresource and code, resource requests only. Series
 * are summed under that key first: the apiserver splits them further (group, version, scope), and
 * core/v1 and events.k8s.io/v1 Events share one key. Keyed per series, the later one's count
 * became the other's baseline, and the core Event POSTs of set-up (about 2 per VIP, counted once)
 * showed up again in every window as ~2,000 POSTs a minute at 1,000 VIPs that never happened.
 */
function delta(before: readonly ApiRequestCount[], after: readonly ApiRequestCount[]): ApiRequestCount[] {
  const totals = (xs: readonly ApiRequestCount[]): Map<string, ApiRequestCount> => {
    const m = new Map<string, ApiRequestCount>();
    for (const x of xs) {
      if (x.resource === '') continue;
      const key = `${x.verb}|${x.resource}|${x.subresource}|${x.code}`;
      m.set(key, { ...x, value: (m.get(key)?.value ?? 0) + x.value });
    }
    return m;
  };
  const base = totals(before);
  return [...totals(after)].map(([key, x]) => ({ ...x, value: x.value - (base.get(key)?.value ?? 0) })).filter((x) => x.value > 0);
}

async function main(): Promise<void> {
  const td = benchTeardown();
  try {
    const c = await startCluster(td, { nodes: NODES, client: false });
    await c.apply(toYaml(labConfig({ pool: 'load', addresses: [POOL] })));
    await c.startController();
    for (let i = 0; i < NODES; i++) await c.startSpeaker(i);
    await c.core.createNamespace({ body: { metadata: { name: NS } } });
    const out = { vips: [] as number[], writesPerSec: [] as number[], readsPerSec: [] as number[], watchesPerSec: [] as number[], leaseWritesPerSec: [] as number[], writeTargetPerSec: [] as number[] };
    let have = 0;
    for (const n of SIZES) {
      const t0 = Date.now();
      await addServices(c, have, n);
      have = n;
      await waitFor(`${n} VIP Leases with a holder`, async () => (await heldLeases(c)) >= n, { timeoutMs: 600_000, intervalMs: 1000 });
      console.log(`${n} VIPs: all held ${((Date.now() - t0) / 1000).toFixed(1)} s after the first create`);
      await delay(SETTLE_MS);
      // Set-up traffic drains slowly at 1,000 VIPs (Events are queued and sent rate-limited; each
      // holder creates a ServiceL2Status per VIP, a POST and a status PUT each, one at a time):
      // start the window only once nothing but Lease renewals has been written for 5 s (or after
      // 3 minutes). A report window that began while 1,000 status objects were still being
      // written counted them as steady state (156 writes/s instead of ~95, 2026-12-04).
      const events = async (): Promise<number> => sum(await c.apiRequestTotals(), (x) => x.resource !== 'leases' && x.resource !== '' && WRITE_VERBS.has(x.verb));
      const quietBy = Date.now() + 180_000;
      for (let last = await events(); Date.now() < quietBy; ) {
        await delay(5_000);
        const now = await events();
        if (now === last) break;
        last = now;
      }
      const before = await c.apiRequestTotals();
      const w0 = Date.now();
      await delay(WINDOW_S * 1000);
      const after = await c.apiRequestTotals();
      const secs = (Date.now() - w0) / 1000;
      const d = delta(before, after);
      const rate = (pred: (x: ApiRequestCount) => boolean): number => Number((sum(d, pred) / secs).toFixed(3));
      out.vips.push(n);
      out.writesPerSec.push(rate((x) => WRITE_VERBS.has(x.verb)));
      out.readsPerSec.push(rate((x) => READ_VERBS.has(x.verb)));
      out.watchesPerSec.push(rate((x) => x.verb === 'WATCH'));
      out.leaseWritesPerSec.push(rate((x) => WRITE_VERBS.has(x.verb) && x.resource === 'leases'));
      out.writeTargetPerSec.push(NODES);
      // Who wrote Events during the window, by the apiserver's creationTimestamp: an Event's own
      // timestamps are when it was recorded, so a recorder's backlog would look older than it is.
      const evs = await c.core.listEventForAllNamespaces();
      const bySource = new Map<string, number>();
      for (const e of evs.items) {
        const created = e.metadata?.creationTimestamp as unknown;
        const at = created instanceof Date ? created.getTime() : Date.parse(String(created ?? ''));
        if (!(at >= w0 - 1000)) continue;
        const k = `${e.metadata?.namespace ?? ''} ${e.source?.component ?? e.reportingComponent ?? '?'}/${e.source?.host ?? ''} ${e.involvedObject?.kind ?? ''} ${e.reason ?? ''}`;
        bySource.set(k, (bySource.get(k) ?? 0) + 1);
      }
      if (bySource.size > 0) console.log(`${n} VIPs: Events created in the window: ${[...bySource].map(([k, v]) => `${k}: ${v}`).join('; ')}`);
      const byKind = d.map((x) => `${x.verb} ${x.resource}${x.subresource ? `/${x.subresource}` : ''} ${x.code}: ${x.value}`).join('; ');
      console.log(`${n} VIPs over ${secs.toFixed(1)} s: ${byKind}`);
    }
    console.log(JSON.stringify(out));
  } finally {
    await td.run();
  }
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
