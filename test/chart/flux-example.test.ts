/**
 * docs/examples/flux: the manifests parse, kustomize builds them, the HelmRelease's values come
 * from a ConfigMap holding a full, unchanged upstream MetalLB values file, and the chart renders
 * with exactly those values into the Deployment the Flux health check waits for.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { kubectlBinary, repoRoot } from '../harness/tools';
import { CHART_DIR, UPSTREAM_VALUES, at, find, parseDocs, render, type K8sObject } from '../fixtures/chart/helm';

const EXAMPLE = join(repoRoot, 'docs', 'examples', 'flux');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return name.endsWith('.yaml') ? [p] : [];
  });
}

async function kustomize(dir: string): Promise<K8sObject[]> {
  const bin = await kubectlBinary();
  const home = mkdtempSync(join(tmpdir(), 'mlb-kustomize-'));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(bin, ['kustomize', dir], { env: { PATH: process.env['PATH'], HOME: home } }, (err, out, errOut) => {
      if (err) reject(new Error(`kubectl kustomize ${dir}: ${errOut}`));
      else resolve(out);
    });
  });
  return parseDocs(stdout);
}

t.test('every manifest parses into named objects', async (t) => {
  const files = yamlFiles(EXAMPLE);
  t.ok(files.length >= 8, `found ${files.length} YAML files`);
  for (const f of files) {
    const docs = parseDocs(readFileSync(f, 'utf8'));
    t.ok(docs.length >= 1, `${relative(EXAMPLE, f)} has documents`);
    if (f.endsWith(join('metallb', 'values.yaml'))) continue; // a values file, not a manifest
    for (const d of docs) {
      t.ok(d.apiVersion && d.kind, `${relative(EXAMPLE, f)}: apiVersion and kind`);
      if (d.kind !== 'Kustomization' || d.apiVersion.startsWith('kustomize.toolkit')) t.ok(d.metadata?.name, `${relative(EXAMPLE, f)}: ${d.kind} has a name`);
    }
  }
});

t.test('the Flux Kustomizations: health check on metallb-controller, config after the chart', async (t) => {
  const ks = parseDocs(readFileSync(join(EXAMPLE, 'clusters', 'homelab', 'metallb.yaml'), 'utf8'));
  const chart = find(ks, 'Kustomization', 'metallb');
  const config = find(ks, 'Kustomization', 'metallb-config');
  t.same(at(chart, 'spec', 'healthChecks'), [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'metallb-controller', namespace: 'metallb-system' }]);
  t.same(at(config, 'spec', 'dependsOn'), [{ name: 'metallb' }]);
  for (const k of [chart, config]) {
    const path = at(k, 'spec', 'path') as string;
    t.ok(statSync(join(EXAMPLE, path)).isDirectory(), `${k.metadata.name}: path ${path} exists`);
  }
});

t.test('HelmRelease values come from a ConfigMap holding the full upstream values file, and render', async (t) => {
  const objs = await kustomize(join(EXAMPLE, 'infrastructure', 'metallb'));
  const hr = find(objs, 'HelmRelease', 'metallb');
  const repo = find(objs, 'HelmRepository', 'metallb-ts');
  const ns = hr.metadata.namespace as string;
  t.equal(ns, 'metallb-system');
  t.equal(at(hr, 'spec', 'releaseName'), 'metallb');
  t.equal(at(hr, 'spec', 'targetNamespace'), undefined, 'installed into the HelmRelease namespace');
  t.equal(at(hr, 'spec', 'chart', 'spec', 'chart'), 'metallb');
  t.same(at(hr, 'spec', 'chart', 'spec', 'sourceRef'), { kind: 'HelmRepository', name: repo.metadata.name, namespace: repo.metadata.namespace });
  const chartMeta = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { version: string };
  const range = at(hr, 'spec', 'chart', 'spec', 'version') as string;
  t.match(chartMeta.version, new RegExp(`^${range.replace(/\./g, '\\.').replace(/x/g, '\\d+')}$`), `chart ${chartMeta.version} satisfies ${range}`);

  const valuesFrom = at(hr, 'spec', 'valuesFrom') as Array<{ kind: string; name: string; valuesKey: string }>;
  t.equal(valuesFrom.length, 1);
  const ref = valuesFrom[0] as { kind: string; name: string; valuesKey: string };
  t.equal(ref.kind, 'ConfigMap');
  t.equal(at(hr, 'spec', 'values'), undefined, 'no inline values: all of them come from the ConfigMap');
  const cm = find(objs, 'ConfigMap', ref.name);
  t.equal(cm.metadata.namespace, ns, 'ConfigMap in the HelmRelease namespace');
  const text = at(cm, 'data', ref.valuesKey) as string;
  t.same(parse(text), parse(readFileSync(UPSTREAM_VALUES['0.13.7'], 'utf8')), 'the ConfigMap holds upstream 0.13.7 values unchanged');
  t.equal(text, readFileSync(UPSTREAM_VALUES['0.13.7'], 'utf8'), 'byte for byte, comments included');

  const valuesFile = join(mkdtempSync(join(tmpdir(), 'mlb-flux-values-')), 'values.yaml');
  writeFileSync(valuesFile, text);
  const docs = await render({ release: at(hr, 'spec', 'releaseName') as string, namespace: ns, valuesFiles: [valuesFile] });
  const checked = at(find(parseDocs(readFileSync(join(EXAMPLE, 'clusters', 'homelab', 'metallb.yaml'), 'utf8')), 'Kustomization', 'metallb'), 'spec', 'healthChecks', 0) as {
    kind: string;
    name: string;
    namespace: string;
  };
  const dep = find(docs, checked.kind, checked.name);
  t.equal(dep.metadata.namespace, checked.namespace, 'the health-checked Deployment is what the chart renders');
  t.ok(docs.some((d) => d.kind === 'DaemonSet' && d.metadata.name === 'metallb-speaker'));
  const nsObj = find(objs, 'Namespace', 'metallb-system');
  t.equal(nsObj.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged', 'speaker (hostNetwork, NET_RAW) is admitted');
});

t.test('the config directory builds to namespaced metallb.io objects', async (t) => {
  const objs = await kustomize(join(EXAMPLE, 'infrastructure', 'metallb-config'));
  t.same(objs.map((o) => `${o.apiVersion} ${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort(), [
    'metallb.io/v1beta1 IPAddressPool/metallb-system/lan',
    'metallb.io/v1beta1 L2Advertisement/metallb-system/lan',
  ]);
});
