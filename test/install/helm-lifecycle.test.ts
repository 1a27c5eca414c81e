/**
 * `helm upgrade` and `helm uninstall` around running processes (test/chart/install.test.ts
 * covers the same commands without processes: objects added and removed by toggles, CRDs kept).
 * An upgrade toggles values that change the processes (two controller replicas, hence leader
 * election under the chart's name-limited Lease rule; speaker log level and L2 lease duration);
 * after a rollout started from the upgraded Deployment and DaemonSet, one controller leads, the
 * Service keeps its IP, a new one gets an IP, and nobody meets a 403. `helm uninstall` then
 * leaves no object of the release anywhere, keeps the CRDs (and the user's pools); what the
 * controller wrote at run time is owned by its Pods (the garbage collector takes it with them),
 * stopped speakers removed their status objects, and the Leases left are exactly the ones the
 * two commands in docs/install.md ("Uninstall") delete.
 */
import t from 'tap';
import { parseApiRequestTotals } from '../harness/cluster';
import { waitFor } from '../harness/lab';
import { at, CHART_DIR, UPSTREAM_VALUES, valueArgs } from '../fixtures/chart/helm';
import { installRelease, NAMESPACE, RELEASE } from '../fixtures/chart/installed';
import { assertNoForbidden, createWebService, forbiddenCount, L2_CONFIG, macsAnswering } from '../fixtures/chart/install-checks';

const VALUES = [UPSTREAM_VALUES['0.16.1']];
const UPGRADE = ['controller.replicas=2', 'speaker.logLevel=debug', 'speaker.l2Election.leaseDuration=20s', 'prometheus.scrapeAnnotations=true'];

/** Namespaced kinds a release or its processes can leave behind. */
const NAMESPACED = 'deployments,daemonsets,replicasets,pods,services,configmaps,secrets,serviceaccounts,roles,rolebindings,networkpolicies';

interface Meta {
  metadata: { name: string; ownerReferences?: Array<{ kind: string; name: string; uid?: string }> };
}

