/**
 * The chart's CRDs against a real kube-apiserver (docs/architecture.md §8): they apply and become
 * Established (so every CEL rule fits the apiserver's cost budget), upstream-style manifests are
 * accepted unchanged, each invalid CR in test/fixtures/crs/bad/ is rejected with upstream's
 * message, defaults are applied, printer columns are upstream's, transition rules hold, and objects
 * at the schema's size caps still validate within the per-request CEL budget.
 */
import { join } from 'node:path';
import t from 'tap';
import { parseGoDuration } from '../../src/config/duration';
import { startControlPlane, type ControlPlane } from '../harness/apiserver';
import { oldestKube } from '../fixtures/chart/helm';
import { BAD_MESSAGES as BAD } from '../fixtures/crs/bad-messages';
import { apiRequest, BAD_DIR, GOOD_DIR, installCrds, loadCrds, loadDocs, NAMESPACE, yamlFiles, type KObject } from '../fixtures/crs/kit';

const plurals = new Map<string, string>();
for (const crd of loadCrds().values()) {
  const names = (crd.spec as { names: { kind: string; plural: string } }).names;
  plurals.set(names.kind, names.plural);
}

/** Path of a namespaced metallb.io object in the version its manifest names. */
function objectPath(doc: KObject, name = doc.metadata.name): string {
  const plural = plurals.get(doc.kind);
  if (!plural) throw new Error(`no CRD for ${doc.kind}`);
  return `/apis/${doc.apiVersion}/namespaces/${NAMESPACE}/${plural}/${name}`;
}

