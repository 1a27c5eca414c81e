// BGPPeer ASN fields of upstream's FRR mode (`api/v1beta2/bgppeer_types.go`, `peerFromCR` in
// `internal/config/config.go`): dynamicASN internal|external, its mutual exclusion with
// peerASN, and localASN. Accepted and passed to the speaker; a violation disables the peer only.
import t from 'tap';
import { parseConfig } from '../../src/config/parse';
import { configOf, goodPeer, peer, problemMessages } from '../fixtures/manifests/objects';
import { upstreamSample } from '../fixtures/config/load';

const one = (spec: Record<string, unknown>) => parseConfig({ peers: [peer('p', spec)] });

t.test('dynamicASN internal and external, without peerASN', async (t) => {
  for (const mode of ['internal', 'external'] as const) {
    const cfg = configOf(one(goodPeer({ peerASN: undefined, dynamicASN: mode })));
    t.match(cfg.peers[0], { name: 'p', peerASN: 0, dynamicASN: mode }, `dynamicASN ${mode}`);
  }
});

t.test("dynamicASN and peerASN: exactly one, in upstream's words", async (t) => {
  t.same(problemMessages(one(goodPeer({ dynamicASN: 'external' }))), ['both peer ASN and dynamicASN specified']);
  t.same(problemMessages(one(goodPeer({ peerASN: undefined }))), ['missing peer ASN and dynamicASN']);
  t.same(problemMessages(one(goodPeer({ peerASN: 0, dynamicASN: '' }))), ['missing peer ASN and dynamicASN'], 'empty dynamicASN counts as unset');
  t.same(problemMessages(one(goodPeer({ peerASN: undefined, dynamicASN: 'both' }))), ['invalid dynamicASN both']);
  t.same(problemMessages(one(goodPeer({ peerASN: undefined, dynamicASN: 7 }))), ['spec.dynamicASN must be a string, got 7', 'missing peer ASN and dynamicASN']);
  const r = one(goodPeer({ dynamicASN: 'internal' }));
  t.ok(r.ok, 'a peer problem never invalidates the configuration');
  t.same(configOf(r).peers, []);
});

t.test("localASN: upstream's sample, range 1..4294967295", async (t) => {
  const cfg = configOf(parseConfig(upstreamSample('bgppeer_with_localasn.yaml')));
  t.match(cfg.peers[0], { name: 'example', myASN: 64512, peerASN: 64520, localASN: 65410 });
  t.equal(configOf(one(goodPeer())).peers[0]?.localASN, undefined, 'unset');
  t.equal(configOf(one(goodPeer({ localASN: 4294967295 }))).peers[0]?.localASN, 4294967295);
  t.same(problemMessages(one(goodPeer({ localASN: 0 }))), ['spec.localASN must be an integer between 1 and 4294967295, got 0']);
  t.same(problemMessages(one(goodPeer({ localASN: 4294967296 }))), ['spec.localASN must be an integer between 1 and 4294967295, got 4294967296']);
  t.match(configOf(one(goodPeer({ peerASN: undefined, dynamicASN: 'external', localASN: 65001 }))).peers[0], { dynamicASN: 'external', localASN: 65001 }, 'with dynamicASN');
});
