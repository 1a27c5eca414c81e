/**
 * localASN against FRR 8.4, as upstream's `neighbor X local-as N no-prepend replace-as`: FRR
 * sees localASN as the neighbor's remote AS (from our OPEN) and as the only AS in the AS_PATH,
 * never myASN; a FRR that expects myASN refuses us; and iBGP is decided against localASN.
 * Session options come from the speaker's BGPPeer mapping.
 */
import t from 'tap';
import { createLab } from '../harness/lab';
import type { Lab, LabNode } from '../harness/lab';
import { startFrr } from '../harness/routers/frr';
import type { FrrHandle, FrrPath } from '../harness/routers/frr';
import { sessionConfig, startSpeaker } from '../fixtures/bgp/speaker-driver';
import type { SpeakerProc } from '../fixtures/bgp/speaker-driver';
import { peerSessionOptions } from '../../src/speaker/bgp-session-options';

const ROUTER_AS = 64501;
const MY_ASN = 64500;

interface PrefixPath extends FrrPath {
  aspath?: { string?: string; length?: number };
  locPrf?: number;
  peer?: { type?: string };
}

function speaker(lab: Lab, node: LabNode, localASN: number, peerASN: number, peers: Array<{ address: string; prefix: string }>): SpeakerProc {
  const sessions = peers.map(({ address }, i) => {
    const r = peerSessionOptions({ myASN: MY_ASN, peerASN, localASN, peerAddress: address });
    if (!r.ok) throw new Error(r.reason);
    return { id: `s${i}`, config: sessionConfig({ ...r.options, peerAddress: address, routerId: node.ipv4, backoff: { initialMs: 200, maxMs: 1000 } }) };
  });
  return startSpeaker(lab, node.ns, sessions, Object.fromEntries(peers.map((p) => [p.prefix, {}])));
}

async function detail(frr: FrrHandle, prefix: string): Promise<PrefixPath> {
  await frr.waitRoute(prefix, undefined, 60_000);
  const family = prefix.includes(':') ? 'ipv6' : 'ipv4';
  const out = JSON.parse(await frr.vtysh(`show bgp ${family} unicast ${prefix} json`)) as { paths?: PrefixPath[] };
  return out.paths![0]!;
}

t.test('localASN against FRR', async (t) => {
  const lab = await createLab({ nodes: 4, name: 'bgp-localas' });
  t.teardown(() => lab.destroy());
  const [n1, n2, n3, n4] = lab.nodes as [LabNode, LabNode, LabNode, LabNode];
  const frr = await startFrr(lab, {
    asn: ROUTER_AS,
    routerId: '10.77.0.1',
    neighbors: [
      { address: n1.ipv4, remoteAs: 64510 },
      { address: n1.ipv6, remoteAs: 64510 },
      { address: n2.ipv4, remoteAs: 4200000010 },
      { address: n3.ipv4, remoteAs: ROUTER_AS },
      // Expects myASN, which a session with localASN never shows.
      { address: n4.ipv4, remoteAs: MY_ASN },
    ],
  });
  speaker(lab, n1, 64510, ROUTER_AS, [
    { address: '10.77.0.1', prefix: '10.77.0.150/32' },
    { address: 'fd00:77::1', prefix: 'fd00:77::150/128' },
  ]);
  speaker(lab, n2, 4200000010, ROUTER_AS, [{ address: '10.77.0.1', prefix: '10.77.0.151/32' }]);
  speaker(lab, n3, ROUTER_AS, ROUTER_AS, [{ address: '10.77.0.1', prefix: '10.77.0.152/32' }]);
  const wrong = speaker(lab, n4, 64510, ROUTER_AS, [{ address: '10.77.0.1', prefix: '10.77.0.153/32' }]);

  t.test('FRR sees localASN as the remote AS and in the AS_PATH, never myASN', async (t) => {
    for (const address of [n1.ipv4, n1.ipv6]) {
      const n = await frr.waitEstablished(address, 60_000);
      t.equal(n.remoteAs, 64510, `${address}: remote AS is localASN`);
    }
    for (const prefix of ['10.77.0.150/32', 'fd00:77::150/128']) {
      const p = await detail(frr, prefix);
      t.equal(p.aspath?.string, '64510', `${prefix}: AS_PATH is localASN alone (replace-as: no ${MY_ASN})`);
      t.equal(p.peer?.type, 'external', `${prefix}: eBGP`);
    }
  });

  t.test('a 4-octet localASN', async (t) => {
    const n = await frr.waitEstablished(n2.ipv4, 60_000);
    t.equal(n.remoteAs, 4200000010, 'remote AS from the 4-octet AS capability');
    t.equal((await detail(frr, '10.77.0.151/32')).aspath?.string, '4200000010');
  });

  t.test('localASN equal to the peer AS is iBGP, whatever myASN is', async (t) => {
    const n = await frr.waitEstablished(n3.ipv4, 60_000);
    t.equal(n.remoteAs, ROUTER_AS, 'remote AS is localASN, the router AS');
    const p = await detail(frr, '10.77.0.152/32');
    t.equal(p.peer?.type, 'internal', 'FRR: an iBGP path');
    t.equal(p.aspath?.length, 0, 'empty AS_PATH inside the AS');
    t.equal(p.locPrf, 100, 'LOCAL_PREF sent, as to any iBGP peer');
  });

  t.test('a FRR expecting myASN refuses the session with 2/2', async (t) => {
    const down = await wrong.waitEvent('NOTIFICATION from FRR', (e) => e.event === 'down' && e.reason?.kind === 'notificationReceived', 60_000);
    t.match(down.reason, { code: 2, subcode: 2 }, 'FRR sent OPEN Message Error / Bad Peer AS: our OPEN carried localASN');
    t.not((await frr.neighbor(n4.ipv4))?.bgpState, 'Established', 'FRR never established');
  });
});
