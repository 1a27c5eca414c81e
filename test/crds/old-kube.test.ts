/**
 * The CRDs the chart renders for Kubernetes 1.25 to 1.30 (templates/_crds.tpl) on a real
 * kube-apiserver emulating 1.31, the oldest it emulates: they install and become Established,
 * the upstream-style manifests of test/fixtures/crs/good/ are accepted, and each invalid object of
 * test/fixtures/crs/bad/ is either still refused by the rules kept, or (those only the IP/CIDR
 * rules refused) admitted and then refused by the config parser the controller and speakers run,
 * in the verdict their ConfigurationState carries, with the words the full CRDs' rule gives at
 * 1.31 and later (test/fixtures/crs/bad-messages.ts, checked on 1.34 by apiserver.test.ts).
 */
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import t from 'tap';
import { createAdmission } from '../../src/config/crd-admission';
import { collectManifests } from '../../src/config/manifests';
import { parseConfig } from '../../src/config/parse';
import { configVerdict } from '../../src/config/verdict';
import { startControlPlane } from '../harness/apiserver';
import { OLDEST_EMULATED_KUBE, render } from '../fixtures/chart/helm';
import { BAD_MESSAGES } from '../fixtures/crs/bad-messages';
import { apiRequest, BAD_DIR, GOOD_DIR, loadDocs, NAMESPACE, pollUntil, yamlFiles, type KObject } from '../fixtures/crs/kit';

/** The bad/ objects only an IP/CIDR rule refuses: the CRDs below 1.31 admit them. */
const ADMITTED_BELOW_131 = [
  'peer-bad-address.yaml',
  'peer-bad-router-id.yaml',
  'peer-bad-source-address.yaml',
  'pool-bare-ip.yaml',
  'pool-cidr-leading-space.yaml',
  'pool-cidr-prefix-too-long.yaml',
  'pool-ipv6-prefix-too-long.yaml',
  'pool-range-bad-end.yaml',
  'pool-range-bad-start.yaml',
  'pool-range-mixed-family.yaml',
  'pool-range-reversed-ipv6.yaml',
  'pool-range-reversed.yaml',
];

/** A BAD_MESSAGES entry that names where the apiserver found the problem, not what it says. */
const isFieldPath = (s: string): boolean => /^spec(\.|\[|$)/.test(s);

/** What the ConfigurationState of a process given `docs` says: its error summary or disabled peers. */
function verdictText(docs: readonly KObject[], file: string): string {
  const collected = collectManifests(
    docs.map((value, index) => ({ value, origin: { file, line: 1, document: index + 1 } })),
    NAMESPACE,
  );
  const verdict = configVerdict(parseConfig(collected.resources));
  return verdict.valid ? (verdict.disabledPeers ?? '') : verdict.summary;
}

t.test(`CRDs rendered for Kubernetes 1.30 on the apiserver emulating ${OLDEST_EMULATED_KUBE}`, async (t) => {
  const cp = await startControlPlane(t, { emulatedVersion: OLDEST_EMULATED_KUBE });
  const degraded = (await render({ kubeVersion: '1.30.0' })).filter((d) => d.kind === 'CustomResourceDefinition');
  const full = (await render()).filter((d) => d.kind === 'CustomResourceDefinition');
  t.equal(degraded.length, 10, 'ten CRDs rendered');

  const applied = await cp.kubectl(['apply', '-f', '-'], { input: degraded.map((c) => JSON.stringify(c)).join('\n') });
  t.equal(applied.code, 0, `applied: ${applied.stderr}`);
  const ext = cp.kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
  await pollUntil('degraded CRDs Established', 30_000, async () => {
    const list = await ext.listCustomResourceDefinition();
    const established = new Set(
      list.items.filter((c) => c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')).map((c) => c.metadata?.name),
    );
    return degraded.every((c) => established.has(c.metadata.name));
  });
  t.pass('all Established');
  const ns = await cp.kubectl(['create', 'namespace', NAMESPACE]);
  t.equal(ns.code, 0, ns.stderr);

  t.test('upstream-style manifests are accepted', async (t) => {
    for (const f of yamlFiles(GOOD_DIR)) {
      const res = await cp.kubectl(['apply', '-f', join(GOOD_DIR, f)]);
      t.equal(res.code, 0, `${f}${res.code ? `: ${res.stderr}` : ''}`);
    }
  });

  t.test('a bad object is refused by the CRDs or by the config parser, in the same words', async (t) => {
    const fullAdmission = createAdmission(full);
    const degradedAdmission = createAdmission(degraded);
    const plurals = new Map(degraded.map((c) => {
      const names = (c['spec'] as { names: { kind: string; plural: string } }).names;
      return [names.kind, names.plural];
    }));
    const admitted: string[] = [];
    const files = yamlFiles(BAD_DIR);
    t.same(files, Object.keys(BAD_MESSAGES).sort(), 'every bad/ file has its expected message');
    for (const f of files) {
      const docs = loadDocs(join(BAD_DIR, f));
      const doc = docs[0];
      if (!doc) throw new Error(`${f} is empty`);
      const res = await apiRequest(cp, 'POST', `/apis/${doc.apiVersion}/namespaces/${NAMESPACE}/${plurals.get(doc.kind)}`, { body: doc, query: 'dryRun=All' });
      const ruleMessages = fullAdmission.check(doc).map((i) => i.message);
      t.not(ruleMessages.length, 0, `${f}: the full CRDs refuse it`);
      if (res.status === 422) {
        t.not(degradedAdmission.check(doc).length, 0, `${f}: refused at 1.31 emulation, and by the offline check of the degraded CRDs`);
        continue;
      }
      t.equal(res.status, 201, `${f}: admitted: ${JSON.stringify(res.body)}`);
      t.same(degradedAdmission.check(doc), [], `${f}: the offline check of the degraded CRDs admits it too`);
      admitted.push(f);
      const said = verdictText(docs, f);
      for (const want of (BAD_MESSAGES[f] ?? []).filter((s) => !isFieldPath(s))) t.ok(said.includes(want), `${f}: "${want}" in: ${said}`);
      for (const want of ruleMessages) t.ok(said.includes(want), `${f}: the CEL rule's whole message "${want}" in: ${said}`);
    }
    t.same(admitted, ADMITTED_BELOW_131, 'exactly the objects only an IP/CIDR rule refuses are admitted');
  });
});
