// Claims on a held VIP during an API outage (docs/speaker.md, "Split-brain guard"). Regression: a
// holder whose own hold had lapsed yielded to any ARP/NA binding the VIP to a foreign MAC, so one
// forged gratuitous ARP silenced the VIP until the API came back (nobody can take over while it
// is down). It now yields only to a MAC a live speaker published; a stranger's claim is answered
// with a re-announcement, counted, logged and reported (rate limited).
import t, { type Test } from 'tap';
import { Writable } from 'node:stream';
import { L2Election, DEFAULT_ELECTION_TIMING, type L2DataPlane } from '../../src/speaker/l2-election';
import type { LeaseStore, WriteResult } from '../../src/speaker/lease-store';
import { microTime, type Lease } from '../../src/k8s/lease';
import { createRootLogger } from '../../src/util/log';
import { FakeClock } from '../harness/fake-clock';

const ip = '10.77.0.100';
const MAC_A = '02:00:00:00:00:01';
const MAC_B = '02:00:00:00:00:02';
const FORGED = '02:66:66:66:66:66';
const timing = { ...DEFAULT_ELECTION_TIMING, leaseDurationMs: 6_000, renewIntervalMs: 2_000, tickMs: 200 };

/** A store granting every write 2 ms later while `up()`, failing them otherwise. */
function store(clock: FakeClock, up: () => boolean, presenceWrites: Array<Record<string, string>>): LeaseStore {
  let rv = 1;
  const later = (r: WriteResult): Promise<WriteResult> => new Promise((res) => clock.setTimeout(() => res(r), 2));
  return {
    writeCount: 0,
    claim: (name: string, kind: string, holder: string, annotations: Record<string, string>) => {
      if (!up()) return later({ ok: false, conflict: false, error: new Error('connect ECONNREFUSED') });
      if (kind === 'speaker') presenceWrites.push(annotations);
      rv++;
      return later({ ok: true, lease: { metadata: { name, resourceVersion: String(rv), labels: { 'metallb.io/lease-kind': kind }, annotations }, spec: { holderIdentity: holder, leaseDurationSeconds: 6, renewTime: microTime(Date.now() + rv) } } });
    },
    release: () => later({ ok: false, conflict: false, error: new Error('not modelled') }),
    remove: () => later({ ok: false, conflict: false, error: new Error('not modelled') }),
  } as unknown as LeaseStore;
}

/** Speaker b's presence Lease as a publishes it: b's MAC in node-macs. */
const presenceOfB: Lease = {
  metadata: { name: 'metallb-speaker-b', resourceVersion: '1', labels: { 'metallb.io/lease-kind': 'speaker' }, annotations: { 'metallb.io/node-macs': `eth0=${MAC_B}` } },
  spec: { holderIdentity: 'b', leaseDurationSeconds: 6, renewTime: microTime(Date.UTC(2026, 0, 1)) },
};

function holderA(t: Test) {
  const clock = new FakeClock();
  let apiUp = true;
  const presenceWrites: Array<Record<string, string>> = [];
  const announced = new Set<string>();
  const reannounced: number[] = [];
  const plane: L2DataPlane = {
    announce: (v) => announced.add(v).has(v),
    withdraw: (v) => void announced.delete(v),
    reannounce: () => void reannounced.push(clock.now()),
    probe: async () => true,
    localMacs: (vip) => new Map([[vip.includes(':') ? 'eth6' : 'eth0', MAC_A]]),
  };
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const events: string[] = [];
  const el = new L2Election({
    me: 'a',
    store: store(clock, () => apiUp, presenceWrites),
    dataPlane: plane,
    log: createRootLogger('info', sink),
    timing,
    clock,
    apiHealthySince: () => (apiUp ? 0 : undefined),
    onForeignClaim: (v, mac) => void events.push(`${v} ${mac}`),
  });
  t.teardown(() => el.stop());
  el.onLease(presenceOfB);
  el.start();
  el.setDesired(new Map([[ip, { ranked: ['a', 'b'], interfaces: 'all' as const }]]));
  return { clock, el, announced, reannounced, lines, events, presenceWrites, setApi: (up: boolean) => (apiUp = up) };
}

t.test('API down for longer than a lease: a forged claim is defended, a live speaker is yielded to', async (t) => {
  const h = holderA(t);
  await h.clock.run(500);
  t.same([...h.announced], [ip], 'a holds the VIP');
  t.match(h.presenceWrites[0], { 'metallb.io/node-macs': `eth0=${MAC_A},eth6=${MAC_A}` }, 'a publishes its MACs on its presence Lease');

  h.setApi(false);
  await h.clock.run(timing.leaseDurationMs * 10); // 60 s without the API: a's own hold lapsed long ago
  t.same([...h.announced], [ip], 'the holder keeps announcing through the outage');

  for (let i = 0; i < 20_000; i++) h.el.onConflict(ip, FORGED);
  t.same([...h.announced], [ip], 'a flood of forged claims does not silence the VIP');
  t.equal(h.reannounced.length, 1, 'one re-announcement for the whole flood (at most one per second)');
  t.same(h.el.stats.foreignClaims, { [ip]: 20_000 }, 'every forged claim counted');
  t.same(h.events, [`${ip} ${FORGED}`], 'one Warning Event');
  t.equal(h.lines.filter((l) => l.event === 'l2ForeignClaim').length, 1, 'one warning line');
  await h.clock.run(1_000);
  h.el.onConflict(ip, FORGED);
  t.equal(h.reannounced.length, 2, 'a claim a second later is answered again');
  t.equal(h.events.length, 1, 'but reported only once per minute');
  await h.clock.run(60_000);
  t.match(h.lines.filter((l) => l.event === 'l2ForeignClaim').at(-1), { suppressed: 20_000 }, 'the folded count is logged when the window ends');

  h.el.onConflict(ip, MAC_B.toUpperCase());
  t.same([...h.announced], [], 'a claim from live speaker b (its successor took the Lease) is obeyed');
  t.match(h.lines.find((l) => l.event === 'l2Yield'), { mac: MAC_B.toUpperCase(), claimant: 'b', reason: 'liveClaimant' });
});

t.test('API up: no claim silences a fresh holder, not even a live speaker\'s', async (t) => {
  const h = holderA(t);
  await h.clock.run(500);
  h.el.onConflict(ip, MAC_B);
  h.el.onConflict(ip, FORGED);
  t.same([...h.announced], [ip], 'still announcing');
  t.same(h.el.stats.foreignClaims, { [ip]: 1 }, 'only the stranger counts as foreign');
  t.equal(h.reannounced.length, 1, 're-announced once against both');
});
