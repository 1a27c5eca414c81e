// Section numbers (§) in test names cite docs/upstream-behaviour.md.
import t from 'tap';
import { parseGoDuration } from '../../src/config/duration';
import { parseConfig } from '../../src/config/parse';
import { matchesAny } from '../../src/config/selectors';
import { configOf, errorLines, goodPeer, node, NS, peer, problemLines, problemMessages, secret } from '../fixtures/manifests/objects';

t.test('Go duration parsing', async (t) => {
  const table: [string, number | undefined][] = [
    ['90s', 90],
    ['1m30s', 90],
    ['1.5h', 5400],
    ['500ms', 0.5],
    ['0', 0],
    ['-3s', -3],
    ['+3s', 3],
    ['.5s', 0.5],
    ['1µs', 1e-6],
    ['90', undefined],
    ['', undefined],
    ['s', undefined],
    ['1x', undefined],
    ['1constructor', undefined],
    ['1 s', undefined],
  ];
  for (const [input, want] of table) t.equal(parseGoDuration(input), want, input);
});

t.test('a full v1beta2 peer', async (t) => {
  const cfg = configOf(
    parseConfig({
      nodes: [node('n1', { rack: '1' })],
      secrets: [secret('md5', 's3cret')],
      peers: [
        peer('r1', {
          myASN: 64500,
          peerASN: 64501,
          peerAddress: 'FD00:77::0001',
          sourceAddress: 'fd00:77::10',
          peerPort: 1179,
          holdTime: '30s',
          keepaliveTime: '5s',
          connectTime: '7s',
          routerID: '10.77.0.10',
          nodeSelectors: [{ matchLabels: { rack: '1' } }],
          passwordSecret: { name: 'md5', namespace: NS },
          enableGracefulRestart: true,
          ebgpMultiHop: true,
        }),
      ],
    }),
  );
  const p = cfg.peers[0]!;
  t.match(p, {
    name: 'r1',
    myASN: 64500,
    peerASN: 64501,
    address: 'fd00:77::1',
    addressFamily: 6,
    sourceAddress: 'fd00:77::10',
    port: 1179,
    holdTimeSec: 30,
    keepaliveTimeSec: 5,
    connectTimeSec: 7,
    routerID: '10.77.0.10',
    password: 's3cret',
    passwordSecret: { name: 'md5', namespace: NS },
    enableGracefulRestart: true,
    ebgpMultiHop: true,
    dynamicASN: undefined,
    bfdProfile: undefined,
  });
  t.ok(matchesAny(p.nodeSelectors, { rack: '1' }));
  t.notOk(matchesAny(p.nodeSelectors, { rack: '2' }));
});

t.test('v1beta1-shaped peers parse the same way', async (t) => {
  const cfg = configOf(
    parseConfig({
      peers: [
        peer(
          'old',
          {
            myASN: 64500,
            peerASN: 64500,
            peerAddress: '10.77.0.1',
            peerPort: 0, // v1beta1 allowed 0 and had no default: dial 179
            holdTime: '90s',
            password: 'pw',
            nodeSelectors: [{ matchLabels: { a: 'b' }, matchExpressions: [{ key: 'c', operator: 'In', values: ['d'] }] }],
          },
          'metallb.io/v1beta1',
        ),
      ],
    }),
  );
  t.match(cfg.peers[0], { port: 179, holdTimeSec: 90, keepaliveTimeSec: 30, password: 'pw' });
  t.equal(cfg.peers[0]?.nodeSelectors[0]?.text, 'a=b,c in (d)');
});

