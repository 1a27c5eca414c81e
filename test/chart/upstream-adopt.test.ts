/**
 * docs/migration.md end to end, IPs included: a release `metallb` of upstream's chart (0.13.7 and
 * 0.15.3, test/fixtures/upstream/) with a seed-like configuration (a pool, a BGPAdvertisement with
 * aggregationLength 32, localPref 100 and community 65535:65282, two BGPPeers, an L2 variant) and
 * 50 LoadBalancer Services holding upstream's assignments (60 created, 10 deleted: gaps); `helm upgrade` to our chart; then our
 * controller starts and must adopt every IP: zero IP changes, every Service attributed to the
 * pool it came from. 0.13.7 adds AddressPools (upstream's 0.13-only kind), which the upgrade must
 * keep and convert (templates/_addresspools.tpl). Each case also runs with the apiserver
 * emulating the oldest Kubernetes the chart declares.
 *
 * Upstream's controller cannot run here (its images cannot be pulled and it is not built), so the
 * test writes each Service's status exactly as upstream's controller writes it: one UPDATE of
 * `services/status` carrying `status.loadBalancer.ingress: [{ip}]` and, from 0.14 on, the
 * annotation `metallb.io/ip-allocated-from-pool` (controller/service.go at v0.13.7 and v0.15.3;
 * 0.13 writes no annotation), with IPs in upstream's allocation order: Services in creation order,
 * each taking the first free address of its pool, scanning the pool's addresses from the first
 * (network address included, as avoidBuggyIPs is off; internal/allocator/allocator.go).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startControlPlane, type ControlPlane } from '../harness/apiserver';
import { freePort } from '../harness/free-port';
import { repoRoot } from '../harness/tools';
import { CHART_DIR, oldestKube } from '../fixtures/chart/helm';
import { until } from '../fixtures/controller/cluster';
import { createKubeClient, type KubeClient } from '../../src/k8s/client';
import { startController } from '../../src/controller/main';
import { controllerOptionsFrom } from '../../src/controller/controller-options';
import { silentLogger } from '../../src/util/log';

const NS = 'metallb-system';
const APPS = 'apps';
const POOL_ANNOTATION = 'metallb.io/ip-allocated-from-pool';
// Upstream's webhooks are served by its controller, absent here (test/chart/upstream-upgrade.test.ts).
const VALUES = ['--set', 'crds.validationFailurePolicy=Ignore'];

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

interface Svc extends Obj {
  metadata: Obj['metadata'] & { resourceVersion: string };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}

const cfg = (kind: string, name: string, spec: Record<string, unknown>, apiVersion = 'metallb.io/v1beta1'): Obj => ({ apiVersion, kind, metadata: { name, namespace: NS }, spec });

/** The seed-like configuration, valid for upstream 0.13.7 and 0.15.3 alike. */
const SEED: Obj[] = [
  cfg('IPAddressPool', 'seed', { addresses: ['10.20.0.0/26'] }),
  cfg('BGPAdvertisement', 'seed', { ipAddressPools: ['seed'], aggregationLength: 32, localPref: 100, communities: ['65535:65282'] }),
  cfg('IPAddressPool', 'seed-l2', { addresses: ['10.20.1.10-10.20.1.29'], autoAssign: false }),
  cfg('L2Advertisement', 'seed-l2', { ipAddressPools: ['seed-l2'] }),
  cfg('BGPPeer', 'router-a', { myASN: 64512, peerASN: 64513, peerAddress: '10.20.2.1' }, 'metallb.io/v1beta2'),
  cfg('BGPPeer', 'router-b', { myASN: 64512, peerASN: 64514, peerAddress: '10.20.2.2' }, 'metallb.io/v1beta2'),
];

/** Upstream 0.13's own kind: one pool per protocol. */
const ADDRESS_POOLS: Obj[] = [
  cfg('AddressPool', 'legacy-l2', { protocol: 'layer2', addresses: ['10.20.3.0/28'], autoAssign: false }),
  cfg('AddressPool', 'legacy-bgp', { protocol: 'bgp', addresses: ['10.20.4.0/28'], autoAssign: false, bgpAdvertisements: [{ aggregationLength: 32, localPref: 100, communities: ['65535:65282'] }] }),
];

