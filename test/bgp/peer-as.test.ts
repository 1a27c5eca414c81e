/**
 * The peer's AS: a number, or upstream's dynamicASN (internal/external) checked against the
 * peer's OPEN, with OPEN Message Error / Bad Peer AS (2/2) for the wrong kind. Pure: the check,
 * negotiation, and the FSM from tcpConnected to Established or the NOTIFICATION's bytes.
 */
import t from 'tap';
import { checkPeerAs, describePeerAsn, DynamicAsn, isIbgp } from '../../src/bgp/peer-as';
import type { PeerAsn } from '../../src/bgp/peer-as';
import { initialFsm, negotiate, SessionState, step } from '../../src/bgp/fsm';
import type { FsmAction, FsmConfig, FsmEvent, FsmState, Negotiated } from '../../src/bgp/fsm';
import { BgpError } from '../../src/bgp/errors';
import { encode } from '../../src/bgp/codec';
import type { Message, OpenMessage } from '../../src/bgp/codec';
import { socketTtl } from '../../src/bgp/session-config';

const LOCAL = 64500;

t.test('checkPeerAs: numeric, internal, external', async (t) => {
  const table: Array<{ expected: PeerAsn; announced: number; ok: boolean }> = [
    { expected: 64501, announced: 64501, ok: true },
    { expected: 64501, announced: 64502, ok: false },
    { expected: DynamicAsn.Internal, announced: LOCAL, ok: true },
    { expected: DynamicAsn.Internal, announced: 64501, ok: false },
    { expected: DynamicAsn.External, announced: 64501, ok: true },
    { expected: DynamicAsn.External, announced: 4200000000, ok: true },
    { expected: DynamicAsn.External, announced: LOCAL, ok: false },
  ];
  for (const row of table) {
    const err = checkPeerAs(LOCAL, row.expected, row.announced);
    if (row.ok) {
      t.equal(err, undefined, `${describePeerAsn(row.expected)} accepts ${row.announced}`);
    } else {
      t.ok(err instanceof BgpError, `${describePeerAsn(row.expected)} refuses ${row.announced}`);
      t.same([err?.code, err?.subcode], [2, 2], 'OPEN Message Error / Bad Peer AS');
      t.match(err?.message, String(row.announced), 'the message names the announced AS');
    }
  }
});

t.test('isIbgp: a dynamic rule decides before any OPEN', async (t) => {
  t.equal(isIbgp(LOCAL, DynamicAsn.Internal), true);
  t.equal(isIbgp(LOCAL, DynamicAsn.External), false);
  t.equal(isIbgp(LOCAL, LOCAL), true);
  t.equal(isIbgp(LOCAL, 64501), false);
  const cfg = { peerAddress: '10.77.0.1', routerId: '10.77.0.11', holdTimeSec: 9, connectTimeSec: 1, localAsn: LOCAL };
  t.equal(socketTtl({ ...cfg, peerAsn: DynamicAsn.Internal, ebgpMultiHop: false }), undefined, 'iBGP keeps the kernel TTL');
  t.equal(socketTtl({ ...cfg, peerAsn: DynamicAsn.External, ebgpMultiHop: false }), 1, 'single-hop eBGP: TTL 1');
  t.equal(socketTtl({ ...cfg, peerAsn: DynamicAsn.External, ebgpMultiHop: true }), 255);
});

const config = (peerAsn: PeerAsn): FsmConfig => ({
  localAsn: LOCAL,
  peerAsn,
  routerId: '10.77.0.11',
  holdTimeSec: 90,
  connectTimeSec: 10,
  families: [{ afi: 1, safi: 1 }],
  backoff: { initialMs: 1000, maxMs: 120_000 },
});
const open = (asn: number, over: Partial<OpenMessage> = {}): OpenMessage => ({
  type: 1,
  version: 4,
  myAs: asn > 0xffff ? 23456 : asn,
  holdTimeSec: 9,
  bgpIdentifier: '10.77.0.1',
  capabilities: [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'fourOctetAs', asn },
  ],
  ...over,
});

