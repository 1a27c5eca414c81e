/**
 * How tests start a repository entry point (speaker, controller, fixture) as a child process:
 * its compiled JS under dist/ when the build is current, otherwise the TypeScript through tsx.
 *
 * Why: on the 2-core CI machine a tsx start of src/cli/main.ts costs about 2.3 s of CPU against
 * 1.0 s for dist/src/cli/main.js, and the suite starts a few hundred such processes beside
 * kube-apiservers and routers. "Current" means every .ts under src/, test/ and bench/ has a .js
 * in dist/ at least as new, so code edited without `npm run build` still runs as edited, via tsx.
 * The check walks a few hundred files (about 15 ms), small beside the second of CPU it saves, so
 * it runs on every call rather than being remembered.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { repoRoot } from './tools';

const SOURCE_DIRS = ['src', 'test', 'bench'];

function* typeScriptFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* typeScriptFiles(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** The compiled twin, under `root`/dist, of a .ts file inside `root`. */
function compiledPath(root: string, tsPath: string): string {
  return join(root, 'dist', relative(root, tsPath)).replace(/\.ts$/, '.js');
}

/** True when `root`/dist holds a build of every TypeScript source under `root` at least as new as it. */
export function distIsCurrent(root: string = repoRoot): boolean {
  for (const dir of SOURCE_DIRS) {
    const top = join(root, dir);
    if (!existsSync(top)) continue;
    for (const ts of typeScriptFiles(top)) {
      const js = compiledPath(root, ts);
      if (!existsSync(js) || statSync(js).mtimeMs < statSync(ts).mtimeMs) return false;
    }
  }
  return true;
}

/**
 * argv that runs `script` (absolute, or relative to the repository root: `src/cli/main.ts`) with
 * this Node: `[node, dist/….js, ...args]` when the build is current, else `[node, --import, tsx, ….ts, ...args]`.
 */
export function entryArgv(script: string, args: readonly string[] = []): string[] {
  const ts = isAbsolute(script) ? script : join(repoRoot, script);
  const compiled = process.env.METALLB_TS_TEST_TSX !== '1' && distIsCurrent();
  const entry = compiled ? [compiledPath(repoRoot, ts)] : ['--import', 'tsx', ts];
  return [process.execPath, ...entry, ...args];
}
