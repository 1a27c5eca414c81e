// Automatic and pool-annotation allocation: first-fit order, pool order, dual stack, sharing.
import t, { type Test } from 'tap';
import { AllocErrorCode, IpFamilyPolicy, type AllocErrorCode as Code } from '../../src/controller/allocator/types';
import type { Allocator } from '../../src/controller/allocator/allocator';
import { matcherFrom, SelectorOperator } from '../../src/config/selectors';
import { allocatorWith, buildPool, fmt, ips, req, type ReqOpts } from '../fixtures/controller/allocator';

type Op =
  | { desc: string; op: 'auto'; svc: string; opts?: ReqOpts; want?: string[]; err?: Code; msg?: string }
  | { desc: string; op: 'pool'; pool: string; svc: string; opts?: ReqOpts; want?: string[]; err?: Code; msg?: string }
  | { desc: string; op: 'free'; svc: string };

function run(t: Test, a: Allocator, ops: Op[]): void {
  for (const o of ops) {
    if (o.op === 'free') {
      a.unassign(o.svc);
      continue;
    }
    const r = o.op === 'auto' ? a.allocate(req(o.svc, o.opts)) : a.allocateFromPool(req(o.svc, o.opts), o.pool);
    if (o.err !== undefined) {
      t.notOk(r.ok, `${o.desc}: fails`);
      if (!r.ok) {
        t.equal(r.error.code, o.err, `${o.desc}: code`);
        if (o.msg !== undefined) t.equal(r.error.message, o.msg, `${o.desc}: message`);
      }
      continue;
    }
    t.ok(r.ok, `${o.desc}: succeeds${r.ok ? '' : ` (${r.error.message} ${r.error.detail ?? ''})`}`);
    if (r.ok) t.same(fmt(r.value), o.want, `${o.desc}: first fit`);
  }
}

t.test('first-fit vectors of docs/upstream-behaviour.md §3.5 and §10.2', async (t) => {
  const a = allocatorWith(buildPool('p', ['1.2.3.0/31']), buildPool('buggy', ['1.2.4.0/31', '1.2.4.254/31'], { avoidBuggyIPs: true }));
  run(t, a, [
    { desc: 'network address is handed out', op: 'pool', pool: 'p', svc: 's1', want: ['1.2.3.0'] },
    { desc: 'then the next', op: 'pool', pool: 'p', svc: 's2', want: ['1.2.3.1'] },
    { desc: 'then exhausted', op: 'pool', pool: 'p', svc: 's3', err: AllocErrorCode.NoIpsForFamily, msg: 'no available IPs in pool p for ipv4 IPFamily' },
    { desc: 'avoidBuggyIPs skips .0', op: 'pool', pool: 'buggy', svc: 's4', want: ['1.2.4.1'] },
    { desc: 'avoidBuggyIPs skips .255', op: 'pool', pool: 'buggy', svc: 's5', want: ['1.2.4.254'] },
    { desc: 'avoidBuggyIPs pool exhausted', op: 'pool', pool: 'buggy', svc: 's6', err: AllocErrorCode.NoIpsForFamily },
    { desc: 'release the first', op: 'free', svc: 's1' },
    { desc: 'the freed address is first-fit again', op: 'pool', pool: 'p', svc: 's7', want: ['1.2.3.0'] },
    { desc: 'unknown pool', op: 'pool', pool: 'nope', svc: 's8', err: AllocErrorCode.UnknownPool, msg: 'unknown pool "nope"' },
  ]);
});

t.test('avoidBuggyIPs skips .0 and .255 in every /24 of a wide pool', async (t) => {
  const a = allocatorWith(buildPool('wide', ['10.0.0.0/22'], { avoidBuggyIPs: true }));
  const got: string[] = [];
  for (let i = 0; i < 254 * 4; i++) {
    const r = a.allocate(req(`s${i}`));
    if (!r.ok) break;
    got.push(fmt(r.value)[0]!);
  }
  t.equal(got.length, 1016, '4 x 254 usable addresses');
  t.equal(got[0], '10.0.0.1');
  t.equal(got[253], '10.0.0.254');
  t.equal(got[254], '10.0.1.1');
  t.notOk(got.some((ip) => ip.endsWith('.0') || ip.endsWith('.255')));
  t.equal(a.counters('wide')?.availableIPv4, 0n);
});

