/**
 * The speaker's Lease writes are limited per node (docs/security.md): the chart's RBAC and its
 * ValidatingAdmissionPolicy, as rendered, applied to a real kube-apiserver (1.34), and speakers
 * calling with Pod-bound ServiceAccount tokens of Pods on node-a and node-b, as kubelet mints
 * them (the node-name claim comes from the Pod's spec.nodeName). Every write the L2 election
 * makes goes through the real LeaseStore; every forbidden one is refused with the policy's words.
 */
import t from 'tap';
import * as k8s from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../harness/apiserver';
import { oldestKube, render } from '../fixtures/chart/helm';
import { ApiError, createKubeClient, type KubeClient } from '../../src/k8s/client';
import { leasePath, microTime, type Lease } from '../../src/k8s/lease';
import { LeaseAnnotation, LeaseKind, LeaseLabel, LeaseStore, presenceLeaseName, vipLeaseName } from '../../src/speaker/lease-store';

const NS = 'metallb-system';
const SA = 'metallb-speaker';
const CONTROLLER_LEASE = 'metallb-controller';
/** The kinds that make up the speaker's rights: RBAC, its ServiceAccount, the policy. */
const APPLIED = ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];

async function kubectlOk(cp: ControlPlane, args: string[], input?: string): Promise<string> {
  const r = await cp.kubectl(args, input === undefined ? undefined : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A speaker's client: a token bound to a Pod of the speaker ServiceAccount on `node`. */
async function speakerOn(cp: ControlPlane, core: k8s.CoreV1Api, node: string | undefined): Promise<KubeClient> {
  const name = `metallb-speaker-${node ?? 'nowhere'}`;
  const pod = await core.createNamespacedPod({
    namespace: NS,
    body: { metadata: { name }, spec: { serviceAccountName: SA, automountServiceAccountToken: false, ...(node ? { nodeName: node } : {}), containers: [{ name: 'speaker', image: 'metallb-ts' }] } },
  });
  const { kubeConfig } = await cp.clientFor(NS, SA, { name, uid: pod.metadata?.uid ?? '' });
  return createKubeClient(kubeConfig);
}

function lease(name: string, holder: string, kind: string, ip?: string): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: NS, labels: { [LeaseLabel.Kind]: kind, [LeaseLabel.ManagedBy]: 'metallb-ts' }, ...(ip ? { annotations: { [LeaseAnnotation.Ip]: ip } } : {}) },
    spec: { holderIdentity: holder, leaseDurationSeconds: 10, renewTime: microTime(Date.now()) },
  } as Lease;
}

/** The apiserver's refusal of a request: its status code and message, or undefined when it succeeded. */
async function refusal(p: Promise<unknown>): Promise<{ status: number; message: string } | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return { status: err.statusCode, message: err.message };
  }
}

async function get(client: KubeClient, name: string): Promise<Lease> {
  return client.request<Lease>({ method: 'GET', path: leasePath(NS, name) });
}

/**
 * The oldest Kubernetes the chart runs on that the tests' apiserver emulates (Chart.yaml's
 * kubeVersion, raised to 1.31), as in test/crds/apiserver.test.ts: the policy's CEL and the
 * node-name claim must work there too.
 */
const OLDEST_KUBE = oldestKube();

