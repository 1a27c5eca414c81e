// Configuration changes (upstream SetPools, docs/upstream-behaviour.md §3.8) and pool counters
// (§3.12).
import t from 'tap';
import { poolCapacity } from '../../src/controller/allocator/pool-state';
import { MAX_INT64 } from '../../src/controller/allocator/types';
import { allocatorWith, buildPool, fmt, ips, reload, req } from '../fixtures/controller/allocator';

t.test('capacity vectors of upstream TestPoolCount', async (t) => {
  const cap = (addrs: string[], avoid = false) => poolCapacity(buildPool('p', addrs).cidrs, avoid);
  t.same(cap(['1.2.3.0/24']), { total: 256n, v4: 256n, v6: 0n });
  t.same(cap(['1.2.3.0/24', '2.3.4.128/25']), { total: 384n, v4: 384n, v6: 0n });
  t.same(cap(['1.2.3.0/24', '2.3.4.128/25'], true), { total: 381n, v4: 381n, v6: 0n });
  t.same(cap(['1.2.3.0/24', '2.3.4.128/25', '1000::/64'], true), { total: MAX_INT64, v4: 381n, v6: MAX_INT64 });
  t.same(cap(['1.2.3.0/31', '1000::/127'], true), { total: 3n, v4: 1n, v6: 2n });
  // Upstream overflows when a huge CIDR is not last; we saturate.
  t.same(cap(['1000::/64', '1.2.3.0/24']), { total: MAX_INT64, v4: 256n, v6: MAX_INT64 });
  t.same(cap(['1.2.0.0/16'], true), { total: 65536n - 512n, v4: 65536n - 512n, v6: 0n });
  t.same(cap(['3.3.3.2-3.3.3.254'], true), { total: 253n, v4: 253n, v6: 0n }, 'a range without .0 or .255 loses nothing');
});

t.test('counters per family; a shared IP counts once; drain reports changed pools', async (t) => {
  const a = allocatorWith(buildPool('p', ['10.0.0.0/30', 'fd00::/126']), buildPool('q', ['10.1.0.0/24'], { avoidBuggyIPs: true }));
  t.same(a.drainChangedPools(), ['p', 'q'], 'setPools refreshes every pool');
  t.ok(a.allocate(req('x', { family: 'dual', policy: 'RequireDualStack' })).ok);
  t.ok(a.allocateFromPool(req('y'), 'q').ok);
  t.same(a.drainChangedPools(), ['p', 'q']);
  t.same(a.counters('q'), {
    assignedIPv4: 1n,
    assignedIPv6: 0n,
    availableIPv4: 253n,
    availableIPv6: 0n,
    total: 254n,
    totalIPv4: 254n,
    totalIPv6: 0n,
    inUse: 1n,
  });
  t.equal(a.counters('p')?.inUse, 2n);
});

t.test('setPools: shrink releases, rename and split move, removed pools are reported', async (t) => {
  const a = allocatorWith(buildPool('p', ['10.0.0.0/29']));
  for (const s of ['a', 'b', 'c']) a.allocate(req(s));
  t.same(fmt(a.allocationOf('c')?.ips), ['10.0.0.2']);
  let rep = reload(a, buildPool('p', ['10.0.0.1/32', '10.0.0.2/31']));
  t.same(rep.released.map((r) => [r.service, fmt(r.ips), r.pool]), [['a', ['10.0.0.0'], 'p']]);
  t.same(rep.moved, []);
  t.same(rep.removedPools, []);
  t.equal(a.counters('p')?.assignedIPv4, 2n, 'counters rebuilt');
  rep = reload(a, buildPool('one', ['10.0.0.1/32']), buildPool('two', ['10.0.0.2/31']));
  t.same(rep.moved, [
    { service: 'b', from: 'p', to: 'one' },
    { service: 'c', from: 'p', to: 'two' },
  ]);
  t.same(rep.removedPools, ['p']);
  t.same(rep.refreshedPools, ['one', 'two']);
  t.equal(a.poolOf('c'), 'two');
  t.equal(a.counters('p'), undefined);
  // The first free address of "two" is .3: .2 is still held by c across the reload.
  const d = a.allocate(req('d'));
  t.ok(d.ok);
  if (d.ok) t.same(fmt(d.value), ['10.0.0.3']);
});

t.test('setPools keeps sharing state: a shared address stays shared after a reload', async (t) => {
  const a = allocatorWith(buildPool('p', ['10.0.0.0/30']));
  t.ok(a.assign(req('x', { share: 'k', ports: ['tcp/80'] }), ips('10.0.0.1')).ok);
  t.ok(a.assign(req('y', { share: 'k', ports: ['tcp/81'] }), ips('10.0.0.1')).ok);
  reload(a, buildPool('renamed', ['10.0.0.0/30']));
  t.same(a.holdersOf(ips('10.0.0.1')[0]!), ['x', 'y']);
  const z = a.allocate(req('z', { share: 'k', ports: ['tcp/82'] }));
  t.ok(z.ok);
  if (z.ok) t.same(fmt(z.value), ['10.0.0.0'], 'first fit: the free .0 comes before the shared .1');
  const w = a.assign(req('w', { share: 'k', ports: ['tcp/80'] }), ips('10.0.0.1'));
  t.notOk(w.ok, 'port conflict still detected');
  t.equal(a.counters('renamed')?.assignedIPv4, 2n);
});
