import t from 'tap';
import { backoffMs, initialFsm, SessionState, step, Timer } from '../../src/bgp/fsm';
import type { FsmAction, FsmConfig, FsmEvent, FsmState } from '../../src/bgp/fsm';
import { BgpError } from '../../src/bgp/errors';
import type { Capability, Message, OpenMessage } from '../../src/bgp/codec';

const config: FsmConfig = {
  localAsn: 64500,
  peerAsn: 64501,
  routerId: '10.77.0.11',
  holdTimeSec: 90,
  connectTimeSec: 10,
  families: [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ],
  gracefulRestart: { restartTimeSec: 120 },
  backoff: { initialMs: 1000, maxMs: 120_000 },
};

const peerCaps: Capability[] = [
  { kind: 'multiprotocol', afi: 1, safi: 1 },
  { kind: 'multiprotocol', afi: 2, safi: 1 },
  { kind: 'routeRefresh' },
  { kind: 'fourOctetAs', asn: 64501 },
];
const peerOpen = (over: Partial<OpenMessage> = {}): OpenMessage => ({
  type: 1,
  version: 4,
  myAs: 64501,
  holdTimeSec: 9,
  bgpIdentifier: '10.77.0.1',
  capabilities: peerCaps,
  ...over,
});

function run(s: FsmState, events: FsmEvent[]): { state: FsmState; actions: FsmAction[] } {
  let state = s;
  let actions: FsmAction[] = [];
  for (const ev of events) {
    const r = step(state, ev);
    state = r.state;
    actions = r.actions;
  }
  return { state, actions };
}
const msg = (m: Message): FsmEvent => ({ type: 'message', msg: m });
const KA: FsmEvent = msg({ type: 4 });
const toOpenSent: FsmEvent[] = [{ type: 'start' }, { type: 'tcpConnected' }];
const toEstablished = (open: OpenMessage = peerOpen()): FsmEvent[] => [...toOpenSent, msg(open), KA];
const fresh = (c: FsmConfig = config): FsmState => initialFsm(c, 12345);
const sent = (actions: FsmAction[]): Message[] => actions.flatMap((a) => (a.type === 'send' ? [a.msg] : []));
const timerStart = (actions: FsmAction[], timer: string): number | undefined => {
  const a = actions.find((x) => x.type === 'startTimer' && x.timer === timer);
  return a && a.type === 'startTimer' ? a.ms : undefined;
};
const notif = (actions: FsmAction[]): [number, number, string] | undefined => {
  const m = sent(actions).find((x) => x.type === 3);
  return m && m.type === 3 ? [m.code, m.subcode, m.data.toString('hex')] : undefined;
};

t.test('happy path: Idle -> Connect -> OpenSent -> OpenConfirm -> Established', async (t) => {
  let r = step(fresh(), { type: 'start' });
  t.equal(r.state.state, SessionState.Connect);
  t.same(r.actions.map((a) => a.type), ['stopTimer', 'connect', 'startTimer']);
  t.equal(timerStart(r.actions, Timer.ConnectRetry), 10_000);

  r = step(r.state, { type: 'tcpConnected' });
  t.equal(r.state.state, SessionState.OpenSent);
  const open = sent(r.actions)[0] as OpenMessage;
  t.equal(open.type, 1);
  t.equal(open.myAs, 64500);
  t.equal(open.holdTimeSec, 90);
  t.same(
    open.capabilities.map((c) => c.kind),
    ['multiprotocol', 'multiprotocol', 'routeRefresh', 'gracefulRestart', 'fourOctetAs'],
  );
  t.match(open.capabilities[3], { restarting: true, restartTimeSec: 120, families: [{ forwardingPreserved: true }, { forwardingPreserved: true }] });
  t.equal(timerStart(r.actions, Timer.Hold), 240_000, 'RFC 4271 large hold timer while waiting for OPEN');

  r = step(r.state, msg(peerOpen()));
  t.equal(r.state.state, SessionState.OpenConfirm);
  t.same(sent(r.actions), [{ type: 4 }], 'KEEPALIVE answers the OPEN');
  t.equal(timerStart(r.actions, Timer.Hold), 9000, 'negotiated hold is the smaller');
  const ka = timerStart(r.actions, Timer.Keepalive)!;
  t.ok(ka >= 2250 && ka <= 3000, `keepalive ${ka} is a jittered third of 9 s`);

  r = step(r.state, KA);
  t.equal(r.state.state, SessionState.Established);
  const est = r.actions.find((a) => a.type === 'established');
  t.match(est, { negotiated: { holdTimeSec: 9, fourOctetAs: true, peerAsn: 64501, peerRouteRefresh: true } });
});

