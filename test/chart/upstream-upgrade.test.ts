/**
 * The migration of docs/migration.md ("Flux"): a release `metallb` installed from upstream's
 * chart 0.15.3 (test/fixtures/upstream/) becomes metallb-ts by changing only where the chart
 * comes from. Flux's helm-controller uninstalls and reinstalls when the chart name recorded in
 * the release differs from the new chart's (`ReleaseTargetChanged` in helm-controller
 * internal/action/verify.go), otherwise it runs `helm upgrade`; upstream's CRDs carry no keep
 * policy, so only the upgrade keeps the configuration. Here, against a real kube-apiserver:
 * the names match, `helm upgrade` keeps every metallb.io object (same uid, same spec), and the
 * CRDs are now ours, with the objects stored under upstream's CRDs readable in every served
 * version. Upstream's controller (which serves its webhooks) does not run here.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { startControlPlane, type ControlPlane } from '../harness/apiserver';
import { repoRoot } from '../harness/tools';
import { CHART_DIR } from '../fixtures/chart/helm';

const NS = 'metallb-system';
const UPSTREAM_CHART = join(repoRoot, 'test', 'fixtures', 'upstream', 'metallb-0.15.3.tgz');
// Upstream's validating webhooks are served by upstream's controller, which cannot run here:
// Ignore lets the apiserver admit the objects without it. The same values go to both charts,
// as a HelmRelease's values do (ours lists the key as accepted and ignored).
const VALUES = ['--set', 'crds.validationFailurePolicy=Ignore'];

/** The user's configuration, as upstream's documentation writes it. */
const CONFIG = [
  { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'lan', namespace: NS }, spec: { addresses: ['192.168.10.240-192.168.10.250', 'fd00:10::240/124'] } },
  { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'lan', namespace: NS }, spec: { ipAddressPools: ['lan'] } },
  { apiVersion: 'metallb.io/v1beta1', kind: 'BGPAdvertisement', metadata: { name: 'lan', namespace: NS }, spec: { ipAddressPools: ['lan'], communities: ['no-export'] } },
  { apiVersion: 'metallb.io/v1beta1', kind: 'Community', metadata: { name: 'communities', namespace: NS }, spec: { communities: [{ name: 'no-export', value: '65535:65281' }] } },
  { apiVersion: 'metallb.io/v1beta1', kind: 'BFDProfile', metadata: { name: 'fast', namespace: NS }, spec: { receiveInterval: 300, transmitInterval: 300 } },
  { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: { name: 'router', namespace: NS }, spec: { myASN: 64512, peerASN: 64513, peerAddress: '192.168.10.1', bfdProfile: 'fast' } },
] as const;

/** metallb.io resources holding the configuration, and their kinds. */
const RESOURCES = {
  ipaddresspools: 'IPAddressPool',
  l2advertisements: 'L2Advertisement',
  bgpadvertisements: 'BGPAdvertisement',
  communities: 'Community',
  bfdprofiles: 'BFDProfile',
  bgppeers: 'BGPPeer',
} as const;

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

interface Crd extends Obj {
  spec: { conversion?: { strategy?: string }; versions: Array<{ name: string; served: boolean; storage: boolean }> };
  status?: { storedVersions?: string[] };
}

async function ok(cp: ControlPlane, args: string[], input?: string): Promise<string> {
  const res = await (args[0] === 'helm' ? cp.helm(args.slice(1)) : cp.kubectl(args, input === undefined ? undefined : { input }));
  if (res.code !== 0) throw new Error(`${args.join(' ')} failed (${res.code}): ${res.stderr}`);
  return res.stdout;
}

async function items<T = Obj>(cp: ControlPlane, resource: string, extra: string[] = []): Promise<T[]> {
  return (JSON.parse(await ok(cp, ['get', resource, ...extra, '-o', 'json'])) as { items: T[] }).items;
}

/** uid and spec of every configuration object, by "kind/name". */
async function configuration(cp: ControlPlane): Promise<Map<string, { uid: string; spec: unknown }>> {
  const out = new Map<string, { uid: string; spec: unknown }>();
  for (const r of Object.keys(RESOURCES)) {
    for (const o of await items(cp, `${r}.metallb.io`, ['-n', NS])) out.set(`${o.kind}/${o.metadata.name}`, { uid: o.metadata.uid ?? '', spec: o.spec });
  }
  return out;
}

/** Our CRDs as files/crds/ declares them, by name. */
function ourCrds(): Map<string, Crd> {
  const dir = join(CHART_DIR, 'files', 'crds');
  const crds = new Map<string, Crd>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const crd = doc.toJS() as Crd | null;
      if (crd?.kind === 'CustomResourceDefinition') crds.set(crd.metadata.name, crd);
    }
  }
  if (crds.size === 0) throw new Error(`no CRD in ${dir}`);
  return crds;
}

