// Sequential scenario tables in the style of MetalLB's TestAssignment: every step runs against
// the state left by the previous ones.
import t from 'tap';
import { AllocErrorCode, type AllocErrorCode as Code } from '../../src/controller/allocator/types';
import { matcherFrom, SelectorOperator } from '../../src/config/selectors';
import { allocatorWith, buildPool, fmt, ips, req, type ReqOpts } from '../fixtures/controller/allocator';

const teamMetallb = matcherFrom([{ key: 'team', operator: SelectorOperator.Equals, values: ['metallb'] }]);
const fooBar = matcherFrom([{ key: 'foo', operator: SelectorOperator.Equals, values: ['bar'] }]);

function assignmentPools() {
  return allocatorWith(
    buildPool('test', ['1.2.3.4/31', '1000::4/127']),
    buildPool('test2', ['1.2.4.0/24', '1000::4:0/120'], { avoidBuggyIPs: true }),
    buildPool('test3', ['1.2.5.0/24', '1000::5:0/120'], { avoidBuggyIPs: true, serviceAllocation: { namespaces: ['test-ns1'] } }),
    buildPool('test4', ['1.2.6.0/24', '1000::6:0/120'], { avoidBuggyIPs: true, serviceAllocation: { serviceSelectors: [teamMetallb] } }),
    buildPool('test5', ['1.2.7.0/24', '1000::7:0/120'], {
      avoidBuggyIPs: true,
      serviceAllocation: { priority: 20, namespaces: ['test-ns1'], serviceSelectors: [teamMetallb] },
    }),
    buildPool('test6', ['1.2.8.0/24', '1000::9:0/120'], {
      avoidBuggyIPs: true,
      serviceAllocation: { priority: 20, namespaces: ['test-ns2'], serviceSelectors: [fooBar] },
    }),
  );
}

interface Step {
  desc: string;
  svc: string;
  ips: string[]; // [] = unassign
  opts?: ReqOpts;
  err?: Code;
  msg?: string;
}

