// vrf peers: valid upstream objects this speaker cannot serve, each disabling its peer with a
// reason that says so, and nothing else. Interface (unnumbered) peers are served.
import t from 'tap';
import { parseConfig } from '../../src/config/parse';
import { configOf, goodPeer, peer, pool, l2 } from '../fixtures/manifests/objects';
import { upstreamSample } from '../fixtures/config/load';

t.test("upstream's configsamples/bgppeer_with_vrf.yaml: the peer is disabled, the configuration valid", async (t) => {
  const r = parseConfig(upstreamSample('bgppeer_with_vrf.yaml'));
  const cfg = configOf(r);
  t.same(cfg.peers, []);
  t.equal(cfg.disabledPeers.get('peer'), 'vrf is not supported by this speaker (vrf "red"): it opens sessions from the default VRF only');
  t.match(r.warnings, [{ kind: 'BGPPeer', name: 'peer', field: 'spec.vrf', disablesPeer: true, message: /^vrf is not supported by this speaker/ }]);
});

t.test('an unnumbered peer (interface): accepted, with its interface and no address', async (t) => {
  const cfg = configOf(parseConfig(upstreamSample('bgppeer_unnumbered.yaml')));
  t.equal(cfg.disabledPeers.get('peer-unnumber'), undefined);
  const p = cfg.peers.find((x) => x.name === 'peer-unnumber');
  t.equal(p?.interface, 'net0');
  t.notOk(p?.address, 'no address');
});

t.test('vrf "" is unset; a vrf peer does not touch the others', async (t) => {
  t.equal(configOf(parseConfig({ peers: [peer('p', goodPeer({ vrf: '' }))] })).peers[0]?.vrf, undefined);
  const cfg = configOf(
    parseConfig({
      pools: [pool('web', { addresses: ['10.77.5.0/24'] })],
      l2Advertisements: [l2('l2', { ipAddressPools: ['web'] })],
      peers: [peer('red', goodPeer({ vrf: 'red' })), peer('good', goodPeer({ peerAddress: '10.77.0.2' }))],
    }),
  );
  t.same(cfg.peers.map((p) => p.name), ['good']);
  t.same([...cfg.disabledPeers.keys()], ['red']);
  t.same(cfg.l2Advertisements.map((a) => a.name), ['l2']);
});