/** An AddressPool the user converted already, without deleting it: the chart must leave it alone. */
const CONVERTED_BY_USER: Obj[] = [
  cfg('AddressPool', 'legacy-done', { protocol: 'layer2', addresses: ['10.20.5.0/28'] }),
  cfg('IPAddressPool', 'legacy-done', { addresses: ['10.20.5.0/28'], autoAssign: false }),
  cfg('L2Advertisement', 'legacy-done', { ipAddressPools: ['legacy-done'] }),
];

/** What the chart must convert ADDRESS_POOLS into (upstream 0.13's addressPoolFromLegacyCR). */
const CONVERTED: Array<[string, string, Record<string, unknown>]> = [
  ['ipaddresspools', 'legacy-l2', { addresses: ['10.20.3.0/28'], autoAssign: false, avoidBuggyIPs: false }],
  ['l2advertisements', 'legacy-l2', { ipAddressPools: ['legacy-l2'] }],
  ['ipaddresspools', 'legacy-bgp', { addresses: ['10.20.4.0/28'], autoAssign: false, avoidBuggyIPs: false }],
  ['bgpadvertisements', 'legacy-bgp', { ipAddressPools: ['legacy-bgp'], aggregationLength: 32, aggregationLengthV6: 128, localPref: 100, communities: ['65535:65282'] }],
];

interface Upstream {
  version: '0.13.7' | '0.15.3';
  config: Obj[];
  /** Pool of each of the 60 Services, in creation order; `seed` is the only auto-assign pool. */
  pools: string[];
  /** The pool annotation the user set (0.13 users wrote the metallb.universe.tf one). */
  requestAnnotation: string;
  writesPoolAnnotation: boolean;
}

const repeat = (pool: string, n: number): string[] => Array.from({ length: n }, () => pool);
const UPSTREAMS: Upstream[] = [
  { version: '0.13.7', config: [...SEED, ...ADDRESS_POOLS, ...CONVERTED_BY_USER], pools: [...repeat('seed', 50), ...repeat('seed-l2', 6), ...repeat('legacy-l2', 2), ...repeat('legacy-bgp', 2)], requestAnnotation: 'metallb.universe.tf/address-pool', writesPoolAnnotation: false },
  { version: '0.15.3', config: SEED, pools: [...repeat('seed', 50), ...repeat('seed-l2', 10)], requestAnnotation: 'metallb.io/address-pool', writesPoolAnnotation: true },
];

/** Every address of a pool in upstream's scan order: each entry (CIDR or range) first to last. IPv4 only. */
function addressesOf(entries: readonly string[]): string[] {
  const toInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
  const out: string[] = [];
  for (const e of entries) {
    const [first, last] = e.includes('-')
      ? e.split('-').map((s) => toInt(s.trim())) as [number, number]
      : (([ip, len]) => [toInt(ip as string), toInt(ip as string) + 2 ** (32 - Number(len)) - 1])(e.split('/'));
    for (let n = first; n <= last; n++) out.push(toIp(n));
  }
  return out;
}

async function ok(cp: ControlPlane, args: string[], input?: string): Promise<string> {
  const res = await (args[0] === 'helm' ? cp.helm(args.slice(1)) : cp.kubectl(args, input === undefined ? undefined : { input }));
  if (res.code !== 0) throw new Error(`${args.join(' ')} failed (${res.code}): ${res.stderr}`);
  return res.stdout;
}

/** uid of every metallb.io object in the namespace, by "kind/name", over every metallb.io resource the cluster serves. */
async function metallbObjects(cp: ControlPlane): Promise<Map<string, string>> {
  const resources = (await ok(cp, ['api-resources', '--api-group=metallb.io', '--namespaced', '-o', 'name'])).split('\n').filter(Boolean);
  const out = new Map<string, string>();
  for (const r of resources) {
    const list = JSON.parse(await ok(cp, ['get', r, '-n', NS, '-o', 'json'])) as { items: Obj[] };
    for (const o of list.items) out.set(`${o.kind}/${o.metadata.name}`, o.metadata.uid ?? '');
  }
  return out;
}

