/**
 * `helm lint` and `helm template` of charts/metallb-ts: defaults, each upstream MetalLB values
 * file as the values of release `metallb` in `metallb-system`, and every toggle on; structural
 * assertions on what the processes will receive (args, env, capabilities) and on the names,
 * labels and selectors that upstream-based health checks and an in-place upgrade depend on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { CHART_DIR, UPSTREAM_VALUES, at, container, find, helm, inventory, render, withoutCertData, type K8sObject } from '../fixtures/chart/helm';
import { processSpec } from '../fixtures/chart/process';

const chartMeta = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string; version: string };
const IMAGE = `ghcr.io/metallb-ts/metallb-ts:${chartMeta.appVersion}`;
const COMMAND = ['node', '/app/dist/src/cli/main.js'];

function selectorOf(w: K8sObject): Record<string, string> {
  return at(w, 'spec', 'selector', 'matchLabels') as Record<string, string>;
}
function podLabels(w: K8sObject): Record<string, string> {
  return at(w, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
}
function envOf(c: Record<string, unknown>): Array<{ name: string; fieldPath?: string; value?: string }> {
  return ((c['env'] as Array<Record<string, unknown>> | undefined) ?? []).map((e) => {
    const fieldPath = at(e, 'valueFrom', 'fieldRef', 'fieldPath') as string | undefined;
    return fieldPath === undefined ? { name: e['name'] as string, value: e['value'] as string } : { name: e['name'] as string, fieldPath };
  });
}
/** Args the chart passes for secure metrics (the default) with the probes on 17472. */
const SECURE_ARGS = ['--metrics-cert-dir=/etc/metrics', '--secure-metrics', '--health-probe-port=17472'];
const PROBE_17472 = { port: 17472, scheme: 'HTTP' };
const CERT_MOUNT = { name: 'metrics-certs', mountPath: '/etc/metrics', readOnly: true };
const CERT_VOLUME = { name: 'metrics-certs', secret: { secretName: 'metallb-metrics-cert', defaultMode: 420 } };
function isSubset(sub: Record<string, string>, sup: Record<string, string>): boolean {
  return Object.entries(sub).every(([k, v]) => sup[k] === v);
}

t.test('helm lint passes, also with each upstream values file', async (t) => {
  const plain = await helm(['lint', CHART_DIR, '--strict']);
  t.equal(plain.code, 0, plain.stdout + plain.stderr);
  for (const [version, file] of Object.entries(UPSTREAM_VALUES)) {
    const res = await helm(['lint', CHART_DIR, '--strict', '-f', file]);
    t.equal(res.code, 0, `lint with upstream ${version} values: ${res.stdout}${res.stderr}`);
  }
});

