// Restart safety: adopting existing assignments before allocating changes no IP, whatever the
// order the informer delivers Services in; conflicts are decided by age and reported.
import t from 'tap';
import fc from 'fast-check';
import { adoptExistingAssignments, reprocessOrder } from '../../src/controller/service-reconcile-startup';
import { allocatorWith, buildPool } from '../fixtures/controller/allocator';
import { keyOf, lbService, ServiceStore, statusIps, type Svc } from '../fixtures/controller/services';

function restart(services: Svc[], pools = [buildPool('p', ['10.0.0.0/24', 'fd00::/120'])]): ServiceStore {
  const store = new ServiceStore(allocatorWith(...pools));
  for (const s of services) store.put(s);
  return store;
}

t.test('a restart with assigned and pending Services changes no IP', async (t) => {
  // Pending Services created before the assigned ones are reconciled first: without the
  // adoption phase the first-fit allocation would hand them 10.0.0.0, .1, ...
  const services: Svc[] = [];
  for (let i = 0; i < 5; i++) services.push(lbService('ns', `pending${i}`, { created: '2020-01-01T00:00:00Z' }));
  for (let i = 0; i < 20; i++) services.push(lbService('ns', `svc${i}`, { ingress: [`10.0.0.${i}`], created: '2021-01-01T00:00:00Z' }));
  const store = restart(services);
  const before = store.snapshot();
  const report = adoptExistingAssignments(store.alloc, [...store.services.values()], '');
  t.equal(report.adopted.length, 20);
  t.same(report.conflicts, []);
  t.same(report.dropped, []);
  store.reconcileAll([...store.services.keys()]);
  const after = store.snapshot();
  for (let i = 0; i < 20; i++) t.same(after[`ns/svc${i}`], before[`ns/svc${i}`], `svc${i} kept its IP`);
  t.same(after['ns/pending0'], ['10.0.0.20'], 'pending Services get free addresses only');
});

t.test('two Services claiming one IP: the oldest wins, the loser is reported and moved', async (t) => {
  const old = lbService('ns', 'zz-old', { ingress: ['10.0.0.7'], created: '2020-01-01T00:00:00Z' });
  const young = lbService('ns', 'aa-young', { ingress: ['10.0.0.7'], created: '2024-01-01T00:00:00Z' });
  const store = restart([young, old]);
  const report = adoptExistingAssignments(store.alloc, [young, old], '');
  t.same(report.adopted.map((a) => a.service), ['ns/zz-old']);
  t.same(report.conflicts, [
    {
      service: 'ns/aa-young',
      ips: ['10.0.0.7'],
      heldBy: ['ns/zz-old'],
      reason: 'can\'t change sharing key for "ns/aa-young", address also in use by ns/zz-old (existing service does not allow sharing)',
    },
  ]);
  const outs = store.reconcileAll(['ns/aa-young', 'ns/zz-old']);
  t.same(statusIps(old), ['10.0.0.7']);
  t.same(statusIps(young), ['10.0.0.0']);
  t.same(outs.get('ns/aa-young')?.events.map((e) => e.reason), ['ClearAssignment', 'IPAllocated']);
  // Same age: name order decides.
  const a = lbService('ns', 'a', { ingress: ['10.0.0.9'] });
  const b = lbService('ns', 'b', { ingress: ['10.0.0.9'] });
  const s2 = restart([b, a]);
  t.same(adoptExistingAssignments(s2.alloc, [b, a], '').adopted.map((x) => x.service), ['ns/a']);
});