t.test('timers (parseTimers)', async (t) => {
  const timers = (spec: Record<string, unknown>) => {
    const r = parseConfig({ peers: [peer('p', goodPeer(spec))] });
    return r.ok && r.config.peers[0] ? [r.config.peers[0].holdTimeSec, r.config.peers[0].keepaliveTimeSec] : problemMessages(r);
  };
  t.same(timers({}), [undefined, undefined], 'unset: BGP layer uses 90 s');
  t.same(timers({ holdTime: '90s' }), [90, 30], 'keepalive = hold/3');
  t.same(timers({ holdTime: '10s' }), [10, 3]);
  t.same(timers({ keepaliveTime: '20s' }), [60, 20], 'hold = 3 × keepalive');
  t.same(timers({ holdTime: '0s' }), [0, 0], 'hold 0 = no keepalives');
  t.same(timers({ holdTime: '500ms' }), [0, 0], 'QUIRK kept: sub-second hold truncates to 0');
  t.same(timers({ holdTime: '30s', keepaliveTime: '30s' }), [30, 30], 'equal is allowed');
  t.same(timers({ holdTime: '9m0s', keepaliveTime: '0s' }), [540, 180], 'keepaliveTime 0 with a hold time: derived (upstream sample)');
  t.same(timers({ holdTime: '2s' }), ['invalid BGPPeer timers: invalid hold time "2s": must be 0 or >=3s']);
  t.same(timers({ holdTime: '-5s' }), ['invalid BGPPeer timers: invalid hold time "-5s": must be 0 or >=3s']);
  t.same(timers({ holdTime: '30s', keepaliveTime: '31s' }), ['invalid BGPPeer timers: invalid keepaliveTime "31s", must be lower than holdTime "30s"']);
  t.same(timers({ holdTime: '65536s' }), ['invalid BGPPeer timers: invalid hold time "65536s": must be at most 65535s']);
  t.same(timers({ keepaliveTime: '-1s' }), [
    'invalid BGPPeer timers: invalid hold time "-3s": must be 0 or >=3s',
    'invalid BGPPeer timers: invalid keepaliveTime "-1s": must not be negative',
  ]);
  t.same(timers({ holdTime: 'soon' }), ['invalid BGPPeer timers: invalid duration "soon" in holdTime']);
  t.same(timers({ holdTime: 90 }), ['spec.holdTime must be a string, got 90']);
  const ct = (v: string) => {
    const r = parseConfig({ peers: [peer('p', goodPeer({ connectTime: v }))] });
    return r.ok && r.config.peers[0] ? r.config.peers[0].connectTimeSec : problemMessages(r);
  };
  t.equal(ct('10s'), 10);
  t.same(ct('1500ms'), ['connect time should contain a whole number of seconds, got "1500ms"']);
  t.same(ct('0s'), ['connect time should be between 1 seconds to 65535, got "0s"']);
  t.same(ct('19h'), ['connect time should be between 1 seconds to 65535, got "19h"']);
});

