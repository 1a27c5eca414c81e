/**
 * The session shell against a scripted TCP peer on loopback: routes, incremental updates,
 * config changes, hold timer, malformed input, route refresh, graceful restart, stop.
 */
import t from 'tap';
import type { Test } from 'tap';
import { BgpSession, socketTtl } from '../../src/bgp/session';
import type { BgpSessionConfig } from '../../src/bgp/session';
import type { RouteAttributes } from '../../src/bgp/adj-rib-out';
import { encode, endOfRibFamily } from '../../src/bgp/codec';
import type { Message, OpenMessage, UpdateMessage } from '../../src/bgp/codec';
import { localNextHops } from '../../src/bgp/next-hop';
import { Writable } from 'node:stream';
import { createRootLogger, silentLogger } from '../../src/util/log';
import { waitFor } from '../harness/lab-exec';
import { loopbackSessionConfig, TestPeer } from '../fixtures/bgp/test-peer';
import type { TestPeerOptions } from '../fixtures/bgp/test-peer';

const WAIT = { timeoutMs: 8000, intervalMs: 20 };

async function setup(t: Test, peerOver: Partial<TestPeerOptions> = {}, cfgOver: Partial<BgpSessionConfig> = {}) {
  const peer = await TestPeer.listen({ host: '127.0.0.1', asn: 64501, routerId: '10.77.0.1', holdTimeSec: 9, ...peerOver });
  const cfg = loopbackSessionConfig(peer.port, 64501, { gracefulRestart: { restartTimeSec: 120 }, backoff: { initialMs: 50, maxMs: 200 }, ...cfgOver });
  let seed = 1;
  const session = new BgpSession(cfg, { log: silentLogger(), random: () => ((seed = (seed * 16807) % 2147483647) / 2147483647) });
  t.teardown(async () => {
    await session.stop();
    await peer.close();
  });
  return { peer, session, cfg };
}

const updates = (msgs: Message[]): UpdateMessage[] => msgs.filter((m): m is UpdateMessage => m.type === 2);
const nlriOf = (msgs: Message[]): string[] => updates(msgs).flatMap((u) => [...u.nlri, ...(u.attributes.mpReach?.nlri ?? [])]);
const routes = (...p: string[]): Map<string, RouteAttributes> => new Map(p.map((x) => [x, {}]));

t.test('establish, full table with End-of-RIB, incremental changes without reset', async (t) => {
  const { peer, session } = await setup(t);
  const states: string[] = [];
  session.on('state', (s: string) => states.push(s));
  session.setRoutes(routes('10.77.0.100/32', '10.77.0.101/32'));
  session.start();
  await waitFor('Established', () => session.state === 'Established', WAIT);
  t.same(states, ['Connect', 'OpenSent', 'OpenConfirm', 'Established']);
  const open = peer.last!.received[0] as OpenMessage;
  t.match(open.capabilities.find((c) => c.kind === 'gracefulRestart'), { restarting: true, restartTimeSec: 120 });
  await waitFor('full table and End-of-RIB', () => updates(peer.all()).some((u) => endOfRibFamily(u) !== undefined), WAIT);
  const first = updates(peer.all());
  t.equal(first.length, 2, 'one packed UPDATE and one End-of-RIB');
  t.same(first[0]!.nlri, ['10.77.0.100/32', '10.77.0.101/32']);
  t.equal(first[0]!.attributes.nextHop, '127.0.0.1', 'next hop is the local TCP address');
  t.same(first[0]!.attributes.asPath, [{ type: 2, asns: [64500] }]);

  session.setRoutes(new Map<string, RouteAttributes>([['10.77.0.100/32', { communities: [0xfde80001] }], ['10.77.0.102/32', {}]]));
  await waitFor('incremental UPDATEs', () => updates(peer.all()).length >= 5, WAIT);
  const inc = updates(peer.all()).slice(2);
  // Announcements first, then the withdrawal (make before break, as upstream).
  t.same(inc.map((u) => [u.withdrawn, u.nlri]), [
    [[], ['10.77.0.100/32']],
    [[], ['10.77.0.102/32']],
    [['10.77.0.101/32'], []],
  ]);
  t.equal(peer.connections.length, 1, 'no reset for route changes');
  t.equal(session.counters.prefixesAnnounced, 2);
  t.equal(session.counters.updatesSent, 5);

  t.same(session.updateConfig({ ...session.config }), { reset: false, routesResent: false }, 'same config: nothing');
  t.same(session.updateConfig({ ...session.config, nextHopIpv4: '10.77.0.11' }), { reset: false, routesResent: true });
  await waitFor('re-announced with the new next hop', () => updates(peer.all()).some((u) => u.attributes.nextHop === '10.77.0.11'), WAIT);
  t.equal(peer.connections.length, 1, 'a next-hop change does not reset');

  t.same(session.updateConfig({ ...session.config, holdTimeSec: 30 }), { reset: true });
  await waitFor('Cease 6/6 then a new connection', () => peer.connections.length === 2 && session.state === 'Established', WAIT);
  t.match(peer.connections[0]!.received.at(-1), { type: 3, code: 6, subcode: 6 });
  t.equal((peer.last!.received[0] as OpenMessage).holdTimeSec, 30);
  t.match((peer.last!.received[0] as OpenMessage).capabilities.find((c) => c.kind === 'gracefulRestart'), { restarting: false }, 'R bit only on the first session of the process');
  await waitFor('full table again', () => nlriOf(peer.last!.received).length === 2, WAIT);

  await session.stop();
  await waitFor('Cease 6/2 on stop', () => peer.last!.received.some((m) => m.type === 3 && m.code === 6 && m.subcode === 2), WAIT);
  t.equal(session.state, 'Idle');
});

