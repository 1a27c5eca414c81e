/**
 * The chart against a real kube-apiserver (test/harness): every rendered object passes strict
 * server-side validation, `helm install` with a full upstream values file creates upstream's
 * object names, the ServiceAccounts get exactly their RBAC (allowed and denied calls, judged by
 * the apiserver's own authorizer), `helm upgrade` adds and removes toggled objects, and
 * `helm uninstall` leaves nothing behind but the CRDs (kept on purpose, as Helm keeps crds/).
 * Running the controller and speakers from the installed manifests: test/install/.
 */
import { join } from 'node:path';
import t from 'tap';
import { startControlPlane, type ControlPlane } from '../harness/apiserver';
import { repoRoot } from '../harness/tools';
import { CHART_DIR, UPSTREAM_VALUES, parseDocs, template, valueArgs } from '../fixtures/chart/helm';

const NS = 'metallb-system';
const CONTROLLER = `system:serviceaccount:${NS}:metallb-controller`;
const SPEAKER = `system:serviceaccount:${NS}:metallb-speaker`;

/**
 * Stand-ins for the Prometheus Operator CRDs, so the monitoring toggles can be installed. They
 * accept any spec: these objects are checked structurally by render.test.ts, not here.
 */
function operatorCrd(kind: string, plural: string): string {
  return JSON.stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  });
}

const TOGGLES = [
  'prometheus.serviceMonitor.enabled=true',
  'prometheus.prometheusRule.enabled=true',
  'prometheus.serviceAccount=prometheus',
  'prometheus.namespace=monitoring',
  'prometheus.scrapeAnnotations=true',
  'tls.controllerMetricsTLSSecret=controller-tls',
  'tls.speakerMetricsTLSSecret=speaker-tls',
  'networkpolicies.enabled=true',
  'networkpolicies.defaultDeny=true',
  'controller.replicas=2',
  'loadBalancerClass=example.org/lb',
  'speaker.ignoreExcludeLB=true',
  'speaker.l2Election.leaseDuration=20s',
  'speaker.l2Announce.garpCount=3',
];

/** Namespaced kinds the chart can create, for the orphan check. */
const NAMESPACED = 'deployments,daemonsets,services,configmaps,secrets,serviceaccounts,roles,rolebindings,networkpolicies,servicemonitors,podmonitors,prometheusrules,leases';

async function ok(cp: ControlPlane, args: string[], input?: string): Promise<string> {
  const res = await (args[0] === 'helm' ? cp.helm(args.slice(1)) : cp.kubectl(args, input === undefined ? undefined : { input }));
  if (res.code !== 0) throw new Error(`${args.join(' ')} failed (${res.code}): ${res.stderr}`);
  return res.stdout;
}

async function names(cp: ControlPlane, kinds: string, extra: string[]): Promise<string[]> {
  const out = await ok(cp, ['get', kinds, ...extra, '-o', 'name']);
  return out.split('\n').filter((l) => l.length > 0).sort();
}

async function canI(cp: ControlPlane, as: string, verb: string, resource: string, namespace?: string): Promise<boolean> {
  // "resource/subresource" or "resource:name"
  const [typed, name] = resource.split(':');
  const [res0, sub] = (typed as string).split('/');
  const args = ['auth', 'can-i', verb, name ? `${res0}/${name}` : (res0 as string), ...(sub ? [`--subresource=${sub}`] : []), `--as=${as}`, ...(namespace ? ['-n', namespace] : ['--all-namespaces'])];
  const res = await cp.kubectl(args);
  return res.stdout.trim() === 'yes';
}