for (const emulatedVersion of [undefined, OLDEST_KUBE]) t.test(`a speaker writes only its own Leases${emulatedVersion ? ` (emulating Kubernetes ${emulatedVersion})` : ''}`, async (t) => {
  const cp = await startControlPlane(t, { emulatedVersion });
  const core = cp.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const admin = createKubeClient(cp.kubeConfig);
  t.teardown(() => admin.close());

  const docs = (await render()).filter((d) => APPLIED.includes(d.kind));
  t.ok(docs.some((d) => d.kind === 'ValidatingAdmissionPolicy'), 'the chart renders the policy by default');
  await kubectlOk(cp, ['create', 'namespace', NS]);
  await kubectlOk(cp, ['apply', '--server-side', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n---\n'));
  for (const node of ['node-a', 'node-b']) await core.createNode({ body: { metadata: { name: node } } });

  const a = await speakerOn(cp, core, 'node-a');
  const b = await speakerOn(cp, core, 'node-b');
  const unbound = createKubeClient((await cp.clientFor(NS, SA)).kubeConfig);
  t.teardown(() => [a, b, unbound].forEach((c) => c.close()));

  // The apiserver loads new policies asynchronously: wait until a dry-run write the policy
  // refuses (and RBAC allows) is refused.
  const probe = (): Promise<unknown> => a.request({ method: 'POST', path: leasePath(NS), query: { dryRun: 'All' }, body: lease('not-metallb', 'node-a', LeaseKind.Vip) });
  const deadline = Date.now() + 30_000;
  let active = await refusal(probe());
  while (active === undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    active = await refusal(probe());
  }
  t.equal(active?.status, 403, `the policy is in force within 30 s: ${active?.message ?? 'dry-run write accepted'}`);

  // The world node-a meets: the controller's Lease, node-b's presence and VIP Leases, written
  // by node-b's own speaker through the policy.
  await admin.request({ method: 'POST', path: leasePath(NS), body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: CONTROLLER_LEASE, namespace: NS }, spec: { holderIdentity: 'metallb-controller-x', leaseDurationSeconds: 15 } } });
  const storeA = new LeaseStore(a, NS, 10);
  const storeB = new LeaseStore(b, NS, 10);
  const bPresence = await storeB.claim(presenceLeaseName('node-b'), LeaseKind.Presence, 'node-b', {}, undefined);
  const bVip = await storeB.claim(vipLeaseName('10.0.0.2'), LeaseKind.Vip, 'node-b', { [LeaseAnnotation.Ip]: '10.0.0.2' }, undefined);
  const bVip6 = await storeB.claim(vipLeaseName('fd00::'), LeaseKind.Vip, 'node-b', { [LeaseAnnotation.Ip]: 'fd00::' }, undefined);
  t.ok(bPresence.ok && bVip.ok && bVip6.ok, 'node-b creates its presence and VIP Leases (IPv4 and IPv6 names)');

  await t.test('forbidden writes are refused with the policy message', async (t) => {
    const controller = await get(admin, CONTROLLER_LEASE);
    const presenceB = await get(admin, presenceLeaseName('node-b'));
    const vipB = await get(admin, vipLeaseName('10.0.0.2'));
    const put = (l: Lease, holder: string): Promise<unknown> => a.request({ method: 'PUT', path: leasePath(NS, l.metadata?.name), body: { ...l, spec: { ...l.spec, holderIdentity: holder, renewTime: microTime(Date.now()) } } });
    const del = (l: Lease): Promise<unknown> => a.request({ method: 'DELETE', path: leasePath(NS, l.metadata?.name) });
    const post = (l: Lease, c: KubeClient = a): Promise<unknown> => c.request({ method: 'POST', path: leasePath(NS), body: l });
    const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
      ['update the controller Lease', () => put(controller, 'node-a'), /node node-a: the controller Lease metallb-controller is off limits to speakers/],
      ['delete the controller Lease', () => del(controller), /node node-a: the controller Lease metallb-controller is off limits to speakers/],
      ["update node-b's presence Lease", () => put(presenceB, 'node-a'), /node node-a: may write only its own presence Lease metallb-speaker-node-a and VIP Leases metallb-vip-\*, not metallb-speaker-node-b/],
      ["create a presence Lease for node-b", () => post(lease(presenceLeaseName('node-c'), 'node-a', LeaseKind.Presence)), /may write only its own presence Lease metallb-speaker-node-a/],
      ['renew a VIP Lease for node-b (keeping node-b as holder)', () => put(vipB, 'node-b'), /node node-a: may update Lease metallb-vip-10-0-0-2 only as its holder \(held by "node-b", written with "node-b"\)/],
      ['hand a VIP Lease of node-b to node-c', () => put(vipB, 'node-c'), /may update Lease metallb-vip-10-0-0-2 only as its holder/],
      ['create a VIP Lease naming node-b', () => post(lease(vipLeaseName('10.0.0.3'), 'node-b', LeaseKind.Vip, '10.0.0.3')), /node node-a: may create Lease metallb-vip-10-0-0-3 only as its holder \(held by "", written with "node-b"\)/],
      ["delete node-b's VIP Lease", () => del(vipB), /node node-a: may delete Lease metallb-vip-10-0-0-2 only as its holder \(held by "node-b"/],
      ["delete node-b's presence Lease", () => del(presenceB), /may write only its own presence Lease/],
      ['create a VIP Lease under the name of another IP', () => post(lease(vipLeaseName('10.0.0.2'), 'node-a', LeaseKind.Vip, '10.0.0.9')), /Lease metallb-vip-10-0-0-2 must carry the metallb\.io\/lease-kind label of its name/],
      ['create a VIP Lease labelled as a presence Lease', () => post(lease(vipLeaseName('10.0.0.5'), 'node-a', LeaseKind.Presence, '10.0.0.5')), /must carry the metallb\.io\/lease-kind label/],
      ['write with a token not bound to a node', () => post(lease(vipLeaseName('10.0.0.6'), 'node-a', LeaseKind.Vip, '10.0.0.6'), unbound), /Lease writes need a ServiceAccount token bound to a Pod on a node/],
    ];
    for (const [what, call, message] of cases) {
      const r = await refusal(call());
      t.equal(r?.status, 403, `${what}: refused`);
      t.match(r?.message ?? 'accepted', message, `${what}: ${r?.message ?? 'accepted'}`);
    }
    t.equal((await get(admin, CONTROLLER_LEASE)).spec?.holderIdentity, 'metallb-controller-x', 'the controller Lease is untouched');
    t.equal((await get(admin, vipLeaseName('10.0.0.2'))).spec?.holderIdentity, 'node-b', "node-b's VIP Lease is untouched");
  });

  await t.test("the election's own writes are allowed", async (t) => {
    const ok = (what: string, r: Awaited<ReturnType<LeaseStore['claim']>>): Lease | undefined => {
      t.ok(r.ok, `${what}${r.ok ? '' : `: ${String((r as { error: unknown }).error)}`}`);
      return r.ok ? r.lease : undefined;
    };
    const presence = ok('create its own presence Lease', await storeA.claim(presenceLeaseName('node-a'), LeaseKind.Presence, 'node-a', {}, undefined));
    const renewed = presence && ok('renew it', await storeA.claim(presenceLeaseName('node-a'), LeaseKind.Presence, 'node-a', {}, presence));
    if (renewed) ok('release it on shutdown (holder "")', await storeA.release(renewed));
    const ann = { [LeaseAnnotation.Ip]: '10.0.0.4', [LeaseAnnotation.HolderMacs]: 'eth0=02:00:00:00:00:0a' };
    const vip = ok('acquire an unheld VIP', await storeA.claim(vipLeaseName('10.0.0.4'), LeaseKind.Vip, 'node-a', ann, undefined));
    const vipRenewed = vip && ok('renew its own VIP Lease', await storeA.claim(vipLeaseName('10.0.0.4'), LeaseKind.Vip, 'node-a', ann, vip));
    if (vipRenewed) ok('delete its own VIP Lease once the IP is gone', await storeA.remove(vipRenewed));
    const taken = ok('take over a VIP Lease of node-b, naming itself', await storeA.claim(vipLeaseName('10.0.0.2'), LeaseKind.Vip, 'node-a', { [LeaseAnnotation.Ip]: '10.0.0.2' }, await get(admin, vipLeaseName('10.0.0.2'))));
    if (taken) ok('hand it back to node-b (graceful handover)', await storeA.release(taken, 'node-b'));
    const taken6 = ok('take over an IPv6 VIP Lease', await storeA.claim(vipLeaseName('fd00::'), LeaseKind.Vip, 'node-a', { [LeaseAnnotation.Ip]: 'fd00::' }, await get(admin, vipLeaseName('fd00::'))));
    if (taken6) ok('give it up (holder "")', await storeA.release(taken6));
    t.equal((await get(admin, vipLeaseName('10.0.0.2'))).spec?.holderIdentity, 'node-b', 'node-b holds the handed-over VIP');
  });
});