t.test('defaults: upstream object names, labels and selectors', async (t) => {
  const docs = await render();
  const nonCrd = inventory(docs.filter((d) => d.kind !== 'CustomResourceDefinition'));
  t.same(nonCrd, [
    'ClusterRole/metallb:controller',
    'ClusterRole/metallb:speaker',
    'ClusterRoleBinding/metallb:controller',
    'ClusterRoleBinding/metallb:speaker',
    'ConfigMap/metallb-excludel2',
    'DaemonSet/metallb-speaker',
    'Deployment/metallb-controller',
    'Role/metallb-controller',
    'Role/metallb-speaker',
    'RoleBinding/metallb-controller',
    'RoleBinding/metallb-speaker',
    'Secret/metallb-metrics-cert',
    'ServiceAccount/metallb-controller',
    'ServiceAccount/metallb-speaker',
    'ValidatingAdmissionPolicy/metallb-speaker-leases',
    'ValidatingAdmissionPolicyBinding/metallb-speaker-leases',
  ]);
  for (const d of docs) {
    const clusterScoped = ['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(d.kind);
    t.equal(d.metadata.namespace, clusterScoped ? undefined : 'metallb-system', `${d.kind}/${d.metadata.name} namespace`);
    t.equal(d.metadata.labels?.['app.kubernetes.io/name'], 'metallb', `${d.kind}/${d.metadata.name} name label`);
    t.equal(d.metadata.labels?.['app.kubernetes.io/instance'], 'metallb', `${d.kind}/${d.metadata.name} instance label`);
    t.equal(d.metadata.labels?.['helm.sh/chart'], `metallb-${chartMeta.version}`);
  }
  // Selectors are immutable: identical to upstream's, or an in-place upgrade from upstream fails.
  const dep = find(docs, 'Deployment', 'metallb-controller');
  const ds = find(docs, 'DaemonSet', 'metallb-speaker');
  t.same(selectorOf(dep), { 'app.kubernetes.io/name': 'metallb', 'app.kubernetes.io/instance': 'metallb', 'app.kubernetes.io/component': 'controller' });
  t.same(selectorOf(ds), { 'app.kubernetes.io/name': 'metallb', 'app.kubernetes.io/instance': 'metallb', 'app.kubernetes.io/component': 'speaker' });
  t.ok(isSubset(selectorOf(dep), podLabels(dep)), 'controller pods match the selector');
  t.ok(isSubset(selectorOf(ds), podLabels(ds)), 'speaker pods match the selector');
  t.equal(dep.metadata.labels?.['app.kubernetes.io/component'], 'controller');
  t.equal(ds.metadata.labels?.['app.kubernetes.io/component'], 'speaker');
});

t.test('defaults: controller Deployment', async (t) => {
  const dep = find(await render(), 'Deployment', 'metallb-controller');
  const pod = at(dep, 'spec', 'template', 'spec') as Record<string, unknown>;
  const c = container(dep, 'controller');
  t.equal(at(dep, 'spec', 'replicas'), 1);
  t.equal(pod['serviceAccountName'], 'metallb-controller');
  t.same(pod['nodeSelector'], { 'kubernetes.io/os': 'linux' });
  t.same(pod['securityContext'], { runAsNonRoot: true, runAsUser: 65534, fsGroup: 65534 });
  t.notOk(pod['hostNetwork'], 'controller is not on the host network');
  t.equal(c['image'], IMAGE);
  t.same(c['command'], COMMAND);
  t.same(c['args'], ['controller', '--port=9120', '--log-level=info', ...SECURE_ARGS]);
  t.same(envOf(c), [
    { name: 'METALLB_NAMESPACE', fieldPath: 'metadata.namespace' },
    { name: 'METALLB_POD_NAME', fieldPath: 'metadata.name' },
    { name: 'NODE_OPTIONS', value: '--max-semi-space-size=4' },
  ]);
  t.same(c['ports'], [{ name: 'metricshttps', containerPort: 9120, protocol: 'TCP' }]);
  t.same(at(c, 'livenessProbe', 'httpGet'), { path: '/healthz', ...PROBE_17472 });
  t.same(at(c, 'readinessProbe', 'httpGet'), { path: '/readyz', ...PROBE_17472 });
  t.same(c['volumeMounts'], [CERT_MOUNT]);
  t.same(pod['volumes'], [CERT_VOLUME]);
  t.same(c['securityContext'], {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  });
});

t.test('defaults: speaker DaemonSet', async (t) => {
  const ds = find(await render(), 'DaemonSet', 'metallb-speaker');
  const pod = at(ds, 'spec', 'template', 'spec') as Record<string, unknown>;
  const c = container(ds, 'speaker');
  t.equal(pod['hostNetwork'], true);
  t.equal(pod['serviceAccountName'], 'metallb-speaker');
  t.same(pod['nodeSelector'], { 'kubernetes.io/os': 'linux' });
  t.same(pod['tolerations'], [
    { key: 'node-role.kubernetes.io/master', effect: 'NoSchedule', operator: 'Exists' },
    { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule', operator: 'Exists' },
  ]);
  t.equal(c['image'], IMAGE);
  t.same(c['command'], COMMAND);
  t.same(c['args'], ['speaker', '--port=9120', '--log-level=info', ...SECURE_ARGS]);
  t.same(envOf(c), [
    { name: 'METALLB_NODE_NAME', fieldPath: 'spec.nodeName' },
    { name: 'METALLB_HOST', fieldPath: 'status.hostIP' },
    { name: 'METALLB_NAMESPACE', fieldPath: 'metadata.namespace' },
    { name: 'METALLB_POD_NAME', fieldPath: 'metadata.name' },
  ]);
  t.same(c['securityContext'], {
    runAsUser: 0,
    runAsNonRoot: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'], add: ['NET_RAW'] },
  });
  t.same(c['ports'], [{ name: 'metricshttps', containerPort: 9120, protocol: 'TCP' }]);
  t.same(at(c, 'livenessProbe', 'httpGet'), { path: '/healthz', ...PROBE_17472 });
  t.same(at(c, 'readinessProbe', 'httpGet'), { path: '/readyz', ...PROBE_17472 });
  t.same(c['volumeMounts'], [{ name: 'metallb-excludel2', mountPath: '/etc/metallb', readOnly: true }, CERT_MOUNT]);
  t.same(pod['volumes'], [{ name: 'metallb-excludel2', configMap: { name: 'metallb-excludel2', defaultMode: 256 } }, CERT_VOLUME]);
  const cm = find(await render(), 'ConfigMap', 'metallb-excludel2');
  const excl = parse(at(cm, 'data', 'excludel2.yaml') as string) as { announcedInterfacesToExclude: string[] };
  t.ok(excl.announcedInterfacesToExclude.includes('^lo$') && excl.announcedInterfacesToExclude.includes('^veth.*'), 'upstream exclusion list');
  t.equal(excl.announcedInterfacesToExclude.length, 14);
});

t.test('upstream values files render exactly what the defaults render (their extra keys are ignored)', async (t) => {
  const defaults = withoutCertData(await render());
  t.same(withoutCertData(await render({ valuesFiles: [UPSTREAM_VALUES['0.16.1']] })), defaults, '0.16.1');
  // 0.13 served metrics on 7472; that port is honoured, nothing else differs.
  t.same(withoutCertData(await render({ valuesFiles: [UPSTREAM_VALUES['0.13.7']] })), withoutCertData(await render({ set: ['prometheus.metricsPort=7472'] })), '0.13.7');
  const old = await render({ valuesFiles: [UPSTREAM_VALUES['0.13.7']] });
  t.same(container(find(old, 'DaemonSet', 'metallb-speaker'), 'speaker')['args'], ['speaker', '--port=7472', '--log-level=info', ...SECURE_ARGS]);
  for (const docs of [defaults, old]) {
    const kinds = new Set(docs.map((d) => d.kind));
    t.notOk(kinds.has('ValidatingWebhookConfiguration'), 'no webhooks');
    t.same(docs.filter((d) => d.kind === 'Secret').map((d) => d.metadata.name), ['metallb-metrics-cert'], 'no webhook cert or memberlist Secret: only the metrics certificate');
    t.notOk(kinds.has('Service'), 'no webhook Service');
  }
});

const ALL_TOGGLES = [
  'loadBalancerClass=example.org/metallb',
  'imagePullSecrets[0].name=regcred',
  'image.pullPolicy=IfNotPresent',
  'tls.minVersion=VersionTLS12',
  'tls.controllerMetricsTLSSecret=controller-metrics-tls',
  'tls.speakerMetricsTLSSecret=speaker-metrics-tls',
  'prometheus.scrapeAnnotations=true',
  'prometheus.serviceAccount=prometheus-k8s',
  'prometheus.namespace=monitoring',
  'prometheus.serviceMonitor.enabled=true',
  'prometheus.serviceMonitor.interval=30s',
  'prometheus.prometheusRule.enabled=true',
  'prometheus.prometheusRule.addressPoolExhausted.excludePools=lab-.*',
  'networkpolicies.enabled=true',
  'networkpolicies.defaultDeny=true',
  'controller.replicas=2',
  'controller.logLevel=debug',
  'controller.priorityClassName=system-cluster-critical',
  'controller.runtimeClassName=runc',
  'controller.podAnnotations.team=net',
  'controller.labels.tier=infra',
  'controller.serviceAccount.annotations.owner=net',
  'controller.extraArgs[0]=--extra-flag=1',
  'controller.resources.limits.memory=200Mi',
  'speaker.logLevel=warn',
  'speaker.ignoreExcludeLB=true',
  'speaker.l2Election.leaseDuration=20s',
  'speaker.l2Election.renewInterval=5s',
  'speaker.l2Election.probeInterval=200ms',
  'speaker.l2Election.probeMisses=4',
  'speaker.l2Announce.garpCount=3',
  'speaker.l2Announce.garpInterval=500ms',
  'speaker.l2Announce.refreshInterval=1m',
  'speaker.tolerations[0].key=dedicated',
  'speaker.tolerations[0].operator=Exists',
  'speaker.nodeSelector.metallb=yes',
  'speaker.priorityClassName=system-node-critical',
  'speaker.podAnnotations.team=net',
];

t.test('every toggle on: args, env, ports and probes follow the values', async (t) => {
  const docs = await render({ set: ALL_TOGGLES });
  const dep = find(docs, 'Deployment', 'metallb-controller');
  const ds = find(docs, 'DaemonSet', 'metallb-speaker');
  const cc = container(dep, 'controller');
  const sc = container(ds, 'speaker');
  t.equal(at(dep, 'spec', 'replicas'), 2);
  t.same(cc['args'], [
    'controller',
    '--port=9120',
    '--log-level=debug',
    '--lb-class=example.org/metallb',
    '--leader-elect',
    '--metrics-cert-dir=/etc/metrics',
    '--secure-metrics',
    '--tls-min-version=VersionTLS12',
    '--health-probe-port=17472',
    '--extra-flag=1',
  ]);
  t.same(sc['args'], [
    'speaker',
    '--port=9120',
    '--log-level=warn',
    '--lb-class=example.org/metallb',
    '--ignore-exclude-lb',
    '--l2-lease-duration=20s',
    '--l2-renew-interval=5s',
    '--l2-probe-interval=200ms',
    '--l2-probe-misses=4',
    '--l2-garp-count=3',
    '--l2-garp-interval=500ms',
    '--l2-refresh-interval=1m',
    '--metrics-cert-dir=/etc/metrics',
    '--secure-metrics',
    '--tls-min-version=VersionTLS12',
    '--health-probe-port=17472',
  ]);
  for (const [w, c, secret] of [
    [dep, cc, 'controller-metrics-tls'],
    [ds, sc, 'speaker-metrics-tls'],
  ] as const) {
    t.equal(c['imagePullPolicy'], 'IfNotPresent');
    t.same(c['ports'], [{ name: 'metricshttps', containerPort: 9120, protocol: 'TCP' }], 'TLS metrics keep upstream 0.14+ port name');
    t.same(at(c, 'readinessProbe', 'httpGet'), { path: '/readyz', ...PROBE_17472 });
    const vols = at(w, 'spec', 'template', 'spec', 'volumes') as Array<Record<string, unknown>>;
    t.ok(vols.some((v) => at(v, 'secret', 'secretName') === secret), `${secret} mounted`);
    t.same(at(w, 'spec', 'template', 'spec', 'imagePullSecrets'), [{ name: 'regcred' }]);
    t.same(at(w, 'spec', 'template', 'metadata', 'annotations'), {
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9120',
      'prometheus.io/scheme': 'https',
      team: 'net',
    });
  }
  t.equal(at(dep, 'spec', 'template', 'spec', 'priorityClassName'), 'system-cluster-critical');
  t.equal(at(dep, 'spec', 'template', 'spec', 'runtimeClassName'), 'runc');
  t.equal(podLabels(dep)['tier'], 'infra');
  t.same(at(cc, 'resources'), { limits: { memory: '200Mi' } });
  t.equal(find(docs, 'ServiceAccount', 'metallb-controller').metadata.annotations?.['owner'], 'net');
  const tol = at(ds, 'spec', 'template', 'spec', 'tolerations') as Array<Record<string, unknown>>;
  t.same(tol.map((x) => x['key']), ['node-role.kubernetes.io/master', 'node-role.kubernetes.io/control-plane', 'dedicated'], 'tolerateMaster first, then user tolerations');
  t.same(at(ds, 'spec', 'template', 'spec', 'nodeSelector'), { 'kubernetes.io/os': 'linux', metallb: 'yes' });
  t.same(sc['securityContext'], {
    runAsUser: 0,
    runAsNonRoot: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'], add: ['NET_RAW'] },
  }, 'toggles never widen the speaker capabilities');
});

t.test('every toggle on: monitoring objects and network policies', async (t) => {
  const docs = await render({ set: ALL_TOGGLES });
  for (const component of ['controller', 'speaker'] as const) {
    const sm = find(docs, 'ServiceMonitor', `metallb-${component}-monitor`);
    const svc = find(docs, 'Service', `metallb-${component}-monitor-service`);
    const workload = component === 'controller' ? find(docs, 'Deployment', 'metallb-controller') : find(docs, 'DaemonSet', 'metallb-speaker');
    t.same(at(sm, 'spec', 'selector', 'matchLabels'), { name: `metallb-${component}-monitor-service` });
    t.ok(isSubset(at(sm, 'spec', 'selector', 'matchLabels') as Record<string, string>, svc.metadata.labels ?? {}), 'monitor selects the Service');
    t.ok(isSubset(at(svc, 'spec', 'selector') as Record<string, string>, podLabels(workload)), 'Service selects the pods');
    t.equal(at(svc, 'spec', 'clusterIP'), 'None');
    t.same(at(svc, 'spec', 'ports'), [{ name: 'metricshttps', port: 9120, targetPort: 9120, protocol: 'TCP' }]);
    t.same(at(sm, 'spec', 'endpoints', 0), {
      port: 'metricshttps',
      path: '/metrics',
      honorLabels: true,
      scheme: 'https',
      bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      interval: '30s',
      tlsConfig: { insecureSkipVerify: true },
    });
    t.same(at(sm, 'spec', 'namespaceSelector'), { matchNames: ['metallb-system'] });
    t.equal(at(sm, 'spec', 'jobLabel'), 'app.kubernetes.io/name');
  }
  const promRole = find(docs, 'RoleBinding', 'metallb-prometheus');
  t.same(at(promRole, 'subjects'), [{ kind: 'ServiceAccount', name: 'prometheus-k8s', namespace: 'monitoring' }]);
  t.same(at(find(docs, 'ClusterRole', 'metallb:prometheus-metrics'), 'rules'), [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }], 'Prometheus may get /metrics (the SubjectAccessReview asks that)');
  t.same(at(find(docs, 'ClusterRoleBinding', 'metallb:prometheus-metrics'), 'subjects'), [{ kind: 'ServiceAccount', name: 'prometheus-k8s', namespace: 'monitoring' }]);
  t.notOk(docs.some((d) => d.kind === 'Secret'), 'both components name their TLS Secret: none is generated');

  const rule = find(docs, 'PrometheusRule', 'metallb');
  const group = at(rule, 'spec', 'groups', 0) as { name: string; rules: Array<{ alert: string; expr: string; for?: string; labels?: Record<string, string> }> };
  t.equal(group.name, 'metallb.rules');
  t.same(group.rules.map((r) => r.alert), [
    'MetalLBStaleConfig',
    'MetalLBConfigNotLoaded',
    'MetalLBAddressPoolExhausted',
    'MetalLBAddressPoolUsage75Percent',
    'MetalLBAddressPoolUsage85Percent',
    'MetalLBAddressPoolUsage95Percent',
    'MetalLBBGPSessionDown',
  ]);
  const byName = new Map(group.rules.map((r) => [r.alert, r]));
  t.equal(byName.get('MetalLBStaleConfig')?.expr, 'metallb_k8s_client_config_stale_bool{job=~"metallb.*"} == 1');
  t.equal(byName.get('MetalLBConfigNotLoaded')?.expr, 'metallb_k8s_client_config_loaded_bool{job=~"metallb.*"} == 0');
  t.equal(byName.get('MetalLBAddressPoolExhausted')?.expr, 'metallb_allocator_addresses_in_use_total{pool!~"lab-.*"} >= on(pool) metallb_allocator_addresses_total');
  t.equal(byName.get('MetalLBAddressPoolUsage85Percent')?.expr, '( metallb_allocator_addresses_in_use_total / on(pool) metallb_allocator_addresses_total ) * 100 > 85');
  t.equal(byName.get('MetalLBBGPSessionDown')?.expr, 'metallb_bgp_session_up{job=~"metallb.*"} == 0');
  t.same(byName.get('MetalLBBGPSessionDown')?.labels, { severity: 'critical' });
  t.equal(byName.get('MetalLBStaleConfig')?.for, '1m');
  t.equal(byName.get('MetalLBAddressPoolUsage95Percent')?.for, undefined, 'usage alerts fire without a for, as upstream');

  const deny = find(docs, 'NetworkPolicy', 'default-deny');
  t.same(at(deny, 'spec'), { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  const np = find(docs, 'NetworkPolicy', 'controller');
  t.ok(isSubset(at(np, 'spec', 'podSelector', 'matchLabels') as Record<string, string>, podLabels(find(docs, 'Deployment', 'metallb-controller'))));
  t.same(at(np, 'spec', 'egress'), [{ ports: [{ protocol: 'TCP', port: 6443 }] }]);
  t.same(at(np, 'spec', 'ingress'), [{ ports: [{ protocol: 'TCP', port: 9120 }, { protocol: 'TCP', port: 17472 }] }], 'metrics and probe ports');
});

t.test('podMonitor instead of serviceMonitor; upstream 0.13 alert labels pass through', async (t) => {
  const docs = await render({
    valuesFiles: [UPSTREAM_VALUES['0.13.7']],
    set: ['prometheus.podMonitor.enabled=true', 'prometheus.prometheusRule.enabled=true', 'prometheus.serviceAccount=prom', 'prometheus.namespace=monitoring'],
  });
  for (const component of ['controller', 'speaker']) {
    const pm = find(docs, 'PodMonitor', `metallb-${component}`);
    t.same(at(pm, 'spec', 'selector', 'matchLabels'), {
      'app.kubernetes.io/name': 'metallb',
      'app.kubernetes.io/instance': 'metallb',
      'app.kubernetes.io/component': component,
    });
    t.same(at(pm, 'spec', 'podMetricsEndpoints'), [{ port: 'metricshttps', path: '/metrics', honorLabels: true, scheme: 'https', tlsConfig: { insecureSkipVerify: true } }]);
  }
  t.notOk(docs.some((d) => d.kind === 'ServiceMonitor'));
  const rules = at(find(docs, 'PrometheusRule', 'metallb'), 'spec', 'groups', 0, 'rules') as Array<{ alert: string; labels: Record<string, string> }>;
  t.same(rules.find((r) => r.alert === 'MetalLBBGPSessionDown')?.labels, { severity: 'alert' }, "0.13.7's severity: alert is kept");
});

t.test('leader election follows replicas unless forced', async (t) => {
  const args = async (set: string[]): Promise<unknown> => container(find(await render({ set }), 'Deployment', 'metallb-controller'), 'controller')['args'];
  t.notOk((await args([])) instanceof Array && (await args([]) as string[]).includes('--leader-elect'));
  t.ok((await args(['controller.replicas=2']) as string[]).includes('--leader-elect'));
  t.ok((await args(['controller.leaderElection.enabled=true']) as string[]).includes('--leader-elect'));
  t.notOk((await args(['controller.replicas=3', 'controller.leaderElection.enabled=false']) as string[]).includes('--leader-elect'));
});

t.test('images: upstream MetalLB images give way to ours, other repositories are honoured', async (t) => {
  const image = async (set: string[], kind = 'Deployment', name = 'metallb-controller', c = 'controller'): Promise<unknown> =>
    container(find(await render({ set }), kind, name), c)['image'];
  t.equal(await image(['controller.image.repository=quay.io/metallb/controller', 'controller.image.tag=v0.14.8']), IMAGE);
  t.equal(await image(['speaker.image.repository=registry.local/mirror/metallb/speaker', 'speaker.image.tag=v0.14.8'], 'DaemonSet', 'metallb-speaker', 'speaker'), IMAGE);
  t.equal(await image(['controller.image.repository=registry.local/metallb-ts', 'controller.image.tag=1.2.3']), 'registry.local/metallb-ts:1.2.3');
  t.equal(await image(['image.repository=registry.local/mlb', 'image.tag=9.9.9']), 'registry.local/mlb:9.9.9');
});

t.test('names follow the release like upstream: fullname, overrides, service accounts', async (t) => {
  const other = inventory(await render({ release: 'lb', namespace: 'net' })).filter((n) => !n.startsWith('CustomResourceDefinition/'));
  t.ok(other.includes('Deployment/lb-metallb-controller') && other.includes('DaemonSet/lb-metallb-speaker') && other.includes('ClusterRole/lb-metallb:speaker'), other.join(' '));
  const contains = inventory(await render({ release: 'metallb-prod' }));
  t.ok(contains.includes('Deployment/metallb-prod-controller'), 'a release name containing "metallb" is used as is');
  const fo = await render({ set: ['fullnameOverride=edge', 'speaker.serviceAccount.create=false', 'speaker.serviceAccount.name=node-sa'] });
  t.ok(inventory(fo).includes('Deployment/edge-controller'));
  t.equal(at(find(fo, 'DaemonSet', 'edge-speaker'), 'spec', 'template', 'spec', 'serviceAccountName'), 'node-sa');
  t.notOk(inventory(fo).includes('ServiceAccount/edge-speaker'), 'no ServiceAccount created when create=false');
  t.same(at(find(fo, 'ClusterRoleBinding', 'edge:speaker'), 'subjects'), [{ kind: 'ServiceAccount', name: 'node-sa', namespace: 'metallb-system' }]);
  const renamed = await render({ set: ['nameOverride=edge', 'controller.enabled=false', 'speaker.excludeInterfaces.enabled=false', 'crds.enabled=false'] });
  t.same(inventory(renamed), [
    'ClusterRole/metallb-edge:speaker',
    'ClusterRoleBinding/metallb-edge:speaker',
    'DaemonSet/metallb-edge-speaker',
    'Role/metallb-edge-speaker',
    'RoleBinding/metallb-edge-speaker',
    'Secret/metallb-edge-metrics-cert',
    'ServiceAccount/metallb-edge-speaker',
    'ValidatingAdmissionPolicy/metallb-edge-speaker-leases',
    'ValidatingAdmissionPolicyBinding/metallb-edge-speaker-leases',
  ]);
  t.equal(selectorOf(find(renamed, 'DaemonSet', 'metallb-edge-speaker'))['app.kubernetes.io/name'], 'edge', 'nameOverride changes the name label');
});

t.test('processSpec: the speaker as a kubelet would start it', async (t) => {
  const ds = find(await render({ set: ['speaker.l2Election.probeInterval=200ms', 'speaker.excludeInterfaces.enabled=true'] }), 'DaemonSet', 'metallb-speaker');
  const spec = processSpec(ds, 'speaker', { namespace: 'metallb-system', podName: 'metallb-speaker-x1', nodeName: 'node-a', hostIP: '10.77.0.11' }, '/tmp/root/app');
  t.same(spec.argv, ['node', '/tmp/root/app/dist/src/cli/main.js', 'speaker', '--port=9120', '--log-level=info', '--l2-probe-interval=200ms', ...SECURE_ARGS]);
  t.same(spec.env, { METALLB_NODE_NAME: 'node-a', METALLB_HOST: '10.77.0.11', METALLB_NAMESPACE: 'metallb-system', METALLB_POD_NAME: 'metallb-speaker-x1' });
  t.same(spec.mounts, [{ mountPath: '/etc/metallb', configMap: 'metallb-excludel2' }, { mountPath: '/etc/metrics', secret: 'metallb-metrics-cert' }]);
  t.throws(() => processSpec(ds, 'speaker', { namespace: 'metallb-system', podName: 'p' }), /fieldRef spec\.nodeName/);
});

t.test('prometheus.secureMetrics=false: plain HTTP on the port named monitoring, as before', async (t) => {
  const docs = await render({ set: ['prometheus.secureMetrics=false', 'controller.livenessProbe.port=9120', 'controller.readinessProbe.port=9120', 'speaker.livenessProbe.port=9120', 'speaker.readinessProbe.port=9120'] });
  for (const [kind, name, component] of [['Deployment', 'metallb-controller', 'controller'], ['DaemonSet', 'metallb-speaker', 'speaker']] as const) {
    const c = container(find(docs, kind, name), component);
    t.same(c['args'], [component, '--port=9120', '--log-level=info']);
    t.same(c['ports'], [{ name: 'monitoring', containerPort: 9120, protocol: 'TCP' }]);
    t.same(at(c, 'livenessProbe', 'httpGet'), { path: '/healthz', port: 'monitoring', scheme: 'HTTP' });
    t.same(at(c, 'readinessProbe', 'httpGet'), { path: '/readyz', port: 'monitoring', scheme: 'HTTP' });
  }
  t.notOk(docs.some((d) => d.kind === 'Secret'), 'no certificate');
  const rules = docs.filter((d) => d.kind === 'ClusterRole').flatMap((d) => at(d, 'rules') as Array<{ resources?: string[] }>);
  t.notOk(rules.some((r) => r.resources?.includes('tokenreviews') || r.resources?.includes('subjectaccessreviews')), 'no review rules');
  // With the default probe port the probes move to 17472, still plain HTTP.
  const split = container(find(await render({ set: ['prometheus.secureMetrics=false'] }), 'Deployment', 'metallb-controller'), 'controller');
  t.same(split['args'], ['controller', '--port=9120', '--log-level=info', '--health-probe-port=17472']);
  t.same(at(split, 'livenessProbe', 'httpGet'), { path: '/healthz', ...PROBE_17472 });
  // A ServiceMonitor scrapes plain HTTP without a token.
  const sm = find(await render({ set: ['prometheus.secureMetrics=false', 'prometheus.serviceMonitor.enabled=true', 'prometheus.serviceAccount=p', 'prometheus.namespace=m'] }), 'ServiceMonitor', 'metallb-controller-monitor');
  t.same(at(sm, 'spec', 'endpoints', 0), { port: 'monitoring', path: '/metrics', honorLabels: true, scheme: 'http' });
});

t.test('secure metrics with the probes on the metrics port: HTTPS probes, no separate port', async (t) => {
  const c = container(find(await render({ set: ['controller.livenessProbe.port=9120', 'controller.readinessProbe.port=9120'] }), 'Deployment', 'metallb-controller'), 'controller');
  t.same(c['args'], ['controller', '--port=9120', '--log-level=info', '--metrics-cert-dir=/etc/metrics', '--secure-metrics']);
  t.same(at(c, 'readinessProbe', 'httpGet'), { path: '/readyz', port: 'metricshttps', scheme: 'HTTPS' });
});