t.test('chart on a real apiserver', async (t) => {
  const cp = await startControlPlane(t);
  await ok(cp, ['apply', '-f', '-'], [operatorCrd('ServiceMonitor', 'servicemonitors'), operatorCrd('PodMonitor', 'podmonitors'), operatorCrd('PrometheusRule', 'prometheusrules')].join('\n---\n'));
  await ok(cp, ['create', 'namespace', NS]);
  await ok(cp, ['create', 'namespace', 'monitoring']);

  await t.test('every rendered object passes strict server-side validation', async (t) => {
    for (const [label, opts] of [
      ['defaults', {}],
      ['upstream 0.16.1', { valuesFiles: [UPSTREAM_VALUES['0.16.1']] }],
      ['upstream 0.13.7', { valuesFiles: [UPSTREAM_VALUES['0.13.7']] }],
      ['every toggle', { set: TOGGLES }],
      ['podMonitor', { set: ['prometheus.podMonitor.enabled=true', 'prometheus.serviceAccount=p', 'prometheus.namespace=monitoring'] }],
    ] as const) {
      const rendered = await template(opts);
      t.equal(rendered.code, 0, `${label}: rendered`);
      const docs = parseDocs(rendered.stdout);
      const res = await cp.kubectl(['apply', '--server-side', '--dry-run=server', '--validate=strict', '--field-manager=test', '-f', '-'], {
        input: docs.map((d) => JSON.stringify(d)).join('\n---\n'),
      });
      t.equal(res.code, 0, `${label}: ${res.stderr}`);
      t.equal(res.stdout.split('\n').filter((l) => l.includes('(server dry run)')).length, docs.length, `${label}: all ${docs.length} objects accepted`);
    }
    t.same(await names(cp, 'crd', ['-l', 'app.kubernetes.io/instance=metallb']), [], 'a dry run creates nothing');
  });

  await t.test('helm install with a full upstream values file', async (t) => {
    await ok(cp, ['helm', 'install', 'metallb', CHART_DIR, '-n', NS, ...valueArgs({ valuesFiles: [UPSTREAM_VALUES['0.16.1']] })]);
    t.same(await names(cp, 'deployments,daemonsets,serviceaccounts,configmaps', ['-n', NS]), [
      'configmap/metallb-excludel2',
      'daemonset.apps/metallb-speaker',
      'deployment.apps/metallb-controller',
      'serviceaccount/metallb-controller',
      'serviceaccount/metallb-speaker',
    ]);
    const crds = await names(cp, 'crd', ['-l', 'app.kubernetes.io/instance=metallb']);
    t.ok(crds.length >= 1 && crds.every((c) => c.endsWith('.metallb.io')), `CRDs installed: ${crds.join(' ')}`);
    const status = await ok(cp, ['helm', 'status', 'metallb', '-n', NS]);
    t.match(status, /STATUS: deployed/);
  });

  await t.test('RBAC as enforced by the apiserver', async (t) => {
    const table: Array<[string, string, string, string | undefined, boolean]> = [
      [CONTROLLER, 'list', 'services', undefined, true],
      [CONTROLLER, 'update', 'services/status', undefined, true],
      [CONTROLLER, 'update', 'services', undefined, false],
      [CONTROLLER, 'create', 'events', 'default', true],
      [CONTROLLER, 'watch', 'ipaddresspools.metallb.io', NS, true],
      [CONTROLLER, 'update', 'ipaddresspools.metallb.io/status', NS, true],
      [CONTROLLER, 'update', 'ipaddresspools.metallb.io', NS, false],
      [CONTROLLER, 'list', 'ipaddresspools.metallb.io', 'default', true],
      [CONTROLLER, 'get', 'ipaddresspools.metallb.io', 'default', false],
      [CONTROLLER, 'update', 'ipaddresspools.metallb.io', 'default', false],
      [CONTROLLER, 'update', 'leases.coordination.k8s.io:metallb-controller', NS, true],
      [CONTROLLER, 'create', 'leases.coordination.k8s.io', NS, true],
      [CONTROLLER, 'update', 'leases.coordination.k8s.io:metallb-vip-10-77-0-100', NS, false],
      [CONTROLLER, 'list', 'leases.coordination.k8s.io', NS, false],
      [CONTROLLER, 'get', 'leases.coordination.k8s.io', 'kube-system', false],
      [CONTROLLER, 'list', 'secrets', NS, true],
      [CONTROLLER, 'get', 'secrets', NS, false],
      [CONTROLLER, 'get', 'secrets', 'default', false],
      [CONTROLLER, 'create', 'configurationstates.metallb.io', NS, true],
      [CONTROLLER, 'list', 'endpointslices.discovery.k8s.io', undefined, false],
      [CONTROLLER, 'delete', 'nodes', undefined, false],
      [SPEAKER, 'watch', 'endpointslices.discovery.k8s.io', undefined, true],
      [SPEAKER, 'watch', 'nodes', undefined, true],
      [SPEAKER, 'update', 'services/status', undefined, false],
      [SPEAKER, 'create', 'leases.coordination.k8s.io', NS, true],
      [SPEAKER, 'delete', 'leases.coordination.k8s.io', NS, true],
      [SPEAKER, 'create', 'servicel2statuses.metallb.io', NS, true],
      [SPEAKER, 'update', 'servicebgpstatuses.metallb.io/status', NS, true],
      [SPEAKER, 'patch', 'servicebgpstatuses.metallb.io/status', NS, false],
      [SPEAKER, 'create', 'bgpsessionstates.metallb.io', NS, true],
      [SPEAKER, 'update', 'bgpsessionstates.metallb.io/status', NS, true],
      [SPEAKER, 'create', 'configurationstates.metallb.io', NS, true],
      [SPEAKER, 'update', 'configurationstates.metallb.io', NS, false],
      [SPEAKER, 'get', 'pods', NS, true],
      [SPEAKER, 'create', 'ipaddresspools.metallb.io', NS, false],
      [SPEAKER, 'list', 'secrets', 'kube-system', false],
      [SPEAKER, 'create', 'pods', NS, false],
    ];
    for (const [as, verb, resource, ns, want] of table) {
      t.equal(await canI(cp, as, verb, resource, ns), want, `${as.split(':').pop()} ${want ? 'may' : 'may not'} ${verb} ${resource}${ns ? ` in ${ns}` : ''}`);
    }
    // And with the ServiceAccounts' own tokens, as the processes will call.
    const speaker = await cp.clientFor(NS, 'metallb-speaker');
    // `kubectl get <collection>` is a list, which the speaker's Lease informer does.
    const allowed = await cp.kubectl(['--kubeconfig', speaker.kubeconfigPath, 'get', 'leases', '-n', NS]);
    t.equal(allowed.code, 0, allowed.stderr);
    const denied = await cp.kubectl(['--kubeconfig', speaker.kubeconfigPath, 'get', 'secrets', '-n', 'default']);
    t.not(denied.code, 0);
    t.match(denied.stderr, /forbidden/i);
  });

  await t.test('upstream-style config objects are accepted by the installed CRDs', async (t) => {
    const dir = join(repoRoot, 'docs', 'examples', 'flux', 'infrastructure', 'metallb-config');
    const res = await cp.kubectl(['apply', '--server-side', '-k', dir]);
    t.equal(res.code, 0, res.stderr);
    t.same(await names(cp, 'ipaddresspools.metallb.io,l2advertisements.metallb.io', ['-n', NS]), [
      'ipaddresspool.metallb.io/lan',
      'l2advertisement.metallb.io/lan',
    ]);
  });

  await t.test('helm upgrade adds and removes toggled objects', async (t) => {
    const extra = (docs: string[]): string[] => docs.filter((n) => /servicemonitor|prometheusrule|networkpolic|service\/|role.*prometheus/.test(n));
    const certOf = (): Promise<string> => ok(cp, ['get', 'secret', 'metallb-metrics-cert', '-n', NS, '-o', 'jsonpath={.data.tls\\.crt}']);
    const cert = await certOf();
    t.ok(cert.length > 100, 'the generated metrics certificate is installed');
    await ok(cp, ['helm', 'upgrade', 'metallb', CHART_DIR, '-n', NS, ...valueArgs({ valuesFiles: [UPSTREAM_VALUES['0.16.1']], set: ['speaker.logLevel=debug'] })]);
    t.equal(await certOf(), cert, 'upgrades keep the generated metrics certificate (lookup)');
    await ok(cp, ['helm', 'upgrade', 'metallb', CHART_DIR, '-n', NS, ...valueArgs({ valuesFiles: [UPSTREAM_VALUES['0.16.1']], set: TOGGLES })]);
    const on = await names(cp, NAMESPACED, ['-n', NS, '-l', 'app.kubernetes.io/instance=metallb']);
    t.same(extra(on), [
      'networkpolicy.networking.k8s.io/controller',
      'networkpolicy.networking.k8s.io/default-deny',
      'prometheusrule.monitoring.coreos.com/metallb',
      'role.rbac.authorization.k8s.io/metallb-prometheus',
      'rolebinding.rbac.authorization.k8s.io/metallb-prometheus',
      'service/metallb-controller-monitor-service',
      'service/metallb-speaker-monitor-service',
      'servicemonitor.monitoring.coreos.com/metallb-controller-monitor',
      'servicemonitor.monitoring.coreos.com/metallb-speaker-monitor',
    ]);
    const args = await ok(cp, ['get', 'deployment', 'metallb-controller', '-n', NS, '-o', 'jsonpath={.spec.replicas} {.spec.template.spec.containers[0].args}']);
    t.match(args, /^2 /);
    t.match(args, /--leader-elect/);
    await ok(cp, ['helm', 'upgrade', 'metallb', CHART_DIR, '-n', NS, ...valueArgs({ valuesFiles: [UPSTREAM_VALUES['0.16.1']] })]);
    const off = await names(cp, NAMESPACED, ['-n', NS]);
    t.same(extra(off), [], 'toggled objects removed again');
    t.same(await names(cp, 'networkpolicies', ['-n', NS]), []);
  });

  await t.test('helm uninstall leaves only the CRDs (and the user config in them)', async (t) => {
    await ok(cp, ['helm', 'uninstall', 'metallb', '-n', NS]);
    t.same(await names(cp, NAMESPACED, ['-n', NS]), [], `nothing left in ${NS}`);
    t.same(await names(cp, 'clusterroles,clusterrolebindings', ['-l', 'app.kubernetes.io/instance=metallb']), [], 'no cluster RBAC left');
    const all = await names(cp, 'clusterroles,clusterrolebindings', []);
    t.notOk(all.some((n) => n.includes('metallb')), 'no metallb cluster roles under any label');
    const crds = await names(cp, 'crd', ['-l', 'app.kubernetes.io/instance=metallb']);
    t.ok(crds.length >= 1, 'CRDs kept (helm.sh/resource-policy: keep)');
    t.same(await names(cp, 'ipaddresspools.metallb.io', ['-n', NS]), ['ipaddresspool.metallb.io/lan'], 'pools survive an uninstall');
    const again = await cp.helm(['install', 'metallb', CHART_DIR, '-n', NS]);
    t.equal(again.code, 0, `reinstall over the kept CRDs: ${again.stderr}`);
    await ok(cp, ['helm', 'uninstall', 'metallb', '-n', NS]);
  });
});