t.test('helm upgrade from upstream 0.15.3 to metallb-ts keeps the configuration', async (t) => {
  const cp = await startControlPlane(t);
  const pkgDir = mkdtempSync(join(tmpdir(), 'mlb-upgrade-pkg-'));
  t.teardown(() => rmSync(pkgDir, { recursive: true, force: true }));
  const packaged = await ok(cp, ['helm', 'package', CHART_DIR, '--destination', pkgDir]);
  const ourChart = packaged.trim().split(': ').pop() as string;
  await ok(cp, ['create', 'namespace', NS]);

  await ok(cp, ['helm', 'install', 'metallb', UPSTREAM_CHART, '-n', NS, ...VALUES]);
  await ok(cp, ['apply', '-f', '-'], CONFIG.map((o) => JSON.stringify(o)).join('\n---\n'));
  const before = await configuration(cp);
  t.equal(before.size, CONFIG.length, `the configuration is stored under upstream's CRDs: ${[...before.keys()].join(', ')}`);
  const upstreamPeerCrd = (await items<Crd>(cp, 'crd', ['--field-selector', 'metadata.name=bgppeers.metallb.io']))[0];
  t.equal(upstreamPeerCrd?.spec.conversion?.strategy, 'Webhook', "upstream's BGPPeer CRD converts through its controller's webhook");
  t.equal(upstreamPeerCrd?.metadata.annotations?.['helm.sh/resource-policy'], undefined, "upstream's CRDs have no keep policy: an uninstall deletes them");

  // The condition helm-controller checks before choosing upgrade over uninstall + install.
  const upstreamMeta = JSON.parse(await ok(cp, ['helm', 'get', 'metadata', 'metallb', '-n', NS, '-o', 'json'])) as { chart: string; version: string };
  const ourMeta = parse(await ok(cp, ['helm', 'show', 'chart', ourChart])) as { name: string; version: string };
  t.equal(upstreamMeta.chart, 'metallb', 'upstream records chart metallb');
  t.equal(ourMeta.name, upstreamMeta.chart, 'our chart has the same name: helm-controller upgrades in place');

  const up = await cp.helm(['upgrade', 'metallb', ourChart, '-n', NS, ...VALUES]);
  t.equal(up.code, 0, up.stderr);
  const history = JSON.parse(await ok(cp, ['helm', 'history', 'metallb', '-n', NS, '-o', 'json'])) as Array<{ revision: number; chart: string; status: string }>;
  t.same(history.map((h) => [h.revision, h.chart, h.status]), [
    [1, `metallb-${upstreamMeta.version}`, 'superseded'],
    [2, `metallb-${ourMeta.version}`, 'deployed'],
  ], 'one release, upgraded in place');

  const after = await configuration(cp);
  t.same([...after.keys()].sort(), [...before.keys()].sort(), 'every metallb.io object is still there');
  for (const [key, was] of before) t.same(after.get(key), was, `${key}: same uid (never deleted) and same spec`);

  const crds = await items<Crd>(cp, 'crd');
  const ours = ourCrds();
  for (const [name, want] of ours) {
    const got = crds.find((c) => c.metadata.name === name);
    t.ok(got, `${name} exists`);
    if (!got) continue;
    t.equal(got.metadata.labels?.['helm.sh/chart'], `metallb-${ourMeta.version}`, `${name}: now rendered by our chart`);
    t.equal(got.metadata.annotations?.['helm.sh/resource-policy'], 'keep', `${name}: now kept on uninstall`);
    t.same(got.spec.versions.map((v) => [v.name, v.served, v.storage]), want.spec.versions.map((v) => [v.name, v.served, v.storage]), `${name}: our versions`);
    t.equal(got.spec.conversion?.strategy ?? 'None', 'None', `${name}: no conversion webhook`);
  }
  t.same(crds.filter((c) => c.metadata.name.endsWith('.metallb.io') && !ours.has(c.metadata.name)).map((c) => c.metadata.name), [], 'no metallb.io CRD of upstream left behind');

  // Objects written under upstream's CRDs read back in every version our CRDs serve.
  for (const [r, kind] of Object.entries(RESOURCES)) {
    const crd = ours.get(`${r}.metallb.io`) as Crd;
    const uids = [...before].filter(([k]) => k.startsWith(`${kind}/`)).map(([, w]) => w.uid);
    t.ok(uids.length > 0, `${kind}: objects to read`);
    for (const v of crd.spec.versions.filter((x) => x.served)) {
      const got = await items(cp, `${r}.${v.name}.metallb.io`, ['-n', NS]);
      t.same(got.map((o) => [o.apiVersion, o.metadata.uid]), uids.map((uid) => [`metallb.io/${v.name}`, uid]), `${kind} readable as ${v.name}`);
    }
  }
  const webhooks = await ok(cp, ['get', 'validatingwebhookconfigurations', '-o', 'name']);
  t.notMatch(webhooks, /metallb/, "upstream's ValidatingWebhookConfiguration went with upstream's templates");
});
