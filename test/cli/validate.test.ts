import t from 'tap';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runValidate } from '../../src/cli/validate';
import { bgpPeer, pool, toYaml } from '../fixtures/manifests/metallb-config';

const FIX = path.join(__dirname, '..', 'fixtures', 'manifests');

async function run(paths: string[], options?: { namespace?: string }) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runValidate(paths, { stdout: (s) => out.push(s), stderr: (s) => err.push(s) }, options);
  return { code, out, err };
}

/** Strip the fixture directory so expectations read like the command line `validate bad/`. */
const rel = (lines: string[]) => lines.map((l) => l.split(`${FIX}${path.sep}`).join(''));

t.test('good manifests: exit 0, only the v1beta1 deprecation warning', async (t) => {
  const files = readdirSync(path.join(FIX, 'good'));
  t.ok(files.length >= 5, `fixture glob matched ${files.length} files`);
  const r = await run([path.join(FIX, 'good')]);
  t.same(rel(r.out), [
    'good/bgp.yaml: BGPPeer/fw2: warning: metallb.io/v1beta1 BGPPeer is deprecated, please use v1beta2',
    'valid: 0 errors, 1 warning in 5 files (4 pools, 2 L2 advertisements, 2 BGP advertisements, 3 peers, 1 community object)',
  ]);
  t.same(r.err, []);
  t.equal(r.code, 0);
});

t.test('bad manifests: every error with file, kind/name and message; exit 1', async (t) => {
  const r = await run([path.join(FIX, 'bad')]);
  t.same(rel(r.out), [
    'bad/bgpadvertisement-aggregation.yaml: BGPAdvertisement/agg-too-short: invalid aggregation length 26: prefix 28 in this pool is more specific than the aggregation length for addresses 10.77.220.0/28',
    'bad/bgpadvertisement-localpref.yaml: BGPAdvertisement/lp-200: invalid local preference 200: local preferernce 100 was already set for the same type of BGP update. Check existing BGP advertisements with common pools and aggregation lengths',
    'bad/community-invalid.yaml: Community/bad-aliases: spec.communities[0]: parsing community "three-parts": invalid community format: 1:2:3',
    'bad/community-invalid.yaml: BGPAdvertisement/bad-communities: spec.communities[0]: invalid community "99999999:1" in BGP advertisement: invalid community value: invalid section "99999999" of community "99999999:1", err: strconv.ParseUint: parsing "99999999": value out of range',
    'bad/community-invalid.yaml: Community/bad-aliases: parsing community "three-parts": invalid community format: 1:2:3',
    'bad/community-invalid.yaml: BGPAdvertisement/bad-communities: invalid community "99999999:1" in BGP advertisement: invalid community value: invalid section "99999999" of community "99999999:1", err: strconv.ParseUint: parsing "99999999": value out of range',
    'bad/community-invalid.yaml: BGPAdvertisement/bad-communities: invalid community "undefined-alias" in BGP advertisement: invalid community format: undefined-alias (not a Community alias either)',
    'bad/l2advertisement-selectors.yaml: L2Advertisement/bad-selectors: spec.serviceSelectors[0].matchExpressions[0]: "Equals" is not a valid label selector operator',
    'bad/l2advertisement-selectors.yaml: L2Advertisement/bad-selectors: duplicate definition of nodeSelectors "rack=r1"',
    'bad/l2advertisement-selectors.yaml: L2Advertisement/bad-selectors: invalid serviceSelectors: "Equals" is not a valid label selector operator',
    'bad/pool-invalid-address.yaml: IPAddressPool/broken-addresses: spec.addresses[0]: invalid CIDR "10.77.200.0/33"',
    'bad/pool-invalid-address.yaml: IPAddressPool/broken-addresses: spec.addresses[1]: invalid IP range "10.77.201.9-10.77.201.1": start IP "10.77.201.9" is after the end IP "10.77.201.1"',
    'bad/pool-invalid-address.yaml: IPAddressPool/broken-addresses: spec.addresses[2]: invalid CIDR "10.77.202.1"',
    'bad/pool-invalid-address.yaml: IPAddressPool/broken-addresses: invalid CIDR "10.77.200.0/33" in pool "broken-addresses"',
    'bad/pool-invalid-address.yaml: IPAddressPool/broken-addresses: invalid CIDR "10.77.201.9-10.77.201.1" in pool "broken-addresses": invalid IP range "10.77.201.9-10.77.201.1": start IP "10.77.201.9" is after the end IP "10.77.201.1"',
    'bad/pool-invalid-address.yaml: IPAddressPool/broken-addresses: invalid CIDR "10.77.202.1" in pool "broken-addresses"',
    'bad/pool-overlap.yaml: IPAddressPool/overlap-b: CIDR "10.77.210.128/31" in pool "overlap-b" overlaps with already defined CIDR "10.77.210.0/24"',
    'bad/pool-overlap.yaml: IPAddressPool/overlap-b: CIDR "10.77.210.130/32" in pool "overlap-b" overlaps with already defined CIDR "10.77.210.0/24"',
    'bad/unknown-kind.yaml: IPAdressPool/typo: unknown metallb.io kind "IPAdressPool" (no such CRD)',
    'invalid: 19 errors, 0 warnings in 7 files (7 pools, 1 L2 advertisement, 4 BGP advertisements, 0 peers, 1 community object)',
  ]);
  t.same(r.err, []);
  t.equal(r.code, 1);
});