t.test('hold time negotiation table', async (t) => {
  const rows: Array<{ ours: number; theirs: number; hold?: number; keepaliveSec?: number; ka?: number; error?: [number, number] }> = [
    { ours: 90, theirs: 9, hold: 9, ka: 3000 },
    { ours: 9, theirs: 90, hold: 9, ka: 3000 },
    { ours: 90, theirs: 0, hold: 0, ka: 0 },
    { ours: 0, theirs: 90, hold: 0, ka: 0 },
    { ours: 90, theirs: 3, hold: 3, ka: 1000 },
    { ours: 90, theirs: 1, error: [2, 6] },
    { ours: 90, theirs: 2, error: [2, 6] },
    { ours: 9, theirs: 90, keepaliveSec: 1, hold: 9, ka: 1000 },
    { ours: 90, theirs: 9, keepaliveSec: 30, hold: 9, ka: 3000 },
  ];
  for (const row of rows) {
    const c = { ...config, holdTimeSec: row.ours, keepaliveTimeSec: row.keepaliveSec };
    const r = run(fresh(c), [...toOpenSent, msg(peerOpen({ holdTimeSec: row.theirs }))]);
    const name = `ours ${row.ours} theirs ${row.theirs} keepalive ${row.keepaliveSec ?? '-'}`;
    if (row.error) {
      t.same(notif(r.actions)?.slice(0, 2), row.error, `${name}: NOTIFICATION`);
      t.equal(r.state.state, SessionState.Idle);
      continue;
    }
    t.equal(r.state.negotiated?.holdTimeSec, row.hold, `${name}: hold`);
    t.equal(r.state.negotiated?.keepaliveMs, row.ka, `${name}: keepalive`);
    if (row.hold === 0) {
      t.equal(timerStart(r.actions, Timer.Hold), undefined, `${name}: no hold timer`);
      t.equal(timerStart(r.actions, Timer.Keepalive), undefined, `${name}: no keepalives`);
    }
  }
});

t.test('OPEN checks: each sends its NOTIFICATION and backs off', async (t) => {
  const rows: Array<{ name: string; cfg?: Partial<FsmConfig>; open: Partial<OpenMessage>; want?: [number, number, string] }> = [
    { name: 'version 3', open: { version: 3 }, want: [2, 1, '0004'] },
    { name: 'wrong peer AS', open: { myAs: 64999, capabilities: [{ kind: 'fourOctetAs', asn: 64999 }] }, want: [2, 2, ''] },
    { name: '4-octet capability decides the peer AS', open: { myAs: 23456 } },
    { name: '2-octet peer without the capability', open: { capabilities: [] } },
    { name: 'BGP identifier 0.0.0.0', open: { bgpIdentifier: '0.0.0.0' }, want: [2, 3, ''] },
    { name: 'iBGP with our own identifier', cfg: { peerAsn: 64500 }, open: { bgpIdentifier: '10.77.0.11', capabilities: [{ kind: 'fourOctetAs', asn: 64500 }] }, want: [2, 3, ''] },
    { name: 'eBGP may reuse our identifier (RFC 6286)', open: { bgpIdentifier: '10.77.0.11' } },
    { name: 'our 4-octet AS needs the peer capability', cfg: { localAsn: 4200000000 }, open: { capabilities: [] }, want: [2, 7, '4104fa56ea00'] },
    { name: 'unknown capability ignored', open: { capabilities: [...peerCaps, { kind: 'unknown', code: 73, value: Buffer.from('x') }] } },
  ];
  for (const row of rows) {
    const r = run(fresh({ ...config, ...row.cfg }), [...toOpenSent, msg(peerOpen(row.open))]);
    if (row.want) {
      t.same(notif(r.actions), row.want, `${row.name}: NOTIFICATION`);
      t.equal(r.state.state, SessionState.Idle, `${row.name}: Idle`);
      t.ok(r.actions.some((a) => a.type === 'disconnect'), `${row.name}: disconnect`);
      const backoff = timerStart(r.actions, Timer.IdleHold)!;
      t.ok(backoff >= 750 && backoff <= 1000, `${row.name}: backoff ${backoff}`);
    } else {
      t.equal(r.state.state, SessionState.OpenConfirm, `${row.name}: accepted`);
    }
  }
});