t.test('CIDRs are scanned in addresses order, ranges ascending', async (t) => {
  const a = allocatorWith(buildPool('p', ['10.0.9.0/31', '10.0.1.5-10.0.1.6', '10.0.0.0/32']));
  run(t, a, [
    { desc: '1', op: 'auto', svc: 'a', want: ['10.0.9.0'] },
    { desc: '2', op: 'auto', svc: 'b', want: ['10.0.9.1'] },
    { desc: '3', op: 'auto', svc: 'c', want: ['10.0.1.5'] },
    { desc: '4', op: 'auto', svc: 'd', want: ['10.0.1.6'] },
    { desc: '5', op: 'auto', svc: 'e', want: ['10.0.0.0'] },
    { desc: '6', op: 'auto', svc: 'f', err: AllocErrorCode.NoAvailableIps, msg: 'no available IPs' },
  ]);
});

t.test('pool order: priorities, namespaces, selectors, autoAssign, generic pools', async (t) => {
  const web = matcherFrom([{ key: 'app', operator: SelectorOperator.Equals, values: ['web'] }]);
  const a = allocatorWith(
    buildPool('generic', ['10.9.0.0/32']),
    buildPool('manual', ['10.8.0.0/31'], { autoAssign: false }),
    buildPool('ns-low', ['10.1.0.0/32'], { serviceAllocation: { namespaces: ['team'] } }),
    buildPool('ns-p20', ['10.2.0.0/32'], { serviceAllocation: { priority: 20, namespaces: ['team'] } }),
    buildPool('sel-p10', ['10.3.0.0/32'], { serviceAllocation: { priority: 10, serviceSelectors: [web] } }),
    buildPool('prio-only', ['10.4.0.0/32'], { serviceAllocation: { priority: 30 } }),
  );
  const team = { namespace: 'team', labels: { app: 'web' } };
  run(t, a, [
    { desc: 'selector pool, priority 10, first', op: 'auto', svc: 't1', opts: team, want: ['10.3.0.0'] },
    { desc: 'namespace pool, priority 20, next', op: 'auto', svc: 't2', opts: team, want: ['10.2.0.0'] },
    { desc: 'priority-only pool (matches everyone), priority 30', op: 'auto', svc: 't3', opts: team, want: ['10.4.0.0'] },
    { desc: 'priority 0 pool after every positive priority', op: 'auto', svc: 't4', opts: team, want: ['10.1.0.0'] },
    { desc: 'then generic pools', op: 'auto', svc: 't5', opts: team, want: ['10.9.0.0'] },
    { desc: 'autoAssign=false is never picked automatically', op: 'auto', svc: 't6', opts: team, err: AllocErrorCode.NoAvailableIps },
    { desc: 'but the pool annotation can use it', op: 'pool', pool: 'manual', svc: 't6', opts: team, want: ['10.8.0.0'] },
    { desc: 'free generic', op: 'free', svc: 't5' },
    { desc: 'another namespace skips pinned pools it is not allowed in', op: 'auto', svc: 'o1', opts: { namespace: 'other' }, want: ['10.9.0.0'] },
    { desc: 'pool annotation on an incompatible pool', op: 'pool', pool: 'ns-low', svc: 'o2', opts: { namespace: 'other' }, err: AllocErrorCode.NoIpsForFamily },
  ]);
  const r = a.allocateFromPool(req('o3', { namespace: 'other' }), 'manual');
  t.ok(r.ok, 'manual pool has no serviceAllocation: any namespace');
  const explicit = a.assign(req('o4', { namespace: 'other' }), ips('10.1.0.0'));
  t.notOk(explicit.ok);
  if (!explicit.ok) {
    t.equal(explicit.error.message, 'pool ns-low not compatible for ip assignment');
    t.match(explicit.error.detail, /reserved for namespaces \[team\], the service is in "other"/);
  }
});

