// The speaker's BFD wiring (src/speaker/bfd-peers.ts) against a fake session host: which
// sessions run with which timers, and the gate that closes a BGP session when BFD goes Down and
// keeps it closed until BFD is Up again (not before the first Up, not on the peer's AdminDown,
// RFC 5882 §3.2).
import { EventEmitter } from 'node:events';
import t from 'tap';
import type { BfdSessionConfig } from '../../src/bfd/bfd-session';
import { parseConfig } from '../../src/config/parse';
import type { Config } from '../../src/config/types';
import { BfdGate, BfdPeers, bfdSessionFor, type BfdSessionHost } from '../../src/speaker/bfd-peers';
import { silentLogger } from '../../src/util/log';
import { bfd, configOf, goodPeer, peer } from '../fixtures/manifests/objects';

class FakeSession extends EventEmitter {
  up = false;
  constructor(readonly config: BfdSessionConfig) {
    super();
  }
  goUp(): void {
    this.up = true;
    this.emit('up', {});
  }
  goDown(remoteAdminDown = false): void {
    this.up = false;
    this.emit('down', { peer: this.config.peerAddress, diag: remoteAdminDown ? 3 : 1, diagText: '', remoteAdminDown });
  }
}

function fakeHost() {
  const sessions = new Map<string, FakeSession>();
  const calls: string[] = [];
  const key = (a: string, m: boolean) => `${a}|${m}`;
  const host = {
    ensureSession: async (c: BfdSessionConfig) => {
      calls.push(`ensure ${c.peerAddress} ${c.multihop ? 'multihop' : 'single-hop'} tx${c.params.desiredMinTxMs} rx${c.params.requiredMinRxMs} x${c.params.detectMult}`);
      const s = sessions.get(key(c.peerAddress, c.multihop)) ?? new FakeSession(c);
      sessions.set(key(c.peerAddress, c.multihop), s);
      return s as never;
    },
    removeSession: async (a: string, m = false) => {
      calls.push(`remove ${a}`);
      sessions.delete(key(a, m));
    },
    session: (a: string, m = false) => sessions.get(key(a, m)) as never,
  } satisfies BfdSessionHost;
  return { host, sessions, calls, get: (a: string, m = false) => sessions.get(key(a, m))! };
}

const log = silentLogger();
const flush = () => new Promise((r) => setImmediate(r));

function config(peers: Record<string, Record<string, unknown>>, profiles: Record<string, Record<string, unknown>> = { fast: { receiveInterval: 100, transmitInterval: 120, detectMultiplier: 4 } }): Config {
  return configOf(parseConfig({ bfdProfiles: Object.entries(profiles).map(([n, s]) => bfd(n, s)), peers: Object.entries(peers).map(([n, s]) => peer(n, s)) }));
}

t.test('bfdSessionFor: the profile timers, single-hop or multihop by ebgpMultiHop', async (t) => {
  const cfg = config({ a: goodPeer({ bfdProfile: 'fast', sourceAddress: '10.77.0.9' }), b: goodPeer({ peerAddress: '10.77.0.2', bfdProfile: 'fast', ebgpMultiHop: true }), c: goodPeer({ peerAddress: '10.77.0.3' }) });
  const [a, b, c] = cfg.peers;
  t.same(bfdSessionFor(a!, cfg.bfdProfiles), {
    peerAddress: '10.77.0.1',
    localAddress: '10.77.0.9',
    multihop: false,
    params: { desiredMinTxMs: 120, requiredMinRxMs: 100, detectMult: 4, passive: false },
    minimumTtl: 254,
  });
  t.equal(bfdSessionFor(b!, cfg.bfdProfiles)?.multihop, true, 'ebgpMultiHop: RFC 5883 session (port 4784)');
  t.equal(bfdSessionFor(c!, cfg.bfdProfiles), undefined, 'no bfdProfile: no session');
});