t.test('family negotiation', async (t) => {
  const noMp = run(fresh(), [...toOpenSent, msg(peerOpen({ capabilities: [{ kind: 'fourOctetAs', asn: 64501 }] }))]);
  t.same(noMp.state.negotiated?.families, [{ afi: 1, safi: 1 }], 'no MP capability means IPv4 unicast');
  const v6 = run(fresh(), [...toOpenSent, msg(peerOpen({ capabilities: [{ kind: 'multiprotocol', afi: 2, safi: 1 }, { kind: 'fourOctetAs', asn: 64501 }] }))]);
  t.same(v6.state.negotiated?.families, [{ afi: 2, safi: 1 }]);
  t.equal(v6.state.negotiated?.peerRouteRefresh, false);
});

t.test('timers: hold expiry sends 4/0, keepalive timer sends KEEPALIVE', async (t) => {
  const est = run(fresh(), toEstablished());
  const ka = step(est.state, { type: 'timerExpired', timer: Timer.Keepalive });
  t.same(sent(ka.actions), [{ type: 4 }]);
  t.ok(timerStart(ka.actions, Timer.Keepalive), 'keepalive rescheduled');
  const hold = step(est.state, { type: 'timerExpired', timer: Timer.Hold });
  t.same(notif(hold.actions), [4, 0, '']);
  t.equal(hold.state.state, SessionState.Idle);
  t.match(hold.actions.find((a) => a.type === 'down'), { reason: { kind: 'notificationSent', code: 4 }, wasEstablished: true });
  for (const st of [SessionState.OpenSent, SessionState.OpenConfirm]) {
    const events = st === SessionState.OpenSent ? toOpenSent : [...toOpenSent, msg(peerOpen())];
    const r = run(fresh(), [...events, { type: 'timerExpired', timer: Timer.Hold }]);
    t.same(notif(r.actions), [4, 0, ''], `hold expiry in ${st}`);
  }
  t.same(step(est.state, KA).actions, [{ type: 'startTimer', timer: Timer.Hold, ms: 9000 }], 'KEEPALIVE restarts the hold timer');
  const stale = run(fresh(), [{ type: 'start' }, { type: 'timerExpired', timer: Timer.Hold }]);
  t.same(stale.actions, [], 'a stale hold timer in Connect is ignored');
});

t.test('unexpected messages are FSM errors (RFC 6608 subcodes)', async (t) => {
  const upd: Message = { type: 2, withdrawn: [], attributes: {}, nlri: [] };
  t.same(notif(run(fresh(), [...toOpenSent, msg(upd)]).actions), [5, 1, '']);
  t.same(notif(run(fresh(), [...toOpenSent, msg(peerOpen()), msg(upd)]).actions), [5, 2, '']);
  t.same(notif(run(fresh(), [...toEstablished(), msg(peerOpen())]).actions), [5, 3, '']);
  t.same(notif(run(fresh(), [...toOpenSent, KA]).actions), [5, 1, '']);
});

