/**
 * Least-privilege RBAC as rendered: the exact rule set of each (Cluster)Role, no wildcards,
 * Secrets and Leases only in the release namespace, bindings to the right ServiceAccounts.
 * Widening a rule means changing this table on purpose (and docs/chart-reference.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { at, find, render, type K8sObject } from '../fixtures/chart/helm';
import { repoRoot } from '../harness/tools';

interface Rule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** One line per (group, resource): "group/resource: verb,verb" with sorted verbs. */
function flatten(role: K8sObject): string[] {
  const out: string[] = [];
  for (const r of at(role, 'rules') as Rule[]) {
    const names = r.resourceNames ? `[${r.resourceNames.join(',')}]` : '';
    for (const g of r.apiGroups) for (const res of r.resources) out.push(`${g || 'core'}/${res}${names}: ${[...r.verbs].sort().join(',')}`);
  }
  return out.sort();
}

// Informers list then watch; nothing reads single objects except the noted ones (pods, leases,
// ConfigurationState), so no role grants `get` beyond those (test/security/rbac-usage.test.ts).
const READ = 'list,watch';
const CONFIG = ['ipaddresspools', 'l2advertisements', 'bgpadvertisements', 'bgppeers', 'communities', 'bfdprofiles'].map((r) => `metallb.io/${r}: ${READ}`);

// Secure metrics (the default): each scrape is authenticated and authorised, as upstream's.
const REVIEWS = ['authentication.k8s.io/tokenreviews: create', 'authorization.k8s.io/subjectaccessreviews: create'];

const expected: Record<string, string[]> = {
  'ClusterRole/metallb:controller': [
    `core/services: ${READ}`,
    `core/namespaces: ${READ}`,
    `core/nodes: ${READ}`,
    'core/services/status: update',
    'core/events: create,patch',
    // Cluster-wide, read-only: to warn about config outside the release namespace.
    ...CONFIG,
    // Read-only: to warn that frr-k8s FRRConfiguration objects do not apply.
    `frrk8s.metallb.io/frrconfigurations: ${READ}`,
    ...REVIEWS,
  ],
  'Role/metallb-controller': [
    `core/secrets: ${READ}`,
    'core/pods: get',
    'coordination.k8s.io/leases: create',
    'coordination.k8s.io/leases[metallb-controller]: get,update',
    'metallb.io/ipaddresspools/status: update',
    'metallb.io/configurationstates: create,get',
    'metallb.io/configurationstates/status: patch',
  ],
  'ClusterRole/metallb:speaker': [
    `core/services: ${READ}`,
    `core/namespaces: ${READ}`,
    `core/nodes: ${READ}`,
    `discovery.k8s.io/endpointslices: ${READ}`,
    'core/events: create,patch',
    ...REVIEWS,
  ],
  'Role/metallb-speaker': [
    `core/secrets: ${READ}`,
    'core/pods: get',
    'coordination.k8s.io/leases: create,delete,list,update,watch',
    ...CONFIG,
    ...['servicel2statuses', 'servicebgpstatuses', 'bgpsessionstates'].map((r) => `metallb.io/${r}: create,delete,list,watch`),
    ...['servicel2statuses', 'servicebgpstatuses', 'bgpsessionstates'].map((r) => `metallb.io/${r}/status: update`),
    // ConfigurationState speaker-<node>, as the controller's.
    'metallb.io/configurationstates: create,get',
    'metallb.io/configurationstates/status: patch',
  ],
};

t.test('each role grants exactly the listed rules', async (t) => {
  const docs = await render();
  for (const [key, rules] of Object.entries(expected)) {
    const [kind, name] = key.split('/') as [string, string];
    t.same(flatten(find(docs, kind, name)), [...rules].sort(), key);
  }
  const roles = docs.filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole');
  t.equal(roles.length, Object.keys(expected).length, 'no other roles');
  for (const role of roles) {
    for (const r of at(role, 'rules') as Rule[]) {
      t.notOk([...r.apiGroups, ...r.resources, ...r.verbs].includes('*'), `${role.metadata.name}: no wildcard`);
      if (role.kind === 'ClusterRole') {
        t.notOk(r.resources.includes('secrets'), `${role.metadata.name}: Secrets are namespace-scoped only`);
        t.notOk(r.resources.includes('leases'), `${role.metadata.name}: Leases are namespace-scoped only`);
        // The one cluster-wide metallb.io rule: read-only, to warn about config in other namespaces.
        if (r.apiGroups.includes('metallb.io')) t.same([...r.verbs].sort(), ['list', 'watch'], `${role.metadata.name}: metallb.io cluster-wide is read-only`);
      }
      t.notOk(r.verbs.includes('update') && r.resources.includes('services'), 'nobody updates a Service spec');
    }
  }
});

