// The speaker's unnumbered peers: a router watch per interface peer, no session until the
// router's RA names its link-local, then a session to it; removing the peer stops the watch.
import t from 'tap';
import pino from 'pino';
import { parseConfig } from '../../src/config/parse';
import { BgpPeers } from '../../src/speaker/bgp-peers';
import { RouterWatch } from '../../src/bgp/router-discovery';
import { configOf, goodPeer, peer } from '../fixtures/manifests/objects';

const log = pino({ level: 'silent' });

class FakeWatch extends RouterWatch {
  address: string | undefined;
  started = false;
  stopped = false;
  override get router(): string | undefined {
    return this.address;
  }
  override start(): void {
    this.started = true;
  }
  override stop(): void {
    this.stopped = true;
  }
}

t.test('a session starts once the router is found, and the watch stops with the peer', async (t) => {
  const watches: FakeWatch[] = [];
  const bgp = new BgpPeers(log, {
    newWatch: (ifname, l) => {
      const w = new FakeWatch(ifname, { log: l });
      watches.push(w);
      return w;
    },
  });
  t.teardown(() => bgp.stop());
  const peers = configOf(parseConfig({ peers: [peer('p', goodPeer({ peerAddress: undefined, interface: 'eth0' }))] })).peers;
  bgp.sync(peers, [], '10.0.0.9');
  t.equal(watches.length, 1);
  t.ok(watches[0]!.started, 'watching eth0');
  t.same(bgp.status(), [], 'no session before an RA');
  watches[0]!.address = 'fe80::1%eth0';
  watches[0]!.emit('router', 'fe80::1%eth0');
  t.same(
    bgp.status().map((s) => s.label),
    ['fe80::1%eth0:179'],
    'session to the router link-local',
  );
  bgp.sync([], [], '10.0.0.9');
  t.ok(watches[0]!.stopped, 'watch stopped with the peer');
  t.same(bgp.status(), []);
});