t.test('Established: UPDATE, ROUTE-REFRESH, NOTIFICATION, decode errors', async (t) => {
  const est = run(fresh(), toEstablished()).state;
  const upd: Message = { type: 2, withdrawn: ['10.0.0.0/8'], attributes: {}, nlri: [] };
  t.same(step(est, msg(upd)).actions.map((a) => a.type), ['startTimer', 'update']);
  t.match(step(est, msg({ type: 5, afi: 2, safi: 1, subtype: 0 })).actions, [{ type: 'startTimer' }, { type: 'routeRefresh', family: { afi: 2, safi: 1 } }]);
  t.same(step(est, msg({ type: 5, afi: 25, safi: 70, subtype: 0 })).actions.map((a) => a.type), ['startTimer'], 'un-negotiated family ignored');
  const n = step(est, msg({ type: 3, code: 6, subcode: 2, data: Buffer.alloc(0) }));
  t.match(n.actions[0], { type: 'notificationReceived', text: 'cease / administrative shutdown (6/2)' });
  t.equal(notif(n.actions), undefined, 'no NOTIFICATION answers a NOTIFICATION');
  t.equal(n.state.state, SessionState.Idle);
  const bad = step(est, { type: 'decodeError', error: new BgpError(1, 2, 'bad length', Buffer.from([0, 5])) });
  t.same(notif(bad.actions), [1, 2, '0005']);
  t.match(bad.actions.find((a) => a.type === 'down'), { reason: { kind: 'notificationSent', text: 'message header error / bad message length (1/2)' } });
});

t.test('reconnect backoff: exponential, jittered, capped, reset once Established is stable', async (t) => {
  let s = fresh();
  s = step(s, { type: 'start' }).state;
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) {
    const r = step(s, { type: 'tcpFailed', error: 'ECONNREFUSED' });
    delays.push(timerStart(r.actions, Timer.IdleHold)!);
    t.equal(r.state.state, SessionState.Idle);
    const again = step(r.state, { type: 'timerExpired', timer: Timer.IdleHold });
    t.equal(again.state.state, SessionState.Connect, 'IdleHold expiry reconnects');
    s = again.state;
  }
  delays.forEach((d, i) => {
    const raw = Math.min(120_000, 1000 * 2 ** i);
    t.ok(d >= raw * 0.75 && d <= raw, `attempt ${i + 1}: ${d} within [${raw * 0.75}, ${raw}]`);
  });
  t.equal(new Set(delays.map((d, i) => d / Math.min(120_000, 1000 * 2 ** i))).size > 1, true, 'jitter varies');
  t.equal(backoffMs(config, 0, 0.5), 0, 'first attempt is immediate');
  const est = run(s, [{ type: 'tcpConnected' }, msg(peerOpen()), KA]);
  t.equal(timerStart(est.actions, Timer.Stable), 300_000, 'the stable period starts with Established');
  t.equal(est.state.failures, 10, 'Established alone keeps the failure count');
  const up = step(est.state, { type: 'timerExpired', timer: Timer.Stable });
  t.equal(up.state.failures, 0, 'a stable Established resets the backoff');
  t.equal(up.state.restarting, false);
  const down = step(up.state, { type: 'tcpFailed', error: 'ECONNRESET' });
  const d = timerStart(down.actions, Timer.IdleHold)!;
  t.ok(d >= 750 && d <= 1000);
  const reopen = run(down.state, [{ type: 'timerExpired', timer: Timer.IdleHold }, { type: 'tcpConnected' }]);
  t.match((sent(reopen.actions)[0] as OpenMessage).capabilities[3], { kind: 'gracefulRestart', restarting: false }, 'R bit only before the first session');
  const timeout = step(step(fresh(), { type: 'start' }).state, { type: 'timerExpired', timer: Timer.ConnectRetry });
  t.match(timeout.actions.find((a) => a.type === 'down'), { reason: { kind: 'connectTimeout' } });
});

t.test('stop and config-change reset', async (t) => {
  const est = run(fresh(), toEstablished()).state;
  const stop = step(est, { type: 'stop' });
  t.same(notif(stop.actions), [6, 2, '']);
  t.equal(timerStart(stop.actions, Timer.IdleHold), undefined, 'no reconnect after stop');
  t.equal(stop.state.running, false);
  t.same(step(stop.state, { type: 'timerExpired', timer: Timer.IdleHold }).actions, []);
  const reset = step(est, { type: 'stop', subcode: 6 });
  t.same(notif(reset.actions), [6, 6, '']);
  const connecting = step(fresh(), { type: 'start' }).state;
  const s2 = step(connecting, { type: 'stop' });
  t.equal(notif(s2.actions), undefined, 'no NOTIFICATION before a connection exists');
  t.ok(s2.actions.some((a) => a.type === 'disconnect'));
  t.same(step(fresh(), { type: 'stop' }).actions, [{ type: 'stopTimer', timer: Timer.IdleHold }]);
  t.same(step(fresh(), { type: 'tcpFailed', error: 'late' }).actions, [], 'stale socket events in Idle do nothing');
  t.same(step(connecting, msg({ type: 4 })).actions, [], 'messages before the connection are ignored');
  t.same(step(est, { type: 'tcpConnected' }).actions, [{ type: 'disconnect' }], 'a stray connection is dropped');
});

