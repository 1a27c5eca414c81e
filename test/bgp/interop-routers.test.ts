/**
 * Our speaker against BIRD 2, GoBGP 3 and OpenBGPD 7 as the router (one after another in the
 * same lab): each establishes IPv4 and IPv6 sessions and receives IPv4 and IPv6 routes with the
 * right AS path, next hop, MED, communities and large communities.
 */
import t from 'tap';
import { createLab, waitFor } from '../harness/lab';
import type { Lab, LabNode } from '../harness/lab';
import { startBird } from '../harness/routers/bird';
import { startGobgp } from '../harness/routers/gobgp';
import { startOpenbgpd } from '../harness/routers/openbgpd';
import type { PeerSpec } from '../harness/routers/common';
import { sessionConfig, startSpeaker } from '../fixtures/bgp/speaker-driver';
import type { SpeakerProc } from '../fixtures/bgp/speaker-driver';

const V4 = '10.77.0.130/32';
const V6 = 'fd00:77::130/128';
const attrs = { med: 30, communities: [65000 * 65536 + 130], largeCommunities: [{ globalAdmin: 64500, localData1: 13, localData2: 7 }] };

function speaker(lab: Lab, node: LabNode): SpeakerProc {
  return startSpeaker(
    lab,
    node.ns,
    [
      { id: 'v4', config: sessionConfig({ peerAddress: lab.router.ipv4, localAsn: 64500, peerAsn: 64501, routerId: node.ipv4, families: [{ afi: 1, safi: 1 }] }) },
      { id: 'v6', config: sessionConfig({ peerAddress: lab.router.ipv6, localAsn: 64500, peerAsn: 64501, routerId: node.ipv4, families: [{ afi: 2, safi: 1 }] }) },
    ],
    { [V4]: attrs, [V6]: attrs },
  );
}

async function stopSpeaker(s: SpeakerProc): Promise<void> {
  s.send({ cmd: 'stop' });
  await Promise.race([s.exited(), new Promise((r) => setTimeout(r, 3000))]);
  s.kill('SIGKILL');
}

t.test('other routers', async (t) => {
  const lab = await createLab({ nodes: 1, name: 'bgp-routers' });
  t.teardown(() => lab.destroy());
  const node = lab.nodes[0]!;
  const neighbors: PeerSpec[] = [
    { address: node.ipv4, remoteAs: 64500, families: ['ipv4'] },
    { address: node.ipv6, remoteAs: 64500, families: ['ipv6'] },
  ];

  t.test('BIRD', async (t) => {
    const bird = await startBird(lab, { asn: 64501, routerId: lab.router.ipv4, neighbors });
    const s = speaker(lab, node);
    try {
      await bird.waitEstablished(node.ipv4, 60_000);
      await bird.waitEstablished(node.ipv6, 60_000);
      await bird.waitRoute(V4, 20_000);
      await bird.waitRoute(V6, 20_000);
      const all4 = await bird.birdc('show', 'route', V4, 'all');
      t.match(all4, /BGP\.as_path: 64500\b/);
      t.match(all4, new RegExp(`BGP\\.next_hop: ${node.ipv4.replace(/\./g, '\\.')}\\b`));
      t.match(all4, /BGP\.med: 30\b/);
      t.match(all4, /BGP\.community: \(65000,130\)/);
      t.match(all4, /BGP\.large_community: \(64500, 13, 7\)/);
      const all6 = await bird.birdc('show', 'route', V6, 'all');
      t.match(all6, /BGP\.as_path: 64500\b/);
      t.match(all6, /BGP\.next_hop: fd00:77::11 fe80:/, 'global and link-local next hop');
      t.match(all6, /BGP\.med: 30\b/);
      t.match(all6, /BGP\.large_community: \(64500, 13, 7\)/);
    } finally {
      await stopSpeaker(s);
      await bird.stop();
    }
  });

  t.test('GoBGP', async (t) => {
    const gobgp = await startGobgp(lab, { ns: lab.router.ns, asn: 64501, routerId: lab.router.ipv4, neighbors });
    const s = speaker(lab, node);
    try {
      await gobgp.waitEstablished(node.ipv4, 60_000);
      await gobgp.waitEstablished(node.ipv6, 60_000);
      for (const prefix of [V4, V6]) {
        const paths = await gobgp.waitRoute(prefix, undefined, 20_000);
        const text = JSON.stringify(paths);
        t.match(text, /"as_paths":\[\{"segment_type":2,"num":1,"asns":\[64500\]\}\]|"asns":\[64500\]/, `${prefix}: AS path`);
        t.match(text, /"metric":30/, `${prefix}: MED`);
        t.match(text, new RegExp(`"communities":\\[${65000 * 65536 + 130}\\]`), `${prefix}: community`);
        t.match(text, /"type":32,"value":\[\{"ASN":64500,"LocalData1":13,"LocalData2":7\}\]/, `${prefix}: large community`);
        t.match(text, prefix === V4 ? /"nexthop":"10\.77\.0\.11"/ : /fd00:77::11/, `${prefix}: next hop`);
      }
    } finally {
      await stopSpeaker(s);
      await gobgp.stop();
    }
  });

  t.test('OpenBGPD', async (t) => {
    const obgpd = await startOpenbgpd(lab, { asn: 64501, routerId: lab.router.ipv4, neighbors });
    const s = speaker(lab, node);
    try {
      await obgpd.waitEstablished(node.ipv4, 60_000);
      await obgpd.waitEstablished(node.ipv6, 60_000);
      const r4 = await obgpd.waitRoute(V4, 20_000);
      t.equal(r4.exit_nexthop, node.ipv4);
      t.match(String(r4.aspath), /^64500$/);
      const r6 = await obgpd.waitRoute(V6, 20_000);
      t.match(String(r6.exit_nexthop), /^(fd00:77::11|fe80:)/);
      const detail = await waitFor('detailed RIB with attributes', async () => {
        const d = await obgpd.bgpctl('-j', 'show', 'rib', 'detail');
        return d.includes('130') ? d : undefined;
      }, { timeoutMs: 10_000 });
      const rib = (JSON.parse(detail) as { rib?: Array<Record<string, unknown>> }).rib ?? [];
      for (const prefix of [V4, V6]) {
        const e = rib.find((x) => x.prefix === prefix);
        const text = JSON.stringify(e);
        t.ok(e, `${prefix} in the detailed RIB`);
        t.match(text, /"metric":30/, `${prefix}: MED`);
        t.match(text, /65000:130/, `${prefix}: community`);
        t.match(text, /64500:13:7/, `${prefix}: large community`);
      }
    } finally {
      await stopSpeaker(s);
      await obgpd.stop();
    }
  });
});
