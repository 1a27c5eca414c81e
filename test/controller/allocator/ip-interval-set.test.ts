import t from 'tap';
import fc from 'fast-check';
import { IntervalSet } from '../../../src/controller/allocator/ip-interval-set';

t.test('add/remove merge and split intervals', async (t) => {
  const s = new IntervalSet();
  t.ok(s.add(5n));
  t.ok(s.add(7n));
  t.equal(s.intervalCount, 2);
  t.ok(s.add(6n));
  t.equal(s.intervalCount, 1, '5..7 merged');
  t.notOk(s.add(6n), 'duplicate add');
  t.equal(s.size, 3n);
  t.ok(s.remove(6n));
  t.same([...s.intervals()], [
    { first: 5n, last: 5n },
    { first: 7n, last: 7n },
  ]);
  t.notOk(s.remove(6n));
  t.ok(s.has(7n));
  t.notOk(s.has(6n));
  t.equal(s.nextMember(6n), 7n);
  t.equal(s.nextMember(8n), undefined);
  t.equal(s.firstFree(5n, 10n), 6n);
  t.equal(s.firstFree(5n, 5n), undefined);
  t.equal(s.firstFree(0n, 3n), 0n);
});

t.test('firstFree over a huge universe costs nothing', async (t) => {
  const s = new IntervalSet();
  const base = 0x20010db8n << 96n;
  const last = base + (1n << 80n) - 1n; // a /48
  for (let i = 0; i < 1000; i++) {
    const v = s.firstFree(base, last);
    t.ok(v !== undefined);
    s.add(v as bigint);
  }
  t.equal(s.intervalCount, 1);
  t.equal(s.firstFree(base, last), base + 1000n);
  t.equal(s.firstFree(base, base + 999n), undefined);
});

t.test('firstFreeWhere skips disallowed values', async (t) => {
  const s = new IntervalSet();
  s.add(1n);
  s.add(2n);
  // allow only even values
  const nextEven = (v: bigint): bigint => (v % 2n === 0n ? v : v + 1n);
  t.equal(s.firstFreeWhere(1n, 10n, nextEven), 4n);
  t.equal(s.firstFreeWhere(1n, 3n, nextEven), undefined);
});

type Op = { op: 'add' | 'remove'; v: number };

t.test('model check against a plain Set (property)', async (t) => {
  const opArb = fc.record({ op: fc.constantFrom<'add' | 'remove'>('add', 'remove'), v: fc.integer({ min: 0, max: 600 }) });
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 1500 }), fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 600 }), (ops: Op[], a, b) => {
      const s = new IntervalSet();
      const model = new Set<number>();
      for (const { op, v } of ops) {
        if (op === 'add') {
          if (s.add(BigInt(v)) !== !model.has(v)) return false;
          model.add(v);
        } else {
          if (s.remove(BigInt(v)) !== model.has(v)) return false;
          model.delete(v);
        }
      }
      if (s.size !== BigInt(model.size)) return false;
      const sorted = [...model].sort((x, y) => x - y);
      if ([...s.values()].join(',') !== sorted.join(',')) return false;
      // Intervals are disjoint and never adjacent.
      let prev: bigint | undefined;
      for (const iv of s.intervals()) {
        if (iv.first > iv.last) return false;
        if (prev !== undefined && iv.first <= prev + 1n) return false;
        prev = iv.last;
      }
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      let want: number | undefined;
      for (let v = lo; v <= hi; v++) {
        if (!model.has(v)) {
          want = v;
          break;
        }
      }
      if (s.firstFree(BigInt(lo), BigInt(hi)) !== (want === undefined ? undefined : BigInt(want))) return false;
      const next = sorted.find((v) => v >= lo);
      return s.nextMember(BigInt(lo)) === (next === undefined ? undefined : BigInt(next));
    }),
    { numRuns: 200 },
  );
  t.pass('matches the model');
});

t.test('heavy fragmentation stays correct across chunk splits and merges', async (t) => {
  const s = new IntervalSet();
  for (let i = 0; i < 20000; i += 2) s.add(BigInt(i));
  t.equal(s.intervalCount, 10000);
  for (let i = 1; i < 20000; i += 2) s.add(BigInt(i));
  t.equal(s.intervalCount, 1);
  for (let i = 0; i < 20000; i += 3) s.remove(BigInt(i));
  t.equal(s.firstFree(0n, 100n), 0n);
  t.equal(s.firstFree(1n, 100n), 3n);
  for (let i = 0; i < 20000; i++) s.remove(BigInt(i));
  t.equal(s.intervalCount, 0);
  t.equal(s.size, 0n);
});