const steps: Step[] = [
  { desc: 'assign s1', svc: 's1', ips: ['1.2.3.4'] },
  { desc: 's1 idempotent reassign', svc: 's1', ips: ['1.2.3.4'] },
  { desc: "s2 can't grab s1's IP", svc: 's2', ips: ['1.2.3.4'], err: AllocErrorCode.SharingKeyConflict, msg: 'can\'t change sharing key for "s2", address also in use by s1' },
  { desc: 's2 can get the other IP', svc: 's2', ips: ['1.2.3.5'] },
  { desc: "s1 now can't grab s2's IP", svc: 's1', ips: ['1.2.3.5'], err: AllocErrorCode.SharingKeyConflict },
  { desc: 's1 frees its IP', svc: 's1', ips: [] },
  { desc: "s2 can grab s1's former IP", svc: 's2', ips: ['1.2.3.4'] },
  { desc: "s1 can now grab s2's former IP", svc: 's1', ips: ['1.2.3.5'] },
  { desc: 's3 cannot grab a .0 buggy IP', svc: 's3', ips: ['1.2.4.0'], err: AllocErrorCode.NotInConfig, msg: '["1.2.4.0"] is not allowed in config' },
  { desc: 's3 cannot grab a .255 buggy IP', svc: 's3', ips: ['1.2.4.255'], err: AllocErrorCode.NotInConfig },
  { desc: 's3 can grab another IP in that pool', svc: 's3', ips: ['1.2.4.254'] },
  { desc: 's4 takes an IP, with sharing', svc: 's4', ips: ['1.2.4.3'], opts: { ports: ['tcp/80'], share: 'sharing', backend: 'backend' } },
  { desc: 's4 changes its sharing key in place', svc: 's4', ips: ['1.2.4.3'], opts: { ports: ['tcp/80'], share: 'share', backend: 'backend' } },
  {
    desc: "s3 can't share with s4 (port conflict)",
    svc: 's3',
    ips: ['1.2.4.3'],
    opts: { ports: ['tcp/80'], share: 'share', backend: 'backend' },
    err: AllocErrorCode.PortConflict,
    msg: 'port TCP/80 is already in use on "1.2.4.3"',
  },
  { desc: "s3 can't share with s4 (wrong sharing key)", svc: 's3', ips: ['1.2.4.3'], opts: { ports: ['tcp/443'], share: 'othershare', backend: 'backend' }, err: AllocErrorCode.SharingKeyConflict },
  { desc: "s3 can't share with s4 (wrong backend key)", svc: 's3', ips: ['1.2.4.3'], opts: { ports: ['tcp/443'], share: 'share', backend: 'otherbackend' }, err: AllocErrorCode.SharingKeyConflict },
  { desc: 's3 takes the same IP as s4', svc: 's3', ips: ['1.2.4.3'], opts: { ports: ['tcp/443'], share: 'share', backend: 'backend' } },
  { desc: 's3 can change its ports while keeping the same IP', svc: 's3', ips: ['1.2.4.3'], opts: { ports: ['udp/53'], share: 'share', backend: 'backend' } },
  { desc: 'TCP and UDP on the same port number may share', svc: 's9', ips: ['1.2.4.3'], opts: { ports: ['udp/80'], share: 'share', backend: 'backend' } },
  { desc: 's9 leaves', svc: 's9', ips: [] },
  { desc: "s3 can't change its sharing key while keeping the same IP", svc: 's3', ips: ['1.2.4.3'], opts: { ports: ['tcp/443'], share: 'othershare', backend: 'backend' }, err: AllocErrorCode.SharingKeyConflict },
  { desc: "s3 can't change its backend key while keeping the same IP", svc: 's3', ips: ['1.2.4.3'], opts: { ports: ['tcp/443'], share: 'share', backend: 'otherbackend' }, err: AllocErrorCode.SharingKeyConflict },
  { desc: "s4 takes s3's former IP", svc: 's4', ips: ['1.2.4.254'] },
  // IPv6 (no buggy addresses in IPv6).
  { desc: 'ipv6 assign s1', svc: 's1', ips: ['1000::4'] },
  { desc: 'ipv6 s1 idempotent reassign', svc: 's1', ips: ['1000::4'] },
  { desc: "ipv6 s2 can't grab s1's IP", svc: 's2', ips: ['1000::4'], err: AllocErrorCode.SharingKeyConflict },
  { desc: 'ipv6 s2 can get another IP', svc: 's2', ips: ['1000::4:5'] },
  { desc: 'ipv6 .ff and .0 style addresses are fine', svc: 's5', ips: ['1000::4:ff'] },
  { desc: 'ipv6 s5 frees', svc: 's5', ips: [] },
  // Dual stack.
  { desc: 's2 frees its IP', svc: 's2', ips: [] },
  { desc: 'ip dual-stack assign s1', svc: 's1', ips: ['1.2.3.4', '1000::4'] },
  {
    desc: 'dual-stack IPs from different pools',
    svc: 's1',
    ips: ['1.2.4.5', '1000::4'],
    err: AllocErrorCode.NotInConfig,
    msg: '["1.2.4.5" "1000::4"] is not allowed in config',
  },
  { desc: 'two IPv4 addresses', svc: 's7', ips: ['1.2.4.5', '1.2.4.6'], err: AllocErrorCode.SameFamily, msg: '"1.2.4.5" "1.2.4.6" has the same family' },
  {
    desc: 'three addresses of one pool',
    svc: 's7',
    ips: ['1.2.4.5', '1.2.4.6', '1000::4:9'],
    err: AllocErrorCode.TooManyAddresses,
    msg: 'more than two addresses ["1.2.4.5" "1.2.4.6" "1000::4:9"]',
  },
  { desc: 'an address in no pool', svc: 's7', ips: ['9.9.9.9'], err: AllocErrorCode.NotInConfig },
  // Pool compatibility.
  { desc: 'pool pinned on the same namespace', svc: 's1', ips: ['1.2.5.10'], opts: { namespace: 'test-ns1' } },
  {
    desc: 'pool pinned on a different namespace',
    svc: 's1',
    ips: ['1.2.5.10'],
    opts: { namespace: 'testns-not-exist' },
    err: AllocErrorCode.PoolNotCompatible,
    msg: 'pool test3 not compatible for ip assignment',
  },
  { desc: 'pool pinned with the same service label', svc: 's1', ips: ['1.2.6.10'], opts: { namespace: 'x', labels: { team: 'metallb' } } },
  { desc: 'pool pinned with a different service label', svc: 's1', ips: ['1.2.6.10'], opts: { namespace: 'x', labels: { team: 'red' } }, err: AllocErrorCode.PoolNotCompatible },
  { desc: 'pool pinned with namespace and label', svc: 's1', ips: ['1.2.7.10'], opts: { namespace: 'test-ns1', labels: { team: 'metallb' } } },
  { desc: 'namespace matches, label does not', svc: 's1', ips: ['1.2.8.10'], opts: { namespace: 'test-ns2', labels: { team: 'metallb' } }, err: AllocErrorCode.PoolNotCompatible },
  { desc: 'label matches, namespace does not', svc: 's1', ips: ['1.2.8.10'], opts: { namespace: 'x', labels: { foo: 'bar' } }, err: AllocErrorCode.PoolNotCompatible },
];

t.test('assignment scenario table', async (t) => {
  const a = assignmentPools();
  for (const s of steps) {
    if (s.ips.length === 0) {
      a.unassign(s.svc);
      t.equal(a.allocationOf(s.svc), undefined, `${s.desc}: released`);
      continue;
    }
    const before = fmt(a.allocationOf(s.svc)?.ips);
    const r = a.assign(req(s.svc, s.opts), ips(...s.ips));
    if (s.err !== undefined) {
      t.notOk(r.ok, `${s.desc}: fails`);
      if (!r.ok) {
        t.equal(r.error.code, s.err, `${s.desc}: code`);
        if (s.msg !== undefined) t.equal(r.error.message, s.msg, `${s.desc}: upstream message`);
      }
      t.same(fmt(a.allocationOf(s.svc)?.ips), before, `${s.desc}: allocation unchanged`);
      continue;
    }
    t.ok(r.ok, `${s.desc}: succeeds${r.ok ? '' : ` (${r.error.message})`}`);
    t.same(fmt(a.allocationOf(s.svc)?.ips), s.ips, `${s.desc}: recorded`);
  }
});

