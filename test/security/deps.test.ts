/**
 * Dependencies are pinned by the lockfile and audited (docs/security.md). package.json names exact
 * versions; package-lock.json (v2+) agrees with it and pins every package to one version with a
 * sha512 integrity (bundled packages ride on their parent's); what is installed is what the lock
 * says. `npm audit --omit=dev` runs against the registry: when the audit endpoint cannot be
 * reached (offline CI, a mirror without the advisory API) that is recorded, not failed; when it
 * answers, no high or critical advisory may affect a runtime dependency.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../harness/tools';

interface LockEntry {
  version?: string;
  integrity?: string;
  resolved?: string;
  link?: boolean;
  inBundle?: boolean;
  dev?: boolean;
  hasInstallScript?: boolean;
}

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, LockEntry & { dependencies?: Record<string, string>; devDependencies?: Record<string, string> }> };
const EXACT = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

t.test('package.json pins exact versions and the lockfile agrees', async (t) => {
  for (const [name, range] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) t.match(range, EXACT, `${name}@${range} is an exact version`);
  t.ok(lock.lockfileVersion >= 2, `lockfileVersion ${lock.lockfileVersion}`);
  const root = lock.packages[''];
  t.same(root?.dependencies, pkg.dependencies, 'lock root dependencies = package.json');
  t.same(root?.devDependencies, pkg.devDependencies, 'lock root devDependencies = package.json');
  for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    t.equal(lock.packages[`node_modules/${name}`]?.version, version, `${name}: the lock resolves ${version}`);
  }
});

t.test('every locked package has one exact version and an integrity hash', async (t) => {
  const entries = Object.entries(lock.packages).filter(([k]) => k !== '');
  t.ok(entries.length > 50, `${entries.length} locked packages`);
  const unpinned = entries.filter(([, e]) => !e.link && !EXACT.test(e.version ?? '')).map(([k]) => k);
  t.same(unpinned, [], 'every package has an exact version');
  const noHash = entries.filter(([, e]) => !e.link && !e.inBundle && !/^sha512-/.test(e.integrity ?? '')).map(([k]) => k);
  t.same(noHash, [], 'every downloaded package has a sha512 integrity');
  const runtime = entries.filter(([, e]) => !e.dev);
  t.comment(`${runtime.length} runtime packages, ${entries.length - runtime.length} dev-only`);
  const scripts = runtime.filter(([, e]) => e.hasInstallScript).map(([k]) => k);
  t.same(scripts, [], 'no runtime dependency runs an install script');
});

t.test('installed runtime packages are the locked versions', async (t) => {
  for (const [path, e] of Object.entries(lock.packages)) {
    if (path === '' || e.dev || e.link) continue;
    const file = join(repoRoot, path, 'package.json');
    if (!existsSync(file)) {
      t.ok(e.inBundle || (e as { optional?: boolean }).optional, `${path}: installed (or optional)`);
      continue;
    }
    t.equal((JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version, e.version, `${path}@${e.version}`);
  }
});

t.test('npm audit --omit=dev', async (t) => {
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('npm', ['audit', '--omit=dev', '--json'], { cwd: repoRoot, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
  let report: { vulnerabilities?: Record<string, { severity: string; via: unknown[] }>; metadata?: unknown; statusCode?: number; message?: string; error?: unknown } = {};
  try {
    report = JSON.parse(r.stdout || '{}') as typeof report;
  } catch {
    report = {};
  }
  if (report.vulnerabilities === undefined) {
    // No advisory data: the endpoint is unreachable or refuses the bulk API. Record it.
    const why = report.message ?? (r.stderr.split('\n').find((l) => /error|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT/.test(l)) ?? `exit ${r.code}`);
    t.comment(`npm audit could not reach the advisory endpoint: ${why}`);
    t.pass('audit unavailable here; recorded (docs/security.md)');
    return;
  }
  const bad = Object.entries(report.vulnerabilities).filter(([, v]) => v.severity === 'high' || v.severity === 'critical');
  t.comment(`npm audit: ${Object.keys(report.vulnerabilities).length} advisories affecting runtime dependencies`);
  t.same(bad.map(([name, v]) => `${name}: ${v.severity}`), [], 'no high or critical advisory on a runtime dependency');
});
