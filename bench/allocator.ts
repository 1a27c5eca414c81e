// Allocator benchmark: 100,000 automatic allocations from an IPv4 /16 and from an IPv6 /64,
// and the retained heap of 100,000 IPv6 allocations from a /64 versus a /48 (it must not grow
// with pool size). A /16 holds 65,536 addresses, so the IPv4 run fills the pool and then does
// 34,464 release+allocate pairs at pseudo-random holes; those releases are timed too, so
// nsPerAllocV4 is an upper bound. Times are process CPU time (user+system, all threads, so GC
// is included): the bench machine is shared, and wall time there measures the neighbours. Wall
// times are printed too. Run: npx tsx bench/allocator.ts (last line is the JSON).
import v8 from 'node:v8';
import vm from 'node:vm';
import { Allocator } from '../src/controller/allocator/allocator';
import { buildPool, buildPools } from '../src/controller/allocator/pool-builder';
import { IpFamilyPolicy, type AllocRequest } from '../src/controller/allocator/types';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const N = 100_000;

function request(i: number, family: 'ipv4' | 'ipv6'): AllocRequest {
  return {
    key: `bench/svc-${i}`,
    namespace: 'bench',
    labels: {},
    family,
    policy: IpFamilyPolicy.SingleStack,
    primaryFamily: family === 'ipv4' ? 4 : 6,
    ports: [{ protocol: 'TCP', port: 80 }],
    sharingKey: '',
    backendKey: '',
  };
}

function allocatorFor(cidr: string): Allocator {
  const a = new Allocator();
  // A second, pinned pool makes every allocation walk the real pool-selection path.
  const { pools, index } = buildPools([
    buildPool('bench', [cidr]),
    buildPool('pinned-elsewhere', ['192.0.2.0/24'], { serviceAllocation: { namespaces: ['other'] } }),
  ]);
  a.setPools(pools, index);
  return a;
}

function heapMB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** CPU and wall clock since `start`, in ns per operation. */
function perOp(start: { cpu: NodeJS.CpuUsage; wall: bigint }, ops: number): { ns: number; wallNs: number } {
  const cpu = process.cpuUsage(start.cpu);
  return { ns: ((cpu.user + cpu.system) * 1000) / ops, wallNs: Number(process.hrtime.bigint() - start.wall) / ops };
}

function clock(): { cpu: NodeJS.CpuUsage; wall: bigint } {
  return { cpu: process.cpuUsage(), wall: process.hrtime.bigint() };
}

function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark invariant failed: ${what}`);
}

/** IPv4: fill the /16, then churn. Returns ns per allocation (release time included). */
function runV4(): { ns: number; wallNs: number; heap: number; alloc: Allocator } {
  const base = heapMB();
  const a = allocatorFor('10.0.0.0/16');
  const reqs = Array.from({ length: N }, (_, i) => request(i, 'ipv4'));
  const fill = 65_536;
  let rnd = 12345;
  const start = clock();
  for (let i = 0; i < fill; i++) must(a.allocate(reqs[i] as AllocRequest).ok, 'v4 fill');
  for (let i = fill; i < N; i++) {
    rnd = (rnd * 1103515245 + 12345) >>> 0;
    // Release a pseudo-random live service, then allocate: first fit must find the hole.
    let victim = rnd % i;
    while (a.allocationOf((reqs[victim] as AllocRequest).key) === undefined) victim = (victim + 1) % i;
    a.unassign((reqs[victim] as AllocRequest).key);
    must(a.allocate(reqs[i] as AllocRequest).ok, 'v4 churn');
  }
  const t = perOp(start, N);
  must(a.counters('bench')?.assignedIPv4 === 65_536n, 'v4 pool full');
  reqs.length = 0; // retained heap = the allocator (with the keys and ports it keeps), not the inputs
  return { ...t, heap: heapMB() - base, alloc: a };
}

/** IPv6: N allocations from one CIDR. */
function runV6(cidr: string): { ns: number; wallNs: number; heap: number; alloc: Allocator } {
  const base = heapMB();
  const a = allocatorFor(cidr);
  const reqs = Array.from({ length: N }, (_, i) => request(i, 'ipv6'));
  const start = clock();
  for (let i = 0; i < N; i++) must(a.allocate(reqs[i] as AllocRequest).ok, 'v6');
  const t = perOp(start, N);
  must(a.counters('bench')?.assignedIPv6 === BigInt(N), 'v6 count');
  reqs.length = 0;
  return { ...t, heap: heapMB() - base, alloc: a };
}

// Warm-up so the JIT has compiled the hot paths before anything is timed.
for (let i = 0; i < 3; i++) {
  const w = allocatorFor('10.0.0.0/20');
  for (let j = 0; j < 4000; j++) w.allocate(request(j, 'ipv4'));
  const w6 = allocatorFor('fd00::/64');
  for (let j = 0; j < 4000; j++) w6.allocate(request(j, 'ipv6'));
}

const v4 = runV4();
const heapV4 = v4.heap;
v4.alloc = new Allocator();
const v64 = runV6('2001:db8:0:1::/64');
const heap64 = v64.heap;
v64.alloc = new Allocator();
const v48 = runV6('2001:db8:1::/48');
const heap48 = v48.heap;
const intervals48 = v48.alloc.poolState('bench')?.intervalCount(6);

console.log(`IPv4 /16: ${N} allocations (65,536 fill + 34,464 release+allocate), ${v4.ns.toFixed(0)} ns CPU each (${v4.wallNs.toFixed(0)} ns wall), retained heap ${heapV4.toFixed(1)} MB`);
console.log(`IPv6 /64: ${N} allocations, ${v64.ns.toFixed(0)} ns CPU each (${v64.wallNs.toFixed(0)} ns wall), retained heap ${heap64.toFixed(1)} MB`);
console.log(`IPv6 /48: ${N} allocations, ${v48.ns.toFixed(0)} ns CPU each (${v48.wallNs.toFixed(0)} ns wall), retained heap ${heap48.toFixed(1)} MB, ${intervals48} stored interval(s)`);
console.log(
  JSON.stringify({
    nsPerAllocV4: Math.round(v4.ns),
    nsPerAllocV6: Math.round(v64.ns),
    heapMB: Math.round(Math.max(heapV4, heap64, heap48) * 10) / 10,
    heapMBv4Slash16: Math.round(heapV4 * 10) / 10,
    heapMBv6Slash64: Math.round(heap64 * 10) / 10,
    heapMBv6Slash48: Math.round(heap48 * 10) / 10,
    nsPerAllocV6Slash48: Math.round(v48.ns),
  }),
);
