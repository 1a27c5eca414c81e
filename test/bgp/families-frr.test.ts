/**
 * Address families per session against FRR 8.4, as upstream FRR mode: with
 * dualStackAddressFamily false each session carries only its own family, whatever FRR offers;
 * with true both sessions carry both; disableMP changes nothing. Session options come from the
 * speaker's BGPPeer mapping (bgp-session-options.ts). Checked in FRR's JSON: which session
 * (peerId) each prefix arrived over, with which next hop, and the MP capabilities FRR saw.
 */
import t from 'tap';
import { createLab } from '../harness/lab';
import type { LabNode } from '../harness/lab';
import { startFrr } from '../harness/routers/frr';
import type { FrrHandle, FrrPath } from '../harness/routers/frr';
import { sessionConfig, startSpeaker } from '../fixtures/bgp/speaker-driver';
import { peerSessionOptions } from '../../src/speaker/bgp-session-options';
import type { PeerSessionFields } from '../../src/speaker/bgp-session-options';

const ROUTER_V4 = '10.77.0.1';
const ROUTER_V6 = 'fd00:77::1';

/** A session from BGPPeer fields, through the speaker's mapping. */
function peerSession(id: string, node: LabNode, fields: Omit<PeerSessionFields, 'myASN' | 'peerASN'>): { id: string; config: ReturnType<typeof sessionConfig> } {
  const r = peerSessionOptions({ myASN: 64500, peerASN: 64501, ...fields });
  if (!r.ok) throw new Error(r.reason);
  return { id, config: sessionConfig({ ...r.options, peerAddress: fields.peerAddress, routerId: node.ipv4 }) };
}

/** `show bgp neighbors X json` MP capability state per family, e.g. { ipv4Unicast: 'advertisedAndReceived' }. */
async function mpCapabilities(frr: FrrHandle, address: string): Promise<Record<string, string>> {
  const n = await frr.neighbor(address);
  const caps = (n?.neighborCapabilities as { multiprotocolExtensions?: Record<string, Record<string, boolean>> } | undefined)?.multiprotocolExtensions ?? {};
  return Object.fromEntries(Object.entries(caps).map(([family, flags]) => [family, Object.keys(flags).filter((k) => flags[k] === true).join(',')]));
}

const byPeer = (paths: readonly FrrPath[]): Record<string, string[]> =>
  Object.fromEntries(paths.map((p) => [p.peerId ?? '?', (p.nexthops ?? []).filter((h) => h.scope !== 'link-local').map((h) => h.ip ?? '?')]));

t.test('address families per session against FRR', async (t) => {
  const lab = await createLab({ nodes: 3, name: 'bgp-families' });
  t.teardown(() => lab.destroy());
  const [n1, n2, n3] = lab.nodes as [LabNode, LabNode, LabNode];
  // FRR activates both families on every neighbor: what a session carries is our choice.
  const both = ['ipv4', 'ipv6'] as const;
  const frr = await startFrr(lab, {
    asn: 64501,
    routerId: ROUTER_V4,
    neighbors: [n1, n2, n3].flatMap((n) => [
      { address: n.ipv4, remoteAs: 64500, families: both },
      { address: n.ipv6, remoteAs: 64500, families: both },
    ]),
  });
  const routes = (host: number): Record<string, object> => ({ [`10.77.0.${host}/32`]: {}, [`fd00:77::${host}/128`]: {} });
  startSpeaker(lab, n1.ns, [peerSession('v4', n1, { peerAddress: ROUTER_V4 }), peerSession('v6', n1, { peerAddress: ROUTER_V6 })], routes(130));
  startSpeaker(
    lab,
    n2.ns,
    [peerSession('v4', n2, { peerAddress: ROUTER_V4, dualStackAddressFamily: true }), peerSession('v6', n2, { peerAddress: ROUTER_V6, dualStackAddressFamily: true })],
    routes(131),
  );
  startSpeaker(lab, n3.ns, [peerSession('v6', n3, { peerAddress: ROUTER_V6, disableMP: true })], routes(132));

  t.test('dualStackAddressFamily false: IPv4 over the IPv4 session, IPv6 over the IPv6 session', async (t) => {
    await frr.waitEstablished(n1.ipv4, 60_000);
    await frr.waitEstablished(n1.ipv6, 60_000);
    t.same(await mpCapabilities(frr, n1.ipv4), { ipv4Unicast: 'advertisedAndReceived', ipv6Unicast: 'advertised' }, 'IPv4 session: we offered IPv4 only');
    t.same(await mpCapabilities(frr, n1.ipv6), { ipv4Unicast: 'advertised', ipv6Unicast: 'advertisedAndReceived' }, 'IPv6 session: we offered IPv6 only');
    const v4 = await frr.waitRoute('10.77.0.130/32');
    const v6 = await frr.waitRoute('fd00:77::130/128');
    t.same(byPeer(v4), { [n1.ipv4]: [n1.ipv4] }, 'the IPv4 prefix only over the IPv4 session, next hop the node IPv4');
    t.same(byPeer(v6), { [n1.ipv6]: [n1.ipv6] }, 'the IPv6 prefix only over the IPv6 session, next hop the node IPv6');
  });

  t.test('dualStackAddressFamily true: both families over both sessions', async (t) => {
    await frr.waitEstablished(n2.ipv4, 60_000);
    await frr.waitEstablished(n2.ipv6, 60_000);
    for (const address of [n2.ipv4, n2.ipv6]) {
      t.same(await mpCapabilities(frr, address), { ipv4Unicast: 'advertisedAndReceived', ipv6Unicast: 'advertisedAndReceived' }, `${address}: both negotiated`);
    }
    const v4 = await frr.waitRoute('10.77.0.131/32', (paths) => paths.length === 2);
    const v6 = await frr.waitRoute('fd00:77::131/128', (paths) => paths.length === 2);
    t.same(byPeer(v4), { [n2.ipv4]: [n2.ipv4], [n2.ipv6]: [n2.ipv4] }, 'IPv4 prefix over both sessions, next hop the node IPv4 on each');
    t.same(byPeer(v6), { [n2.ipv4]: [n2.ipv6], [n2.ipv6]: [n2.ipv6] }, 'IPv6 prefix over both sessions, next hop the node IPv6 on each');
    t.ok(v4.every((p) => p.valid === true) && v6.every((p) => p.valid === true), 'all paths valid');
  });

  t.test('disableMP: no effect, the IPv6 session carries IPv6 only', async (t) => {
    await frr.waitEstablished(n3.ipv6, 60_000);
    t.same(await mpCapabilities(frr, n3.ipv6), { ipv4Unicast: 'advertised', ipv6Unicast: 'advertisedAndReceived' }, 'IPv6 only negotiated');
    t.same(byPeer(await frr.waitRoute('fd00:77::132/128')), { [n3.ipv6]: [n3.ipv6] }, 'the IPv6 prefix over the IPv6 session');
    // The full table goes out in the routes' order, IPv4 first: had it been sent, it would be here.
    t.notOk((await frr.bgpTable('ipv4'))['10.77.0.132/32'], 'the IPv4 prefix was not sent');
  });
});