t.test('BGPPeer rule table (§2.8; FRR-mode fields accepted, vrf and interface refused)', async (t) => {
  const table: { name: string; spec: Record<string, unknown>; errors: string[] }[] = [
    { name: 'valid', spec: goodPeer(), errors: [] },
    { name: 'missing myASN', spec: goodPeer({ myASN: undefined }), errors: ['missing local ASN'] },
    { name: 'myASN 0', spec: goodPeer({ myASN: 0 }), errors: ['missing local ASN'] },
    { name: 'myASN too big', spec: goodPeer({ myASN: 4294967296 }), errors: ['spec.myASN must be an integer between 0 and 4294967295, got 4294967296'] },
    { name: '4-byte ASN ok', spec: goodPeer({ myASN: 4200000000 }), errors: [] },
    { name: 'missing peerASN', spec: goodPeer({ peerASN: undefined }), errors: ['missing peer ASN and dynamicASN'] },
    {
      name: 'peerASN and dynamicASN',
      spec: goodPeer({ dynamicASN: 'external' }),
      errors: ['both peer ASN and dynamicASN specified'],
    },
    { name: 'bad dynamicASN', spec: goodPeer({ peerASN: undefined, dynamicASN: 'both' }), errors: ['invalid dynamicASN both'] },
    { name: 'multihop on iBGP', spec: goodPeer({ peerASN: 64500, ebgpMultiHop: true }), errors: ['invalid ebgp-multihop parameter set for an ibgp peer'] },
    { name: 'multihop on eBGP', spec: goodPeer({ ebgpMultiHop: true }), errors: [] },
    { name: 'no address', spec: goodPeer({ peerAddress: undefined }), errors: ['peer has no Address or Interface specified'] },
    {
      name: 'address and interface',
      spec: goodPeer({ interface: 'eth0' }),
      errors: ['peer has both Address and Interface specified'],
    },
    { name: 'bad address', spec: goodPeer({ peerAddress: '10.77.0.300' }), errors: ['invalid BGPPeer address "10.77.0.300"'] },
    { name: 'bad router ID', spec: goodPeer({ routerID: 'router1' }), errors: ['invalid router ID "router1"'] },
    { name: 'IPv6 router ID', spec: goodPeer({ routerID: 'fd00::1' }), errors: ['invalid router ID "fd00::1": the BGP identifier must be an IPv4 address (RFC 6286)'] },
    { name: 'bad source', spec: goodPeer({ sourceAddress: 'eth0' }), errors: ['invalid source IP "eth0"'] },
    {
      name: 'source of the other family',
      spec: goodPeer({ sourceAddress: 'fd00:77::1' }),
      errors: ['source IP "fd00:77::1" and peer address "10.77.0.1" are of different address families'],
    },
    { name: 'port out of range', spec: goodPeer({ peerPort: 16385 }), errors: ['spec.peerPort must be an integer between 0 and 16384, got 16385'] },
    {
      name: 'duplicate node selectors',
      spec: goodPeer({ nodeSelectors: [{ matchLabels: { a: 'b' } }, { matchLabels: { a: 'b' } }] }),
      errors: ['duplicate definition of nodeSelectors "a=b"'],
    },
    {
      name: 'password and secret',
      spec: goodPeer({ password: 'x', passwordSecret: { name: 'md5' } }),
      errors: [`can not have both password and secret ref set in peer config "${NS}"/"p"`],
    },
    { name: 'secret missing (transient)', spec: goodPeer({ passwordSecret: { name: 'nope', namespace: NS } }), errors: [`secret ref not found for peer config "${NS}"/"nope"`] },
    {
      name: 'secret wrong type',
      spec: goodPeer({ passwordSecret: { name: 'opaque' } }),
      errors: [`secret type mismatch on "${NS}"/"opaque", type "kubernetes.io/basic-auth" is expected `],
    },
    { name: 'secret without password', spec: goodPeer({ passwordSecret: { name: 'empty' } }), errors: [`password not specified in the secret "${NS}"/"empty"`] },
    { name: 'password too long for TCP-MD5', spec: goodPeer({ password: 'x'.repeat(81) }), errors: ['password for peer 10.77.0.1 is longer than 80 bytes (TCP-MD5 key limit)'] },
    // Lifted: our speaker implements these.
    { name: 'keepaliveTime accepted', spec: goodPeer({ keepaliveTime: '10s' }), errors: [] },
    { name: 'connectTime accepted', spec: goodPeer({ connectTime: '10s' }), errors: [] },
    { name: 'graceful restart accepted', spec: goodPeer({ enableGracefulRestart: true }), errors: [] },
    { name: 'IPv6 peer accepted', spec: goodPeer({ peerAddress: 'fd00:77::1' }), errors: [] },
    // FRR-mode fields: accepted and passed to the speaker (test/config/peer-frr-fields.test.ts).
    { name: 'bfdProfile naming no profile', spec: goodPeer({ bfdProfile: 'fast' }), errors: ['peer p referencing non existing bfd profile fast'] },
    { name: 'disableMP', spec: goodPeer({ disableMP: true }), errors: [] },
    { name: 'disableMP false is fine', spec: goodPeer({ disableMP: false }), errors: [] },
    { name: 'dualStackAddressFamily', spec: goodPeer({ dualStackAddressFamily: true }), errors: [] },
    { name: 'localASN', spec: goodPeer({ localASN: 65000 }), errors: [] },
    // What this speaker cannot serve.
    { name: 'vrf', spec: goodPeer({ vrf: 'red' }), errors: ['vrf is not supported by this speaker (vrf "red"): it opens sessions from the default VRF only'] },
    { name: 'unnumbered', spec: goodPeer({ peerAddress: undefined, interface: 'eth0' }), errors: [] },
    { name: 'spec not an object', spec: 'x' as never, errors: ['spec must be an object, got "x"', 'missing local ASN', 'missing peer ASN and dynamicASN', 'peer has no Address or Interface specified'] },
  ];
  const secrets = [secret('md5', 'pw'), secret('opaque', 'pw', 'Opaque'), secret('empty', undefined)];
  for (const row of table) t.same(problemMessages(parseConfig({ secrets, peers: [peer('p', row.spec)] })), row.errors, row.name);

  const transient = parseConfig({ peers: [peer('p', goodPeer({ passwordSecret: { name: 'nope' } }))] });
  t.match(transient, { ok: true, warnings: [{ transient: true, disablesPeer: true, field: 'spec.passwordSecret', kind: 'BGPPeer', name: 'p' }] });
});

