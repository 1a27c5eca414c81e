/**
 * RBAC is the minimum the code uses (docs/security.md), asserted against the rendered chart.
 *
 * USED below is the grep-able map from each permission a process needs to the line of code that
 * needs it (file + pattern, checked against the source, so the map cannot drift from the code).
 * The test asserts: every used permission is granted (else the process meets 403s); every
 * granted permission is used, except the exact list UNUSED_GRANTS (findings reported to the
 * chart owner: the test fails when one is fixed without updating the list, or a new one
 * appears); no wildcards, no escalation verbs, Secrets only namespaced and read-only.
 *
 * Verbs follow the apiserver's mapping: GET item = get, GET collection = list, GET ?watch =
 * watch, POST = create, PUT = update, PATCH = patch, DELETE item = delete. Informers (src/k8s/
 * informer.ts) list and then watch their collection path.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { at, render, type K8sObject } from '../fixtures/chart/helm';
import { repoRoot } from '../harness/tools';

interface Evidence {
  readonly file: string;
  readonly pattern: RegExp;
}
type Role = 'controller' | 'speaker';

const INFORMER: Evidence = { file: 'src/k8s/informer.ts', pattern: /opts\.client\.list<T>\(opts\.path/ };
const cfg = (plural: string): Evidence => ({ file: 'src/k8s/config-sources.ts', pattern: new RegExp(`path: '/apis/metallb\\.io/v1beta\\d/namespaces/\\{ns\\}/${plural}'`) });
const CTL_CONFIG_INFORMERS: Evidence = { file: 'src/controller/controller-loop.ts', pattern: /CONFIG_SOURCES\.map\(\(s\) => \(\{[\s\S]{0,80}createInformer<KubeObject>\(\{[\s\S]{0,40}path: sourcePath\(s, namespace\)/ };
const SPK_CONFIG_INFORMERS: Evidence = { file: 'src/speaker/speaker-loop.ts', pattern: /CONFIG_SOURCES\.filter\(\(s\) => s\.field !== 'nodes'\)\.map\(\(s\) => \(\{\s*field: s\.field,\s*inf: informer<KubeObject>\(sourcePath\(s, opts\.namespace\)[,)]/ };
/** Cluster-wide list/watch of the config kinds: src/controller/foreign-config.ts. */
const FOREIGN_CONFIG: Evidence = { file: 'src/controller/foreign-config.ts', pattern: /createInformer<KubeObject>\(\{\s*client,\s*path: clusterWidePath\(s\.path\)/ };
const POD_GET: Evidence = { file: 'src/k8s/pod-owner.ts', pattern: /method: 'GET', path: `\/api\/v1\/namespaces\/\$\{encodeURIComponent\(namespace\)\}\/pods\/\$\{encodeURIComponent\(podName\)\}`/ };
const EVENTS_CREATE: Evidence = { file: 'src/k8s/events.ts', pattern: /method: 'POST', path: `\/api\/v1\/namespaces\/\$\{p\.obj\.namespace\}\/events`/ };
const EVENTS_PATCH: Evidence = { file: 'src/k8s/events.ts', pattern: /method: 'PATCH',\s*path: `\/api\/v1\/namespaces\/\$\{p\.obj\.namespace\}\/events\/\$\{prev\.name\}`/ };
const LEASE_GET: Evidence = { file: 'src/k8s/lease.ts', pattern: /method: 'GET', path: leasePath\(namespace, name\)/ };
const LEASE_CREATE: Evidence = { file: 'src/k8s/lease.ts', pattern: /method: 'POST',\s*path: leasePath\(namespace\)/ };
const LEASE_UPDATE: Evidence = { file: 'src/k8s/lease.ts', pattern: /method: 'PUT',\s*path: leasePath\(namespace, name\)/ };
const LEASE_DELETE: Evidence = { file: 'src/k8s/lease.ts', pattern: /method: 'DELETE',\s*path: leasePath\(/ };
/** Secure metrics: the endpoint reviews each scrape with the process's client (src/k8s/metrics-auth.ts). */
const reviews = (main: Evidence): Record<string, readonly Evidence[]> => ({
  'authentication.k8s.io/tokenreviews: create': [{ file: 'src/k8s/metrics-auth.ts', pattern: /method: 'POST',\s*path: '\/apis\/authentication\.k8s\.io\/v1\/tokenreviews'/ }, { file: 'src/k8s/health.ts', pattern: /createMetricsAuthorizer\(\{ reviews: kubeReviews\(deps\.client\)/ }, main],
  'authorization.k8s.io/subjectaccessreviews: create': [{ file: 'src/k8s/metrics-auth.ts', pattern: /method: 'POST',\s*path: '\/apis\/authorization\.k8s\.io\/v1\/subjectaccessreviews'/ }, main],
});
const STATUS_OBJ: Evidence = { file: 'src/speaker/status-objects.ts', pattern: /createInformer<StatusObject>\(\{\s*client,\s*path: this\.collection\(\)/ };

/** The ConfigurationState writer's calls, plus where a process calls the writer. */
function configurationStateUse(caller: Evidence): Record<string, readonly Evidence[]> {
  const file = 'src/k8s/configuration-state.ts';
  return {
    'metallb.io/configurationstates: get': [{ file, pattern: /method: 'GET', path: `\$\{base\}\/\$\{name\}`/ }, caller],
    'metallb.io/configurationstates: create': [{ file, pattern: /method: 'POST', path: base, body: \{ apiVersion: 'metallb\.io\/v1beta1', kind: 'ConfigurationState'/ }, caller],
    'metallb.io/configurationstates/status: patch': [{ file, pattern: /method: 'PATCH',\s*path: `\$\{base\}\/\$\{name\}\/status`/ }, caller],
  };
}

/** role -> "group/resource: verb" -> where the code does it (all must match). */
const USED: Record<Role, Record<string, readonly Evidence[]>> = {
  controller: {
    ...reviews({ file: 'src/controller/main.ts', pattern: /startProcessEndpoint\(opts, \{ registry, log: clog, loop, client \}\)/ }),
    'core/services: list': [{ file: 'src/controller/controller-loop.ts', pattern: /createInformer<ServiceObject>\(\{\s*client,\s*path: '\/api\/v1\/services'/ }, INFORMER, { file: 'src/controller/controller-loop.ts', pattern: /client\.list<ServiceObject>\('\/api\/v1\/services'[,)]/ }],
    'core/services: watch': [{ file: 'src/controller/controller-loop.ts', pattern: /path: '\/api\/v1\/services'/ }, INFORMER],
    'core/services/status: update': [{ file: 'src/controller/controller-loop.ts', pattern: /method: 'PUT', path: `\/api\/v1\/namespaces\/\$\{encodeURIComponent\(ns\)\}\/services\/\$\{encodeURIComponent\(name\)\}\/status`/ }],
    'core/namespaces: list': [{ file: 'src/k8s/config-sources.ts', pattern: /path: '\/api\/v1\/namespaces' \}/ }, CTL_CONFIG_INFORMERS, INFORMER],
    'core/namespaces: watch': [{ file: 'src/k8s/config-sources.ts', pattern: /path: '\/api\/v1\/namespaces' \}/ }, CTL_CONFIG_INFORMERS, INFORMER],
    'core/nodes: list': [{ file: 'src/k8s/config-sources.ts', pattern: /path: '\/api\/v1\/nodes' \}/ }, CTL_CONFIG_INFORMERS, INFORMER],
    'core/nodes: watch': [{ file: 'src/k8s/config-sources.ts', pattern: /path: '\/api\/v1\/nodes' \}/ }, CTL_CONFIG_INFORMERS, INFORMER],
    'core/secrets: list': [{ file: 'src/k8s/config-sources.ts', pattern: /path: '\/api\/v1\/namespaces\/\{ns\}\/secrets'/ }, CTL_CONFIG_INFORMERS, INFORMER],
    'core/secrets: watch': [{ file: 'src/k8s/config-sources.ts', pattern: /path: '\/api\/v1\/namespaces\/\{ns\}\/secrets'/ }, CTL_CONFIG_INFORMERS, INFORMER],
    'core/events: create': [EVENTS_CREATE, { file: 'src/controller/main.ts', pattern: /createEventRecorder\(\{ client/ }],
    'core/events: patch': [EVENTS_PATCH, { file: 'src/controller/main.ts', pattern: /createEventRecorder\(\{ client/ }],
    'core/pods: get': [POD_GET, { file: 'src/controller/main.ts', pattern: /podOwnerSource\(client, opts\.namespace, opts\.podName/ }],
    'coordination.k8s.io/leases: get': [LEASE_GET, { file: 'src/k8s/leader-elector.ts', pattern: /await getLease\(opts\.client/ }],
    'coordination.k8s.io/leases: create': [LEASE_CREATE, { file: 'src/k8s/leader-elector.ts', pattern: /await createLease\(opts\.client/ }],
    'coordination.k8s.io/leases: update': [LEASE_UPDATE, { file: 'src/k8s/leader-elector.ts', pattern: /await updateLease\(opts\.client/ }],
    ...Object.fromEntries(
      ['ipaddresspools', 'l2advertisements', 'bgpadvertisements', 'bgppeers', 'communities', 'bfdprofiles'].flatMap((p) =>
        ['list', 'watch'].map((v) => [`metallb.io/${p}: ${v}`, [cfg(p), CTL_CONFIG_INFORMERS, INFORMER, FOREIGN_CONFIG]]),
      ),
    ),
    ...Object.fromEntries(
      ['list', 'watch'].map((v) => [
        `frrk8s.metallb.io/frrconfigurations: ${v}`,
        [{ file: 'src/controller/frr-config-notice.ts', pattern: /path: `\/apis\/\$\{FRR_K8S_GROUP_VERSION\}\/\$\{FRR_CONFIGURATION_RESOURCE\}`/ }, INFORMER],
      ]),
    ),
    'metallb.io/ipaddresspools/status: update': [{ file: 'src/controller/controller-status.ts', pattern: /method: 'PUT', path: `\/apis\/metallb\.io\/v1beta1\/namespaces\/\$\{encodeURIComponent\(ns\)\}\/ipaddresspools\/\$\{encodeURIComponent\(name\)\}\/status`/ }],
    ...configurationStateUse({ file: 'src/controller/controller-loop.ts', pattern: /await writeConfigurationState\(client, namespace, verdict/ }),
  },
  speaker: {
    ...Object.fromEntries(
      [
        ['core/services', /informer<ServiceObject & KubeObject>\('\/api\/v1\/services'\)/],
        ['discovery.k8s.io/endpointslices', /informer<EndpointSliceObject & KubeObject>\('\/apis\/discovery\.k8s\.io\/v1\/endpointslices'\)/],
        ['core/nodes', /informer<NodeObject & KubeObject>\('\/api\/v1\/nodes'[,)]/],
      ].flatMap(([res, re]) => ['list', 'watch'].map((v) => [`${String(res)}: ${v}`, [{ file: 'src/speaker/speaker-loop.ts', pattern: re as RegExp }, INFORMER]])),
    ),
    ...Object.fromEntries(
      [
        ['core/namespaces', /path: '\/api\/v1\/namespaces' \}/],
        ['core/secrets', /path: '\/api\/v1\/namespaces\/\{ns\}\/secrets'/],
        ...['ipaddresspools', 'l2advertisements', 'bgpadvertisements', 'bgppeers', 'communities', 'bfdprofiles'].map((p) => [`metallb.io/${p}`, cfg(p).pattern]),
      ].flatMap(([res, re]) => ['list', 'watch'].map((v) => [`${String(res)}: ${v}`, [{ file: 'src/k8s/config-sources.ts', pattern: re as RegExp }, SPK_CONFIG_INFORMERS, INFORMER]])),
    ),
    'core/pods: get': [POD_GET, { file: 'src/speaker/main.ts', pattern: /podOwnerSource\(client, opts\.namespace, opts\.podName/ }],
    ...reviews({ file: 'src/speaker/main.ts', pattern: /startProcessEndpoint\(opts, \{ registry, log: slog, loop, client \}\)/ }),
    'core/events: create': [EVENTS_CREATE, { file: 'src/speaker/main.ts', pattern: /createEventRecorder\(\{ client/ }],
    'core/events: patch': [EVENTS_PATCH, { file: 'src/speaker/main.ts', pattern: /createEventRecorder\(\{ client/ }],
    'coordination.k8s.io/leases: list': [{ file: 'src/speaker/speaker-loop.ts', pattern: /createInformer<Lease>\(\{\s*client,\s*path: `\/apis\/coordination\.k8s\.io\/v1\/namespaces\/\$\{encodeURIComponent\(opts\.namespace\)\}\/leases`/ }, INFORMER],
    'coordination.k8s.io/leases: watch': [{ file: 'src/speaker/speaker-loop.ts', pattern: /createInformer<Lease>\(\{/ }, INFORMER],
    'coordination.k8s.io/leases: create': [{ file: 'src/speaker/lease-store.ts', pattern: /method: 'POST',\s*path: leasePath\(this\.namespace\)/ }],
    'coordination.k8s.io/leases: update': [LEASE_UPDATE, { file: 'src/speaker/lease-store.ts', pattern: /return updateLease\(this\.client/ }],
    'coordination.k8s.io/leases: delete': [LEASE_DELETE, { file: 'src/speaker/lease-store.ts', pattern: /return deleteLease\(this\.client, prev\)/ }],
    ...Object.fromEntries(
      ['servicel2statuses', 'servicebgpstatuses', 'bgpsessionstates'].flatMap((p) => [
        [`metallb.io/${p}: list`, [STATUS_OBJ, INFORMER, { file: 'src/speaker/status-objects.ts', pattern: new RegExp(`plural: '${p}'`) }]],
        [`metallb.io/${p}: watch`, [STATUS_OBJ, INFORMER]],
        [`metallb.io/${p}: create`, [{ file: 'src/speaker/status-objects.ts', pattern: /method: 'POST',\s*path: this\.collection\(\)/ }]],
        [`metallb.io/${p}: delete`, [{ file: 'src/speaker/status-objects.ts', pattern: /method: 'DELETE', path: this\.collection\(o\.metadata\?\.name \?\? ''\)/ }]],
        [`metallb.io/${p}/status: update`, [{ file: 'src/speaker/status-objects.ts', pattern: /method: 'PUT', path: `\$\{this\.collection\(obj\.metadata\?\.name \?\? ''\)\}\/status`/ }]],
      ]),
    ),
    ...configurationStateUse({ file: 'src/speaker/speaker-loop.ts', pattern: /new ConfigurationStatePublisher\(\{ client, namespace: opts\.namespace, target: speakerState\(opts\.nodeName\)/ }),
  },
};

/**
 * Granted but not used by any code path. Empty: the findings this test first reported (`get` on
 * informer-only resources, unused status verbs, the speaker's ConfigurationState rules) were
 * removed from the chart (the speaker's came back once it wrote speaker-<node>). Anything new
 * here fails the test until it is removed or justified.
 */
const UNUSED_GRANTS: Record<Role, readonly string[]> = {
  controller: [],
  speaker: [],
};

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Every "group/resource: verb" a role grants, with the kind of role granting it. */
function granted(docs: readonly K8sObject[], role: Role): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of docs) {
    if ((d.kind !== 'Role' && d.kind !== 'ClusterRole') || d.metadata.labels?.['app.kubernetes.io/component'] !== role) continue;
    for (const r of at(d, 'rules') as Rule[]) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.set(`${g || 'core'}/${res}: ${v}`, d.kind);
  }
  return out;
}

const source = new Map<string, string>();
const read = (file: string): string => {
  let s = source.get(file);
  if (s === undefined) {
    s = readFileSync(join(repoRoot, file), 'utf8');
    source.set(file, s);
  }
  return s;
};

t.test('every permission the code uses is backed by a line of code and granted by the chart', async (t) => {
  const docs = await render();
  for (const role of ['controller', 'speaker'] as const) {
    const g = granted(docs, role);
    t.ok(g.size > 0, `${role}: the chart renders its roles`);
    for (const [perm, evidence] of Object.entries(USED[role])) {
      for (const e of evidence) t.match(read(e.file), e.pattern, `${role} ${perm}: ${e.file} still does it`);
      t.ok(g.has(perm), `${role} needs ${perm}: granted`);
    }
  }
});

t.test('nothing is granted that the code does not use, apart from the reported list', async (t) => {
  const docs = await render();
  for (const role of ['controller', 'speaker'] as const) {
    const unused = [...granted(docs, role).keys()].filter((p) => !(p in USED[role])).sort();
    t.same(unused, [...UNUSED_GRANTS[role]].sort(), `${role}: granted but unused (docs/security.md lists them)`);
  }
});

t.test('no wildcard, no escalation, Secrets namespaced and read-only', async (t) => {
  const docs = await render();
  const roles = docs.filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole');
  t.ok(roles.length >= 4, 'controller and speaker roles rendered');
  for (const role of roles) {
    for (const r of at(role, 'rules') as Rule[]) {
      const name = `${role.kind}/${role.metadata.name}`;
      t.notOk([...r.apiGroups, ...r.resources, ...r.verbs].some((x) => x.includes('*')), `${name}: no wildcard`);
      t.notOk(r.verbs.some((v) => ['bind', 'escalate', 'impersonate', 'deletecollection'].includes(v)), `${name}: no escalation or bulk verbs`);
      t.notOk(r.resources.some((x) => /^(roles|clusterroles|rolebindings|clusterrolebindings|serviceaccounts|serviceaccounts\/token|pods\/exec|nodes\/proxy|customresourcedefinitions)$/.test(x)), `${name}: no RBAC, token, exec or CRD access`);
      if (r.resources.includes('secrets')) {
        t.equal(role.kind, 'Role', `${name}: Secrets only through a namespaced Role`);
        t.ok(r.verbs.every((v) => ['get', 'list', 'watch'].includes(v)), `${name}: Secrets read-only (${r.verbs.join(',')})`);
        t.equal(role.metadata.namespace, 'metallb-system', `${name}: in the release namespace`);
      }
      if (role.kind === 'ClusterRole') {
        const writes = r.verbs.filter((v) => !['get', 'list', 'watch'].includes(v));
        // TokenReviews and SubjectAccessReviews (secure metrics) are questions, never stored.
        const reviewOnly = ['tokenreviews', 'subjectaccessreviews'].includes(r.resources[0] ?? '') && writes.every((v) => v === 'create');
        for (const res of r.resources) if (writes.length && !reviewOnly) t.ok(['services/status', 'events'].includes(res), `${name}: cluster-wide writes only to services/status and events (${res}: ${writes.join(',')})`);
      }
    }
  }
});
