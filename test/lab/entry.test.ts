// test/harness/entry.ts: child processes run from dist/ only when every source has a compiled
// twin at least as new; a missing or older .js sends them through tsx, so edits never run stale.
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { distIsCurrent, entryArgv } from '../harness/entry';
import { repoRoot } from '../harness/tools';

function write(root: string, path: string, mtimeSec: number): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, '');
  utimesSync(full, mtimeSec, mtimeSec);
}

t.test('distIsCurrent compares every source with its compiled twin', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'entry-test-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  write(root, 'src/cli/main.ts', 1000);
  write(root, 'test/fixtures/x.ts', 1000);
  write(root, 'test/types.d.ts', 5000);
  write(root, 'dist/src/cli/main.js', 2000);
  t.notOk(distIsCurrent(root), 'a source with no .js: not current');
  write(root, 'dist/test/fixtures/x.js', 2000);
  t.ok(distIsCurrent(root), 'every .ts has a newer .js (.d.ts files have none and are ignored)');
  write(root, 'src/cli/main.ts', 3000);
  t.notOk(distIsCurrent(root), 'a source edited after the build: not current');
});

t.test('entryArgv: compiled JS when current, tsx otherwise or when forced', async (t) => {
  const saved = process.env.METALLB_TS_TEST_TSX;
  t.teardown(() => {
    if (saved === undefined) delete process.env.METALLB_TS_TEST_TSX;
    else process.env.METALLB_TS_TEST_TSX = saved;
  });
  process.env.METALLB_TS_TEST_TSX = '1';
  t.same(entryArgv('src/cli/main.ts', ['speaker']), [process.execPath, '--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'speaker']);
  delete process.env.METALLB_TS_TEST_TSX;
  const expected = distIsCurrent()
    ? [process.execPath, join(repoRoot, 'dist/src/cli/main.js'), 'speaker']
    : [process.execPath, '--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'speaker'];
  t.same(entryArgv(join(repoRoot, 'src/cli/main.ts'), ['speaker']), expected, 'absolute paths map the same way');
});
