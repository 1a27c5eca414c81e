// Property test of the reconcile loop as the shell drives it: random Service edits, deletions
// and pool reloads; after the queue settles, statuses agree with the allocator, no address is
// shown by two Services that may not share it, and a further full pass changes nothing.
import t from 'tap';
import fc from 'fast-check';
import { SyncResult } from '../../src/controller/service-reconcile-types';
import { allocatorWith, buildPool, fmt, reload } from '../fixtures/controller/allocator';
import { keyOf, lbService, ServiceStore, statusIps, type Svc } from '../fixtures/controller/services';

const poolSets = [
  () => [buildPool('a', ['10.0.0.0/30', 'fd00::/126']), buildPool('b', ['10.0.1.0/31'], { autoAssign: false })],
  () => [buildPool('a', ['10.0.0.1/32', '10.0.0.2/31', 'fd00::/127'])],
  () => [buildPool('renamed', ['10.0.0.0/30', 'fd00::/126']), buildPool('b', ['10.0.1.0/31'])],
  () => [buildPool('a', ['10.0.0.0/30'], { avoidBuggyIPs: true }), buildPool('ns-only', ['10.0.2.0/31'], { serviceAllocation: { namespaces: ['x'] } })],
];

const svcArb = fc.record({
  name: fc.integer({ min: 0, max: 7 }),
  ns: fc.constantFrom('x', 'y'),
  share: fc.constantFrom(undefined, '', 'k', 'j'),
  port: fc.constantFrom(80, 443, 53),
  proto: fc.constantFrom('TCP', 'UDP'),
  local: fc.boolean(),
  want: fc.constantFrom(undefined, '10.0.0.1', '10.0.0.2', '10.0.1.0', 'fd00::1'),
  pool: fc.constantFrom(undefined, 'a', 'b'),
  dual: fc.constantFrom<'single' | 'prefer' | 'require'>('single', 'single', 'prefer', 'require'),
  type: fc.constantFrom('LoadBalancer', 'LoadBalancer', 'LoadBalancer', 'ClusterIP'),
});

const opArb = fc.oneof(
  { weight: 6, arbitrary: svcArb.map((s) => ({ kind: 'put' as const, s })) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), name: fc.integer({ min: 0, max: 7 }), ns: fc.constantFrom('x', 'y') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reload' as const), set: fc.integer({ min: 0, max: poolSets.length - 1 }) }) },
);

type SvcSpec = typeof svcArb extends fc.Arbitrary<infer T> ? T : never;

function build(s: SvcSpec, prev: Svc | undefined): Svc {
  const annotations: Record<string, string> = {};
  if (s.share !== undefined) annotations['metallb.io/allow-shared-ip'] = s.share;
  if (s.want !== undefined) annotations['metallb.io/loadBalancerIPs'] = s.want;
  if (s.pool !== undefined) annotations['metallb.io/address-pool'] = s.pool;
  const dual = s.dual !== 'single';
  const svc = lbService(s.ns, `s${s.name}`, {
    type: s.type,
    annotations,
    ports: [{ protocol: s.proto, port: s.port }],
    clusterIPs: dual ? ['10.96.0.1', 'fd96::1'] : s.want?.includes(':') ? ['fd96::1'] : ['10.96.0.1'],
    policy: s.dual === 'prefer' ? 'PreferDualStack' : s.dual === 'require' ? 'RequireDualStack' : 'SingleStack',
    ...(s.local ? { local: { app: 'web' } } : {}),
  });
  // An edit keeps the status the controller wrote (that is what the informer would show).
  if (prev?.status) svc.status = prev.status;
  if (prev?.metadata.annotations?.['metallb.io/ip-allocated-from-pool'] !== undefined) {
    svc.metadata.annotations = { ...svc.metadata.annotations, 'metallb.io/ip-allocated-from-pool': prev.metadata.annotations['metallb.io/ip-allocated-from-pool'] };
  }
  return svc;
}

/** Drive the store like the shell: one key, then everything while reprocess-all is requested. */
function settle(store: ServiceStore, key: string | undefined): void {
  let again = key === undefined || store.reconcile(key).result === SyncResult.ReprocessAll;
  for (let round = 0; again && round < 10; round++) {
    again = false;
    for (const out of store.reconcileAll().values()) if (out.result === SyncResult.ReprocessAll) again = true;
  }
}

function sharable(a: Svc, b: Svc): boolean {
  const ka = a.metadata.annotations?.['metallb.io/allow-shared-ip'] ?? '';
  const kb = b.metadata.annotations?.['metallb.io/allow-shared-ip'] ?? '';
  const backend = (s: Svc): string => (s.spec.externalTrafficPolicy === 'Local' ? 'app=web' : '');
  const ports = (s: Svc): string[] => (s.spec.ports ?? []).map((p) => `${p.protocol}/${p.port}`);
  return ka !== '' && ka === kb && backend(a) === backend(b) && !ports(a).some((p) => ports(b).includes(p));
}

t.test('random edits converge to consistent, shareable, idempotent statuses', async (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 25 }), (ops) => {
      const store = new ServiceStore(allocatorWith(...(poolSets[0] as () => ReturnType<typeof buildPool>[])()));
      for (const op of ops) {
        if (op.kind === 'put') {
          const key = `${op.s.ns}/s${op.s.name}`;
          store.put(build(op.s, store.get(key)));
          settle(store, key);
        } else if (op.kind === 'delete') {
          const key = `${op.ns}/s${op.name}`;
          if (store.get(key) === undefined) continue;
          store.services.delete(key);
          settle(store, key);
        } else {
          reload(store.alloc, ...(poolSets[op.set] as () => ReturnType<typeof buildPool>[])());
          settle(store, undefined);
        }
      }
      settle(store, undefined);
      const writesBefore = store.writes;
      store.reconcileAll();
      if (store.writes !== writesBefore) return false; // a settled state needs no further write
      const byIp = new Map<string, Svc[]>();
      for (const svc of store.services.values()) {
        const shown = statusIps(svc);
        const held = fmt(store.alloc.allocationOf(keyOf(svc))?.ips);
        if (shown.join() !== held.join()) return false; // status mirrors the allocator
        if (shown.length > 0 && svc.metadata.annotations?.['metallb.io/ip-allocated-from-pool'] !== store.alloc.poolOf(keyOf(svc))) return false;
        // What the user asked for is honoured whenever an IP is shown.
        const wantPool = svc.metadata.annotations?.['metallb.io/address-pool'];
        const wantIps = svc.metadata.annotations?.['metallb.io/loadBalancerIPs'];
        if (shown.length > 0 && wantPool !== undefined && store.alloc.poolOf(keyOf(svc)) !== wantPool) return false;
        if (shown.length > 0 && wantIps !== undefined && shown.join() !== wantIps) return false;
        if (svc.spec.type !== 'LoadBalancer' && shown.length > 0) return false;
        for (const ip of shown) byIp.set(ip, [...(byIp.get(ip) ?? []), svc]);
      }
      for (const holders of byIp.values()) {
        for (const a of holders) for (const b of holders) if (a !== b && !sharable(a, b)) return false;
      }
      return true;
    }),
    { numRuns: 150 },
  );
  t.pass('invariants hold');
});
