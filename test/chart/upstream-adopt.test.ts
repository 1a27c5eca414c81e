/**
 * docs/migration.md end to end, IPs included: a release `metallb` of upstream's chart (0.13.7 and
 * 0.15.3, test/fixtures/upstream/) with a seed-like configuration (a pool, a BGPAdvertisement with
 * aggregationLength 32, localPref 100 and community 65535:65282, two BGPPeers, an L2 variant) and
 * 50 LoadBalancer Services holding upstream's assignments (60 created, 10 deleted: gaps); `helm upgrade` to our chart; then our
 * controller starts and must adopt every IP: zero IP changes, every Service attributed to the
 * pool it came from. 0.13.7 adds AddressPools (upstream's 0.13-only kind), which the upgrade must
 * keep and convert (templates/_addresspools.tpl). Each case also runs with the apiserver
 * emulating the oldest Kubernetes the tests reach (oldestKube(): the chart's kubeVersion floor,
 * 1.25, raised to the oldest `--emulated-version` the 1.34 apiserver accepts, 1.31).
 *
 * Upstream's release, its configuration and the Services' upstream assignments come from
 * test/fixtures/chart/upstream-release.ts; test/chart/upstream-adopt-announce.test.ts then runs our
 * speakers on the adopted IPs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startControlPlane } from '../harness/apiserver';
import { freePort } from '../harness/free-port';
import { CHART_DIR, oldestKube } from '../fixtures/chart/helm';
import { until } from '../fixtures/controller/cluster';
import { createKubeClient } from '../../src/k8s/client';
import { startController } from '../../src/controller/main';
import { controllerOptionsFrom } from '../../src/controller/controller-options';
import { silentLogger } from '../../src/util/log';
import { APPS, assignAsUpstream, metallbObjects, NS, ok, POOL_ANNOTATION, UPSTREAMS, upstreamChart, VALUES, type Obj, type Svc } from '../fixtures/chart/upstream-release';

/** What the chart must convert ADDRESS_POOLS into (upstream 0.13's addressPoolFromLegacyCR). */
const CONVERTED: Array<[string, string, Record<string, unknown>]> = [
  ['ipaddresspools', 'legacy-l2', { addresses: ['10.20.3.0/28'], autoAssign: false, avoidBuggyIPs: false }],
  ['l2advertisements', 'legacy-l2', { ipAddressPools: ['legacy-l2'] }],
  ['ipaddresspools', 'legacy-bgp', { addresses: ['10.20.4.0/28'], autoAssign: false, avoidBuggyIPs: false }],
  ['bgpadvertisements', 'legacy-bgp', { ipAddressPools: ['legacy-bgp'], aggregationLength: 32, aggregationLengthV6: 128, localPref: 100, communities: ['65535:65282'] }],
];

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

      await ok(cp, ['helm', 'install', 'metallb', upstreamChart(up), '-n', NS, ...VALUES]);
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
