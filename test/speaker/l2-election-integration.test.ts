// The L2 election against a real kube-apiserver: three nodes' elections, each with its own Lease
// informer, over a simulated wire (the real ARP/NDP data plane has its own lab tests; here the
// subject is the Lease protocol). Checks: exactly one owner, fast takeover when the holder dies on
// the wire, make-before-break handover, no takeover while the API server is down.
import t from 'tap';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane } from '../harness/apiserver';
import { L2Election, DEFAULT_ELECTION_TIMING, type L2DataPlane } from '../../src/speaker/l2-election';
import { LeaseStore } from '../../src/speaker/lease-store';
import type { Lease } from '../../src/k8s/lease';
import { rankCandidates } from '../../src/speaker/election';
import { silentLogger } from '../../src/util/log';
import { createKubeClient } from '../../src/k8s/client';

const NS = 'metallb-system';

/** A shared segment: who answers for which IP, and which nodes are up. */
class Wire {
  readonly answering = new Map<string, Set<string>>();
  readonly alive = new Set<string>();
  /** Nodes with no interface to send a probe on: their probes resolve undefined. */
  readonly unprobeable = new Set<string>();
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
        await new Promise((r) => setTimeout(r, 5));
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

async function until(what: string, ms: number, fn: () => boolean): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (fn()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms} ms: ${what}`);
}

t.test('per-VIP Lease election', async (t) => {
  const cp = await startControlPlane(t);
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const coord = cp.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  const wire = new Wire();
  const nodes = ['a', 'b', 'c'];
  const macs: Record<string, string> = { a: '02:00:00:00:00:01', b: '02:00:00:00:00:02', c: '02:00:00:00:00:03' };
  const timing = { ...DEFAULT_ELECTION_TIMING, leaseDurationMs: 6_000, renewIntervalMs: 2_000 };
  const elections = new Map<string, L2Election>();
  const informers: k8s.Informer<k8s.V1Lease>[] = [];
  let stopping = false;

  for (const node of nodes) {
    wire.alive.add(node);
    let healthySince: number | undefined;
    const el = new L2Election({
      me: node,
      store: new LeaseStore(createKubeClient(cp.kubeConfig), NS, timing.leaseDurationMs / 1000),
      dataPlane: wire.plane(node, macs[node]!),
      log: silentLogger(),
      timing,
      apiHealthySince: () => healthySince,
    });
    const inf = k8s.makeInformer(cp.kubeConfig, `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, () => coord.listNamespacedLease({ namespace: NS }));
    inf.on('add', (l) => el.onLease(l as Lease));
    inf.on('update', (l) => el.onLease(l as Lease));
    inf.on('delete', (l) => el.onLeaseDeleted(l as Lease));
    inf.on('connect', () => (healthySince ??= Date.now()));
    inf.on('error', () => {
      healthySince = undefined;
      if (stopping) return;
      // client-node informers stop on error; the speaker's shell restarts them with backoff.
      setTimeout(() => void inf.start().then(() => (healthySince = Date.now())).catch(() => undefined), 500);
    });
    await inf.start();
    healthySince = Date.now();
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
  await until('presence of all speakers', 10_000, () => [...elections.values()].every((e) => e.liveSpeakers().size === 3));
  for (const e of elections.values()) e.setDesired(desire);

  const first = ranked[0]!;
  await t.test('exactly one owner, the best-ranked node', async (t) => {
    await until('an owner', 10_000, () => wire.owners(vip).length === 1);
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
    await new Promise((r) => setTimeout(r, timing.probeIntervalMs * periods));
    wire.unprobeable.delete(second);
    t.same(wire.owners(vip), [first], `still only ${first} after ${periods} probe periods`);
    const lease = await coord.readNamespacedLease({ name: 'metallb-vip-10-77-0-100', namespace: NS });
    t.equal(lease.spec?.holderIdentity, first, 'the Lease was not taken');
  });

  await t.test('holder dies on the wire: the first successor takes over fast', async (t) => {
    const killedAt = Date.now();
    wire.alive.delete(first);
    elections.get(first)!.stop();
    const ms = await until('successor owns it', 10_000, () => wire.owners(vip).length === 1 && wire.owners(vip)[0] === second);
    t.comment(`takeover in ${Date.now() - killedAt} ms (waited ${ms})`);
    t.ok(Date.now() - killedAt < 3_000, 'well under the lease duration');
    const lease = await coord.readNamespacedLease({ name: 'metallb-vip-10-77-0-100', namespace: NS });
    t.equal(lease.spec?.holderIdentity, second);
  });

  await t.test('graceful handover: the successor announces before the holder stops', async (t) => {
    const third = ranked[2]!;
    let overlapSeen = false;
    const watch = setInterval(() => {
      const o = wire.owners(vip);
      if (o.includes(third) && o.includes(second)) overlapSeen = true;
    }, 5);
    await elections.get(second)!.handover(300);
    // Regression: the handed-over Lease kept the old holder's MACs until the new holder's next
    // renew, so the new holder's successor probed a MAC nobody answered and took the VIP from a
    // healthy node (seen in test/e2e/l2-graceful.test.ts).
    const handed = await coord.readNamespacedLease({ name: 'metallb-vip-10-77-0-100', namespace: NS });
    const handedMacs = handed.metadata?.annotations?.['metallb.io/holder-macs'] ?? '';
    t.equal(handed.spec?.holderIdentity, third, 'the Lease was handed to the successor');
    t.ok(handedMacs === '' || handedMacs.includes(macs[third]!), `the handed-over Lease names no other node's MAC (${handedMacs})`);
    await until('third owns it', 5_000, () => wire.owners(vip).length === 1 && wire.owners(vip)[0] === third);
    clearInterval(watch);
    t.ok(overlapSeen, 'make-before-break: both answered for a moment, never neither');
    // The new holder writes its own MACs at once, not at its next renew (renewIntervalMs 2 s).
    const deadline = Date.now() + 1_500;
    let named = '';
    while (Date.now() < deadline && !named.includes(macs[third]!)) {
      const l = await coord.readNamespacedLease({ name: 'metallb-vip-10-77-0-100', namespace: NS });
      named = l.metadata?.annotations?.['metallb.io/holder-macs'] ?? '';
      if (!named.includes(macs[third]!)) await new Promise((r) => setTimeout(r, 50));
    }
    t.match(named, macs[third]!, `the new holder wrote its MACs promptly (${named})`);
  });

  await t.test('API server down: the holder keeps announcing and nobody takes over', async (t) => {
    const owner = wire.owners(vip)[0]!;
    await cp.stopApiserver();
    await new Promise((r) => setTimeout(r, timing.leaseDurationMs + 1_000));
    t.same(wire.owners(vip), [owner], 'same single owner through a lease-duration outage');
    await cp.startApiserver();
    await new Promise((r) => setTimeout(r, 3_000));
    t.same(wire.owners(vip), [owner], 'no flap after the API server returns');
  });
});