t.test('pending explanation names every pool and why', async (t) => {
  const a = allocatorWith(
    buildPool('full', ['10.0.0.0/32']),
    buildPool('manual', ['10.8.0.0/31'], { autoAssign: false }),
    buildPool('v6only', ['fd00::/120']),
    buildPool('elsewhere', ['10.1.0.0/24'], { serviceAllocation: { namespaces: ['team'] } }),
  );
  t.ok(a.allocate(req('ns/x')).ok);
  const r = a.allocate(req('ns/y', { namespace: 'ns', share: 'k', ports: ['tcp/80'] }));
  t.notOk(r.ok);
  if (!r.ok) {
    t.equal(r.error.message, 'no available IPs');
    const d = r.error.detail ?? '';
    t.match(d, /^tried full, v6only;/);
    t.match(d, /pool full: all 1 usable IPv4 addresses are in use, none under sharing key "k"/);
    t.match(d, /pool v6only: has no usable IPv4 addresses/);
    t.match(d, /pool manual: autoAssign is false/);
    t.match(d, /pool elsewhere: pool elsewhere is reserved for namespaces \[team\], the service is in "ns"/);
  }
  // The holder shares under the same key but the port collides: the explanation says so.
  const b = allocatorWith(buildPool('p', ['10.0.0.0/32']));
  t.ok(b.allocate(req('ns/a', { share: 'k', ports: ['tcp/80'] })).ok);
  const c = b.allocate(req('ns/b', { share: 'k', ports: ['tcp/80'] }));
  t.notOk(c.ok);
  if (!c.ok) t.match(c.error.detail, /10\.0\.0\.0 carries sharing key "k" but port TCP\/80 is already in use on "10\.0\.0\.0": held by ns\/a/);
  const none = allocatorWith();
  const n = none.allocate(req('ns/z'));
  t.notOk(n.ok);
  if (!n.ok) t.equal(n.error.detail, 'no IPAddressPool is configured');
});

t.test('automatic sharing takes the first acceptable address, shared or free', async (t) => {
  const a = allocatorWith(buildPool('p', ['10.0.0.0/29']));
  run(t, a, [
    { desc: 'a takes .0 with key k', op: 'auto', svc: 'a', opts: { share: 'k', ports: ['tcp/80'] }, want: ['10.0.0.0'] },
    { desc: 'b, same key, other port: shares .0', op: 'auto', svc: 'b', opts: { share: 'k', ports: ['tcp/443'] }, want: ['10.0.0.0'] },
    { desc: 'c, same key, same port: next free', op: 'auto', svc: 'c', opts: { share: 'k', ports: ['tcp/80'] }, want: ['10.0.0.1'] },
    { desc: 'd, other key: next free', op: 'auto', svc: 'd', opts: { share: 'j', ports: ['tcp/80'] }, want: ['10.0.0.2'] },
    { desc: 'e, key k, port 443: .0 busy on 443, .1 shares', op: 'auto', svc: 'e', opts: { share: 'k', ports: ['tcp/443'] }, want: ['10.0.0.1'] },
    { desc: 'free a', op: 'free', svc: 'a' },
    { desc: 'f, key k port 80: .0 again (b holds only 443)', op: 'auto', svc: 'f', opts: { share: 'k', ports: ['tcp/80'] }, want: ['10.0.0.0'] },
    { desc: 'free b and f: .0 becomes free', op: 'free', svc: 'b' },
    { desc: 'free f', op: 'free', svc: 'f' },
    { desc: 'g without key gets the free .0 before shared ones', op: 'auto', svc: 'g', want: ['10.0.0.0'] },
    { desc: 'Local with selector x', op: 'auto', svc: 'h', opts: { share: 'l', backend: 'app=x', ports: ['tcp/1'] }, want: ['10.0.0.3'] },
    { desc: 'Local, same selector: shares', op: 'auto', svc: 'i', opts: { share: 'l', backend: 'app=x', ports: ['tcp/2'] }, want: ['10.0.0.3'] },
    { desc: 'Local, other selector: does not', op: 'auto', svc: 'j', opts: { share: 'l', backend: 'app=y', ports: ['tcp/3'] }, want: ['10.0.0.4'] },
    { desc: 'Cluster with the same key: does not share with Local', op: 'auto', svc: 'k', opts: { share: 'l', ports: ['tcp/4'] }, want: ['10.0.0.5'] },
  ]);
});