t.test('graceful restart: nothing, not even End-of-RIB, before the first setRoutes', async (t) => {
  const { peer, session } = await setup(t);
  session.start();
  await waitFor('Established', () => session.state === 'Established', WAIT);
  await waitFor('peer saw our KEEPALIVE', () => peer.last!.received.some((m) => m.type === 4), WAIT);
  t.same(updates(peer.all()), [], 'no UPDATE yet');
  session.setRoutes(routes('10.77.0.100/32'));
  await waitFor('table then End-of-RIB', () => updates(peer.all()).length === 2, WAIT);
  t.ok(endOfRibFamily(updates(peer.all())[1]!));
});

t.test('hold timer expiry when the peer goes silent', async (t) => {
  const { peer, session } = await setup(t, { holdTimeSec: 3, keepaliveMs: 1000 });
  const downs: unknown[] = [];
  session.on('down', (r: unknown) => downs.push(r));
  session.setRoutes(routes());
  session.start();
  await waitFor('Established', () => session.state === 'Established', WAIT);
  t.equal(session.negotiated?.holdTimeSec, 3);
  peer.silent = true;
  await waitFor('NOTIFICATION 4/0', () => peer.connections[0]!.received.some((m) => m.type === 3 && m.code === 4), { timeoutMs: 6000, intervalMs: 50 });
  t.match(downs[0], { kind: 'notificationSent', code: 4, subcode: 0 });
  peer.silent = false;
  await waitFor('reconnected', () => peer.connections.length >= 2 && session.state === 'Established', WAIT);
});

t.test('route refresh resends the family', async (t) => {
  const { peer, session } = await setup(t);
  session.setRoutes(routes('10.77.0.100/32'));
  session.start();
  await waitFor('table', () => updates(peer.all()).length === 2, WAIT);
  peer.write(undefined, encode({ type: 5, afi: 1, safi: 1, subtype: 0 }));
  await waitFor('resent', () => updates(peer.all()).length === 3, WAIT);
  t.same(nlriOf(peer.all()), ['10.77.0.100/32', '10.77.0.100/32']);
});