t.test('sharing refusals explain the sharing rule that failed', async (t) => {
  const a = allocatorWith(buildPool('p', ['10.0.0.0/30']));
  t.ok(a.assign(req('ns/a', { share: 'k', ports: ['tcp/80'] }), ips('10.0.0.1')).ok);
  const cases: [ReqOpts, string][] = [
    [{ ports: ['tcp/81'] }, 'new service does not allow sharing'],
    [{ share: 'other', ports: ['tcp/81'] }, 'sharing key "other" does not match existing sharing key "k"'],
    [{ share: 'k', backend: 'app=x', ports: ['tcp/81'] }, 'backend key "app=x" does not match existing sharing key ""'],
  ];
  for (const [opts, detail] of cases) {
    const r = a.assign(req('ns/b', opts), ips('10.0.0.1'));
    t.notOk(r.ok);
    if (!r.ok) {
      t.equal(r.error.message, 'can\'t change sharing key for "ns/b", address also in use by ns/a');
      t.equal(r.error.detail, detail);
    }
  }
  t.ok(a.assign(req('ns/c', { ports: ['tcp/81'] }), ips('10.0.0.2')).ok);
  const r = a.assign(req('ns/d', { share: 'k', ports: ['tcp/82'] }), ips('10.0.0.2'));
  t.notOk(r.ok);
  if (!r.ok) t.equal(r.error.detail, 'existing service does not allow sharing');
  const p = a.assign(req('ns/e', { share: 'k', ports: ['tcp/80'] }), ips('10.0.0.1'));
  t.notOk(p.ok);
  if (!p.ok) t.equal(p.error.detail, 'held by ns/a');

  // Regression: the detail (in the refused Service's Event) quoted another namespace's sharing
  // key, which is all it takes to share that tenant's address on a free port.
  const other = a.assign(req('tenant-b/probe', { share: 'guess', ports: ['tcp/81'] }), ips('10.0.0.1'));
  t.notOk(other.ok);
  if (!other.ok) {
    t.equal(other.error.detail, 'sharing key "guess" does not match existing sharing key (held in another namespace, not shown)');
    t.notMatch(other.error.detail ?? '', /"k"/, "ns/a's key is not shown to tenant-b");
    // Nor is the holder: the message lands in tenant-b's Events too.
    t.equal(other.error.message, 'can\'t change sharing key for "tenant-b/probe", address also in use by a Service in another namespace');
  }
  // A guessed key on a taken port: who holds the port stays hidden across namespaces.
  const port = a.assign(req('tenant-b/port', { share: 'k', ports: ['tcp/80'] }), ips('10.0.0.1'));
  t.notOk(port.ok);
  if (!port.ok) t.equal(port.error.detail, 'held by a Service in another namespace');
  // Holders of the refused Service's own namespace are still named; the others are not.
  t.ok(a.assign(req('tenant-b/x', { share: 'k', ports: ['tcp/90'] }), ips('10.0.0.1')).ok);
  t.ok(a.assign(req('tenant-c/y', { share: 'k', ports: ['tcp/91'] }), ips('10.0.0.1')).ok);
  const mixed = a.assign(req('tenant-b/z', { share: 'other', ports: ['tcp/92'] }), ips('10.0.0.1'));
  if (!mixed.ok) t.equal(mixed.error.message, 'can\'t change sharing key for "tenant-b/z", address also in use by tenant-b/x and Services in other namespaces');
  else t.fail('tenant-b/z must be refused');
});

t.test('holders and counters follow assign/unassign; a shared IP counts once', async (t) => {
  const a = allocatorWith(buildPool('p', ['10.0.0.0/30', 'fd00::/126']));
  a.assign(req('ns/a', { share: 'k', ports: ['tcp/80'] }), ips('10.0.0.1'));
  a.assign(req('ns/b', { share: 'k', ports: ['tcp/443'] }), ips('10.0.0.1'));
  a.assign(req('ns/c', { family: 'ipv6' }), ips('fd00::2'));
  t.same(a.holdersOf(ips('10.0.0.1')[0]!), ['ns/a', 'ns/b']);
  t.same(a.counters('p'), {
    assignedIPv4: 1n,
    assignedIPv6: 1n,
    availableIPv4: 3n,
    availableIPv6: 3n,
    total: 8n,
    totalIPv4: 4n,
    totalIPv6: 4n,
    inUse: 2n,
  });
  t.same(a.drainChangedPools(), ['p']);
  t.same(a.drainChangedPools(), []);
  a.unassign('ns/a');
  t.equal(a.counters('p')?.assignedIPv4, 1n, 'still held by ns/b');
  a.unassign('ns/b');
  t.equal(a.counters('p')?.assignedIPv4, 0n);
  t.equal(a.unassign('ns/b'), false, 'second unassign is a no-op');
  t.equal(a.counters('nope'), undefined);
});
