/**
 * The CRDs the chart renders for Kubernetes 1.25 to 1.30 (templates/_crds.tpl) use only what a
 * 1.25 apiserver accepts in `x-kubernetes-validations`, checked statically against the list below
 * (kept here, apart from the template's own pattern, so that each checks the other). The
 * apiserver cannot be run older than 1.31 here (test/crds/old-kube.test.ts installs these CRDs
 * on one emulating 1.31); this is what stands for 1.25 to 1.30.
 */
import t from 'tap';
import { chartKubeFloor, render, type K8sObject } from '../fixtures/chart/helm';

/**
 * CEL functions and methods a 1.25 apiserver does not have, with the release whose CEL base
 * environment added them (`staging/src/k8s.io/apiserver/pkg/cel/environment/base.go` in
 * kubernetes/kubernetes; a new CRD is compiled at the previous release's level, so a function
 * is usable in a new CRD one release later).
 */
const POST_125_FUNCTIONS: ReadonlyArray<{ readonly names: readonly string[]; readonly since: string; readonly source: string }> = [
  { names: ['authorizer'], since: '1.27', source: 'base.go: library.Authz (admission policies only)' },
  {
    names: ['quantity', 'isQuantity', 'sign', 'isInteger', 'asInteger', 'asApproximateFloat', 'compareTo', 'isGreaterThan', 'isLessThan', 'add', 'sub'],
    since: '1.28',
    source: 'base.go: library.Quantity',
  },
  { names: ['optional.of', 'optional.none', 'optional.ofNonZeroValue', 'orValue', 'hasValue'], since: '1.28', source: 'base.go: cel.OptionalTypes()' },
  { names: ['format', 'strings.quote'], since: '1.29', source: 'base.go: ext.Strings(ext.StringsVersion(2)); cel-go ext/strings.go "Introduced at version: 1"' },
  { names: ['sets.contains', 'sets.equivalent', 'sets.intersects'], since: '1.29', source: 'base.go: ext.Sets()' },
  {
    names: ['ip', 'isIP', 'family', 'isCanonical', 'isUnspecified', 'isLoopback', 'isLinkLocalMulticast', 'isLinkLocalUnicast', 'isGlobalUnicast'],
    since: '1.30',
    source: 'base.go: library.IP (k8s.io/apiserver/pkg/cel/library/ip.go)',
  },
  { names: ['cidr', 'isCIDR', 'containsIP', 'containsCIDR', 'masked', 'prefixLength'], since: '1.30', source: 'base.go: library.CIDR (cidr.go)' },
  { names: ['validate', 'format.named'], since: '1.31', source: 'base.go: library.Format' },
  { names: ['transformList', 'transformMap', 'transformMapEntry', 'existsOne'], since: '1.32', source: 'base.go: ext.TwoVarComprehensions()' },
  { names: ['semver', 'isSemver', 'image', 'isImage', 'containsDigest'], since: '1.33', source: 'base.go: library.SemverLib, library.Image' },
];

/**
 * `x-kubernetes-validations` entry fields a 1.25 apiserver does not know (it has `rule` and
 * `message`). messageExpression (1.27), reason and fieldPath (1.28): KEP-2876 and the
 * CustomResourceDefinition page of the Kubernetes docs; optionalOldSelf (1.29, behind
 * CRDValidationRatcheting until 1.30): apiextensions-apiserver `pkg/apis/apiextensions/types_jsonschema.go`.
 */
const POST_125_RULE_FIELDS: Readonly<Record<string, string>> = { messageExpression: '1.27', reason: '1.28', fieldPath: '1.28', optionalOldSelf: '1.29' };

const newFunction = new Map<string, string>(POST_125_FUNCTIONS.flatMap((g) => g.names.map((n) => [n, g.since] as [string, string])));

interface Rule {
  readonly rule: string;
  readonly message?: string;
  readonly [field: string]: unknown;
}

/** Every rule of a schema tree, with where it sits. */
function rulesOf(node: unknown, path: string, out: Array<{ path: string; rule: Rule }>): typeof out {
  if (Array.isArray(node)) node.forEach((v, i) => rulesOf(v, `${path}[${i}]`, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'x-kubernetes-validations') for (const rule of v as Rule[]) out.push({ path, rule });
      else rulesOf(v, `${path}.${k}`, out);
    }
  }
  return out;
}