t.test('malformed input: the right NOTIFICATION, a clean reset, other sessions untouched', async (t) => {
  const other = await setup(t);
  other.session.setRoutes(routes('10.77.0.200/32'));
  other.session.start();
  await waitFor('bystander Established', () => other.session.state === 'Established', WAIT);
  const bystanderConnections = other.peer.connections.length;

  const { peer, session } = await setup(t);
  session.setRoutes(routes('10.77.0.100/32'));
  session.start();
  const cases: Array<{ name: string; bytes: Buffer; code: number; subcode: number }> = [
    { name: 'bad marker', bytes: Buffer.concat([Buffer.alloc(16, 0), Buffer.from('001304', 'hex')]), code: 1, subcode: 1 },
    { name: 'length 5000', bytes: Buffer.from('ff'.repeat(16) + '138804', 'hex'), code: 1, subcode: 2 },
    { name: 'unknown type 9', bytes: Buffer.from('ff'.repeat(16) + '001309', 'hex'), code: 1, subcode: 3 },
    {
      name: 'MP_REACH with a bad next hop length',
      bytes: Buffer.from('ff'.repeat(16) + '002a02' + '0000' + '0013' + '400101' + '00' + '400200' + '800e09' + '00020105000000000000', 'hex'),
      code: 3,
      subcode: 9,
    },
    { name: 'OPEN in Established', bytes: encode({ type: 1, version: 4, myAs: 64501, holdTimeSec: 9, bgpIdentifier: '10.77.0.1', capabilities: [] }), code: 5, subcode: 3 },
  ];
  for (const c of cases) {
    await waitFor(`Established before ${c.name}`, () => session.state === 'Established' && peer.last && nlriOf(peer.last.received).length > 0, WAIT);
    const conn = peer.last!;
    peer.write(conn, c.bytes);
    await waitFor(`NOTIFICATION for ${c.name}`, () => conn.received.find((m) => m.type === 3), WAIT);
    t.match(conn.received.find((m) => m.type === 3), { code: c.code, subcode: c.subcode }, c.name);
    await waitFor(`connection closed after ${c.name}`, () => conn.closed, WAIT);
  }
  await waitFor('back up after the last case', () => session.state === 'Established' && nlriOf(peer.last!.received).length > 0, WAIT);
  t.equal(other.session.state, 'Established', 'the other session stayed up');
  t.equal(other.peer.connections.length, bystanderConnections, 'and never reconnected');

  // A wrong peer AS in the OPEN: 2/2 and backoff, forever.
  const wrong = await setup(t, { asn: 64999 });
  wrong.session.setRoutes(routes());
  wrong.session.start();
  await waitFor('two attempts rejected with 2/2', () => wrong.peer.connections.filter((c) => c.received.some((m) => m.type === 3 && m.code === 2 && m.subcode === 2)).length >= 2, WAIT);
});

t.test('connection refused: reconnects with backoff until the peer appears', async (t) => {
  const probe = await TestPeer.listen({ host: '127.0.0.1', asn: 64501, routerId: '10.77.0.1' });
  const port = probe.port;
  await probe.close();
  const { session } = await setup(t, {}, {});
  session.updateConfig({ ...session.config, peerPort: port });
  const downs: unknown[] = [];
  session.on('down', (r: unknown) => downs.push(r));
  session.setRoutes(routes());
  session.start();
  await waitFor('three failed attempts', () => downs.length >= 3, WAIT);
  t.match(downs[0], { kind: 'tcpFailed' });
  const late = await TestPeer.listen({ host: '127.0.0.1', port, asn: 64501, routerId: '10.77.0.1' });
  t.teardown(() => late.close());
  await waitFor('Established once the peer listens', () => session.state === 'Established', WAIT);
});

