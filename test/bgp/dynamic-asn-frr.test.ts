/**
 * dynamicASN against FRR 8.4: `internal` accepts a peer in our AS and `external` a peer in
 * another, taking the AS from the OPEN; the other kind is refused with NOTIFICATION OPEN Message
 * Error / Bad Peer AS (2/2), which FRR reports as the reason the session went down. FRR's side
 * is `remote-as internal`, `remote-as external` or a number. Session options come from the
 * speaker's BGPPeer mapping.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { createLab, waitFor } from '../harness/lab';
import type { LabNode } from '../harness/lab';
import { startFrr } from '../harness/routers/frr';
import type { FrrHandle, FrrPath } from '../harness/routers/frr';
import { sessionConfig, startSpeaker } from '../fixtures/bgp/speaker-driver';
import type { SpeakerProc } from '../fixtures/bgp/speaker-driver';
import { peerSessionOptions } from '../../src/speaker/bgp-session-options';
import type { PeerSessionFields } from '../../src/speaker/bgp-session-options';

const ROUTER_AS = 64501;

interface PrefixPath extends FrrPath {
  aspath?: { string?: string; length?: number };
  locPrf?: number;
  peer?: { type?: string };
}

/** FRR neighbor lines for a remote AS that may be `internal`/`external`, activated for IPv4. */
function neighborLines(address: string, remoteAs: number | 'internal' | 'external'): string {
  return [
    ` neighbor ${address} remote-as ${remoteAs}`,
    ` neighbor ${address} timers 3 9`,
    ` neighbor ${address} timers connect 1`,
    ' address-family ipv4 unicast',
    `  neighbor ${address} activate`,
    ' exit-address-family',
  ].join('\n');
}

function speaker(lab: Parameters<typeof startSpeaker>[0], node: LabNode, fields: Omit<PeerSessionFields, 'peerAddress'>, prefix: string): SpeakerProc {
  const r = peerSessionOptions({ ...fields, peerAddress: '10.77.0.1' });
  if (!r.ok) throw new Error(r.reason);
  const config = sessionConfig({ ...r.options, peerAddress: '10.77.0.1', routerId: node.ipv4, backoff: { initialMs: 200, maxMs: 1000 } });
  return startSpeaker(lab, node.ns, [{ id: 'peer', config }], { [prefix]: {} });
}

async function detail(frr: FrrHandle, prefix: string): Promise<PrefixPath> {
  await frr.waitRoute(prefix, undefined, 60_000);
  const out = JSON.parse(await frr.vtysh(`show bgp ipv4 unicast ${prefix} json`)) as { paths?: PrefixPath[] };
  return out.paths![0]!;
}

t.test('dynamicASN against FRR', async (t) => {
  const lab = await createLab({ nodes: 4, name: 'bgp-dynasn' });
  t.teardown(() => lab.destroy());
  const [n1, n2, n3, n4] = lab.nodes as [LabNode, LabNode, LabNode, LabNode];
  const frr = await startFrr(lab, {
    asn: ROUTER_AS,
    routerId: '10.77.0.1',
    bgpExtra: [
      neighborLines(n1.ipv4, 'internal'),
      neighborLines(n2.ipv4, 'external'),
      // The two refusals: FRR expects a number and would accept; our check is what refuses.
      neighborLines(n3.ipv4, 64500),
      neighborLines(n4.ipv4, ROUTER_AS),
    ].join('\n'),
    extraConfig: 'debug bgp neighbor-events',
  });
  const internalOk = speaker(lab, n1, { myASN: ROUTER_AS, dynamicASN: 'internal' }, '10.77.0.140/32');
  const externalOk = speaker(lab, n2, { myASN: 64500, dynamicASN: 'external' }, '10.77.0.141/32');
  const internalBad = speaker(lab, n3, { myASN: 64500, dynamicASN: 'internal' }, '10.77.0.142/32');
  const externalBad = speaker(lab, n4, { myASN: ROUTER_AS, dynamicASN: 'external' }, '10.77.0.143/32');

  t.test('internal accepts a peer in our AS (FRR remote-as internal): iBGP', async (t) => {
    const n = await frr.waitEstablished(n1.ipv4, 60_000);
    t.equal(n.remoteAs, ROUTER_AS, 'FRR sees us in its own AS');
    const established = await internalOk.waitEvent('established', (e) => e.event === 'established', 60_000);
    t.match(established.negotiated, { peerAsn: ROUTER_AS }, 'the peer AS taken from its OPEN');
    const p = await detail(frr, '10.77.0.140/32');
    t.equal(p.peer?.type, 'internal', 'FRR: an iBGP path');
    t.equal(p.aspath?.length, 0, 'empty AS_PATH inside the AS');
    t.equal(p.locPrf, 100, 'LOCAL_PREF sent, as to any iBGP peer');
  });

  t.test('external accepts a peer in another AS (FRR remote-as external): eBGP', async (t) => {
    const n = await frr.waitEstablished(n2.ipv4, 60_000);
    t.equal(n.remoteAs, 64500, 'FRR sees our AS');
    const established = await externalOk.waitEvent('established', (e) => e.event === 'established', 60_000);
    t.match(established.negotiated, { peerAsn: ROUTER_AS }, 'the peer AS taken from its OPEN');
    const p = await detail(frr, '10.77.0.141/32');
    t.equal(p.peer?.type, 'external', 'FRR: an eBGP path');
    t.equal(p.aspath?.string, '64500', 'AS_PATH is our AS');
  });

  /**
   * The refusal seen from both ends: our 'down' event, and FRR's log line for the NOTIFICATION
   * (bgpd logs it against the connection it accepted, which it then deletes, so the neighbor's
   * JSON counters never show it). The neighbor never reaches Established.
   */
  const refused = async (t: Test, proc: SpeakerProc, address: string, announced: number, want: string): Promise<void> => {
    const down = await proc.waitEvent('down after sending a NOTIFICATION', (e) => e.event === 'down' && e.reason?.kind === 'notificationSent', 60_000);
    t.match(down.reason, { code: 2, subcode: 2, text: /bad peer AS/i }, `we sent OPEN Message Error / Bad Peer AS for AS ${announced} (${want})`);
    const line = await waitFor(
      `FRR to log the NOTIFICATION from ${address}`,
      () => readFileSync(join(frr.dir, 'bgpd.log'), 'utf8').split('\n').find((l) => l.includes(`%NOTIFICATION: received from neighbor ${address} 2/2`)),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    t.match(line, '(OPEN Message Error/Bad Peer AS)', 'FRR received 2/2');
    t.not((await frr.neighbor(address))?.bgpState, 'Established', 'FRR never established');
    t.notOk(proc.events.some((e) => e.event === 'established'), 'our side never established');
  };

  t.test('internal refuses a peer in another AS with 2/2 (FRR remote-as 64500)', async (t) => {
    await refused(t, internalBad, n3.ipv4, ROUTER_AS, 'internal, our AS is 64500');
  });

  t.test('external refuses a peer in our own AS with 2/2 (FRR remote-as 64501, iBGP for FRR)', async (t) => {
    await refused(t, externalBad, n4.ipv4, ROUTER_AS, 'external, our AS is 64501');
  });
});