t.test('each bad fixture is invalid on its own, and only reports itself', async (t) => {
  const files = readdirSync(path.join(FIX, 'bad')).filter((f) => f.endsWith('.yaml'));
  t.ok(files.length >= 7, `fixture glob matched ${files.length} files`);
  for (const f of files) {
    const file = path.join(FIX, 'bad', f);
    const r = await run([file]);
    t.equal(r.code, 1, `${f} exits 1`);
    const lines = r.out.slice(0, -1);
    t.ok(lines.length > 0 && lines.every((l) => l.startsWith(`${file}: `)), `${f} reports errors against itself`);
  }
});

// A broken BGPPeer (or the BFDProfile it names) disables that peer only: warnings with the words
// the ConfigurationState uses; what the CRDs refuse is also an admission error.
t.test('peer problems are warnings that disable the peer; admission refusals are errors', async (t) => {
  const files = readdirSync(path.join(FIX, 'peer-disabled')).filter((f) => f.endsWith('.yaml'));
  t.ok(files.length >= 3, `fixture glob matched ${files.length} files`);
  const r = await run([path.join(FIX, 'peer-disabled')]);
  t.same(rel(r.out), [
    'peer-disabled/bgppeer-bfd.yaml: BGPPeer/in-vrf: warning: vrf is not supported by this speaker (vrf "red"): it opens sessions from the default VRF only (peer disabled)',
    'peer-disabled/bgppeer-bfd.yaml: BGPPeer/with-echo: warning: bfd profile echo: echoMode is not supported by metallb-ts; set echoMode: false (failure detection then uses control packets at receiveInterval/transmitInterval) (peer disabled)',
    "peer-disabled/bgppeer-invalid.yaml: BGPPeer/no-local-asn: spec: must have required property 'myASN'",
    'peer-disabled/bgppeer-invalid.yaml: BGPPeer/bad-address: spec.peerAddress: invalid BGPPeer address "10.77.240.300"',
    'peer-disabled/bgppeer-invalid.yaml: BGPPeer/short-hold: spec: invalid ebgp-multihop parameter set for an ibgp peer',
    'peer-disabled/bgppeer-invalid.yaml: BGPPeer/short-hold: spec: invalid BGPPeer timers: invalid hold time "1s": must be 0 or >=3s',
    'peer-disabled/bgppeer-invalid.yaml: BGPPeer/bad-address: warning: invalid BGPPeer address "10.77.240.300" (peer disabled)',
    'peer-disabled/bgppeer-invalid.yaml: BGPPeer/no-local-asn: warning: missing local ASN (peer disabled)',
    'peer-disabled/bgppeer-invalid.yaml: BGPPeer/short-hold: warning: invalid ebgp-multihop parameter set for an ibgp peer (peer disabled)',
    'peer-disabled/bgppeer-invalid.yaml: BGPPeer/short-hold: warning: invalid BGPPeer timers: invalid hold time "1s": must be 0 or >=3s (peer disabled)',
    'peer-disabled/bgppeer-secret.yaml: BGPPeer/missing-secret: warning: secret ref not found for peer config "metallb-system"/"does-not-exist" (peer disabled)',
    'peer-disabled/bgppeer-secret.yaml: BGPPeer/opaque-secret: warning: secret type mismatch on "metallb-system"/"opaque", type "kubernetes.io/basic-auth" is expected  (peer disabled)',
    'invalid: 4 errors, 8 warnings in 3 files (0 pools, 0 L2 advertisements, 0 BGP advertisements, 8 peers, 0 community objects)',
  ]);
  t.same(r.err, []);
  // bgppeer-invalid.yaml's peers are refused by the CRDs' CEL rules: the apiserver would not
  // admit them, so validate (which mirrors admission) now fails; the controller still only
  // disables such peers when it meets them.
  t.equal(r.code, 1);
});