t.test('socket TTL and next-hop choice', async (t) => {
  const base = { localAsn: 64500, peerAsn: 64501, ebgpMultiHop: false } as BgpSessionConfig;
  t.equal(socketTtl(base), 1, 'single-hop eBGP');
  t.equal(socketTtl({ ...base, ebgpMultiHop: true }), 255);
  t.equal(socketTtl({ ...base, peerAsn: 64500 }), undefined, 'iBGP keeps the default');
  const ifaces = {
    eth0: [
      { address: '10.77.0.11', family: 'IPv4', internal: false, cidr: '10.77.0.11/24' },
      { address: 'fd00:77::11', family: 'IPv6', internal: false, cidr: 'fd00:77::11/64' },
      { address: 'fe80::77:ff:fe00:b', family: 'IPv6', internal: false, cidr: 'fe80::77:ff:fe00:b/64' },
    ],
  } as unknown as NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>;
  t.same(localNextHops('10.77.0.11', '10.77.0.1', {}, ifaces), { ipv4: '10.77.0.11', ipv6: ['fd00:77::11'] }, 'no link-local over IPv4 transport');
  t.same(localNextHops('fd00:77::11', 'fd00:77::1', {}, ifaces), { ipv4: '10.77.0.11', ipv6: ['fd00:77::11', 'fe80::77:ff:fe00:b'] }, 'a peer on the subnet gets the link-local too');
  t.same(localNextHops('fd00:77::11', 'fe80::1%eth0', {}, ifaces), { ipv4: '10.77.0.11', ipv6: ['fd00:77::11', 'fe80::77:ff:fe00:b'] }, '... as does a link-local peer');
  // Regression: the link-local went to every peer without ebgpMultiHop, so to an iBGP route
  // reflector two hops away, whose link it is not on (RFC 2545 §3: if and only if the subnet is shared).
  t.same(localNextHops('fd00:77::11', 'fd00:99::1', {}, ifaces), { ipv4: '10.77.0.11', ipv6: ['fd00:77::11'] }, 'a peer off the subnet gets the global address only');
  t.same(localNextHops('::ffff:10.77.0.11', '10.77.0.1', { nextHopIpv6: 'fd00::5' }, ifaces), { ipv4: '10.77.0.11', ipv6: ['fd00::5'] });
  t.same(localNextHops('10.9.9.9', '10.77.0.1', {}, ifaces), { ipv4: '10.9.9.9' });
});

// Regression: routes of a family the peer did not negotiate were dropped with a debug line on
// every diff, so the only trace was metallb_bgp_pending_prefixes_total staying above announced.
t.test('routes the peer cannot take are reported at warn, once per change', async (t) => {
  const peer = await TestPeer.listen({ host: '127.0.0.1', asn: 64501, routerId: '10.77.0.1', holdTimeSec: 9 });
  const lines: { level: number; event?: string; count?: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as (typeof lines)[number]);
      done();
    },
  });
  const session = new BgpSession(
    { peerAddress: '127.0.0.1', peerPort: peer.port, peerAsn: 64501, localAsn: 64500, routerId: '10.77.0.11', holdTimeSec: 9, connectTimeSec: 2, ebgpMultiHop: true, families: [{ afi: 1, safi: 1 }] },
    { log: createRootLogger('info', sink) },
  );
  t.teardown(async () => {
    await session.stop();
    await peer.close();
  });
  session.setRoutes(routes('10.77.0.100/32', 'fd00:77::100/128'));
  session.start();
  await waitFor('End-of-RIB', () => updates(peer.all()).some((u) => endOfRibFamily(u) !== undefined), WAIT);
  session.setRoutes(routes('10.77.0.100/32', '10.77.0.101/32', 'fd00:77::100/128'));
  await waitFor('second IPv4 route', () => nlriOf(peer.all()).includes('10.77.0.101/32'), WAIT);
  session.setRoutes(routes('10.77.0.100/32', '10.77.0.101/32', 'fd00:77::100/128', 'fd00:77::101/128'));
  await waitFor('second report', () => lines.filter((l) => l.event === 'routesSkipped').length >= 2, WAIT);
  const skipped = lines.filter((l) => l.event === 'routesSkipped');
  t.same(
    skipped.map((l) => [l.level, l.count]),
    [
      [40, 1],
      [40, 2],
    ],
    'one warn for the IPv6 route, none for the unrelated IPv4 change, one more when a second IPv6 route is skipped',
  );
  t.notOk(nlriOf(peer.all()).some((p) => p.includes(':')), 'no IPv6 route was sent');
  t.equal(session.counters.prefixesAnnounced, 2);
});
