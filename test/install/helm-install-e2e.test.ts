/**
 * The install story end to end (docs/install.md): `helm install metallb charts/metallb-ts -n
 * metallb-system` with upstream MetalLB 0.16.1's values file, every installed object valid on the
 * server, then the controller and a speaker per lab node started with exactly the argv, env,
 * securityContext and volumes the installed Deployment and DaemonSet give them, authenticated
 * in-cluster style with their own ServiceAccounts' tokens. A pool and an L2Advertisement later, a
 * LoadBalancer Service gets an IP and the lab client resolves it to exactly one node's MAC. RBAC is
 * then checked from the other side: with the same tokens, calls outside the chart's rules are
 * denied, and no process met a 403 during the run (its logs, and the apiserver's own request
 * counters).
 */
import t from 'tap';
import { parseApiRequestTotals } from '../harness/cluster';
import { waitFor } from '../harness/lab';
import { UPSTREAM_VALUES, parseDocs } from '../fixtures/chart/helm';
import { installRelease, NAMESPACE, RELEASE, type Credentials } from '../fixtures/chart/installed';
import { assertNoForbidden, createWebService, forbiddenCount, kubectlAs, leaseManifest, macsAnswering, L2_CONFIG } from '../fixtures/chart/install-checks';
import { presenceLeaseName, vipLeaseName } from '../../src/speaker/lease-store';

