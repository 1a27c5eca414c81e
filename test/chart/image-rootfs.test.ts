/**
 * scripts/image-rootfs.sh reproduces the Dockerfile's runtime stage in a clean directory:
 * production dependencies only, the built output and the compiled addon, at the paths the
 * Dockerfile and the chart's container command use. (Running both entrypoints from there
 * against the test control plane: test/install/image-rootfs-run.test.ts.)
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../harness/tools';
import { container, find, render } from '../fixtures/chart/helm';
import { buildImageRootfs } from '../fixtures/chart/process';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const ADDON = join('native', 'build', 'Release', 'metallb_native.node');

function run(cmd: string, args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
  });
}

t.test('the Dockerfile, the script and the chart agree on the layout', async (t) => {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const docs = await render();
  const command = container(find(docs, 'Deployment', 'metallb-controller'), 'controller')['command'] as string[];
  t.same(container(find(docs, 'DaemonSet', 'metallb-speaker'), 'speaker')['command'], command, 'one entrypoint for both components');
  t.match(dockerfile, `ENTRYPOINT ${JSON.stringify(command)}`.replace(/,/g, ', '), 'Dockerfile ENTRYPOINT is the chart command');
  t.match(dockerfile, /COPY --from=build \/src\/dist\/src \.\/dist\/src/);
  t.match(dockerfile, `./${ADDON}`);
  t.match(dockerfile, /npm ci --omit=dev/);
  t.match(dockerfile, /^USER 65534:65534$/m, 'non-root (numeric, so runAsNonRoot can check it)');
  t.equal(command[1], '/app/dist/src/cli/main.js', 'the image installs under /app');
});

t.test('image-rootfs.sh: production dependencies, dist and the addon', async (t) => {
  for (const f of ['dist/src/cli/main.js', ADDON]) {
    t.ok(existsSync(join(repoRoot, f)), `${f} is built (npm run build)`);
  }
  const base = mkdtempSync(join(tmpdir(), 'mlb-rootfs-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, 'root');
  const app = await buildImageRootfs(dir);
  t.equal(app, join(dir, 'app'), 'resolves to DIR/app');
  t.ok(existsSync(join(app, 'dist', 'src', 'cli', 'main.js')));
  t.ok(existsSync(join(app, ADDON)));
  t.ok(existsSync(join(app, 'charts', 'metallb-ts', 'files', 'crds')), 'the CRDs, as the Dockerfile copies them');
  t.notOk(existsSync(join(app, 'src')), 'no TypeScript sources');
  t.notOk(existsSync(join(app, 'dist', 'test')), 'no compiled tests');
  for (const dep of Object.keys(pkg.dependencies)) t.ok(existsSync(join(app, 'node_modules', dep, 'package.json')), `dependency ${dep}`);
  // Dev-only packages per the lockfile (a devDependency may also be a production transitive
  // dependency, e.g. @types/node of @kubernetes/client-node; the lockfile knows).
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const devOnly = Object.entries(lock.packages).filter(([path, p]) => path.startsWith('node_modules/') && p.dev === true);
  t.ok(devOnly.length > 50, `lockfile lists dev-only packages (${devOnly.length})`);
  const leaked = devOnly.map(([path]) => path).filter((path) => existsSync(join(app, path)));
  t.same(leaked, [], 'no dev-only package installed');
  for (const dev of ['typescript', 'tap', 'eslint', 'node-gyp', '@aws-cdk/lambda-layer-kubectl-v34']) {
    t.ok(dev in pkg.devDependencies, `${dev} is a devDependency`);
    t.notOk(existsSync(join(app, 'node_modules', dev)), `no ${dev}`);
  }

  // The compiled addon loads from the rootfs through the compiled wrapper, with only the
  // production dependencies around it.
  const probe = await run(process.execPath, [
    '-e',
    `const n = require(${JSON.stringify(join(app, 'dist', 'src', 'native', 'index.js'))});` +
      `const lo = n.listInterfaces().find((i) => i.name === 'lo');` +
      `if (!lo) throw new Error('no lo'); console.log(lo.index);`,
  ], app);
  t.equal(probe.code, 0, probe.stderr);
  t.match(probe.stdout.trim(), /^\d+$/, 'interface index of lo via the addon');

  t.equal((await run('bash', [join(repoRoot, 'scripts', 'image-rootfs.sh'), dir])).code, 1, 'refuses a non-empty directory');
});
