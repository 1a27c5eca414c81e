// Error isolation: a problem in one BGPPeer (or in the BFDProfile it names) disables that peer
// only. Every other peer, pool and advertisement stays; the ConfigurationState and `metallb-ts
// validate` report the same findings in the same words, as warnings.
import t from 'tap';
import { runValidate } from '../../src/cli/validate';
import { parseConfig } from '../../src/config/parse';
import { forNode } from '../../src/config/scope';
import { configVerdict, disabledPeerFindings } from '../../src/config/verdict';
import { configurationStateStatus } from '../../src/k8s/configuration-state';
import { bfd, bgpAd, configOf, goodPeer, l2, peer, pool } from '../fixtures/manifests/objects';

const broken = {
  'a-vrf': goodPeer({ peerAddress: '10.77.0.11', vrf: 'red' }),
  'b-no-asn': goodPeer({ peerAddress: '10.77.0.12', myASN: undefined }),
  'c-echo': goodPeer({ peerAddress: '10.77.0.13', bfdProfile: 'echo' }),
  'd-missing-profile': goodPeer({ peerAddress: '10.77.0.14', bfdProfile: 'nope' }),
  'e-timers': goodPeer({ peerAddress: '10.77.0.15', holdTime: '1s' }),
};

function resources() {
  return {
    bfdProfiles: [bfd('echo', { echoMode: true }), bfd('fast', { receiveInterval: 100, transmitInterval: 100 }), bfd('unused', { minimumTtl: 300 })],
    peers: [...Object.entries(broken).map(([n, s]) => peer(n, s)), peer('good', goodPeer({ bfdProfile: 'fast' })), peer('plain', goodPeer({ peerAddress: '10.77.0.2' }))],
    pools: [pool('web', { addresses: ['10.77.5.0/24'] })],
    l2Advertisements: [l2('l2', { ipAddressPools: ['web'] })],
    bgpAdvertisements: [bgpAd('to-vrf', { ipAddressPools: ['web'], peers: ['a-vrf', 'good'] })],
  };
}

t.test('broken peers next to good ones: the configuration is valid, the rest intact', async (t) => {
  const r = parseConfig(resources());
  const cfg = configOf(r);
  t.same(cfg.peers.map((p) => p.name), ['good', 'plain']);
  t.same([...cfg.disabledPeers.keys()], Object.keys(broken));
  t.same([...cfg.pools.keys()], ['web']);
  t.same(cfg.l2Advertisements.map((a) => a.name), ['l2']);
  t.same(cfg.bgpAdvertisements[0]?.peers, ['a-vrf', 'good'], 'an advertisement naming a disabled peer is kept as written');
  t.notOk(r.warnings.some((w) => w.kind === 'BGPAdvertisement'), 'and is not warned about: the peer exists');
  t.same([...cfg.bfdProfiles.keys()], ['echo', 'fast'], 'the unused invalid profile is left out, no error');
});

t.test('one text for the ConfigurationState and validate', async (t) => {
  const r = parseConfig(resources());
  const findings = disabledPeerFindings(r);
  t.same(findings, [
    'BGPPeer/a-vrf: vrf is not supported by this speaker (vrf "red"): it opens sessions from the default VRF only (peer disabled)',
    'BGPPeer/b-no-asn: missing local ASN (peer disabled)',
    'BGPPeer/c-echo: bfd profile echo: echoMode is not supported by metallb-ts; set echoMode: false (failure detection then uses control packets at receiveInterval/transmitInterval) (peer disabled)',
    'BGPPeer/d-missing-profile: peer d-missing-profile referencing non existing bfd profile nope (peer disabled)',
    'BGPPeer/e-timers: invalid BGPPeer timers: invalid hold time "1s": must be 0 or >=3s (peer disabled)',
  ]);
  const verdict = configVerdict(r);
  t.same(verdict, { valid: true, disabledPeers: findings.join('\n') });
  const status = configurationStateStatus(verdict, new Date(0), 'poolReconcilerValid');
  t.match(status, { result: 'Valid', errorSummary: '', conditions: [{ status: 'True', reason: 'Reconciled', message: findings.join('\n') }] });
  t.same(configurationStateStatus(configVerdict(parseConfig({ pools: resources().pools })), new Date(0)).conditions, [
    { type: 'poolReconcilerValid', status: 'True', reason: 'Reconciled', message: '', lastTransitionTime: '1970-01-01T00:00:00Z' },
  ]);

  // validate prints each finding as a warning, in the same words, and exits 0. b-no-asn and
  // e-timers are also refused by the CRDs' CEL rules, which validate reports as errors
  // (test/cli/validate.test.ts); an empty CRD directory leaves only the parser's findings here.
  const dir = t.testdir({ 'all.json': JSON.stringify({ apiVersion: 'v1', kind: 'List', items: Object.values(resources()).flat() }), crds: {} });
  const out: string[] = [];
  const code = await runValidate([`${dir}/all.json`], { stdout: (s) => out.push(s), stderr: (s) => out.push(s) }, { crdDir: `${dir}/crds` });
  t.equal(code, 0);
  for (const f of findings) {
    const [subject, ...rest] = f.split(': ');
    t.ok(out.some((l) => l.endsWith(`${subject}: warning: ${rest.join(': ')}`)), `validate says: ${f}`);
  }
});

t.test("the speaker's view: peers for other nodes are not its concern", async (t) => {
  const res = { ...resources(), peers: [peer('other-node', goodPeer({ vrf: 'red', nodeSelectors: [{ matchLabels: { rack: 'b' } }] })), peer('mine', goodPeer({ peerAddress: '10.77.0.2' }))] };
  const cfg = configOf(parseConfig(forNode(res, { rack: 'a' })));
  t.same(cfg.peers.map((p) => p.name), ['mine']);
  t.same(cfg.disabledPeers.size, 0);
});

t.test('a pool error still invalidates the configuration; peer findings are kept beside it', async (t) => {
  const r = parseConfig({ ...resources(), pools: [pool('web', { addresses: ['10.77.5.0/33'] })] });
  t.notOk(r.ok);
  t.equal(disabledPeerFindings(r).length, Object.keys(broken).length);
});
