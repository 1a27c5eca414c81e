// The election never compares wall-clock values (docs/speaker.md): expiry is timed on each node's
// monotonic clock from when it saw a record change. Here two speakers run on a fake monotonic
// clock against an in-memory API server (the real LeaseStore writing renewTime from Date.now)
// while Date.now is stuck, stepped back an hour and stepped forward an hour: nothing moves.
// Regression: renewTime was Date.now as is, so with the wall clock stuck or stepped back a
// renewal wrote a renewTime equal to or older than one already seen; an identical update is no
// change (the API server does not even send an event) and the holder looked silent to its peers.
import t from 'tap';
import { L2Election, DEFAULT_ELECTION_TIMING, type L2DataPlane } from '../../src/speaker/l2-election';
import { LeaseStore } from '../../src/speaker/lease-store';
import type { Lease } from '../../src/k8s/lease';
import { ApiError, type ApiRequest, type KubeClient } from '../../src/k8s/client';
import { silentLogger } from '../../src/util/log';
import { FakeClock } from '../harness/fake-clock';

const NS = 'metallb-system';

/** Leases in memory, with resourceVersion CAS, no-op updates, and watch events 1 ms later. */
class MemoryApi {
  private readonly leases = new Map<string, Lease>();
  private rv = 0;
  readonly watchers: Array<(l: Lease) => void> = [];
  constructor(private readonly clock: FakeClock) {}

  readonly client: KubeClient = {
    kubeConfig: undefined as never,
    host: 'memory',
    request: <T>(req: ApiRequest): Promise<T> =>
      new Promise<T>((resolve, reject) =>
        this.clock.setTimeout(() => {
          try {
            resolve(this.handle(req) as T);
          } catch (err) {
            reject(err);
          }
        }, 2),
      ),
    list: () => Promise.reject(new Error('not modelled')),
    watch: () => {
      throw new Error('not modelled');
    },
    close: () => undefined,
  };

  private handle(req: ApiRequest): Lease {
    const body = structuredClone(req.body) as Lease;
    const name = body.metadata?.name ?? '';
    const old = this.leases.get(name);
    if (req.method === 'POST' && old) throw new ApiError('POST', req.path, 409, 'AlreadyExists', name);
    if (req.method === 'PUT') {
      if (!old || old.metadata?.resourceVersion !== body.metadata?.resourceVersion) throw new ApiError('PUT', req.path, 409, 'Conflict', name);
      const same = JSON.stringify([old.spec, old.metadata?.annotations, old.metadata?.labels]) === JSON.stringify([body.spec, body.metadata?.annotations, body.metadata?.labels]);
      if (same) return structuredClone(old); // as the API server: no new version, no event
    }
    if (req.method !== 'POST' && req.method !== 'PUT') throw new ApiError(req.method, req.path, 405, 'MethodNotAllowed', name);
    const stored: Lease = { ...body, metadata: { ...body.metadata, namespace: NS, resourceVersion: String(++this.rv) } };
    this.leases.set(name, stored);
    this.clock.setTimeout(() => {
      for (const w of this.watchers) w(structuredClone(stored));
    }, 1);
    return structuredClone(stored);
  }

  holder(name: string): string | undefined {
    return this.leases.get(name)?.spec?.holderIdentity ?? undefined;
  }
}

t.test('the wall clock stuck, stepped back and forward an hour: same holder, no takeover', async (t) => {
  const clock = new FakeClock();
  const api = new MemoryApi(clock);
  const timing = { ...DEFAULT_ELECTION_TIMING, leaseDurationMs: 6_000, renewIntervalMs: 2_000, tickMs: 200 };
  const realNow = Date.now;
  const origin = realNow();
  let wallOffsetMs = 0;
  let stuckAt: number | undefined;
  Date.now = () => stuckAt ?? origin + clock.now() + wallOffsetMs;
  t.teardown(() => {
    Date.now = realNow;
  });

  const ip = '10.77.0.100';
  const answering = new Map<string, Set<string>>([['a', new Set()], ['b', new Set()]]);
  const elections = new Map<string, L2Election>();
  for (const [node, mac] of [['a', '02:00:00:00:00:01'], ['b', '02:00:00:00:00:02']] as const) {
    const plane: L2DataPlane = {
      announce: (v) => answering.get(node)!.add(v).has(v),
      withdraw: (v) => void answering.get(node)!.delete(v),
      probe: async () => true, // both stay up on the wire
      localMacs: () => new Map([['eth0', mac]]),
    };
    const el = new L2Election({ me: node, store: new LeaseStore(api.client, NS, timing.leaseDurationMs / 1000), dataPlane: plane, log: silentLogger(), timing, clock, apiHealthySince: () => 0 });
    api.watchers.push((l) => el.onLease(l));
    elections.set(node, el);
    t.teardown(() => el.stop());
    el.start();
  }
  await clock.run(500);
  for (const el of elections.values()) el.setDesired(new Map([[ip, { ranked: ['a', 'b'], interfaces: 'all' as const }]]));
  await clock.run(1_000);
  t.same([...answering.get('a')!], [ip], 'a holds the VIP');
  const a = elections.get('a')!;
  const b = elections.get('b')!;
  const transitions = a.stats.transitions;

  const phases: Array<[string, () => void]> = [
    ['stuck', () => (stuckAt = Date.now())],
    ['stepped back an hour', () => {
      stuckAt = undefined;
      wallOffsetMs = -3_600_000;
    }],
    ['stepped forward an hour', () => (wallOffsetMs = 3_600_000)],
  ];
  for (const [name, step] of phases) {
    step();
    for (let i = 0; i < 50; i++) {
      await clock.run(timing.leaseDurationMs / 10);
      if (answering.get('b')!.size > 0 || answering.get('a')!.size === 0) break;
    }
    t.same([...answering.get('a')!], [ip], `wall clock ${name} for 5 lease durations: a still announces`);
    t.same([...answering.get('b')!], [], 'b never announced');
    t.equal(api.holder('metallb-vip-10-77-0-100'), 'a', 'the Lease still names a');
    t.ok(b.liveSpeakers().has('a'), "b still sees a's presence renewed");
  }
  t.equal(b.stats.takeovers, 0, 'b took nothing');
  t.equal(a.stats.transitions, transitions, 'a never stopped announcing');
});