async function read(cp: ControlPlane, doc: KObject): Promise<KObject> {
  const res = await apiRequest(cp, 'GET', objectPath(doc));
  if (res.status !== 200) throw new Error(`GET ${objectPath(doc)}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as KObject;
}

/** Create from a literal object through the API (no kubectl), returning status and message. */
async function create(cp: ControlPlane, doc: KObject): Promise<{ status: number; message: string; body: unknown }> {
  const plural = plurals.get(doc.kind);
  const res = await apiRequest(cp, 'POST', `/apis/${doc.apiVersion}/namespaces/${NAMESPACE}/${plural}`, { body: doc });
  return { status: res.status, message: String((res.body as { message?: string }).message ?? ''), body: res.body };
}

/**
 * The oldest Kubernetes minor the chart is installed on here: the apiserver compiles a new CRD's
 * CEL rules in the environment of the release before its own, so a rule using a newer CEL function
 * is refused there and the whole install fails. The suite runs once on the built apiserver and
 * once emulating the oldest release it can (1.31), which is also the oldest the chart renders the
 * full CRDs for (regression: the chart said >= 1.25 while isCIDR needs 1.31 and transformList
 * 1.33; older releases get the degraded CRDs, test/crds/old-kube.test.ts).
 */
const OLDEST_KUBE = oldestKube();

for (const emulatedVersion of [undefined, OLDEST_KUBE]) {
  t.test(`CRDs against the real apiserver${emulatedVersion ? ` emulating Kubernetes ${emulatedVersion}` : ''}`, async (t) => {
    const cp = await startControlPlane(t, { emulatedVersion });
    const names = await installCrds(cp);
    t.equal(names.length, 10, 'ten CRDs applied and Established (every CEL rule within the cost budget)');

    t.test('upstream-style manifests are accepted unchanged', async (t) => {
      for (const f of yamlFiles(GOOD_DIR)) {
        const res = await cp.kubectl(['apply', '-f', join(GOOD_DIR, f)]);
        t.equal(res.code, 0, `${f} applied${res.code ? `: ${res.stderr}` : ''}`);
        for (const doc of loadDocs(join(GOOD_DIR, f))) {
          if (doc.kind === 'Secret') continue;
          const stored = await read(cp, doc);
          // Nothing the user wrote was pruned, rewritten or dropped (defaults may add fields).
          const written = doc.spec === undefined ? { apiVersion: doc.apiVersion, kind: doc.kind } : { apiVersion: doc.apiVersion, kind: doc.kind, spec: doc.spec };
          t.has(stored, written, `${f} ${doc.kind}/${doc.metadata.name} stored as written`);
        }
      }
    });

    t.test('invalid CRs are rejected with upstream messages', async (t) => {
      const files = yamlFiles(BAD_DIR);
      t.same(files, Object.keys(BAD).sort(), 'every bad/ file has an expected message and vice versa');
      // Through the API (a dry-run create, what `kubectl create --dry-run=server` sends): the message
      // is the one kubectl prints after `error: ... is invalid:`.
      for (const f of files) {
        const [doc] = loadDocs(join(BAD_DIR, f));
        if (!doc) throw new Error(`${f} is empty`);
        const plural = plurals.get(doc.kind);
        const res = await apiRequest(cp, 'POST', `/apis/${doc.apiVersion}/namespaces/${NAMESPACE}/${plural}`, { body: doc, query: 'dryRun=All' });
        const message = String((res.body as { message?: string }).message ?? '');
        t.equal(res.status, 422, `${f} rejected as invalid`);
        for (const want of BAD[f] ?? []) t.ok(message.includes(want), `${f}: "${want}" in: ${message}`);
      }
      const viaKubectl = await cp.kubectl(['create', '--dry-run=server', '-f', join(BAD_DIR, 'pool-range-reversed.yaml')]);
      t.not(viaKubectl.code, 0, 'kubectl reports the same rejection');
      t.match(viaKubectl.stderr, /start IP "10\.0\.0\.20" is after the end IP "10\.0\.0\.10"/);
    });

    t.test('defaults are applied', async (t) => {
      const pool = await create(cp, {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { name: 'defaults-pool' },
        spec: { addresses: ['10.99.0.0/24'] },
      });
      t.equal(pool.status, 201, pool.message);
      t.has(pool.body, { spec: { autoAssign: true, avoidBuggyIPs: false } }, 'autoAssign true, avoidBuggyIPs false');
      // Defaults apply inside spec; like upstream, an object with no spec at all stores none (the parser defaults it).
      const adv = await create(cp, { apiVersion: 'metallb.io/v1beta1', kind: 'BGPAdvertisement', metadata: { name: 'defaults-adv' }, spec: {} });
      t.equal(adv.status, 201, adv.message);
      t.has(adv.body, { spec: { aggregationLength: 32, aggregationLengthV6: 128 } }, 'aggregation 32 / 128');
      const peer = await create(cp, {
        apiVersion: 'metallb.io/v1beta2',
        kind: 'BGPPeer',
        metadata: { name: 'defaults-peer' },
        spec: { myASN: 64500, peerASN: 64501, peerAddress: '10.99.0.1' },
      });
      t.equal(peer.status, 201, peer.message);
      t.has(peer.body, { spec: { peerPort: 179, disableMP: false, dualStackAddressFamily: false } }, 'peerPort 179');
      const back = await read(cp, { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: { name: 'defaults-peer' } });
      t.equal((back.spec as { peerPort?: number }).peerPort, 179, 'read back with the default');
    });

    t.test('printer columns (kubectl -o wide and the Table API)', async (t) => {
      const headers: Record<string, string[]> = {
        ipaddresspools: ['NAME', 'AUTO ASSIGN', 'AVOID BUGGY IPS', 'ADDRESSES'],
        l2advertisements: ['NAME', 'IPADDRESSPOOLS', 'IPADDRESSPOOL SELECTORS', 'INTERFACES', 'NODE SELECTORS'],
        bgpadvertisements: ['NAME', 'IPADDRESSPOOLS', 'IPADDRESSPOOL SELECTORS', 'PEERS', 'NODE SELECTORS'],
        bgppeers: ['NAME', 'ADDRESS', 'ASN', 'BFD PROFILE', 'MULTI HOPS'],
        bfdprofiles: ['NAME', 'PASSIVE MODE', 'TRANSMIT INTERVAL', 'RECEIVE INTERVAL', 'MULTIPLIER'],
        communities: ['NAME', 'AGE'],
      };
      for (const [plural, want] of Object.entries(headers)) {
        const res = await cp.kubectl(['get', plural, '-n', NAMESPACE, '-o', 'wide']);
        t.equal(res.code, 0, res.stderr);
        const header = (res.stdout.split('\n')[0] ?? '').trim().split(/\s{2,}/);
        t.same(header, want, `${plural} -o wide columns`);
      }
      const narrow = await cp.kubectl(['get', 'l2advertisements', '-n', NAMESPACE]);
      t.notMatch(narrow.stdout.split('\n')[0] ?? '', /NODE SELECTORS/, 'Node Selectors only with -o wide (priority 10)');

      const table = async (path: string): Promise<{ columns: string[]; rows: Map<string, unknown[]> }> => {
        const res = await apiRequest(cp, 'GET', path, { accept: 'application/json;as=Table;g=meta.k8s.io;v=v1' });
        const body = res.body as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
        return { columns: body.columnDefinitions.map((c) => c.name), rows: new Map(body.rows.map((r) => [String(r.cells[0]), r.cells])) };
      };
      const pools = await table(`/apis/metallb.io/v1beta1/namespaces/${NAMESPACE}/ipaddresspools`);
      t.same(pools.rows.get('expensive'), ['expensive', false, false, '["42.176.25.64/30","3.3.3.2-3.3.3.254"]']);
      t.same(pools.rows.get('no-buggy')?.slice(1, 3), [true, true]);
      for (const version of ['v1beta1', 'v1beta2']) {
        const peers = await table(`/apis/metallb.io/${version}/namespaces/${NAMESPACE}/bgppeers`);
        t.same(peers.columns, ['Name', 'Address', 'ASN', 'BFD Profile', 'Multi Hops'], `${version} columns`);
        t.same(peers.rows.get('peer-with-secret'), ['peer-with-secret', 'fd00:77::1', '4200000001', null, 'true'], `${version} row`);
        t.same(peers.rows.get('peer-frr-only'), ['peer-frr-only', null, null, 'full-profile', null]);
      }
      const bfd = await table(`/apis/metallb.io/v1beta1/namespaces/${NAMESPACE}/bfdprofiles`);
      t.same(bfd.rows.get('full-profile'), ['full-profile', true, 270, 380, 37]);
    });

    t.test('status kinds: immutable fields, enum, printer columns', async (t) => {
      const base = `/apis/metallb.io/v1beta1/namespaces/${NAMESPACE}`;
      const l2 = await create(cp, { apiVersion: 'metallb.io/v1beta1', kind: 'ServiceL2Status', metadata: { name: 'l2-web' } });
      t.equal(l2.status, 201, l2.message);
      const merge = (node: string) =>
        apiRequestMerge(cp, `${base}/servicel2statuses/l2-web/status`, {
          status: { node, serviceName: 'web', serviceNamespace: 'default', interfaces: [{ name: 'eth0' }] },
        });
      const first = await merge('node-a');
      t.equal(first.status, 200, JSON.stringify(first.body));
      const second = await merge('node-b');
      t.equal(second.status, 422, 'status.node cannot change');
      t.match(JSON.stringify(second.body), /Value is immutable/);
      const wide = await cp.kubectl(['get', 'servicel2statuses', '-n', NAMESPACE]);
      t.match(wide.stdout, /ALLOCATED NODE\s+SERVICE NAME\s+SERVICE NAMESPACE/);
      t.match(wide.stdout, /l2-web\s+node-a\s+web\s+default/);

      const cs = await create(cp, { apiVersion: 'metallb.io/v1beta1', kind: 'ConfigurationState', metadata: { name: 'controller' } });
      t.equal(cs.status, 201, cs.message);
      const bad = await apiRequestMerge(cp, `${base}/configurationstates/controller/status`, { status: { result: 'Maybe' } });
      t.equal(bad.status, 422);
      t.match(JSON.stringify(bad.body), /Unsupported value: \\"Maybe\\"/);
      const good = await apiRequestMerge(cp, `${base}/configurationstates/controller/status`, {
        status: {
          result: 'Invalid',
          errorSummary: 'CIDR "10.0.0.0/24" in pool "b" overlaps with already defined CIDR "10.0.0.0/16"',
          conditions: [
            { type: 'poolReconcilerValid', status: 'False', reason: 'ConfigurationError', message: 'configuration error: ...', lastTransitionTime: '2026-01-01T00:00:00Z' },
          ],
        },
      });
      t.equal(good.status, 200, JSON.stringify(good.body));
      const states = await cp.kubectl(['get', 'configurationstates', '-n', NAMESPACE]);
      t.match(states.stdout.split('\n')[0] ?? '', /NAME\s+RESULT\s+ERRORSUMMARY\s+AGE/);
      t.match(states.stdout, /controller\s+Invalid\s+CIDR/);
    });

    t.test('holdTime: Go duration syntax and the 0-or-3s rule, truncated to seconds as upstream', async (t) => {
      const cases: [string, boolean][] = [
        ['0', true],
        ['0s', true],
        ['500ms', true], // truncates to 0: upstream accepts it (no keepalives)
        ['999ms', true],
        ['1s', false],
        ['2.999s', false],
        ['3s', true],
        ['3000ms', true],
        ['3000000us', true],
        ['3000000µs', true],
        ['3000000μs', true],
        ['+90s', true],
        ['1.5h', true],
        ['1h30m', true],
        ['.5m', true],
        ['-5s', false],
        ['90', false],
        ['', false],
        ['1d', false],
        ['90 s', false],
      ];
      for (const [holdTime, ok] of cases) {
        const res = await apiRequest(cp, 'POST', `/apis/metallb.io/v1beta2/namespaces/${NAMESPACE}/bgppeers`, {
          query: 'dryRun=All',
          body: { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: { name: 'hold' }, spec: { myASN: 64500, peerASN: 64501, peerAddress: '10.0.0.1', holdTime } },
        });
        t.equal(res.status, ok ? 201 : 422, `holdTime ${JSON.stringify(holdTime)} ${ok ? 'accepted' : 'rejected'}: ${String((res.body as { message?: string }).message ?? '')}`);
        const parsed = parseGoDuration(holdTime);
        const parserOk = parsed !== undefined && (Math.trunc(parsed) === 0 || Math.trunc(parsed) >= 3);
        t.equal(parserOk, ok, `the controller's duration parser agrees on ${JSON.stringify(holdTime)}`);
      }
    });

    t.test('enableGracefulRestart cannot change after creation', async (t) => {
      const path = `/apis/metallb.io/v1beta2/namespaces/${NAMESPACE}/bgppeers/peer-session-options`;
      const res = await apiRequestMerge(cp, path, { spec: { enableGracefulRestart: false } });
      t.equal(res.status, 422);
      t.match(JSON.stringify(res.body), /EnableGracefulRestart cannot be changed after creation/);
    });

    t.test('objects at the size caps validate within the per-request CEL budget', async (t) => {
      const v6 = (i: number) => `fd00:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}:ffff:ffff:ffff:ffff:0 - fd00:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}:ffff:ffff:ffff:ffff:ffff`;
      const pool = await create(cp, {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { name: 'at-the-cap' },
        spec: {
          addresses: Array.from({ length: 1024 }, (_, i) => (i % 2 ? v6(i) : `10.${i >> 8}.${i & 0xff}.0-10.${i >> 8}.${i & 0xff}.255`)),
          serviceAllocation: { namespaces: Array.from({ length: 256 }, (_, i) => `namespace-${String(i).padStart(40, '0')}`) },
        },
      });
      t.equal(pool.status, 201, `1024 ranges + 256 namespaces: ${pool.message}`);
      const adv = await create(cp, {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'BGPAdvertisement',
        metadata: { name: 'at-the-cap' },
        spec: {
          communities: Array.from({ length: 256 }, (_, i) => (i % 2 ? `large:4294967295:${i}:4294967295` : `65535:${i}`)),
          ipAddressPools: Array.from({ length: 256 }, (_, i) => `pool-${i}`),
          peers: Array.from({ length: 256 }, (_, i) => `peer-${i}`),
        },
      });
      t.equal(adv.status, 201, `256 communities, pools and peers: ${adv.message}`);
      const com = await create(cp, {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'Community',
        metadata: { name: 'at-the-cap' },
        spec: { communities: Array.from({ length: 256 }, (_, i) => ({ name: `alias-${i}`, value: `large:${i}:4294967295:0` })) },
      });
      t.equal(com.status, 201, `256 aliases: ${com.message}`);
      const over = await create(cp, {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { name: 'over-the-cap' },
        spec: { addresses: Array.from({ length: 1025 }, (_, i) => `10.${i >> 8}.${i & 0xff}.0/24`) },
      });
      t.equal(over.status, 422, 'more than 1024 entries is refused');
      t.match(over.message, /must have at most 1024 items/);
    });
  });
}

/** JSON merge patch (the content type kubectl patch --type=merge sends). */
async function apiRequestMerge(cp: ControlPlane, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await apiRequest(cp, 'PATCH', path, { body, contentType: 'application/merge-patch+json' });
  return { status: res.status, body: res.body };
}
