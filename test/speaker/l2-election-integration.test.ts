// The L2 election against a real kube-apiserver: three nodes' elections, each with its own Lease
// informer, over a simulated wire (the real ARP/NDP data plane has its own lab tests; here the
// subject is the Lease protocol). Checks: exactly one owner, fast takeover when the holder dies on
// the wire, make-before-break handover, no takeover while the API server is down.
//
// The elections' timers run on one fake clock. Between two steps of it the test lets every API
// request in flight land and every informer see every write (real round trips, polled with a
// deadline), so each step sees the cluster as an infinitely fast API server would leave it.
import t from 'tap';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane } from '../harness/apiserver';
import { FakeClock } from '../harness/fake-clock';
import { L2Election, DEFAULT_ELECTION_TIMING, type L2DataPlane } from '../../src/speaker/l2-election';
import { LeaseStore, type WriteResult } from '../../src/speaker/lease-store';
import type { Lease } from '../../src/k8s/lease';
import { rankCandidates } from '../../src/speaker/election';
import { silentLogger } from '../../src/util/log';
import { createKubeClient } from '../../src/k8s/client';

const NS = 'metallb-system';
/** Fake time per step; API requests issued within a step land before the next one. */
const STEP_MS = 25;

/** A shared segment: who answers for which IP, and which nodes are up. */
class Wire {
  readonly answering = new Map<string, Set<string>>();
  readonly alive = new Set<string>();
  /** Nodes with no interface to send a probe on: their probes resolve undefined. */
  readonly unprobeable = new Set<string>();
  constructor(private readonly clock: FakeClock) {}
  plane(node: string, mac: string): L2DataPlane {
    return {
      announce: (ip) => {
        let s = this.answering.get(ip);
        if (!s) this.answering.set(ip, (s = new Set()));
        s.add(node);
        return true;
      },
      withdraw: (ip) => this.answering.get(ip)?.delete(node),
      probe: async (ip, targetMac) => {
        if (this.unprobeable.has(node)) return undefined;
        await new Promise((r) => this.clock.setTimeout(() => r(undefined), 5));
        const owner = targetMac.endsWith(':01') ? 'a' : targetMac.endsWith(':02') ? 'b' : 'c';
        return this.alive.has(owner) && (this.answering.get(ip)?.has(owner) ?? false);
      },
      localMacs: () => new Map([['eth0', mac]]),
    };
  }
  owners(ip: string): string[] {
    return [...(this.answering.get(ip) ?? [])].filter((n) => this.alive.has(n)).sort();
  }
}

/** The real API requests of the elections and their informers, and the writes they made. */
class Traffic {
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Highest resourceVersion a Lease write returned. */
  written = 0;
  /** Per node: highest resourceVersion its informer delivered. */
  private readonly seen = new Map<string, number>();
  /** Nodes whose informer is down (it catches up when it restarts and relists). */
  readonly broken = new Set<string>();

  track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const forget = (): void => void this.inFlight.delete(p);
    p.then(forget, forget);
    return p;
  }

  wrote(res: WriteResult): WriteResult {
    if (res.ok) this.written = Math.max(this.written, Number(res.lease.metadata?.resourceVersion ?? 0));
    return res;
  }

  /** `node`'s informer delivered `lease` (or, without one, started watching). */
  delivered(node: string, lease?: Lease): void {
    this.seen.set(node, Math.max(this.seen.get(node) ?? 0, Number(lease?.metadata?.resourceVersion ?? 0)));
  }

  /** Every request has landed and every working informer has seen every write. */
  private quiet(): boolean {
    return this.inFlight.size === 0 && [...this.seen].every(([node, rv]) => this.broken.has(node) || rv >= this.written);
  }

  /** Wait (real time, with a deadline) until {@link quiet}. */
  async settle(deadlineMs = 15_000): Promise<void> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      // Informer events run the elections, which may write again: quiet only if still quiet a turn later.
      await new Promise((r) => setImmediate(r));
      if (this.quiet()) return;
      if (Date.now() > end) throw new Error(`API traffic did not settle in ${deadlineMs} ms: written rv ${this.written}, seen ${JSON.stringify([...this.seen])}, broken ${[...this.broken].join(',')}`);
      if (this.inFlight.size === 0) await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** A LeaseStore whose writes the test waits for. */