t.test('helm upgrade and uninstall with the processes running', async (t) => {
  const inst = await installRelease(t, { nodes: 2, valuesFiles: VALUES });
  let speakerDaemonSetUid = '';
  const { cp, lab } = inst;
  await inst.startController();
  for (let i = 0; i < lab.nodes.length; i++) await inst.startSpeaker(i);
  await inst.apply(L2_CONFIG);
  const vip = await createWebService(inst);

  await t.test('helm upgrade: the toggled values reach the processes after a rollout', async (t) => {
    const up = await cp.helm(['upgrade', RELEASE, CHART_DIR, '-n', NAMESPACE, ...valueArgs({ valuesFiles: VALUES, set: UPGRADE })]);
    t.equal(up.code, 0, up.stderr);
    await inst.reload();
    t.equal(at(inst.controllerWorkload, 'spec', 'replicas'), 2, 'Deployment scaled to 2');
    // The rollout: the old Pods stop (SIGTERM, as kubelet) and go; new ones start from the new spec.
    for (const p of [...inst.processes]) t.equal(await inst.stop(p), 0, `${p.podName} stopped cleanly`);
    await inst.deletePods();
    const controllers = [await inst.startController(), await inst.startController()];
    for (const c of controllers) t.ok(c.spec.argv.includes('--leader-elect'), `${c.podName}: --leader-elect`);
    for (let i = 0; i < lab.nodes.length; i++) {
      const s = await inst.startSpeaker(i);
      t.ok(s.spec.argv.includes('--log-level=debug') && s.spec.argv.includes('--l2-lease-duration=20s'), `${s.podName}: ${s.spec.argv.slice(2).join(' ')}`);
    }
    const names = controllers.map((c) => c.podName);
    const leader = await waitFor(
      'a controller holding the metallb-controller Lease',
      async () => {
        const r = await cp.kubectl(['get', 'lease', 'metallb-controller', '-n', NAMESPACE, '-o', 'jsonpath={.spec.holderIdentity}']);
        return names.includes(r.stdout.trim()) ? r.stdout.trim() : undefined;
      },
      { timeoutMs: 60_000 },
    );
    t.ok(leader, `leader: ${leader}`);
    const leaderProcess = controllers.find((c) => c.podName === leader);
    await waitFor('the leader ready', async () => ((await leaderProcess?.probe('readinessProbe')) === 200 ? true : undefined), { timeoutMs: 60_000 });
    const svc = await inst.core.readNamespacedService({ name: 'web', namespace: 'demo' });
    t.same(svc.status?.loadBalancer?.ingress?.map((i) => i.ip), [vip], `web keeps ${vip}`);
    const second = await createWebService(inst, 'web2');
    t.not(second, vip, `web2 gets its own IP ${second} from the new leader`);
    for (const ip of [vip, second]) {
      const macs = await waitFor(`one MAC for ${ip}`, async () => {
        const seen = await macsAnswering(lab, ip);
        return seen.length === 1 ? seen : undefined;
      }, { timeoutMs: 60_000 });
      t.ok(lab.nodes.some((n) => n.mac === macs[0]), `${ip} answered by a node`);
    }
    t.equal(forbiddenCount(parseApiRequestTotals((await cp.kubectl(['get', '--raw', '/metrics'])).stdout)), 0, 'the apiserver answered no request with 403');
    assertNoForbidden(t, inst.processes);
  });

  await t.test('helm uninstall leaves no orphans (CRDs aside)', async (t) => {
    const codes = await inst.stopAll();
    t.ok(Object.values(codes).every((c) => c === 0), `all exited 0: ${JSON.stringify(codes)}`);
    // Kubernetes deletes the workloads' Pods with them; no controller-manager runs here.
    await inst.deletePods();
    const configStates = JSON.parse((await cp.kubectl(['get', 'configurationstates', '-n', NAMESPACE, '-o', 'json'])).stdout) as { items: Meta[] };
    t.ok(configStates.items.length > 0, 'the controller wrote ConfigurationState');
    for (const o of configStates.items) {
      t.same(o.metadata.ownerReferences?.map((r) => r.kind), ['Pod'], `ConfigurationState ${o.metadata.name} is owned by a Pod (garbage-collected with it)`);
    }
    speakerDaemonSetUid = JSON.parse((await cp.kubectl(['get', 'daemonset', `${RELEASE}-speaker`, '-n', NAMESPACE, '-o', 'json'])).stdout).metadata.uid as string;
    const un = await cp.helm(['uninstall', RELEASE, '-n', NAMESPACE]);
    t.equal(un.code, 0, un.stderr);
    const left = await cp.kubectl(['get', `${NAMESPACED},clusterroles,clusterrolebindings`, '-A', '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name']);
    t.equal(left.stdout.trim(), '', 'no object of the release in any namespace');
    const rbac = await cp.kubectl(['get', 'clusterroles,clusterrolebindings', '-o', 'name']);
    t.notOk(/metallb/.test(rbac.stdout), 'no metallb ClusterRole or binding under any label');
    const inNs = await cp.kubectl(['get', NAMESPACED, '-n', NAMESPACE, '-o', 'name']);
    t.same(inNs.stdout.split('\n').filter((l) => l && l !== 'serviceaccount/default' && l !== 'configmap/kube-root-ca.crt'), [], `nothing of ours left in ${NAMESPACE}`);
    const crds = await cp.kubectl(['get', 'crd', '-o', 'name']);
    t.equal(crds.stdout.split('\n').filter((l) => l.endsWith('.metallb.io')).length, 10, 'the 10 CRDs are kept');
    const pools = await cp.kubectl(['get', 'ipaddresspools', '-n', NAMESPACE, '-o', 'name']);
    t.equal(pools.stdout.trim(), 'ipaddresspool.metallb.io/lab', "the user's pool survives");
    const services = await inst.core.readNamespacedService({ name: 'web', namespace: 'demo' });
    t.ok(services.metadata?.name, "the user's Services are untouched");
  });

  await t.test('what the processes wrote: Pod-owned, DaemonSet-owned, or the leader Lease docs/install.md removes', async (t) => {
    const statuses = await cp.kubectl(['get', 'servicel2statuses,servicebgpstatuses', '-n', NAMESPACE, '-o', 'name']);
    t.equal(statuses.stdout.trim(), '', 'stopping speakers deleted their ServiceL2Status objects');
    // Per-VIP and per-node Leases outlive any one Pod, so the speakers make the DaemonSet their
    // owner: uninstalling deletes it and the garbage collector (not running here) takes them.
    const leases = JSON.parse((await cp.kubectl(['get', 'leases', '-n', NAMESPACE, '-o', 'json'])).stdout) as { items: Array<Meta & { metadata: { labels?: Record<string, string> } }> };
    const speakerLeases = leases.items.filter((l) => l.metadata.labels?.['app.kubernetes.io/managed-by'] === 'metallb-ts');
    t.ok(speakerLeases.some((l) => l.metadata.name.startsWith('metallb-vip-')) && speakerLeases.some((l) => l.metadata.name.startsWith('metallb-speaker-')), `per-VIP and per-node Leases: ${speakerLeases.map((l) => l.metadata.name).join(', ')}`);
    for (const l of speakerLeases) {
      t.same(l.metadata.ownerReferences?.map((r) => ({ kind: r.kind, name: r.name, uid: r.uid })), [{ kind: 'DaemonSet', name: `${RELEASE}-speaker`, uid: speakerDaemonSetUid }], `Lease ${l.metadata.name} is owned by the speaker DaemonSet`);
    }
    t.same(leases.items.filter((l) => !speakerLeases.includes(l)).map((l) => l.metadata.name), ['metallb-controller'], 'besides those, only the leader Lease');
    // The command of docs/install.md, "Uninstall".
    const r = await cp.kubectl(['-n', NAMESPACE, 'delete', 'lease', 'metallb-controller', '--ignore-not-found']);
    t.equal(r.code, 0, r.stderr);
  });
});