t.test('dual stack: RequireDualStack, PreferDualStack, primary family, additional family', async (t) => {
  const a = allocatorWith(
    buildPool('v4', ['10.0.0.0/31']),
    buildPool('v6', ['fd00::/127']),
    buildPool('dual', ['10.1.0.0/32', 'fd01::/127']),
  );
  const require = { family: 'dual' as const, policy: IpFamilyPolicy.RequireDualStack };
  const prefer = { family: 'dual' as const, policy: IpFamilyPolicy.PreferDualStack };
  run(t, a, [
    { desc: 'require: only the pool with both families', op: 'auto', svc: 'r1', opts: require, want: ['10.1.0.0', 'fd01::'] },
    { desc: 'require: none left with both', op: 'auto', svc: 'r2', opts: require, err: AllocErrorCode.NoAvailableIps },
    { desc: 'require from pool: message', op: 'pool', pool: 'dual', svc: 'r2', opts: require, err: AllocErrorCode.NoIpsForFamily, msg: 'no available IPs in pool dual for dual IPFamily' },
    { desc: 'prefer: first pool with the primary (IPv4) family', op: 'auto', svc: 'p1', opts: prefer, want: ['10.0.0.0'] },
    { desc: 'prefer with IPv6 first: first pool with IPv6', op: 'auto', svc: 'p2', opts: { ...prefer, primary: 6 }, want: ['fd01::1'] },
    { desc: 'single IPv6', op: 'auto', svc: 's6', opts: { family: 'ipv6' }, want: ['fd00::'] },
  ]);
  const grown = a.allocateAdditionalFamily(req('p1', prefer), ips('10.0.0.0')[0]!, 'v4');
  t.notOk(grown.ok, 'v4 pool has no IPv6: cannot grow');
  if (!grown.ok) t.equal(grown.error.message, 'no available IPs in pool v4 for ipv6 IPFamily');
  a.unassign('r1');
  const b = allocatorWith(buildPool('dual', ['10.1.0.0/31', 'fd01::/127']));
  t.ok(b.assign(req('x', prefer), ips('10.1.0.1')).ok);
  const g = b.allocateAdditionalFamily(req('x', prefer), ips('10.1.0.1')[0]!, 'dual');
  t.ok(g.ok);
  if (g.ok) t.same(fmt([g.value]), ['fd01::']);
  t.same(fmt(b.allocationOf('x')?.ips), ['10.1.0.1', 'fd01::']);
});

t.test('an existing allocation is re-asserted (upstream Allocate/AllocateFromPool case A)', async (t) => {
  const a = allocatorWith(buildPool('p', ['10.0.0.0/30', 'fd00::/126']));
  t.ok(a.assign(req('x'), ips('10.0.0.3')).ok);
  const again = a.allocate(req('x'));
  t.ok(again.ok);
  if (again.ok) t.same(fmt(again.value), ['10.0.0.3']);
  const wrong = a.allocateFromPool(req('x', { family: 'ipv6' }), 'p');
  t.notOk(wrong.ok);
  if (!wrong.ok) t.equal(wrong.error.message, 'IP for wrong family assigned alloc ipv4 service family ipv6');
});

t.test('a /48 and a /64 cost the same: memory is per allocation', async (t) => {
  const a = allocatorWith(buildPool('v6', ['2001:db8::/48']), buildPool('v4', ['10.0.0.0/8']));
  let failures = 0;
  for (let i = 0; i < 2000; i++) if (!a.allocate(req(`s${i}`, { family: 'ipv6' })).ok) failures++;
  t.equal(failures, 0);
  t.equal(a.counters('v6')?.assignedIPv6, 2000n);
  t.equal(a.counters('v6')?.totalIPv6, (1n << 63n) - 1n, 'huge pools count as MaxInt64');
  t.equal(a.poolState('v6')?.intervalCount(6), 1, 'one interval for 2000 consecutive allocations');
});
