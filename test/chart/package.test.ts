/**
 * scripts/chart-package.sh builds a chart repository directory; served over HTTP it works as a
 * Helm (and so Flux HelmRepository) source: `helm repo add` + `helm template` from it renders
 * the same objects as the chart directory. The chart is published as `metallb`, upstream's name,
 * so a HelmRelease migrating from upstream changes only its source. The script also writes an
 * OCI image layout holding what `helm push` uploads: well-formed (every digest matches its
 * blob), and a read-only registry serving it is a source helm installs from (`oci://`).
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
  t.equal(chart.name, 'metallb', "published under upstream's chart name");
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
  const fromRepo = await helm(['template', 'metallb', 'mlbts/metallb', '--version', chart.version, '--namespace', 'metallb-system']);
  t.equal(fromRepo.code, 0, fromRepo.stderr);
  t.same(withoutCertData(parseDocs(fromRepo.stdout)), withoutCertData(await render()), 'the packaged chart renders what the chart directory renders (CRDs and schema included)');
  const bad = await helm(['template', 'metallb', 'mlbts/metallb', '--version', chart.version, '--set', 'controller.logLevel=loud']);
  t.not(bad.code, 0, 'values.schema.json is in the package');
});

interface Manifest {
  schemaVersion: number;
  mediaType: string;
  config: { mediaType: string; digest: string; size: number };
  layers: Array<{ mediaType: string; digest: string; size: number }>;
  annotations: Record<string, string>;
}

/** A read-only OCI distribution endpoint over a layout directory: manifests by tag, blobs by digest. */
function layoutRegistry(layout: string, repository: string): http.Server {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; mediaType: string; annotations?: Record<string, string> }> };
  return http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/v2/' || url === '/v2') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      return;
    }
    const m = new RegExp(`^/v2/${repository}/(manifests|blobs)/([^/?]+)$`).exec(url);
    const ref = m?.[2] ?? '';
    const desc = m?.[1] === 'manifests' ? index.manifests.find((d) => d.digest === ref || d.annotations?.['org.opencontainers.image.ref.name'] === ref) : undefined;
    const digest = desc?.digest ?? (m?.[1] === 'blobs' ? ref : '');
    const file = join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
    if (!/^sha256:[0-9a-f]{64}$/.test(digest) || !existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"NOT_FOUND"}]}');
      return;
    }
    const data = readFileSync(file);
    res.writeHead(200, { 'Content-Type': desc?.mediaType ?? 'application/octet-stream', 'Content-Length': data.length, 'Docker-Content-Digest': digest });
    res.end(req.method === 'HEAD' ? undefined : data);
  });
}

t.test('chart-package.sh writes an OCI layout of what helm push uploads, and helm installs from it', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'mlb-chart-oci-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const chart = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { name: string; version: string; appVersion: string };
  const res = await runScript([out]);
  t.equal(res.code, 0, res.stderr);
  const layout = join(out, 'oci');
  const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const blob = (digest: string): Buffer => readFileSync(join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));

  t.same(JSON.parse(readFileSync(join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { schemaVersion: number; manifests: Array<{ mediaType: string; digest: string; size: number; annotations?: Record<string, string> }> };
  t.equal(index.schemaVersion, 2);
  t.equal(index.manifests.length, 1, 'one manifest');
  const entry = index.manifests[0] as (typeof index.manifests)[number];
  t.equal(entry.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  t.equal(entry.annotations?.['org.opencontainers.image.ref.name'], chart.version, 'tagged with the chart version, as helm push tags it');
  const manifestBytes = blob(entry.digest);
  t.equal(sha(manifestBytes), entry.digest, 'manifest digest matches its content');
  t.equal(manifestBytes.length, entry.size, 'manifest size');
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
  t.equal(manifest.schemaVersion, 2);
  t.equal(manifest.config.mediaType, 'application/vnd.cncf.helm.config.v1+json');
  const config = blob(manifest.config.digest);
  t.equal(sha(config), manifest.config.digest, 'config digest matches its content');
  t.equal(config.length, manifest.config.size);
  t.match(JSON.parse(config.toString('utf8')), { name: 'metallb', version: chart.version, appVersion: chart.appVersion, apiVersion: 'v2' }, 'config is the chart metadata');
  t.equal(manifest.layers.length, 1, 'one layer: the chart');
  const layer = manifest.layers[0] as Manifest['layers'][number];
  t.equal(layer.mediaType, 'application/vnd.cncf.helm.chart.content.v1.tar+gzip');
  t.ok(readFileSync(join(out, `${chart.name}-${chart.version}.tgz`)).equals(blob(layer.digest)), 'the layer is the packaged .tgz');
  t.equal(sha(blob(layer.digest)), layer.digest, 'layer digest matches its content');
  t.equal(manifest.annotations['org.opencontainers.image.title'], 'metallb');
  t.equal(manifest.annotations['org.opencontainers.image.version'], chart.version);

  // Re-running keeps one entry per version.
  t.equal((await runScript([out])).code, 0);
  t.equal((JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: unknown[] }).manifests.length, 1, 'same version listed once');

  // Served as a registry, the artifact is a chart helm's OCI client (Flux's too) accepts.
  const server = layoutRegistry(layout, 'charts/metallb');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const ref = `oci://127.0.0.1:${(server.address() as AddressInfo).port}/charts/metallb`;
  const fromOci = await helm(['template', 'metallb', ref, '--version', chart.version, '--plain-http', '--namespace', 'metallb-system']);
  t.equal(fromOci.code, 0, fromOci.stderr);
  t.same(withoutCertData(parseDocs(fromOci.stdout)), withoutCertData(await render()), 'the OCI chart renders what the chart directory renders');
});