t.test('sessions follow the peers; BFD Down closes BGP until BFD is Up again', async (t) => {
  const f = fakeHost();
  let changes = 0;
  const peers = new BfdPeers({ host: f.host, log, onChange: () => changes++ });
  const cfg = config({ a: goodPeer({ bfdProfile: 'fast' }), plain: goodPeer({ peerAddress: '10.77.0.2' }) });
  peers.sync(cfg.peers, cfg.bfdProfiles);
  await flush();
  t.same(f.calls, ['ensure 10.77.0.1 single-hop tx120 rx100 x4'], 'one session, for the peer with a profile');
  const [a, plain] = cfg.peers;
  t.equal(peers.gate(plain!), BfdGate.NoBfd);
  t.equal(peers.gate(a!), BfdGate.NotYetUp, 'BGP does not wait for the first Up (routers that start BFD after BGP)');
  t.same(peers.allowed(cfg.peers).map((p) => p.name), ['a', 'plain']);

  f.get('10.77.0.1').goUp();
  t.equal(changes, 1, 'Up is a change');
  t.equal(peers.gate(a!), BfdGate.Up);
  t.same(peers.allowed(cfg.peers).map((p) => p.name), ['a', 'plain']);

  f.get('10.77.0.1').goDown();
  t.equal(changes, 2, 'Down is a change');
  t.equal(peers.gate(a!), BfdGate.Down, 'Down closes the BGP session until BFD is Up again');
  t.same(peers.allowed(cfg.peers).map((p) => p.name), ['plain']);
  f.get('10.77.0.1').goUp();

  f.get('10.77.0.1').goDown(true);
  t.equal(peers.gate(a!), BfdGate.RemoteAdminDown, "the peer's AdminDown leaves BGP alone (RFC 5882 §3.2)");
  f.get('10.77.0.1').goUp();
  t.equal(peers.gate(a!), BfdGate.Up);

  // Same config again: nothing to do. New timers: the same session is retimed, not replaced.
  peers.sync(cfg.peers, cfg.bfdProfiles);
  await flush();
  t.equal(f.calls.length, 1, 'an unchanged sync does nothing');
  const slower = config({ a: goodPeer({ bfdProfile: 'fast' }), plain: goodPeer({ peerAddress: '10.77.0.2' }) }, { fast: { receiveInterval: 300 } });
  peers.sync(slower.peers, slower.bfdProfiles);
  await flush();
  t.same(f.calls.slice(1), ['ensure 10.77.0.1 single-hop tx300 rx300 x3']);
  t.equal(f.sessions.size, 1);

  // The profile removed from the peer: its session goes, and nothing gates the peer.
  const none = config({ a: goodPeer(), plain: goodPeer({ peerAddress: '10.77.0.2' }) });
  peers.sync(none.peers, none.bfdProfiles);
  await flush();
  t.same(f.calls.slice(2), ['remove 10.77.0.1']);
  t.equal(peers.gate(none.peers[0]!), BfdGate.NoBfd);
});

t.test('a session that cannot start leaves BGP running without BFD, and is retried', async (t) => {
  const f = fakeHost();
  let fail = true;
  const host: BfdSessionHost = { ...f.host, ensureSession: async (c) => (fail ? Promise.reject(new Error('EADDRINUSE 3784')) : f.host.ensureSession(c)) };
  const peers = new BfdPeers({ host, log, onChange: () => undefined });
  const cfg = config({ a: goodPeer({ bfdProfile: 'fast' }) });
  peers.sync(cfg.peers, cfg.bfdProfiles);
  await flush();
  t.equal(peers.gate(cfg.peers[0]!), BfdGate.NotYetUp);
  fail = false;
  peers.sync(cfg.peers, cfg.bfdProfiles);
  await flush();
  t.same(f.calls, ['ensure 10.77.0.1 single-hop tx120 rx100 x4'], 'the next sync tries again');
});
