/**
 * The CRDs as the chart ships them (docs/crds.md): `helm template` of release `metallb` in
 * metallb-system with a full upstream values file, the CustomResourceDefinitions it renders applied
 * to a real apiserver, Established, and every upstream-style manifest of test/fixtures/crs/good/
 * accepted by them.
 */
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { startControlPlane } from '../harness/apiserver';
import { CHART_DIR, UPSTREAM_VALUES } from '../fixtures/chart/helm';
import { GOOD_DIR, loadCrds, NAMESPACE, pollUntil, yamlFiles } from '../fixtures/crs/kit';

t.test('chart-rendered CRDs accept the upstream-style manifests', async (t) => {
  const cp = await startControlPlane(t);
  const rendered = await cp.helm(['template', 'metallb', CHART_DIR, '--namespace', NAMESPACE, '-f', UPSTREAM_VALUES['0.16.1']]);
  t.equal(rendered.code, 0, rendered.stderr);
  const crds = parseAllDocuments(rendered.stdout)
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
    .filter((d) => d?.kind === 'CustomResourceDefinition');
  const want = [...loadCrds().keys()].sort();
  t.same(crds.map((c) => c?.metadata?.name).sort(), want, 'the chart renders every CRD');

  const applied = await cp.kubectl(['apply', '-f', '-'], { input: crds.map((c) => JSON.stringify(c)).join('\n') });
  t.equal(applied.code, 0, applied.stderr);
  const ext = cp.kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
  await pollUntil('chart CRDs Established', 30_000, async () => {
    const list = await ext.listCustomResourceDefinition();
    const established = list.items.filter((c) => c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'));
    return want.every((n) => established.some((c) => c.metadata?.name === n));
  });
  t.pass('all Established');

  t.equal((await cp.kubectl(['create', 'namespace', NAMESPACE])).code, 0);
  for (const f of yamlFiles(GOOD_DIR)) {
    const res = await cp.kubectl(['apply', '-f', join(GOOD_DIR, f)]);
    t.equal(res.code, 0, `${f}${res.code ? `: ${res.stderr}` : ''}`);
  }
  const bad = await cp.kubectl(['create', '--dry-run=server', '-f', join(GOOD_DIR, '..', 'bad', 'adv-community-section-out-of-range.yaml')]);
  t.match(bad.stderr, /invalid community value: invalid section "99999999"/, 'and the CEL rules survive rendering');
});