// docs/chart-reference.md §7 once listed get/patch verbs the chart had long stopped granting:
// each documented row must name exactly the verbs its role grants.
t.test('docs/chart-reference.md §7 lists the verbs each role grants', async (t) => {
  const doc = readFileSync(join(repoRoot, 'docs', 'chart-reference.md'), 'utf8');
  const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
  const rows = new Map<string, string>();
  for (const m of doc.matchAll(/^\| (ClusterRole|Role) `<fullname>([-:])(controller|speaker)` \| (.*) \|$/gm)) {
    rows.set(`${m[1]}/metallb${m[2]}${m[3]}`, m[4] as string);
  }
  t.same([...rows.keys()].sort(), Object.keys(expected).sort(), 'one row per role');
  for (const [key, rules] of Object.entries(expected)) {
    const text = rows.get(key) ?? '';
    const granted = new Set(rules.flatMap((r) => (r.split(': ')[1] as string).split(',')));
    const written = new Set(VERBS.filter((v) => new RegExp(`\\b${v}\\b`).test(text.replace(/`[^`]*`/g, ''))));
    t.same([...written].sort(), [...granted].sort(), `${key}: documented verbs`);
  }
});

t.test('bindings tie each role to its own ServiceAccount', async (t) => {
  const docs = await render();
  for (const component of ['controller', 'speaker']) {
    for (const [kind, name, roleKind] of [
      ['ClusterRoleBinding', `metallb:${component}`, 'ClusterRole'],
      ['RoleBinding', `metallb-${component}`, 'Role'],
    ] as const) {
      const b = find(docs, kind, name);
      t.same(at(b, 'roleRef'), { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name }, `${kind}/${name} roleRef`);
      t.same(at(b, 'subjects'), [{ kind: 'ServiceAccount', name: `metallb-${component}`, namespace: 'metallb-system' }], `${kind}/${name} subjects`);
    }
  }
});

t.test('the controller may renew only its own leader Lease', async (t) => {
  const leaseRules = (docs: K8sObject[]): Rule[] => (at(find(docs, 'Role', 'metallb-controller'), 'rules') as Rule[]).filter((r) => r.resources.includes('leases'));
  t.same(leaseRules(await render()).map((r) => r.resourceNames), [undefined, ['metallb-controller']], 'default lease name');
  const renamed = await render({ set: ['controller.extraArgs={--leader-elect-lease-name=my-lb}'] });
  t.same(leaseRules(renamed).map((r) => r.resourceNames), [undefined, ['my-lb']], 'follows --leader-elect-lease-name in extraArgs');
});

t.test('rbac.create=false renders no RBAC; a disabled component gets none', async (t) => {
  const off = await render({ set: ['rbac.create=false'] });
  t.notOk(off.some((d) => d.kind.startsWith('Role') || d.kind.startsWith('ClusterRole')));
  const noSpeaker = await render({ set: ['speaker.enabled=false'] });
  t.notOk(noSpeaker.some((d) => d.metadata.name.includes('speaker')), 'no speaker objects at all');
});

// The speaker's Lease writes are narrowed per node by an admission policy (docs/security.md;
// enforced against a real apiserver in test/security/speaker-lease-policy.test.ts).
t.test('the speaker Lease policy: rendered where served, bound, naming the right objects', async (t) => {
  const policyOf = (docs: K8sObject[]): K8sObject[] => docs.filter((d) => d.kind.startsWith('ValidatingAdmissionPolicy'));
  const defaults = await render();
  t.same(policyOf(defaults).map((d) => `${d.kind}/${d.metadata.name}`), ['ValidatingAdmissionPolicy/metallb-speaker-leases', 'ValidatingAdmissionPolicyBinding/metallb-speaker-leases'], 'offline render: both objects');
  const policy = find(defaults, 'ValidatingAdmissionPolicy', 'metallb-speaker-leases');
  t.equal(at(policy, 'apiVersion'), 'admissionregistration.k8s.io/v1');
  t.same(at(find(defaults, 'ValidatingAdmissionPolicyBinding', 'metallb-speaker-leases'), 'spec'), { policyName: 'metallb-speaker-leases', validationActions: ['Deny'] });
  t.equal(at(policy, 'spec', 'failurePolicy'), 'Fail');
  t.same(at(policy, 'spec', 'matchConditions', 0, 'expression'), "request.userInfo.username == 'system:serviceaccount:metallb-system:metallb-speaker'");
  t.match(JSON.stringify(at(policy, 'spec', 'validations')), /request\.name != 'metallb-controller'/, 'protects the controller Lease');

  // A live install sees kinds in discovery: the policy follows them.
  const lease = 'coordination.k8s.io/v1/Lease';
  t.same(policyOf(await render({ apiVersions: [lease] })), [], 'discovery without ValidatingAdmissionPolicy: none');
  t.equal(policyOf(await render({ apiVersions: [lease, 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy'] })).length, 2, 'discovery with it: rendered');
  t.same(policyOf(await render({ set: ['speaker.leaseAdmissionPolicy.enabled=false'] })), [], 'disabled by value');

  const renamed = await render({ set: ['controller.extraArgs={--leader-elect-lease-name=my-lb}', 'speaker.serviceAccount.create=false', 'speaker.serviceAccount.name=node-sa'] });
  const p = find(renamed, 'ValidatingAdmissionPolicy', 'metallb-speaker-leases');
  t.same(at(p, 'spec', 'matchConditions', 0, 'expression'), "request.userInfo.username == 'system:serviceaccount:metallb-system:node-sa'", 'follows the speaker ServiceAccount');
  t.match(JSON.stringify(at(p, 'spec', 'validations')), /request\.name != 'my-lb'/, 'follows --leader-elect-lease-name');
});