// Upstream reads passwordSecret by name in its own namespace and ignores passwordSecret.namespace;
// a peer naming another namespace made our whole configuration invalid.
t.test('passwordSecret.namespace other than the peer\'s: the Secret next to the peer, with a warning', async (t) => {
  const r = parseConfig({ secrets: [secret('md5', 's3cret')], peers: [peer('p', goodPeer({ passwordSecret: { name: 'md5', namespace: 'elsewhere' } }))] });
  t.equal(configOf(r).peers[0]?.password, 's3cret');
  t.match(r.warnings, [{ kind: 'BGPPeer', name: 'p', field: 'spec.passwordSecret.namespace', message: /passwordSecret.namespace "elsewhere" is ignored: the Secret "md5" is read from the peer's namespace/ }]);
  // What `validate` reads from files must agree with the cluster, where only the MetalLB
  // namespace's Secrets are listed: a Secret in the named namespace is not used.
  const otherNs = { ...secret('md5', 'wrong'), metadata: { name: 'md5', namespace: 'elsewhere' } };
  const r2 = parseConfig({ secrets: [otherNs, secret('md5', 's3cret')], peers: [peer('p', goodPeer({ passwordSecret: { name: 'md5', namespace: 'elsewhere' } }))] });
  t.equal(configOf(r2).peers[0]?.password, 's3cret', "the Secret of the peer's namespace, as in the cluster");
  const exact = parseConfig({ secrets: [secret('md5', 's3cret')], peers: [peer('p', goodPeer({ passwordSecret: { name: 'md5', namespace: NS } }))] });
  t.same(exact.warnings, [], 'no warning when the namespace is right');
});

// `echo pw | base64` puts a newline in the key; the session then never comes up, silently.
t.test('a password ending in a line break is accepted with a warning', async (t) => {
  const r = parseConfig({ secrets: [secret('md5', 's3cret\n')], peers: [peer('p', goodPeer({ passwordSecret: { name: 'md5' } }))] });
  t.equal(configOf(r).peers[0]?.password, 's3cret\n', 'used as given: it may really be the key');
  t.match(r.warnings, [{ field: 'spec.passwordSecret', message: /ends with a line break/ }]);
  t.same(parseConfig({ secrets: [secret('md5', 's3cret')], peers: [peer('p', goodPeer({ passwordSecret: { name: 'md5' } }))] }).warnings, []);
});

// A key with an embedded NUL was accepted here and then failed every session attempt at socket
// time with "md5 key (at most 80 bytes) is too long" (the native layer takes a C string).
t.test('a password with a NUL byte, or over 80 bytes, disables that peer at config time naming it', async (t) => {
  t.same(problemLines(parseConfig({ peers: [peer('p', goodPeer({ password: 'ab\0cd' }))] })), ['BGPPeer/p: password for peer 10.77.0.1 contains a NUL byte, which a TCP-MD5 key cannot hold']);
  const fromSecret = parseConfig({ secrets: [secret('md5', 's3cret\0')], peers: [peer('p', goodPeer({ passwordSecret: { name: 'md5' } }))] });
  t.match(fromSecret.warnings, [{ kind: 'BGPPeer', name: 'p', field: 'spec.passwordSecret', message: 'password for peer 10.77.0.1 contains a NUL byte, which a TCP-MD5 key cannot hold', disablesPeer: true }]);
  t.equal(configOf(fromSecret).peers.length, 0, 'the broken peer is out of the usable set');
  t.same(problemLines(parseConfig({ peers: [peer('p', goodPeer({ password: 'x'.repeat(80) }))] })), [], '80 bytes is the limit');
  t.same(problemLines(parseConfig({ peers: [peer('p', goodPeer({ password: '\u00e9'.repeat(41) }))] })), ['BGPPeer/p: password for peer 10.77.0.1 is longer than 80 bytes (TCP-MD5 key limit)'], 'bytes, not characters: 41 x U+00E9 is 82 bytes');
});

t.test('stringData secrets (manifests before the apiserver folds them into data)', async (t) => {
  const s = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'md5', namespace: NS }, type: 'kubernetes.io/basic-auth', stringData: { password: 'plain' } };
  const cfg = configOf(parseConfig({ secrets: [s], peers: [peer('p', goodPeer({ passwordSecret: { name: 'md5' } }))] }));
  t.equal(cfg.peers[0]?.password, 'plain');
});

t.test('duplicate and conflicting peers', async (t) => {
  const nodes = [node('n1', { rack: '1' }), node('n2', { rack: '2' })];
  const on = (rack: string) => [{ matchLabels: { rack } }];
  t.same(
    errorLines(parseConfig({ peers: [peer('a', goodPeer()), peer('a', goodPeer({ peerAddress: '10.77.0.2' }))] })),
    ['BGPPeer/a: peer a already exists'],
    'same name twice',
  );
  t.same(problemLines(parseConfig({ nodes, peers: [peer('a', goodPeer()), peer('b', goodPeer())] })), [
    'BGPPeer/b: peer 10.77.0.1 already exists in BGPPeer "a" and both select the same node; two sessions to one peer would collide',
  ]);
  t.same(
    problemLines(parseConfig({ peers: [peer('a', goodPeer({ peerAddress: 'fd00:77::1' })), peer('b', goodPeer({ peerAddress: 'FD00:77:0::1' }))] })),
    ['BGPPeer/b: peer fd00:77::1 already exists in BGPPeer "a" and both select the same node; two sessions to one peer would collide'],
    'addresses compared canonically',
  );
  t.same(problemMessages(parseConfig({ nodes, peers: [peer('a', goodPeer({ nodeSelectors: on('1') })), peer('b', goodPeer({ nodeSelectors: on('2') }))] })), [], 'disjoint nodes');
  t.same(problemMessages(parseConfig({ nodes, peers: [peer('a', goodPeer()), peer('b', goodPeer({ peerPort: 1179 }))] })), [], 'different ports');
  t.equal(
    problemMessages(parseConfig({ peers: [peer('a', goodPeer({ nodeSelectors: on('1') })), peer('b', goodPeer({ nodeSelectors: on('2') }))] })).length,
    1,
    'no Nodes known: assume they may share one (as upstream FRR mode)',
  );
  const cfg = configOf(parseConfig({ peers: [peer('z', goodPeer()), peer('a', goodPeer({ peerAddress: '10.77.0.2' }))] }));
  t.same(cfg.peers.map((p) => p.name), ['a', 'z'], 'peers sorted by name');
});