t.test('4-octet local AS sends AS_TRANS in OPEN', async (t) => {
  const r = run(fresh({ ...config, localAsn: 4200000000 }), toOpenSent);
  const open = sent(r.actions)[0] as OpenMessage;
  t.equal(open.myAs, 23456);
  t.match(open.capabilities.at(-1), { kind: 'fourOctetAs', asn: 4200000000 });
  const noGr = run(fresh({ ...config, gracefulRestart: undefined }), toOpenSent);
  t.notOk((sent(noGr.actions)[0] as OpenMessage).capabilities.some((c) => c.kind === 'gracefulRestart'));
});

t.test('damping: a peer that resets right after each Established is re-dialled ever more slowly', async (t) => {
  const c = { ...config, backoff: { initialMs: 1000, maxMs: 120_000, stableMs: 60_000 } };
  let s = step(fresh(c), { type: 'start' }).state;
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    const up = run(s, [{ type: 'tcpConnected' }, msg(peerOpen()), KA]);
    t.equal(up.state.state, SessionState.Established);
    t.equal(timerStart(up.actions, Timer.Stable), 60_000);
    const r = step(up.state, msg({ type: 3, code: 6, subcode: 4, data: Buffer.alloc(0) }));
    t.ok(r.actions.some((a) => a.type === 'stopTimer' && a.timer === Timer.Stable), 'the stable timer stops with the session');
    delays.push(timerStart(r.actions, Timer.IdleHold)!);
    s = step(r.state, { type: 'timerExpired', timer: Timer.IdleHold }).state;
  }
  delays.forEach((d, i) => {
    const raw = Math.min(120_000, 1000 * 2 ** i);
    t.ok(d >= raw * 0.75 && d <= raw, `reset ${i + 1}: ${d} within [${raw * 0.75}, ${raw}]`);
  });
  t.equal(delays.at(-1)! <= 120_000, true, 'capped');
  // A stale Stable expiry (the session already went down) does not forget the failures.
  t.equal(step(s, { type: 'timerExpired', timer: Timer.Stable }).state.failures, 9);
});

t.test('RFC 7313: only subtype 0 asks for a resend', async (t) => {
  const est = run(fresh(), toEstablished()).state;
  const rr = (subtype: number): string[] => step(est, msg({ type: 5, afi: 1, safi: 1, subtype })).actions.map((a) => a.type);
  t.same(rr(0), ['startTimer', 'routeRefresh'], 'normal request');
  t.same(rr(1), ['startTimer'], 'BoRR ignored');
  t.same(rr(2), ['startTimer'], 'EoRR ignored');
  t.same(rr(3), ['startTimer'], 'unknown subtype ignored (RFC 7313 §5)');
  t.same(rr(255), ['startTimer'], 'reserved subtype ignored');
});

t.test('out of resources: Cease 6/8 in connected states, nothing otherwise', async (t) => {
  const est = run(fresh(), toEstablished()).state;
  const r = step(est, { type: 'outOfResources', reason: 'peer not reading' });
  t.same(notif(r.actions), [6, 8, '']);
  t.equal(r.state.state, SessionState.Idle);
  t.match(r.actions.find((a) => a.type === 'down'), { reason: { kind: 'notificationSent', code: 6, subcode: 8 }, wasEstablished: true });
  t.ok(timerStart(r.actions, Timer.IdleHold), 'reconnects with backoff');
  t.same(step(fresh(), { type: 'outOfResources', reason: 'late' }).actions, [], 'ignored in Idle');
});