function run(s: FsmState, events: FsmEvent[]): { state: FsmState; actions: FsmAction[] } {
  let state = s;
  let actions: FsmAction[] = [];
  for (const ev of events) ({ state, actions } = step(state, ev));
  return { state, actions };
}
const toOpenConfirm = (o: OpenMessage): FsmEvent[] => [{ type: 'start' }, { type: 'tcpConnected' }, { type: 'message', msg: o }];
const sentNotification = (actions: FsmAction[]): Buffer | undefined => {
  const a = actions.find((x): x is Extract<FsmAction, { type: 'send' }> => x.type === 'send' && x.msg.type === 3);
  return a ? encode(a.msg as Message) : undefined;
};
// NOTIFICATION 2/2 on the wire: marker, length 21, type 3, code 2 (OPEN Message Error),
// subcode 2 (Bad Peer AS), no data (RFC 4271 §4.5).
const BAD_PEER_AS = `${'ff'.repeat(16)}0015030202`;

t.test('dynamicASN internal: accepts our AS from the OPEN, refuses another with 2/2', async (t) => {
  const up = run(initialFsm(config(DynamicAsn.Internal), 1), [...toOpenConfirm(open(LOCAL)), { type: 'message', msg: { type: 4 } }]);
  t.equal(up.state.state, SessionState.Established);
  const established = up.actions.find((a) => a.type === 'established') as Extract<FsmAction, { type: 'established' }>;
  t.equal(established.negotiated.peerAsn, LOCAL, 'the peer AS comes from its OPEN');

  const bad = run(initialFsm(config(DynamicAsn.Internal), 1), toOpenConfirm(open(64501)));
  t.equal(bad.state.state, SessionState.Idle);
  t.equal(sentNotification(bad.actions)?.toString('hex'), BAD_PEER_AS);
  t.match(bad.actions.find((a) => a.type === 'down'), { reason: { kind: 'notificationSent', code: 2, subcode: 2 } });

  const sameId = run(initialFsm(config(DynamicAsn.Internal), 1), toOpenConfirm(open(LOCAL, { bgpIdentifier: '10.77.0.11' })));
  t.match(sameId.actions.find((a) => a.type === 'down'), { reason: { code: 2, subcode: 3 } }, 'iBGP still refuses our own BGP identifier (RFC 6286)');
});

t.test('dynamicASN external: accepts any other AS (also 4-octet), refuses ours with 2/2', async (t) => {
  for (const asn of [64501, 4200000000]) {
    const up = run(initialFsm(config(DynamicAsn.External), 1), [...toOpenConfirm(open(asn)), { type: 'message', msg: { type: 4 } }]);
    t.equal(up.state.state, SessionState.Established, `AS ${asn}`);
    t.equal((up.actions.find((a) => a.type === 'established') as Extract<FsmAction, { type: 'established' }>).negotiated.peerAsn, asn);
  }
  const bad = run(initialFsm(config(DynamicAsn.External), 1), toOpenConfirm(open(LOCAL)));
  t.equal(sentNotification(bad.actions)?.toString('hex'), BAD_PEER_AS);
  const sameId = negotiate(config(DynamicAsn.External), open(64501, { bgpIdentifier: '10.77.0.11' }));
  t.notOk(sameId instanceof BgpError, 'eBGP may share our BGP identifier (RFC 6286 §2.2)');
});

t.test('numeric peerASN unchanged: the AS must match exactly', async (t) => {
  t.equal((negotiate(config(64501), open(64501)) as Negotiated).peerAsn, 64501);
  const bad = run(initialFsm(config(64501), 1), toOpenConfirm(open(64502)));
  t.equal(sentNotification(bad.actions)?.toString('hex'), BAD_PEER_AS);
});
