/**
 * scripts/chart-package.sh builds a chart repository directory; served over HTTP it works as a
 * Helm (and so Flux HelmRepository) source: `helm repo add` + `helm template` from it renders
 * the same objects as the chart directory.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { helmBinary, repoRoot } from '../harness/tools';
import { CHART_DIR, helm, parseDocs, render, withoutCertData } from '../fixtures/chart/helm';

interface IndexEntry {
  name: string;
  version: string;
  appVersion: string;
  digest: string;
  urls: string[];
}

function runScript(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return helmBinary().then(
    (helmBin) =>
      new Promise((resolve) => {
        execFile('bash', [join(repoRoot, 'scripts', 'chart-package.sh'), ...args], { env: { ...process.env, HELM: helmBin } }, (err, stdout, stderr) => {
          resolve({ code: err ? 1 : 0, stdout, stderr });
        });
      }),
  );
}

t.test('chart-package.sh builds an index and a package a Helm client can install from', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'mlb-chart-repo-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const chart = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { name: string; version: string; appVersion: string };
  const tgz = join(out, `${chart.name}-${chart.version}.tgz`);

  // Serve the directory the way a static web server (or a Flux-readable bucket) would.
  const server = http.createServer((req, res) => {
    const file = join(out, basename(req.url ?? '/'));
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200);
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const res = await runScript([out, '--url', url]);
  t.equal(res.code, 0, res.stderr);
  t.ok(existsSync(tgz), `${basename(tgz)} written`);
  const index = parse(readFileSync(join(out, 'index.yaml'), 'utf8')) as { entries: Record<string, IndexEntry[]> };
  const entries = index.entries[chart.name] ?? [];
  t.equal(entries.length, 1);
  const entry = entries[0] as IndexEntry;
  t.equal(entry.version, chart.version);
  t.equal(entry.appVersion, chart.appVersion);
  t.equal(entry.digest, createHash('sha256').update(readFileSync(tgz)).digest('hex'), 'digest of the package');
  t.same(entry.urls, [`${url}/${basename(tgz)}`]);

  // Re-running merges into the index instead of dropping earlier entries.
  t.equal((await runScript([out, '--url', url])).code, 0);
  const again = parse(readFileSync(join(out, 'index.yaml'), 'utf8')) as { entries: Record<string, IndexEntry[]> };
  t.equal(again.entries[chart.name]?.length, 1, 'same version listed once');

  const add = await helm(['repo', 'add', 'mlbts', url, '--force-update']);
  t.equal(add.code, 0, add.stderr);
  const fromRepo = await helm(['template', 'metallb', 'mlbts/metallb-ts', '--version', chart.version, '--namespace', 'metallb-system']);
  t.equal(fromRepo.code, 0, fromRepo.stderr);
  t.same(withoutCertData(parseDocs(fromRepo.stdout)), withoutCertData(await render()), 'the packaged chart renders what the chart directory renders (CRDs and schema included)');
  const bad = await helm(['template', 'metallb', 'mlbts/metallb-ts', '--version', chart.version, '--set', 'controller.logLevel=loud']);
  t.not(bad.code, 0, 'values.schema.json is in the package');
});
