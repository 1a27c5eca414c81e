/**
 * One regression test per fuzzing finding (docs/fuzzing.md lists them with their fixes). Each
 * builds the smallest input that used to crash and asserts the behaviour that replaced the crash.
 */
import t from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_YAML_NESTING, runValidate } from '../../src/cli/validate';
import { rangeToCidrs } from '../../src/net/cidr';
import { collectManifests } from '../../src/config/manifests';
import { pool as ipAddressPool, toYaml } from '../fixtures/manifests/metallb-config';

async function validateTexts(texts: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mlb-fuzz-regress-'));
  try {
    texts.forEach((text, i) => writeFileSync(path.join(dir, `m${i}.yaml`), text));
    const out: string[] = [];
    const err: string[] = [];
    const code = await runValidate([dir], { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
    return { code, out, err };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A valid neighbour document: the files next to the hostile ones are still read. */
const pool = toYaml([ipAddressPool('p', ['10.77.0.0/24'])]);

t.test('F1 validate: an alias to an undefined anchor is an input problem (was: ReferenceError thrown)', async (t) => {
  const r = await validateTexts([`${pool}---\nkind: List\nitems: [*nowhere]\n`]);
  t.equal(r.code, 2);
  t.match(r.err.join('\n'), /m0\.yaml:\d+:1: YAML error: Unresolved alias/);
});

t.test('F2 validate: alias expansion past the limit ("billion laughs") is an input problem (was: ReferenceError thrown)', async (t) => {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 8; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  const r = await validateTexts([`${lines.join('\n')}\n`]);
  t.equal(r.code, 2);
  t.match(r.err.join('\n'), /YAML error: Excessive alias count/);
});

t.test('F3 validate: a recursive alias (a List containing itself) is an input problem (was: RangeError, stack overflow)', async (t) => {
  const r = await validateTexts([pool, '&x\nkind: List\napiVersion: v1\nitems:\n- *x\n']);
  t.equal(r.code, 2);
  t.match(r.err.join('\n'), /m1\.yaml:2:1: YAML aliases make this document contain itself/);
  t.match(r.out.at(-1) ?? '', /1 pool/, 'the other file is still read');
});

t.test('F3 collectManifests: a List that contains itself is flattened once', async (t) => {
  const list: Record<string, unknown> = { apiVersion: 'v1', kind: 'List' };
  list['items'] = [list, { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p' }, spec: {} }];
  const c = collectManifests([{ value: list, origin: { file: 'x', line: 1 } }]);
  t.equal(c.resources.pools.length, 1);
});

t.test('F4 collectManifests: Lists nested 50,000 deep are flattened without recursion, in order', async (t) => {
  const leaf = (name: string): unknown => ({ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name }, spec: {} });
  let v: unknown = leaf('innermost');
  for (let i = 0; i < 50_000; i++) v = { apiVersion: 'v1', kind: 'List', items: [leaf(`before-${i}`), v] };
  const c = collectManifests([{ value: v, origin: { file: 'x', line: 1 } }]);
  t.equal(c.resources.pools.length, 50_001);
  t.same((c.resources.pools[0] as { metadata: { name: string } }).metadata.name, 'before-49999');
  t.same((c.resources.pools.at(-1) as { metadata: { name: string } }).metadata.name, 'innermost');
});

t.test('F4 validate: deeply nested YAML in several files is refused before composing (was: V8 fatal OOM abort)', async (t) => {
  const flow = `${'['.repeat(5000)}${']'.repeat(5000)}\n`;
  const block = `${'- '.repeat(3000)}x\n`;
  const indented = `${Array.from({ length: 1500 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')} v\n`;
  const r = await validateTexts([flow, block, indented, flow, pool]);
  t.equal(r.code, 2);
  t.equal(r.err.filter((l) => l.includes(`YAML nesting deeper than ${MAX_YAML_NESTING} levels`)).length, 4, r.err.join('\n'));
  t.match(r.out.at(-1) ?? '', /1 pool/, 'the shallow file is still read');
});

t.test('F4 validate: nesting up to the limit is still parsed', async (t) => {
  const depth = MAX_YAML_NESTING;
  const r = await validateTexts([pool, `x: ${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}\n`]);
  t.equal(r.code, 0, [...r.out, ...r.err].join('\n'));
});

/** The summarisation as first written: grow the block one bit at a time (the reference). */
function referenceRangeToCidrs(bits: number, first: bigint, last: bigint): string[] {
  const out: string[] = [];
  let cur = first;
  while (cur <= last) {
    let size = 0;
    while (size < bits) {
      const next = BigInt(size + 1);
      if ((cur & ((1n << next) - 1n)) !== 0n || cur + (1n << next) - 1n > last) break;
      size++;
    }
    out.push(`${cur}/${bits - size}`);
    cur += 1n << BigInt(size);
  }
  return out;
}

t.test('F5 rangeToCidrs: the bit-length summarisation gives exactly the per-bit loop\'s CIDRs', async (t) => {
  const edge = [0n, 1n, 2n, 3n, 255n, 256n, (1n << 32n) - 1n, (1n << 64n) - 2n, (1n << 127n), (1n << 128n) - 2n, (1n << 128n) - 1n];
  const cases: Array<[4 | 6, bigint, bigint]> = [];
  for (const a of edge) for (const b of edge) if (a <= b && b < 1n << 32n) cases.push([4, a, b]);
  for (const a of edge) for (const b of edge) if (a <= b) cases.push([6, a, b]);
  fc.assert(
    fc.property(fc.boolean(), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v4, x, y) => {
      const bits = v4 ? 32n : 128n;
      const mask = (1n << bits) - 1n;
      const [a, b] = [x & mask, y & mask].sort((p, q) => (p < q ? -1 : p > q ? 1 : 0)) as [bigint, bigint];
      cases.push([v4 ? 4 : 6, a, b]);
      return true;
    }),
    { numRuns: 500 },
  );
  for (const [family, a, b] of cases) {
    const got = rangeToCidrs({ family, first: a, last: b }).map((c) => `${c.first}/${c.prefixLength}`);
    if (!isDeepStrictEqual(got, referenceRangeToCidrs(family === 4 ? 32 : 128, a, b))) t.fail(`IPv${family} ${a}-${b}`);
  }
  t.pass(`${cases.length} ranges agree`);
});

t.test('F6 validate: line numbers in a file of 3,000 documents are exact (now by binary search, was quadratic)', async (t) => {
  const docs = Array.from({ length: 3000 }, (_, i) =>
    i === 1500 ? 'kind: List\nitems: [*nowhere]\n' : i === 2999 ? 'a: [unclosed\n' : `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns${i}\n`,
  );
  const text = docs.join('---\n');
  const lineOfDoc = (i: number): number => docs.slice(0, i).reduce((n, d) => n + d.split('\n').length, 1);
  const r = await validateTexts([text]);
  t.equal(r.code, 2);
  t.match(r.err.join('\n'), new RegExp(`m0\\.yaml:${lineOfDoc(1500)}:1: YAML error: Unresolved alias`));
  // The unclosed flow sequence is reported where the document ends: its first or second line.
  t.match(r.err.join('\n'), new RegExp(`m0\\.yaml:(${lineOfDoc(2999)}|${lineOfDoc(2999) + 1}):\\d+: YAML syntax error`));
});

t.test('F7 config errors name .inf/.nan values as such (were shown as "null")', async (t) => {
  const r = await validateTexts(['apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: metallb-system}\nspec: {addresses: [.inf, -.inf, .nan, null]}\n']);
  t.equal(r.code, 1);
  const text = r.out.join('\n');
  t.match(text, /spec\.addresses\[0\] must be a string, got Infinity/);
  t.match(text, /spec\.addresses\[1\] must be a string, got -Infinity/);
  t.match(text, /spec\.addresses\[2\] must be a string, got NaN/);
  t.match(text, /spec\.addresses\[3\] must be a string, got null/);
});
