/**
 * The bounded output with a fake socket, clock and scheduler: route batches are pulled only when
 * the socket can take them, production stops while write() returns false and resumes on 'drain',
 * slices yield (the shared SliceScheduler, on the same fake clock), and a peer that takes nothing for the stall bound (or passes the
 * cap) is reported once.
 */
import t from 'tap';
import { EventEmitter } from 'node:events';
import { encode } from '../../src/bgp/codec';
import type { Message, UpdateMessage } from '../../src/bgp/codec';
import { SessionOutput } from '../../src/bgp/session-output';
import { SliceScheduler } from '../../src/util/slice-scheduler';
import type { OutputBatch } from '../../src/bgp/session-output';

/** A socket whose buffer only empties when the test says so. */
class FakeSocket extends EventEmitter {
  writes: Buffer[] = [];
  writableLength = 0;
  constructor(private readonly hwm: number) {
    super();
  }
  write(buf: Buffer): boolean {
    this.writes.push(buf);
    this.writableLength += buf.length;
    return this.writableLength < this.hwm;
  }
  /** The peer read everything. */
  drain(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
}

function harness(opts: { hwm: number; batches: () => OutputBatch | undefined; sliceMs?: number; capBytes?: number }) {
  let now = 0;
  const deferred: Array<() => void> = [];
  const timers: Array<{ fn: () => void; at: number; cancelled: boolean }> = [];
  const stalls: string[] = [];
  const sent: Message[] = [];
  const socket = new FakeSocket(opts.hwm);
  const sliceMs = opts.sliceMs ?? 1000;
  const scheduler = new SliceScheduler({ sliceMs, turnBudgetMs: sliceMs }, { now: () => now, defer: (fn) => deferred.push(fn) });
  const out = new SessionOutput(
    socket,
    {
      encode: (m) => {
        now += 1; // each encode takes 1 ms of the fake clock
        return encode(m, { fourOctetAs: true });
      },
      next: opts.batches,
      sent: (m) => sent.push(m),
      stalled: (r) => stalls.push(r),
      failed: (err) => {
        throw err;
      },
      stallMs: () => 9000,
      scheduler,
      setTimer: (fn, ms) => {
        const h = { fn, at: now + ms, cancelled: false };
        timers.push(h);
        return { cancel: () => (h.cancelled = true) };
      },
    },
    { writeBytes: 200, capBytes: opts.capBytes ?? 1 << 20 },
  );
  const runDeferred = (): number => {
    let n = 0;
    while (deferred.length > 0) {
      deferred.shift()!();
      n++;
    }
    return n;
  };
  return { out, socket, sent, stalls, timers, runDeferred, advance: (ms: number) => (now += ms), get now() { return now; } };
}

const upd = (i: number): UpdateMessage => ({ type: 2, withdrawn: [], attributes: { origin: 0, asPath: [], nextHop: '10.0.0.1' }, nlri: [`10.1.${i >> 8}.${i & 255}/32`] });

t.test('stops producing while the socket is full, resumes on drain, reports the stall once', async (t) => {
  let planned = 0;
  let refreshesWanted = 20_000;
  let done = 0;
  const h = harness({
    hwm: 1000,
    batches: () => {
      if (refreshesWanted === 0) return undefined;
      refreshesWanted--;
      planned++;
      return { updates: Array.from({ length: 50 }, (_, i) => upd(i)), done: () => done++ };
    },
  });
  h.out.kick();
  h.out.kick();
  t.equal(h.runDeferred(), 1, 'kicks in one tick make one turn');
  t.ok(h.out.blocked, 'the socket said full');
  t.equal(planned, 1, 'one batch planned, not the 20,000 wanted');
  const sentBefore = h.sent.length;
  h.out.kick();
  t.equal(h.runDeferred(), 0, 'no turn while waiting for drain');
  t.equal(h.sent.length, sentBefore);
  t.equal(h.timers.filter((x) => !x.cancelled).length, 1, 'stall timer armed');
  h.socket.drain();
  t.notOk(h.out.blocked);
  t.equal(h.timers[0]!.cancelled, true, 'drain cancels the stall timer');
  h.runDeferred();
  t.ok(h.sent.length > sentBefore, 'production resumed after drain');
  t.ok(planned <= 2, `${planned} batches planned after one drain`);
  for (let i = 0; i < 20; i++) {
    h.socket.drain();
    h.runDeferred();
  }
  t.ok(done >= 1, `${done} batches finished over 20 drains`);
  t.ok(planned <= done + 1, `${planned} planned: never more than one ahead of what the peer took`);
  // Now the peer stops reading for good.
  const live = h.timers.filter((x) => !x.cancelled);
  t.equal(live.length, 1);
  h.advance(9000);
  live[0]!.fn();
  live[0]!.fn();
  t.equal(h.stalls.length, 1, 'reported once');
  t.match(h.stalls[0], /took none of our output for 9 s/);
});

t.test('a turn yields after the slice and continues on the next', async (t) => {
  let given = false;
  const h = harness({
    hwm: 1 << 30,
    sliceMs: 10,
    batches: () => {
      if (given) return undefined;
      given = true;
      return { updates: Array.from({ length: 100 }, (_, i) => upd(i)) };
    },
  });
  h.out.kick();
  const turns = h.runDeferred();
  t.equal(h.sent.length, 100);
  t.ok(turns >= 10, `${turns} event-loop turns of at most 10 ms for 100 messages of 1 ms`);
  const bytes = h.socket.writes.reduce((n, b) => n + b.length, 0);
  t.equal(bytes, h.sent.reduce((n, m) => n + encode(m, { fourOctetAs: true }).length, 0), 'every octet written, in order');
});

t.test('control messages go out at once, even while routes wait; the cap gives up', async (t) => {
  const h = harness({ hwm: 100, capBytes: 300, batches: () => ({ updates: [upd(1), upd(2), upd(3), upd(4), upd(5), upd(6)] }) });
  h.out.kick();
  h.runDeferred();
  t.ok(h.out.blocked);
  const before = h.socket.writes.length;
  h.out.sendNow([{ type: 4 }]);
  t.equal(h.socket.writes.length, before + 1, 'KEEPALIVE written while blocked');
  for (let i = 0; i < 20; i++) h.out.sendNow([{ type: 4 }]);
  t.equal(h.stalls.length, 1, 'over the cap: reported once');
  t.match(h.stalls[0], /over the 300-octet cap/);
  h.out.close();
  h.socket.drain();
  t.equal(h.runDeferred(), 0, 'closed: nothing more produced');
});