/** Post-1.25 functions a CEL expression calls (string literals removed first). */
function newFunctionsIn(expr: string): string[] {
  const code = expr.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''");
  const found: string[] = [];
  for (const m of code.matchAll(/\b([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\(/g)) {
    const full = m[1] ?? '';
    const last = full.split('.').pop() ?? '';
    if (newFunction.has(full)) found.push(full);
    else if (newFunction.has(last) && !last.includes('.')) found.push(last);
  }
  if (/\.\?|\[\?/.test(code)) found.push('optional syntax (.? / [?)');
  return found;
}

/** The CRD without its CEL rules: what degrading must leave alone. */
function withoutRules(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutRules);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).filter(([k]) => k !== 'x-kubernetes-validations').map(([k, v]) => [k, withoutRules(v)]));
}

const crdsAt = async (kubeVersion: string): Promise<K8sObject[]> =>
  (await render({ kubeVersion })).filter((d) => d.kind === 'CustomResourceDefinition').sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));

t.test('the chart declares Kubernetes 1.25 as its floor', async (t) => {
  t.equal(chartKubeFloor(), '1.25');
});

t.test('the scan finds the IP and CIDR rules in the full CRDs (it is not vacuous)', async (t) => {
  const full = await crdsAt('1.31.0');
  const found = new Set(full.flatMap((crd) => rulesOf(crd.spec, '', []).flatMap(({ rule }) => newFunctionsIn(rule.rule))));
  t.same([...found].sort(), ['family', 'ip', 'isCIDR', 'isIP'], 'full CRDs (1.31) call isIP, isCIDR, ip() and family()');
  const fields = new Set(full.flatMap((crd) => rulesOf(crd.spec, '', []).flatMap(({ rule }) => Object.keys(rule))));
  t.ok(fields.has('messageExpression'), 'and use messageExpression');
});

for (const kubeVersion of ['1.25.0', '1.30.0']) {
  t.test(`helm template --kube-version ${kubeVersion}: only what a 1.25 apiserver accepts`, async (t) => {
    const [old, full] = await Promise.all([crdsAt(kubeVersion), crdsAt('1.31.0')]);
    t.equal(old.length, 10, 'all ten CRDs rendered');
    t.same(
      old.map((c) => c.metadata.name),
      full.map((c) => c.metadata.name),
    );
    let rules = 0;
    for (const crd of old) {
      for (const { path, rule } of rulesOf(crd.spec, crd.metadata.name, [])) {
        rules += 1;
        t.same(newFunctionsIn(rule.rule), [], `${path}: no post-1.25 CEL function in ${rule.rule}`);
        const late = Object.keys(rule).filter((k) => k in POST_125_RULE_FIELDS);
        t.same(late, [], `${path}: no post-1.25 rule field (${late.map((k) => `${k} ${POST_125_RULE_FIELDS[k]}`).join(', ')})`);
        t.same(Object.keys(rule).filter((k) => k !== 'rule' && k !== 'message'), [], `${path}: only rule and message`);
        // The apiserver requires a message for a rule with line breaks, and none in the message.
        if (rule.rule.includes('\n')) t.type(rule.message, 'string', `${path}: a multi-line rule has a message`);
        if (rule.message !== undefined) t.notMatch(rule.message, /\n/, `${path}: one-line message`);
      }
    }
    t.ok(rules > 40, `the degraded CRDs keep their other rules (${rules})`);

    // Derived mechanically: the schemas are otherwise identical, and exactly the rules calling
    // the IP/CIDR library are gone; every other rule is kept with its rule text (line breaks
    // folded where it has no message) and its static message.
    for (const [i, crd] of old.entries()) {
      const source = full[i] as K8sObject;
      t.same(withoutRules(crd), withoutRules(source), `${crd.metadata.name}: schema unchanged apart from the rules`);
      const want = rulesOf(source.spec, '', [])
        .filter(({ rule }) => newFunctionsIn(rule.rule).length === 0)
        .map(({ path, rule }) => ({
          path,
          rule: {
            rule: rule.message === undefined ? rule.rule.replace(/\s*\n\s*/g, ' ') : rule.rule,
            ...(rule.message === undefined ? {} : { message: rule.message }),
          },
        }));
      t.same(rulesOf(crd.spec, '', []), want, `${crd.metadata.name}: every rule without a post-1.25 function kept, the others dropped`);
    }
  });
}

t.test('--kube-version 1.25.0 renders no ValidatingAdmissionPolicy (v1 from 1.30)', async (t) => {
  const docs = await render({ kubeVersion: '1.25.0' });
  t.same(
    docs.filter((d) => d.kind.startsWith('ValidatingAdmissionPolicy')).map((d) => d.kind),
    [],
  );
  const at130 = await render({ kubeVersion: '1.30.0' });
  t.ok(at130.some((d) => d.kind === 'ValidatingAdmissionPolicy'), 'rendered from 1.30');
});

t.test('--kube-version 1.31.0 renders the full CRDs, as helm\'s default does', async (t) => {
  const [at131, byDefault] = await Promise.all([crdsAt('1.31.0'), (async () => (await render()).filter((d) => d.kind === 'CustomResourceDefinition'))()]);
  byDefault.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  t.same(at131, byDefault);
});
