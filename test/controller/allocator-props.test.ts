// Property tests: the indexed allocator against a literal transcription of upstream's
// brute-force scan (every address of every CIDR, checkSharing on each), plus invariants.
import t from 'tap';
import fc from 'fast-check';
import type { Allocator } from '../../src/controller/allocator/allocator';
import { isBuggyIp, formatIp, type IpAddr } from '../../src/net/ip';
import type { Pool } from '../../src/config/types';
import { allocatorWith, buildPool, fmt, req, type ReqOpts } from '../fixtures/controller/allocator';

interface RefAlloc {
  ips: IpAddr[];
  ports: string[];
  sharing: string;
  backend: string;
}

/** Upstream's algorithm, address by address, over a plain map of allocations. */
class Reference {
  readonly allocs = new Map<string, RefAlloc>();
  constructor(readonly pool: Pool) {}

  private holders(ip: IpAddr): [string, RefAlloc][] {
    return [...this.allocs].filter(([, a]) => a.ips.some((x) => x.family === ip.family && x.value === ip.value));
  }

  checkSharing(svc: string, ip: IpAddr, ports: string[], sharing: string, backend: string): boolean {
    const holders = this.holders(ip);
    if (holders.length === 0) return true;
    const others = holders.filter(([s]) => s !== svc);
    const rec = (holders[holders.length - 1] as [string, RefAlloc])[1];
    const compatible = rec.sharing !== '' && sharing !== '' && rec.sharing === sharing && rec.backend === backend;
    if (!compatible && others.length > 0) return false;
    return !ports.some((p) => others.some(([, a]) => a.ports.includes(p)));
  }

  firstFree(svc: string, family: 4 | 6, ports: string[], sharing: string, backend: string): IpAddr | undefined {
    for (const c of this.pool.cidrs) {
      if (c.family !== family) continue;
      for (let v = c.first; v <= c.last; v++) {
        const ip: IpAddr = { family, value: v };
        if (this.pool.avoidBuggyIPs && isBuggyIp(ip)) continue;
        if (this.checkSharing(svc, ip, ports, sharing, backend)) return ip;
      }
    }
    return undefined;
  }
}

const opArb = fc.oneof(
  fc.record({
    kind: fc.constant('alloc' as const),
    svc: fc.integer({ min: 0, max: 9 }),
    family: fc.constantFrom<4 | 6>(4, 4, 6),
    share: fc.constantFrom('', '', 'a', 'b'),
    backend: fc.constantFrom('', '', 'app=x'),
    ports: fc.subarray(['tcp/80', 'udp/80', 'tcp/443', 'tcp/8080'], { minLength: 1 }),
  }),
  fc.record({ kind: fc.constant('free' as const), svc: fc.integer({ min: 0, max: 9 }) }),
);

const poolArb = fc.record({
  avoid: fc.boolean(),
  // Small pools so they fill up and sharing matters; some CIDRs straddle .255/.0.
  v4: fc.constantFrom(['10.0.0.0/30'], ['10.0.0.254/31', '10.0.1.0/31'], ['10.0.0.8/29', '10.0.0.0/30'], ['10.0.0.250-10.0.1.3']),
  v6: fc.constantFrom(['fd00::/126'], ['fd00::fe/127', 'fd00::100/127']),
});

function sharersOk(a: Allocator): boolean {
  const byIp = new Map<string, { svc: string; sharing: string; backend: string; ports: string[] }[]>();
  for (const [svc, al] of a.allocations()) {
    for (const ip of al.ips) {
      const k = formatIp(ip);
      const list = byIp.get(k) ?? [];
      list.push({ svc, sharing: al.sharingKey, backend: al.backendKey, ports: al.ports.map((p) => `${p.protocol}/${p.port}`) });
      byIp.set(k, list);
    }
  }
  for (const list of byIp.values()) {
    if (list.length < 2) continue;
    for (const x of list) {
      for (const y of list) {
        if (x === y) continue;
        if (x.sharing === '' || x.sharing !== y.sharing || x.backend !== y.backend) return false;
        if (x.ports.some((p) => y.ports.includes(p))) return false;
      }
    }
  }
  return true;
}

t.test('allocateFromPool equals upstream brute-force first fit, and sharing invariants hold', async (t) => {
  fc.assert(
    fc.property(poolArb, fc.array(opArb, { minLength: 1, maxLength: 60 }), (p, ops) => {
      const pool = buildPool('p', [...p.v4, ...p.v6], { avoidBuggyIPs: p.avoid });
      const a = allocatorWith(pool);
      const ref = new Reference(pool);
      for (const op of ops) {
        const svc = `s${op.svc}`;
        if (op.kind === 'free') {
          a.unassign(svc);
          ref.allocs.delete(svc);
          continue;
        }
        // Upstream reconcile always unassigns before allocating; do the same on both sides.
        a.unassign(svc);
        ref.allocs.delete(svc);
        const o: ReqOpts = { family: op.family === 4 ? 'ipv4' : 'ipv6', share: op.share, backend: op.backend, ports: op.ports };
        const r = a.allocateFromPool(req(svc, o), 'p');
        const portKeys = op.ports.map((x) => x.toUpperCase());
        const want = ref.firstFree(svc, op.family, portKeys, op.share, op.backend);
        if ((want === undefined) !== !r.ok) return false;
        if (r.ok) {
          if (fmt(r.value)[0] !== formatIp(want as IpAddr)) return false;
          ref.allocs.set(svc, { ips: [want as IpAddr], ports: portKeys, sharing: op.share, backend: op.backend });
        }
        if (!sharersOk(a)) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass('first fit and sharing match the reference');
});

t.test('release then re-allocate returns the same first-fit IP', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 30 }), (churn, probe) => {
      const a = allocatorWith(buildPool('p', ['10.0.0.0/27', 'fd00::/123'], { avoidBuggyIPs: true }));
      for (const i of churn) {
        if (a.allocationOf(`s${i}`)) a.unassign(`s${i}`);
        else a.allocate(req(`s${i}`, { family: i % 2 === 0 ? 'ipv4' : 'ipv6' }));
      }
      const r = req(`probe${probe}`, { family: probe % 2 === 0 ? 'ipv4' : 'ipv6' });
      const first = a.allocate(r);
      if (!first.ok) return true;
      a.unassign(r.key);
      const second = a.allocate(r);
      return second.ok && fmt(second.value).join() === fmt(first.value).join();
    }),
    { numRuns: 300 },
  );
  t.pass('deterministic first fit');
});