class TrackedStore extends LeaseStore {
  constructor(
    private readonly traffic: Traffic,
    ...args: ConstructorParameters<typeof LeaseStore>
  ) {
    super(...args);
  }
  override claim(...args: Parameters<LeaseStore['claim']>): Promise<WriteResult> {
    return this.traffic.track(super.claim(...args).then((r) => this.traffic.wrote(r)));
  }
  override release(...args: Parameters<LeaseStore['release']>): Promise<WriteResult> {
    return this.traffic.track(super.release(...args).then((r) => this.traffic.wrote(r)));
  }
  override remove(...args: Parameters<LeaseStore['remove']>): Promise<WriteResult> {
    return this.traffic.track(super.remove(...args));
  }
}

t.test('per-VIP Lease election', async (t) => {
  const cp = await startControlPlane(t);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const coord = cp.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  const clock = new FakeClock();
  const traffic = new Traffic();
  const wire = new Wire(clock);
  const nodes = ['a', 'b', 'c'];
  const macs: Record<string, string> = { a: '02:00:00:00:00:01', b: '02:00:00:00:00:02', c: '02:00:00:00:00:03' };
  const timing = { ...DEFAULT_ELECTION_TIMING, leaseDurationMs: 6_000, renewIntervalMs: 2_000 };
  const elections = new Map<string, L2Election>();
  const informers: k8s.Informer<k8s.V1Lease>[] = [];
  let stopping = false;

  /** Called once per step, after the API caught up. */
  let onStep: () => void = () => undefined;
  /** Move the elections' time on by `ms`, letting the API catch up after every step. */
  const advance = async (ms: number): Promise<void> => {
    for (let left = ms; left > 0; left -= STEP_MS) {
      await clock.run(Math.min(STEP_MS, left));
      await traffic.settle();
      onStep();
    }
  };
  /** Advance until `fn` holds; returns the fake time that took. */
  const advanceUntil = async (what: string, limitMs: number, fn: () => boolean): Promise<number> => {
    const start = clock.now();
    for (;;) {
      await traffic.settle();
      onStep();
      if (fn()) return clock.now() - start;
      if (clock.now() - start >= limitMs) throw new Error(`not within ${limitMs} ms of election time: ${what}`);
      await clock.run(STEP_MS);
    }
  };
  /** Advance until `p` settles. */
  const advanceThrough = async <T>(p: Promise<T>, limitMs = 10_000): Promise<T> => {
    let done = false;
    void p.then(
      () => (done = true),
      () => (done = true),
    );
    await advanceUntil('the operation to finish', limitMs, () => done);
    return p;
  };

  for (const node of nodes) {
    wire.alive.add(node);
    let healthySince: number | undefined;
    const el = new L2Election({
      me: node,
      store: new TrackedStore(traffic, createKubeClient(cp.kubeConfig), NS, timing.leaseDurationMs / 1000),
      dataPlane: wire.plane(node, macs[node]!),
      log: silentLogger(),
      timing,
      clock,
      apiHealthySince: () => healthySince,
    });
    const inf = k8s.makeInformer(cp.kubeConfig, `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, () => coord.listNamespacedLease({ namespace: NS }));
    const onLease = (l: k8s.V1Lease): void => {
      traffic.delivered(node, l as Lease);
      el.onLease(l as Lease);
    };
    inf.on('add', onLease);
    inf.on('update', onLease);
    inf.on('delete', (l) => {
      traffic.delivered(node, l as Lease);
      el.onLeaseDeleted(l as Lease);
    });
    inf.on('connect', () => (healthySince ??= clock.now()));
    let failures = 0;
    inf.on('error', () => {
      failures++;
      healthySince = undefined;
      traffic.broken.add(node);
      if (stopping) return;
      // client-node informers stop on error; the speaker's shell restarts them with backoff.
      clock.setTimeout(() => {
        const before = failures;
        void traffic.track(inf.start()).then(() => {
          if (failures !== before) return;
          healthySince = clock.now();
          traffic.broken.delete(node);
        });
      }, 500);
    });
    await inf.start();
    healthySince = clock.now();
    traffic.delivered(node);
    informers.push(inf);
    el.start();
    elections.set(node, el);
  }
  t.teardown(async () => {
    stopping = true;
    for (const e of elections.values()) e.stop();
    for (const i of informers) await i.stop();
  });

  const vip = '10.77.0.100';
  const ranked = rankCandidates(nodes, vip);
  const desire = new Map([[vip, { ranked, interfaces: 'all' as const }]]);
  // Let presence Leases propagate so every node sees all three as live.
  await advanceUntil('presence of all speakers', 10_000, () => [...elections.values()].every((e) => e.liveSpeakers().size === 3));
  for (const e of elections.values()) e.setDesired(desire);

  const first = ranked[0]!;
  await t.test('exactly one owner, the best-ranked node', async (t) => {
    await advanceUntil('an owner', 10_000, () => wire.owners(vip).length === 1);
    t.same(wire.owners(vip), [first]);
    const lease = await coord.readNamespacedLease({ name: 'metallb-vip-10-77-0-100', namespace: NS });
    t.equal(lease.spec?.holderIdentity, first);
  });

  const second = ranked[1]!;
  await t.test('a successor that cannot send probes never takes over from a live holder', async (t) => {
    // Regression: "no interface to probe on" used to count as a miss, so the successor took the
    // VIP from a healthy holder after four periods and the two ping-ponged.
    wire.unprobeable.add(second);
    const periods = timing.probeMisses * 3;
    await advance(timing.probeIntervalMs * periods);
    wire.unprobeable.delete(second);
    t.same(wire.owners(vip), [first], `still only ${first} after ${periods} probe periods`);
    const lease = await coord.readNamespacedLease({ name: 'metallb-vip-10-77-0-100', namespace: NS });
    t.equal(lease.spec?.holderIdentity, first, 'the Lease was not taken');
  });

  await t.test('holder dies on the wire: the first successor takes over fast', async (t) => {
    const killedAt = clock.now();
    wire.alive.delete(first);
    elections.get(first)!.stop();
    const ms = await advanceUntil('successor owns it', 10_000, () => wire.owners(vip).length === 1 && wire.owners(vip)[0] === second);
    t.comment(`takeover in ${clock.now() - killedAt} ms of election time (waited ${ms})`);
    t.ok(clock.now() - killedAt < 3_000, 'well under the lease duration');
    const lease = await coord.readNamespacedLease({ name: 'metallb-vip-10-77-0-100', namespace: NS });
    t.equal(lease.spec?.holderIdentity, second);
  });

  await t.test('graceful handover: the successor announces before the holder stops', async (t) => {
    const third = ranked[2]!;
    let overlapSeen = false;
    // Sampled once per step of election time: an overlap that lasts no time at all (a withdraw
    // racing the successor's watch event) is not make-before-break.
    onStep = () => {
      const o = wire.owners(vip);
      if (o.includes(third) && o.includes(second)) overlapSeen = true;
    };
    await advanceThrough(elections.get(second)!.handover(300));
    // Regression: the handed-over Lease kept the old holder's MACs until the new holder's next
    // renew, so the new holder's successor probed a MAC nobody answered and took the VIP from a
    // healthy node (seen in test/e2e/l2-graceful.test.ts).
    const handed = await coord.readNamespacedLease({ name: 'metallb-vip-10-77-0-100', namespace: NS });
    const handedMacs = handed.metadata?.annotations?.['metallb.io/holder-macs'] ?? '';
    t.equal(handed.spec?.holderIdentity, third, 'the Lease was handed to the successor');
    t.ok(handedMacs === '' || handedMacs.includes(macs[third]!), `the handed-over Lease names no other node's MAC (${handedMacs})`);
    await advanceUntil('third owns it', 5_000, () => wire.owners(vip).length === 1 && wire.owners(vip)[0] === third);
    onStep = () => undefined;
    t.ok(overlapSeen, 'make-before-break: both answered for a moment, never neither');
    // The new holder writes its own MACs at once, not at its next renew (renewIntervalMs 2 s).
    const deadline = clock.now() + 1_500;
    let named = '';
    while (clock.now() < deadline && !named.includes(macs[third]!)) {
      const l = await coord.readNamespacedLease({ name: 'metallb-vip-10-77-0-100', namespace: NS });
      named = l.metadata?.annotations?.['metallb.io/holder-macs'] ?? '';
      if (!named.includes(macs[third]!)) await advance(STEP_MS);
    }
    t.match(named, macs[third]!, `the new holder wrote its MACs promptly (${named})`);
  });

  await t.test('API server down: the holder keeps announcing and nobody takes over', async (t) => {
    const owner = wire.owners(vip)[0]!;
    await cp.stopApiserver();
    await advance(timing.leaseDurationMs + 1_000);
    t.same(wire.owners(vip), [owner], 'same single owner through a lease-duration outage');
    await cp.startApiserver();
    await advance(3_000);
    t.same(wire.owners(vip), [owner], 'no flap after the API server returns');
  });
});