t.test('stale, foreign and unparseable status IPs are dropped, not adopted', async (t) => {
  const stale = lbService('ns', 'stale', { ingress: ['192.168.1.1'] });
  const classy = lbService('ns', 'classy', { ingress: ['10.0.0.5'], loadBalancerClass: 'other' });
  const junk = lbService('ns', 'junk', { ingress: ['nope'] });
  const moved = lbService('ns', 'moved', { ingress: ['10.0.0.6'], loadBalancerIP: '10.0.0.8' });
  const otherPool = lbService('ns', 'otherpool', { ingress: ['10.0.0.3'], annotations: { 'metallb.io/address-pool': 'q' } });
  const wrongFamily = lbService('ns', 'wrongfam', { ingress: ['fd00::1'] });
  const notLb = lbService('ns', 'notlb', { ingress: ['10.0.0.4'], type: 'NodePort' });
  const holder = lbService('ns', 'holder', { ingress: ['10.0.0.2'] });
  const all = [stale, classy, junk, moved, otherPool, wrongFamily, notLb, holder];
  const store = restart(all, [buildPool('p', ['10.0.0.0/24', 'fd00::/120']), buildPool('q', ['10.1.0.0/24'])]);
  const report = adoptExistingAssignments(store.alloc, all, '');
  t.same(report.adopted.map((a) => a.service), ['ns/holder']);
  t.same(
    report.dropped.map((d) => [d.service, d.reason]),
    [
      ['ns/junk', 'status holds an unparseable IP'],
      ['ns/moved', 'the service now requests 10.0.0.8'],
      ['ns/otherpool', 'the service now requests pool q'],
      ['ns/stale', '["192.168.1.1"] is not allowed in config (192.168.1.1 is in no pool)'],
      ['ns/wrongfam', 'status family ipv6 does not match the service family ipv4'],
    ].sort(),
  );
  t.equal(store.alloc.allocationOf('ns/otherpool'), undefined, 'claim undone');
});

t.test('reprocessOrder: assigned first (more entries first), then oldest', async (t) => {
  const order = reprocessOrder([
    lbService('ns', 'none-new', { created: '2024-01-01T00:00:00Z' }),
    lbService('ns', 'one', { ingress: ['10.0.0.1'] }),
    lbService('ns', 'none-old', { created: '2020-01-01T00:00:00Z' }),
    lbService('ns', 'two', { ingress: ['10.0.0.2', 'fd00::2'] }),
  ]).map(keyOf);
  t.same(order, ['ns/two', 'ns/one', 'ns/none-old', 'ns/none-new']);
});

t.test('property: adopt then reconcile in any order changes no IP', async (t) => {
  const arb = fc.record({
    assigned: fc.uniqueArray(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 40 }),
    pending: fc.integer({ min: 0, max: 10 }),
    seed: fc.integer(),
  });
  fc.assert(
    fc.property(arb, ({ assigned, pending, seed }) => {
      const services: Svc[] = assigned.map((octet, i) => lbService('ns', `s${i}`, { ingress: [`10.0.0.${octet}`], created: `2022-01-01T00:00:${String(i % 60).padStart(2, '0')}Z` }));
      for (let i = 0; i < pending; i++) services.push(lbService('ns', `p${i}`, { created: '2019-01-01T00:00:00Z' }));
      const store = restart(services, [buildPool('p', ['10.0.0.0/26'])]);
      const before = store.snapshot();
      adoptExistingAssignments(store.alloc, services, '');
      // A deterministic shuffle from the seed.
      const keys = [...store.services.keys()];
      let x = seed >>> 0;
      for (let i = keys.length - 1; i > 0; i--) {
        x = (x * 1103515245 + 12345) >>> 0;
        const j = x % (i + 1);
        [keys[i], keys[j]] = [keys[j] as string, keys[i] as string];
      }
      store.reconcileAll(keys);
      const after = store.snapshot();
      const held = new Set<string>();
      for (const [k, ips] of Object.entries(after)) {
        if (k.startsWith('ns/s') && JSON.stringify(ips) !== JSON.stringify(before[k])) return false;
        for (const ip of ips) {
          if (held.has(ip)) return false;
          held.add(ip);
        }
      }
      return true;
    }),
    { numRuns: 100 },
  );
  t.pass('no assigned Service changed IP and no IP is held twice');
});
