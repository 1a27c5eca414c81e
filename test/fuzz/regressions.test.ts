/**
 * One regression test per fuzzing finding (docs/fuzzing.md lists them with their fixes). Each
 * builds the smallest input that used to crash and asserts the behaviour that replaced the crash.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_YAML_NESTING, runValidate } from '../../src/cli/validate';
import { collectManifests } from '../../src/config/manifests';

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

const pool = 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: metallb-system}\nspec: {addresses: [10.77.0.0/24]}\n';

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
