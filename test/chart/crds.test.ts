/**
 * The CRDs in charts/metallb-ts/files/crds/ reach the release unchanged: crds.yaml parses and
 * re-emits each one only to add the chart labels and helm.sh/resource-policy=keep.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CHART_DIR, parseDocs, render, type K8sObject } from '../fixtures/chart/helm';

const CRD_DIR = join(CHART_DIR, 'files', 'crds');
const files = readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml')).sort();

function withoutChartMetadata(crd: K8sObject): K8sObject {
  const copy = structuredClone(crd);
  const labels = { ...(copy.metadata.labels ?? {}) };
  for (const k of ['helm.sh/chart', 'app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by']) delete labels[k];
  const annotations = { ...(copy.metadata.annotations ?? {}) };
  delete annotations['helm.sh/resource-policy'];
  if (Object.keys(labels).length > 0) copy.metadata.labels = labels;
  else delete copy.metadata.labels;
  if (Object.keys(annotations).length > 0) copy.metadata.annotations = annotations;
  else delete copy.metadata.annotations;
  return copy;
}

t.test('every CRD file is rendered unchanged apart from labels and the keep annotation', async (t) => {
  t.ok(files.length >= 1, `files/crds/ holds CRDs (${files.length})`);
  const source = files.flatMap((f) => parseDocs(readFileSync(join(CRD_DIR, f), 'utf8')));
  const rendered = (await render()).filter((d) => d.kind === 'CustomResourceDefinition');
  t.equal(rendered.length, source.length, 'one rendered CRD per source document');
  for (const src of source) {
    const out = rendered.find((d) => d.metadata.name === src.metadata.name);
    if (!out) {
      t.fail(`${src.metadata.name} not rendered`);
      continue;
    }
    t.equal(out.metadata.annotations?.['helm.sh/resource-policy'], 'keep', `${src.metadata.name} kept on uninstall`);
    t.equal(out.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm');
    t.same(withoutChartMetadata(out), withoutChartMetadata(src), `${src.metadata.name} content (numbers, strings, CEL rules) unchanged`);
    t.match(src.metadata.name, /\.metallb\.io$/, 'group metallb.io');
  }
});

t.test('crds.keep=false drops the annotation; crds.enabled=false drops the CRDs', async (t) => {
  const noKeep = (await render({ set: ['crds.keep=false'] })).filter((d) => d.kind === 'CustomResourceDefinition');
  t.ok(noKeep.length >= files.length, 'CRDs still rendered');
  t.ok(noKeep.every((d) => d.metadata.annotations?.['helm.sh/resource-policy'] === undefined));
  const none = (await render({ set: ['crds.enabled=false'] })).filter((d) => d.kind === 'CustomResourceDefinition');
  t.equal(none.length, 0);
});