t.test('YAML syntax errors: exit 2 with file and line, other documents still checked', async (t) => {
  const file = path.join(FIX, 'syntax', 'broken.yaml');
  const r = await run([file]);
  t.equal(r.code, 2);
  t.match(r.err, [new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:8:1: YAML syntax error: Flow sequence`)]);
  t.match(r.out.at(-1), /1 L2 advertisement.*; 1 input problem$/);
});

t.test('unreadable paths, empty directories and no arguments exit 2', async (t) => {
  const dir = t.testdir({ empty: {}, 'notes.txt': 'not a manifest' });
  const missing = await run([path.join(dir, 'nope.yaml')]);
  t.equal(missing.code, 2);
  t.match(missing.err, [/nope\.yaml: cannot read: ENOENT/]);
  const empty = await run([path.join(dir, 'empty')]);
  t.equal(empty.code, 2);
  t.match(empty.err, [/no manifest files \(\*\.yaml, \*\.yml, \*\.json\) found/]);
  const none = await run([]);
  t.equal(none.code, 2);
  t.match(none.err, [/usage: metallb-ts validate/]);
  // A missing path next to good ones still fails the run, after reporting the rest.
  const mixed = await run([path.join(FIX, 'good'), path.join(dir, 'nope')]);
  t.equal(mixed.code, 2);
});

t.test('directory walk: recursive, .yml/.json too, symlink loops visited once', async (t) => {
  const dir = t.testdir({
    a: { 'pool.yml': toYaml([pool('p1', ['10.77.1.0/24'], { namespace: null })]) },
    b: { c: { 'peer.json': JSON.stringify(bgpPeer('r', { myASN: 1, peerASN: 2, peerAddress: '10.77.0.1', namespace: null })) } },
    'README.md': '# not read',
  });
  symlinkSync(dir, path.join(dir, 'b', 'loop'));
  const r = await run([dir]);
  t.equal(r.code, 0);
  t.match(r.out.at(-1), /^valid: 0 errors, 0 warnings in 2 files \(1 pool, .*1 peer,/);
});

t.test('duplicates across files name both files; namespace scoping', async (t) => {
  const poolIn = (namespace: string, cidr: string) => toYaml([pool('p', [cidr], { namespace })]);
  const dir = t.testdir({ 'one.yaml': poolIn('metallb-system', '10.77.1.0/24'), 'two.yaml': poolIn('metallb-system', '10.77.2.0/24'), 'other.yaml': poolIn('default', '10.77.1.0/24') });
  const r = await run([path.join(dir, 'one.yaml'), path.join(dir, 'two.yaml')]);
  t.equal(r.code, 1);
  t.match(r.out[0], /one\.yaml, .*two\.yaml: IPAddressPool\/p: duplicate definition of pool "p"$/);

  const scoped = await run([path.join(dir, 'one.yaml'), path.join(dir, 'other.yaml')], { namespace: 'metallb-system' });
  t.equal(scoped.code, 0, 'the pool in another namespace is ignored, so no overlap');
  t.match(scoped.out[0], /other\.yaml: IPAddressPool\/p: warning: ignored, it is in namespace "default" and MetalLB only reads "metallb-system"$/);
});

t.test('apiVersion and legacy ConfigMap checks', async (t) => {
  const dir = t.testdir({
    'old.yaml': 'apiVersion: metallb.io/v1alpha1\nkind: IPAddressPool\nmetadata: {name: old}\nspec: {addresses: [10.77.1.0/24]}\n',
    'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config, namespace: metallb-system}\ndata:\n  config: |\n    address-pools:\n    - name: default\n      protocol: layer2\n      addresses: [10.77.1.0/24]\n',
  });
  const r = await run([dir]);
  t.equal(r.code, 1);
  t.match(rel(r.out).join('\n'), /ConfigMap\/config: warning: looks like a pre-0\.13 MetalLB ConfigMap configuration/);
  t.match(r.out.join('\n'), /IPAddressPool\/old: apiVersion "metallb.io\/v1alpha1" is not served \(use metallb.io\/v1beta1\)/);
});

t.test('hostile documents never crash the command', async (t) => {
  const dir = t.testdir({});
  mkdirSync(path.join(dir, 'x'));
  writeFileSync(path.join(dir, 'x', 'weird.yaml'), '--- 42\n--- [1, 2]\n--- null\n---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: 7\nspec: [1]\n---\nkind: List\nitems: [1, {kind: 3}]\n');
  const r = await run([dir]);
  t.equal(r.code, 1);
  t.match(r.out.join('\n'), /IPAddressPool\/: missing pool name/);
});

t.test('a file reached twice (inside a walked directory, or through a symlink) is read once', async (t) => {
  const q = toYaml([pool('q', ['10.77.3.0/24'], { namespace: null })]);
  const dir = t.testdir({ plain: { 'q.yaml': q }, linked: { 'q.yaml': q } });
  symlinkSync('q.yaml', path.join(dir, 'linked', 'link.yaml'));
  const overlapping = await run([path.join(dir, 'plain'), path.join(dir, 'plain', 'q.yaml')]);
  t.same(overlapping.out, ['valid: 0 errors, 0 warnings in 1 file (1 pool, 0 L2 advertisements, 0 BGP advertisements, 0 peers, 0 community objects)']);
  t.equal(overlapping.code, 0, 'dir and dir/q.yaml: no duplicate pool');
  const symlinked = await run([path.join(dir, 'linked')]);
  t.same(symlinked.out, ['valid: 0 errors, 0 warnings in 1 file (1 pool, 0 L2 advertisements, 0 BGP advertisements, 0 peers, 0 community objects)']);
  t.equal(symlinked.code, 0, 'a symlink to a sibling manifest: no duplicate pool');
});

t.test('sequences and metallb.io kinds without a metallb.io apiVersion are errors; other documents stay ignored', async (t) => {
  const pool = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'arr' }, spec: { addresses: ['300.1.1.1/24'] } };
  const dir = t.testdir({
    'arr.json': JSON.stringify([pool]),
    'noapi.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: metallb-system}\n---\nkind: IPAddressPool\nmetadata: {name: noapi}\nspec: {addresses: ["999.0.0.0/8"]}\n',
    'core.yaml': 'apiVersion: v1\nkind: BGPPeer\nmetadata: {name: core}\nspec: {}\n---\napiVersion: 7\nkind: L2Advertisement\nmetadata: {name: seven}\n',
    'typo.yaml': 'apiVersion: metallb/v1beta1\nkind: Community\nmetadata: {name: typo}\n',
    // Another product's kind of the same name, a Deployment, empty and comment-only files: ignored.
    'calico.yaml': 'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: tor}\nspec: {peerIP: 10.0.0.1, asNumber: 64512}\n',
    'deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n',
    'empty.yaml': '',
    'comment.yaml': '# nothing here\n',
  });
  const r = await run([dir]);
  t.same(r.out.map((l) => l.split(`${dir}${path.sep}`).join('')), [
    'arr.json: document 1 (line 1): a sequence is not a Kubernetes object (use one document per object, or kind: List): [{"apiVersion":"metallb.io/v1beta1","kind":"IPAddressPool","metadata":{"name"...',
    'core.yaml: BGPPeer/core: document 1 (line 1): apiVersion "v1" is not a metallb.io version (use metallb.io/v1beta2)',
    'core.yaml: L2Advertisement/seven: document 2 (line 6): apiVersion 7 is not a metallb.io version (use metallb.io/v1beta1)',
    'noapi.yaml: IPAddressPool/noapi: document 2 (line 5): apiVersion is missing (use metallb.io/v1beta1)',
    'typo.yaml: Community/typo: document 1 (line 1): apiVersion "metallb/v1beta1" is not a metallb.io version (use metallb.io/v1beta1)',
    'invalid: 5 errors, 0 warnings in 8 files (0 pools, 0 L2 advertisements, 0 BGP advertisements, 0 peers, 0 community objects)',
  ]);
  t.same(r.err, []);
  t.equal(r.code, 1);
});