/** Create the Services, write each one's status (and annotation) as upstream's controller would, delete some. */
async function assignAsUpstream(client: KubeClient, up: Upstream): Promise<Map<string, { ip: string; pool: string }>> {
  const free = new Map(up.config.filter((o) => o.kind === 'IPAddressPool' || o.kind === 'AddressPool').map((o) => [o.metadata.name, addressesOf(o.spec?.addresses as string[])]));
  const assigned = new Map<string, { ip: string; pool: string }>();
  for (const [i, pool] of up.pools.entries()) {
    const name = `svc-${String(i).padStart(2, '0')}`;
    const annotations = pool === 'seed' ? undefined : { [up.requestAnnotation]: pool };
    const svc = await client.request<Svc>({
      method: 'POST',
      path: `/api/v1/namespaces/${APPS}/services`,
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name, ...(annotations ? { annotations } : {}) }, spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] } },
    });
    const ip = free.get(pool)?.shift();
    if (!ip) throw new Error(`pool ${pool} has no free address for ${name}`);
    const body: Svc = { ...svc, status: { loadBalancer: { ingress: [{ ip }] } } };
    if (up.writesPoolAnnotation) body.metadata = { ...svc.metadata, annotations: { ...svc.metadata.annotations, [POOL_ANNOTATION]: pool } };
    await client.request({ method: 'PUT', path: `/api/v1/namespaces/${APPS}/services/${name}/status`, body });
    assigned.set(name, { ip, pool });
  }
  // A fifth of the seed Services go away again: the 50 left hold addresses with gaps, which a
  // controller allocating afresh (rather than adopting) would not reproduce.
  for (const [i, pool] of up.pools.entries()) {
    if (pool !== 'seed' || i % 5 !== 2) continue;
    const name = `svc-${String(i).padStart(2, '0')}`;
    await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${APPS}/services/${name}` });
    assigned.delete(name);
  }
  if (assigned.size !== 50) throw new Error(`expected 50 Services left, have ${assigned.size}`);
  return assigned;
}

async function inUse(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return new Map([...text.matchAll(/^metallb_allocator_addresses_in_use_total\{pool="([^"]+)"\} (\S+)$/gm)].map((m) => [m[1] as string, Number(m[2])]));
}

for (const up of UPSTREAMS) {
  for (const emulatedVersion of [undefined, oldestKube()]) {
    t.test(`upgrade from upstream ${up.version}${emulatedVersion ? ` emulating Kubernetes ${emulatedVersion}` : ''}: every object kept, every IP adopted`, async (t) => {
      const cp = await startControlPlane(t, { emulatedVersion });
      const client = createKubeClient(cp.kubeConfig);
      t.teardown(() => client.close());
      const pkgDir = mkdtempSync(join(tmpdir(), 'mlb-adopt-pkg-'));
      t.teardown(() => rmSync(pkgDir, { recursive: true, force: true }));
      const ourChart = (await ok(cp, ['helm', 'package', CHART_DIR, '--destination', pkgDir])).trim().split(': ').pop() as string;
      await ok(cp, ['create', 'namespace', NS]);
      await ok(cp, ['create', 'namespace', APPS]);

      await ok(cp, ['helm', 'install', 'metallb', join(repoRoot, 'test', 'fixtures', 'upstream', `metallb-${up.version}.tgz`), '-n', NS, ...VALUES]);
      await ok(cp, ['apply', '-f', '-'], up.config.map((o) => JSON.stringify(o)).join('\n---\n'));
      const assigned = await assignAsUpstream(client, up);
      const before = await metallbObjects(cp);
      t.equal(before.size, up.config.length, `the configuration is stored under upstream's CRDs: ${[...before.keys()].join(', ')}`);

      const upgrade = await cp.helm(['upgrade', 'metallb', ourChart, '-n', NS, ...VALUES]);
      t.equal(upgrade.code, 0, `helm upgrade to our chart${upgrade.code ? `: ${upgrade.stderr}` : ""}`);
      const after = await metallbObjects(cp);
      for (const [key, uid] of before) t.equal(after.get(key), uid, `${key} kept (same uid)`);

      if (up.version === '0.13.7') {
        for (const [resource, name, spec] of CONVERTED) {
          const got = JSON.parse(await ok(cp, ['get', `${resource}.metallb.io`, name, '-n', NS, '-o', 'json'])) as Obj;
          t.same(got.spec, spec, `AddressPool ${name} converted: ${got.kind} ${name}`);
          t.equal(got.metadata.annotations?.['metallb-ts.io/converted-from-addresspool'], name, `${got.kind} ${name} says where it came from`);
        }
        t.match(upgrade.stdout, /AddressPool objects were converted.*: legacy-bgp, legacy-l2\./s, 'the notes name the converted AddressPools');
        t.match(upgrade.stdout, /AddressPool legacy-done was NOT converted \(IPAddressPool legacy-done already exists\)/, 'the notes name the AddressPool left alone, and why');
        const own = JSON.parse(await ok(cp, ['get', 'ipaddresspools.metallb.io', 'legacy-done', '-n', NS, '-o', 'json'])) as Obj;
        t.equal(own.metadata.uid, before.get('IPAddressPool/legacy-done'), "the user's own conversion is untouched");
        t.equal(own.metadata.annotations?.['metallb-ts.io/converted-from-addresspool'], undefined, "the user's own conversion is not marked as the chart's");
        // The next upgrade renders the conversion again (it is the release's now), changing nothing.
        const converted = await metallbObjects(cp);
        const again = await cp.helm(['upgrade', 'metallb', ourChart, '-n', NS, ...VALUES]);
        t.equal(again.code, 0, `a second helm upgrade${again.code ? `: ${again.stderr}` : ''}`);
        t.match(again.stdout, /AddressPool objects were converted.*: legacy-bgp, legacy-l2\./s, 'still converted, not skipped as existing');
        t.same([...(await metallbObjects(cp))], [...converted], 'the second upgrade keeps every object, converted ones included (same uid)');
        const crd = JSON.parse(await ok(cp, ['get', 'crd', 'addresspools.metallb.io', '-o', 'json'])) as Obj & { spec: { conversion?: { strategy?: string } } };
        t.equal(crd.spec.conversion?.strategy ?? 'None', 'None', "the AddressPool CRD no longer names upstream's conversion webhook");
        t.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep', 'the AddressPool CRD is kept on uninstall');
      }

      const port = await freePort();
      const ctrl = await startController(controllerOptionsFrom({ kubeconfig: cp.kubeconfigPath, namespace: NS, port, host: '127.0.0.1' }), silentLogger());
      t.teardown(() => ctrl.stop());
      const url = `http://127.0.0.1:${port}`;
      const want = new Map<string, number>();
      for (const { pool } of assigned.values()) want.set(pool, (want.get(pool) ?? 0) + 1);
      await until('the controller holds every upstream assignment', 60_000, async () => {
        const got = await inUse(url);
        return [...want].every(([pool, n]) => got.get(pool) === n);
      });
      // 0.13 wrote no pool annotation: the controller adds it, and only then is every Service reconciled.
      const services = await until('every Service attributed to its pool', 60_000, async () => {
        const items = (await client.list<Svc>(`/api/v1/namespaces/${APPS}/services`)).items;
        return items.length === assigned.size && items.every((s) => s.metadata.annotations?.[POOL_ANNOTATION] !== undefined) ? items : undefined;
      });
      const changed = services.filter((s) => {
        const was = assigned.get(s.metadata.name);
        return s.status?.loadBalancer?.ingress?.map((i) => i.ip).join(',') !== was?.ip || s.metadata.annotations?.[POOL_ANNOTATION] !== was?.pool;
      });
      const state = await until('the controller reports its configuration', 30_000, async () =>
        (await client.request<{ status?: { result?: string; errorSummary?: string } }>({ method: 'GET', path: `/apis/metallb.io/v1beta1/namespaces/${NS}/configurationstates/controller` })).status);
      t.equal(state.result, 'Valid', `the configuration (converted AddressPools included) is valid for our controller${state.errorSummary ? `: ${state.errorSummary}` : ''}`);
      t.same(changed.map((s) => `${s.metadata.name}: ${JSON.stringify(s.status?.loadBalancer)} ${s.metadata.annotations?.[POOL_ANNOTATION]}`), [], `zero IP changes over ${assigned.size} Services, each in its upstream pool`);
    });
  }
}