t.test('helm install with upstream 0.16.1 values, then the rendered processes end to end', async (t) => {
  const inst = await installRelease(t, { nodes: 2, valuesFiles: [UPSTREAM_VALUES['0.16.1']] });
  const { cp, lab } = inst;

  await t.test('every installed object passes strict server-side validation and exists', async (t) => {
    const manifest = await cp.helm(['get', 'manifest', RELEASE, '-n', NAMESPACE]);
    t.equal(manifest.code, 0, manifest.stderr);
    const docs = parseDocs(manifest.stdout);
    t.ok(docs.length >= 10, `${docs.length} objects in the release`);
    const dry = await cp.kubectl(['apply', '--server-side', '--dry-run=server', '--validate=strict', '--force-conflicts', '--field-manager=helm', '-f', '-'], {
      input: docs.map((d) => JSON.stringify(d)).join('\n---\n'),
    });
    t.equal(dry.code, 0, dry.stderr);
    for (const d of docs) {
      const ns = d.kind.startsWith('Cluster') || d.kind === 'CustomResourceDefinition' ? [] : ['-n', NAMESPACE];
      const got = await cp.kubectl(['get', `${d.kind}.${d.apiVersion.includes('/') ? d.apiVersion.split('/')[0] : ''}`.replace(/\.$/, ''), d.metadata.name, ...ns, '-o', 'name']);
      t.equal(got.code, 0, `${d.kind}/${d.metadata.name} exists: ${got.stderr}`);
    }
  });

  await t.test('the processes run as the manifests say', async (t) => {
    const controller = await inst.startController();
    t.same(
      controller.spec.argv.slice(2),
      ['controller', '--port=9120', '--log-level=info', '--metrics-cert-dir=/etc/metrics', '--secure-metrics', '--health-probe-port=17472'],
      'controller args from the Deployment (upstream values: port 9120, level info, secure metrics, probes on 17472)',
    );
    t.match(controller.confinement, { uid: 65534, capabilities: [], readOnlyRoot: true, noNewPrivs: true }, 'controller: non-root, no capabilities');
    for (let i = 0; i < lab.nodes.length; i++) {
      const s = await inst.startSpeaker(i);
      t.match(s.confinement, { uid: 0, capabilities: ['net_raw'], readOnlyRoot: true, noNewPrivs: true }, `speaker ${i}: root with NET_RAW only`);
      t.equal(s.spec.env['METALLB_NODE_NAME'], lab.nodes[i]?.name, 'node name from spec.nodeName');
      t.same(s.spec.mounts, [{ mountPath: '/etc/metallb', configMap: 'metallb-excludel2' }, { mountPath: '/etc/metrics', secret: 'metallb-metrics-cert' }], 'excludel2 ConfigMap and the metrics certificate mounted');
    }
    const ready = await waitFor('controller readinessProbe 200', async () => ((await controller.probe('readinessProbe')) === 200 ? true : undefined), { timeoutMs: 60_000 });
    t.ok(ready, 'controller ready (its own readinessProbe)');
    t.equal(await controller.probe('livenessProbe'), 200, 'controller live');
    for (const s of inst.processes.filter((p) => p.component === 'speaker')) {
      await waitFor(`${s.podName} livenessProbe 200`, async () => ((await s.probe('livenessProbe')) === 200 ? true : undefined), { timeoutMs: 60_000 });
      t.pass(`${s.podName} live`);
    }
  });

  await t.test('secure metrics as upstream 0.14+: a token with get on /metrics scrapes, others are refused', async (t) => {
    const grant = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'monitoring' } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'scraper', namespace: 'monitoring' } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'metrics-reader' }, rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'metrics-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'metrics-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'scraper', namespace: 'monitoring' }],
      },
    ];
    const applied = await cp.kubectl(['apply', '-f', '-'], { input: grant.map((o) => JSON.stringify(o)).join('\n') });
    t.equal(applied.code, 0, applied.stderr);
    const scraper = (await cp.clientFor('monitoring', 'scraper')).kubeConfig.getCurrentUser()?.token ?? '';
    const status = async (ns: string, url: string, token?: string): Promise<string> =>
      (await lab.exec(ns, ['curl', '-sk', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', ...(token === undefined ? [] : ['-H', `Authorization: Bearer ${token}`]), url])).stdout.trim();
    const controller = inst.processes.find((p) => p.component === 'controller');
    const speaker = inst.processes.find((p) => p.component === 'speaker');
    if (!controller || !speaker) throw new Error('controller and speaker must be running');
    const targets = [
      ['controller', controller.ns, 'https://127.0.0.1:9120/metrics'],
      ['speaker', speaker.ns, `https://${lab.nodes[0]?.ipv4 ?? ''}:9120/metrics`],
    ] as const;
    for (const [what, ns, url] of targets) {
      t.equal(await status(ns, url, scraper), '200', `${what}: a ServiceAccount with get on /metrics scrapes`);
      t.equal(await status(ns, url, inst.speakerCredentials.token), '403', `${what}: the speaker's ServiceAccount (no grant) gets 403`);
      t.equal(await status(ns, url), '401', `${what}: no token, 401`);
      t.equal(await status(ns, url, 'garbage'), '401', `${what}: a garbage token, 401`);
      t.equal(await status(ns, url.replace('https:', 'http:')), '000', `${what}: no plain HTTP on the metrics port`);
    }
  });

  let vip = '';
  await t.test('a LoadBalancer Service gets an IP; the client resolves it to one node MAC', async (t) => {
    await inst.apply(L2_CONFIG);
    vip = await createWebService(inst);
    t.match(vip, /^10\.77\.0\.1\d\d$/, `ingress ${vip} from the pool`);
    const macs = await waitFor(
      `exactly one MAC answering ARP for ${vip}`,
      async () => {
        const seen = await macsAnswering(lab, vip);
        return seen.length === 1 ? seen : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const owner = lab.nodes.find((n) => n.mac === macs[0]);
    t.ok(owner, `${macs[0]} is ${owner?.name}'s MAC`);
    const statuses = await waitFor(
      'a ServiceL2Status naming the node',
      async () => {
        const list = (await inst.custom.listNamespacedCustomObject({ group: 'metallb.io', version: 'v1beta1', namespace: NAMESPACE, plural: 'servicel2statuses' })) as {
          items: Array<{ status?: { node?: string } }>;
        };
        return list.items.length > 0 ? list.items : undefined;
      },
      { timeoutMs: 30_000 },
    );
    t.same(statuses.map((s) => s.status?.node), [owner?.name], 'written by the announcing speaker with its token');
  });

  await t.test('no process met a 403', async (t) => {
    t.equal(forbiddenCount(parseApiRequestTotals(await cp.kubectl(['get', '--raw', '/metrics']).then((r) => r.stdout))), 0, 'apiserver answered no request with 403');
    assertNoForbidden(t, inst.processes);
  });

  await t.test('calls outside the rules are denied with the same tokens', async (t) => {
    const speaker = inst.speakerCredentials;
    const controller = inst.controllerCredentials;
    type Call = [Credentials, string[], string, string?];
    const vipLease = vipLeaseName(vip);
    const held = JSON.parse(await cp.kubectl(['get', 'lease', vipLease, '-n', NAMESPACE, '-o', 'json']).then((r) => r.stdout)) as { metadata: { resourceVersion: string } };
    const denied: Call[] = [
      [speaker, ['patch', 'service', 'web', '-n', 'demo', '--subresource=status', '--type=merge', '-p', '{"status":{"loadBalancer":{"ingress":[{"ip":"10.77.0.199"}]}}}'], 'speaker: update Service status'],
      [speaker, ['patch', 'ipaddresspool', 'lab', '-n', NAMESPACE, '--type=merge', '-p', '{"spec":{"autoAssign":false}}'], 'speaker: change a pool'],
      [speaker, ['get', 'secrets', '-n', 'kube-system'], 'speaker: Secrets outside the release namespace'],
      [speaker, ['create', 'configmap', 'x', '-n', NAMESPACE], 'speaker: create a ConfigMap'],
      [controller, ['delete', 'lease', '--all', '-n', NAMESPACE], 'controller: delete Leases'],
      // The controller's Lease rights are for its own leader Lease only: it cannot take over the
      // per-VIP Lease a speaker holds (RBAC cannot limit create by name; see docs/chart-reference.md).
      [controller, ['replace', '-f', '-'], `controller: take over the VIP Lease ${vipLease}`, leaseManifest(NAMESPACE, vipLease, 'controller', held.metadata.resourceVersion)],
      [controller, ['get', 'lease', vipLease, '-n', NAMESPACE], 'controller: read a VIP Lease'],
      [controller, ['get', 'endpointslices', '-A'], 'controller: EndpointSlices'],
      [controller, ['create', '-f', '-'], 'controller: Leases outside the release namespace', leaseManifest('kube-system', 'x', 'controller')],
      [controller, ['patch', 'service', 'web', '-n', 'demo', '--type=merge', '-p', '{"spec":{"loadBalancerIP":"10.77.0.199"}}'], 'controller: update a Service spec'],
    ];
    for (const [creds, args, what, input] of denied) {
      const r = await kubectlAs(cp, creds, args, input);
      t.not(r.code, 0, `${what} is refused`);
      t.match(r.stderr, /forbidden/i, `${what}: ${r.stderr.trim().split('\n')[0]}`);
    }
    // And what they do need still works with those tokens (the denials are not a broken token).
    t.equal((await kubectlAs(cp, speaker, ['get', 'leases', '-n', NAMESPACE])).code, 0, 'speaker reads Leases');
    t.equal((await kubectlAs(cp, controller, ['get', 'ipaddresspools', '-n', NAMESPACE])).code, 0, 'controller reads pools');

    // The Lease policy helm installed (discovery lists ValidatingAdmissionPolicy): with the token
    // of the speaker Pod on node 0, node 1's presence Lease is out of reach (docs/security.md).
    const pods = inst.processes.filter((p) => p.component === 'speaker');
    const [pod0, node1] = [pods[0]?.podName ?? '', lab.nodes[1]?.name ?? ''];
    const uid = (await inst.core.readNamespacedPod({ name: pod0, namespace: NAMESPACE })).metadata?.uid ?? '';
    const bound: Credentials = { ...speaker, kubeconfigPath: (await cp.clientFor(NAMESPACE, speaker.serviceAccount, { name: pod0, uid })).kubeconfigPath };
    const presence = presenceLeaseName(node1);
    const current = JSON.parse(await cp.kubectl(['get', 'lease', presence, '-n', NAMESPACE, '-o', 'json']).then((r) => r.stdout)) as { metadata: { resourceVersion: string } };
    const r = await kubectlAs(cp, bound, ['replace', '-f', '-'], leaseManifest(NAMESPACE, presence, lab.nodes[0]?.name ?? '', current.metadata.resourceVersion));
    t.not(r.code, 0, `speaker on node 0: take over ${presence} is refused`);
    t.match(r.stderr, /ValidatingAdmissionPolicy 'metallb-speaker-leases'.*may write only its own presence Lease/, r.stderr.trim().split('\n')[0] ?? '');
  });

  await t.test('both stop cleanly on SIGTERM', async (t) => {
    const codes = await inst.stopAll();
    for (const [pod, code] of Object.entries(codes)) t.equal(code, 0, `${pod} exited 0`);
    assertNoForbidden(t, inst.processes);
  });
});
