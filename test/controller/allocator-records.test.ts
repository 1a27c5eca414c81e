// The allocator's compact bookkeeping: AllocationRecord (address values in fields, IPv4 as a
// 32-bit integer) and HolderIndex (holders of non-sharing addresses indexed on the first
// conflict). Both are invisible to callers, so these tests pin the behaviour that must not move.
import t from 'tap';
import { AllocationRecord } from '../../src/controller/allocator/record';
import { HolderIndex, type ExclusiveHold } from '../../src/controller/allocator/holders';
import { AllocErrorCode, IpFamilyPolicy } from '../../src/controller/allocator/types';
import { allocatorWith, buildPool, fmt, ips, req } from '../fixtures/controller/allocator';

t.test('records give back the addresses they were made from, in order', async (t) => {
  const cases: string[][] = [
    ['10.0.0.1'],
    ['127.255.255.255'],
    ['128.0.0.0'],
    ['192.168.1.1'],
    ['255.255.255.255'],
    ['0.0.0.0'],
    ['fd00::1'],
    ['10.1.0.1', 'fd01::'],
    ['fd01::', '10.1.0.1'],
    ['255.255.255.255', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ];
  for (const c of cases) {
    const r = AllocationRecord.create('p', ips(...c), [], 'k', 'b');
    t.same(fmt(r.ips), c, c.join(' '));
    t.same(fmt(r.inPool('q').ips), c, `${c.join(' ')} after a pool rename`);
    t.equal(r.inPool('q').pool, 'q');
  }
});

t.test('records refuse what the allocator never records', async (t) => {
  t.throws(() => AllocationRecord.create('p', [], [], '', ''), /one IP or two/);
  t.throws(() => AllocationRecord.create('p', ips('10.0.0.1', '10.0.0.2'), [], '', ''), /different families/);
  t.throws(() => AllocationRecord.create('p', ips('10.0.0.1', 'fd00::1', '10.0.0.2'), [], '', ''), /got 3/);
});

t.test('holders of non-sharing addresses are indexed on the first question, then kept', async (t) => {
  const held = new Map<bigint, string>();
  let builds = 0;
  const idx = new HolderIndex(
    (_family, value) => held.has(value),
    function* (): IterableIterator<ExclusiveHold> {
      builds++;
      for (const [value, service] of held) yield { service, family: 4, value };
    },
  );
  t.equal(idx.add(4, 1n, 'a', false), true, 'a non-sharing holder is the first');
  held.set(1n, 'a');
  t.equal(idx.isComplete, false, 'nothing indexed yet');
  t.equal(idx.lookup(4, 2n), undefined, 'a free address asks nothing');
  t.equal(builds, 0);
  t.equal(idx.lookup(4, 1n), 'a', 'the first question about a held address builds the index');
  t.equal(builds, 1);
  t.equal(idx.isComplete, true);
  t.equal(idx.add(4, 3n, 'c', false), true);
  held.set(3n, 'c');
  t.equal(idx.lookup(4, 3n), 'c', 'later holders are indexed directly');
  t.equal(builds, 1, 'built once');
  t.equal(idx.remove(4, 1n, 'a', false), true);
  held.delete(1n);
  t.equal(idx.lookup(4, 1n), undefined, 'released');
  t.equal(idx.add(4, 5n, 's1', true), true, 'sharing holders are always indexed');
  t.equal(idx.add(4, 5n, 's2', true), false, 'second holder');
  t.same(idx.lookup(4, 5n), ['s1', 's2']);
  t.equal(idx.remove(4, 5n, 's1', true), false, 's2 still holds it');
  t.equal(idx.lookup(4, 5n), 's2');
});

t.test('the allocator names a non-sharing holder in conflicts, before and after the index exists', async (t) => {
  const a = allocatorWith(buildPool('p', ['10.0.0.0/29', 'fd00::/125']));
  for (const k of ['a', 'b']) t.ok(a.allocate(req(k)).ok);
  t.ok(a.allocate(req('d', { family: 'dual', policy: IpFamilyPolicy.RequireDualStack, primary: 6 })).ok);
  t.same(fmt(a.allocationOf('d')?.ips), ['10.0.0.2', 'fd00::'], 'dual stack in selectIps order');
  t.ok(a.assign(req('f', { family: 'dual', policy: IpFamilyPolicy.RequireDualStack, primary: 6 }), ips('fd00::1', '10.0.0.4')).ok);
  t.same(fmt(a.allocationOf('f')?.ips), ['fd00::1', '10.0.0.4'], 'explicit IPs keep their order');
  const taken = a.assign(req('c'), ips('10.0.0.1'));
  t.equal(taken.ok, false);
  if (!taken.ok) {
    t.equal(taken.error.code, AllocErrorCode.SharingKeyConflict);
    t.equal(taken.error.message, 'can\'t change sharing key for "c", address also in use by b');
  }
  t.same(a.holdersOf(ips('fd00::')[0]!), ['d'], 'dual-stack holder found by its IPv6 address');
  t.ok(a.allocate(req('e')).ok, 'allocation after the index was built');
  t.same(a.holdersOf(ips('10.0.0.3')[0]!), ['e']);
  t.same(a.holdersOf(ips('fd00::1')[0]!), ['f']);
  t.ok(a.unassign('b'));
  t.same(a.holdersOf(ips('10.0.0.1')[0]!), [], 'released address has no holder');
  t.ok(a.assign(req('c'), ips('10.0.0.1')).ok, 'and can be claimed');
  t.same(a.sharingOf(ips('10.0.0.1')[0]!), { sharing: '', backend: '' });
});

t.test('a fresh allocator answers holder questions without a conflict first', async (t) => {
  const a = allocatorWith(buildPool('p', ['192.168.10.0/30']));
  t.ok(a.allocate(req('x')).ok);
  t.same(a.holdersOf(ips('192.168.10.0')[0]!), ['x']);
  t.same(a.holdersOf(ips('192.168.10.1')[0]!), []);
  t.same(fmt(a.allocationOf('x')?.ips), ['192.168.10.0'], 'an address above 2^31 survives the 32-bit record');
  t.equal(a.counters('p')?.assignedIPv4, 1n);
});

t.test('re-claiming held addresses does not build the lazy holder entries', async (t) => {
  const a = allocatorWith(buildPool('p', ['10.0.0.0/29', 'fd00::/125']));
  t.ok(a.allocate(req('x')).ok);
  t.ok(a.allocate(req('y', { family: 'dual', policy: IpFamilyPolicy.RequireDualStack })).ok);
  for (let i = 0; i < 3; i++) {
    t.ok(a.allocate(req('x')).ok, 'allocate again returns the held address');
    t.ok(a.assign(req('y', { family: 'dual', policy: IpFamilyPolicy.RequireDualStack }), ips('10.0.0.1', 'fd00::')).ok, 'explicit re-claim');
  }
  t.equal(a.holderIndexBuilt(), false, 'no conflict, no index');
  t.equal(a.assign(req('z'), ips('10.0.0.0')).ok, false, 'a conflict');
  t.equal(a.holderIndexBuilt(), true, 'builds it');
  t.ok(a.allocate(req('x')).ok, 'and re-claims still work');
});
