// BFDProfile (metallb.io/v1beta1, `api/v1beta1/bfdprofile_types.go` in metallb/metallb) and a
// BGPPeer's bfdProfile: every field with upstream's range, and what a problem disables. An
// unreferenced profile never makes anything fail.
import t from 'tap';
import { parseConfig } from '../../src/config/parse';
import { bfd, configOf, goodPeer, peer, problemLines } from '../fixtures/manifests/objects';
import { upstreamSample } from '../fixtures/config/load';

t.test("upstream's configsamples/bgppeer_with_bfdprofile.yaml is valid and fully modelled", async (t) => {
  const r = parseConfig(upstreamSample('bgppeer_with_bfdprofile.yaml'));
  const cfg = configOf(r);
  t.same(r.warnings, []);
  t.equal(cfg.peers[0]?.bfdProfile, 'testbfdprofile');
  t.same(cfg.bfdProfiles.get('testbfdprofile'), {
    name: 'testbfdprofile',
    receiveIntervalMs: 380,
    transmitIntervalMs: 270,
    detectMultiplier: undefined,
    echoIntervalMs: undefined,
    echoMode: false,
    passiveMode: false,
    minimumTtl: undefined,
  });
  t.same(cfg.disabledPeers, new Map());
});

t.test('every field, at and beyond its range (upstream bfdProfileFromCR)', async (t) => {
  const full = configOf(
    parseConfig({ bfdProfiles: [bfd('p', { receiveInterval: 10, transmitInterval: 60000, detectMultiplier: 255, echoInterval: 10, echoMode: false, passiveMode: true, minimumTtl: 1 })] }),
  ).bfdProfiles.get('p');
  t.same(full, { name: 'p', receiveIntervalMs: 10, transmitIntervalMs: 60000, detectMultiplier: 255, echoIntervalMs: 10, echoMode: false, passiveMode: true, minimumTtl: 1 });
  const table: [string, unknown, string][] = [
    ['receiveInterval', 9, 'invalid value 9, must be in 10-60000 range'],
    ['receiveInterval', 60001, 'invalid value 60001, must be in 10-60000 range'],
    ['transmitInterval', 9, 'invalid value 9, must be in 10-60000 range'],
    ['detectMultiplier', 1, 'invalid value 1, must be in 2-255 range'],
    ['detectMultiplier', 256, 'invalid value 256, must be in 2-255 range'],
    ['echoInterval', 'x', 'invalid value "x", must be in 10-60000 range'],
    ['minimumTtl', 0, 'invalid value 0, must be in 1-254 range'],
    ['minimumTtl', 255, 'invalid value 255, must be in 1-254 range'],
  ];
  for (const [field, value, words] of table) {
    const r = parseConfig({ bfdProfiles: [bfd('p', { [field]: value })] });
    t.ok(r.ok, `${field}: ${String(value)} alone is no error (the profile is unused)`);
    t.same(
      r.warnings.map((w) => `${w.kind}/${w.name}: ${w.message}`),
      [`BFDProfile/p: parsing bfd profile #0: invalid ${field} value: ${words}`],
      `${field}: ${String(value)} is a warning on the profile`,
    );
    const used = parseConfig({ bfdProfiles: [bfd('p', { [field]: value })], peers: [peer('a', goodPeer({ bfdProfile: 'p' }))] });
    t.same(problemLines(used), [`BGPPeer/a: peer a referencing invalid bfd profile p: parsing bfd profile #0: invalid ${field} value: ${words}`], `${field}: a peer using it is disabled`);
  }
  const typed = parseConfig({ bfdProfiles: [bfd('p', { passiveMode: 'yes' })] });
  t.match(typed.warnings, [{ kind: 'BFDProfile', message: 'spec.passiveMode must be a boolean, got "yes"' }]);
});

t.test('an unreferenced BFDProfile is never an error, whatever it holds', async (t) => {
  const r = parseConfig({ bfdProfiles: [bfd('echo', { echoMode: true }), bfd('dup'), bfd('dup'), bfd('bad', { detectMultiplier: 1 })] });
  t.ok(r.ok);
  t.same(configOf(r).disabledPeers.size, 0);
  t.same(
    r.warnings.map((w) => w.message),
    ['parsing bfd profile #0: invalid detectMultiplier value: invalid value 1, must be in 2-255 range', 'found duplicate bfd profile name dup'],
    'problems of unused profiles are warnings; echo mode alone says nothing',
  );
});

t.test("a peer's bfdProfile: missing (transient), echoMode, duplicate; a good one", async (t) => {
  const r = parseConfig({
    bfdProfiles: [bfd('echo', { echoMode: true, echoInterval: 50 }), bfd('dup'), bfd('dup'), bfd('fast', { receiveInterval: 100, transmitInterval: 100 })],
    peers: [
      peer('missing', goodPeer({ peerAddress: '10.77.0.1', bfdProfile: 'nope' })),
      peer('echo', goodPeer({ peerAddress: '10.77.0.2', bfdProfile: 'echo' })),
      peer('dup', goodPeer({ peerAddress: '10.77.0.3', bfdProfile: 'dup' })),
      peer('good', goodPeer({ peerAddress: '10.77.0.4', bfdProfile: 'fast' })),
    ],
  });
  const cfg = configOf(r);
  t.same(cfg.peers.map((p) => p.name), ['good'], 'only the good peer is usable');
  t.same([...cfg.disabledPeers.keys()], ['dup', 'echo', 'missing']);
  t.equal(cfg.disabledPeers.get('missing'), 'peer missing referencing non existing bfd profile nope');
  t.equal(
    cfg.disabledPeers.get('echo'),
    'bfd profile echo: echoMode is not supported by metallb-ts; set echoMode: false (failure detection then uses control packets at receiveInterval/transmitInterval)',
    "echo mode: src/bfd/profile.ts's words",
  );
  t.equal(cfg.disabledPeers.get('dup'), 'peer dup referencing invalid bfd profile dup: found duplicate bfd profile name dup');
  t.match(r.warnings.find((w) => w.name === 'missing'), { transient: true, disablesPeer: true, field: 'spec.bfdProfile' }, 'a missing profile may appear later');
});
