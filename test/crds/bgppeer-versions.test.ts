/**
 * BGPPeer v1beta1 and v1beta2 served side by side with conversion strategy None (no webhook):
 * whatever version an object is written in, reading it in the other version loses no field, an
 * edit through v1beta1 keeps the v1beta2-only fields, storage is v1beta2, v1beta1 warns that it
 * is deprecated (docs/crds.md "BGPPeer versions").
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import { startControlPlane, type ControlPlane } from '../harness/apiserver';
import { apiRequest, installCrds, loadCrds, NAMESPACE, pollUntil } from '../fixtures/crs/kit';

/** The parts of a CRD this test rewrites. */
interface UpstreamCrd {
  spec: {
    conversion?: unknown;
    versions: {
      schema: {
        openAPIV3Schema: {
          properties: { spec: { properties: Record<string, unknown>; 'x-kubernetes-validations'?: unknown } };
          'x-kubernetes-validations'?: unknown;
        };
      };
    }[];
  };
}

type Spec = Record<string, unknown>;
const path = (version: string, name = '') => `/apis/metallb.io/${version}/namespaces/${NAMESPACE}/bgppeers${name ? `/${name}` : ''}`;

async function createPeer(cp: ControlPlane, version: string, name: string, spec: Spec): Promise<{ status: number; body: unknown; warnings: string[] }> {
  return apiRequest(cp, 'POST', path(version), { body: { apiVersion: `metallb.io/${version}`, kind: 'BGPPeer', metadata: { name }, spec } });
}

async function specIn(cp: ControlPlane, version: string, name: string): Promise<Spec> {
  const res = await apiRequest(cp, 'GET', path(version, name));
  if (res.status !== 200) throw new Error(`GET ${version} ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  const obj = res.body as { apiVersion: string; spec: Spec };
  if (obj.apiVersion !== `metallb.io/${version}`) throw new Error(`asked for ${version}, got ${obj.apiVersion}`);
  return obj.spec;
}

/** Every field a v1beta1 manifest can carry (upstream v1beta1 schema). */
const v1beta1Spec: Spec = {
  myASN: 64500,
  peerASN: 64501,
  peerAddress: '10.77.0.2',
  sourceAddress: '10.77.0.10',
  peerPort: 1179,
  holdTime: '90s',
  keepaliveTime: '30s',
  routerID: '10.77.0.100',
  nodeSelectors: [{ matchLabels: { rack: 'a' }, matchExpressions: [{ key: 'zone', operator: 'In', values: ['x', 'y'] }] }],
  password: 'md5',
  bfdProfile: 'slow',
  ebgpMultiHop: true,
};
/** The fields only v1beta2 has (upstream's conversion webhook dropped them from the v1beta1 view). */
const v1beta2Only: Spec = {
  connectTime: '10s',
  enableGracefulRestart: true,
  vrf: 'red',
  localASN: 65010,
  disableMP: false,
  dualStackAddressFamily: true,
};

t.test('BGPPeer v1beta1 <-> v1beta2 without a conversion webhook', async (t) => {
  const cp = await startControlPlane(t);

  await t.test('upgrading over an upstream-style CRD (conversion webhook) switches conversion off', async (t) => {
    // Upstream's shape: conversion through metallb-webhook-service, v1beta1 without the v1beta2-only fields.
    const upstream = structuredClone(loadCrds().get('bgppeers.metallb.io')) as unknown as UpstreamCrd;
    upstream.spec.conversion = {
      strategy: 'Webhook',
      webhook: {
        conversionReviewVersions: ['v1beta1', 'v1beta2'],
        clientConfig: { service: { name: 'metallb-webhook-service', namespace: NAMESPACE, path: '/convert' } },
      },
    };
    const v1 = upstream.spec.versions[0]?.schema.openAPIV3Schema;
    if (!v1) throw new Error('no v1beta1');
    for (const k of Object.keys(v1beta2Only).concat('dynamicASN', 'interface', 'passwordSecret')) delete v1.properties.spec.properties[k];
    delete v1.properties.spec['x-kubernetes-validations'];
    delete v1['x-kubernetes-validations'];
    const applied = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(upstream) });
    t.equal(applied.code, 0, applied.stderr);
    await pollUntil('upstream-style BGPPeer CRD Established', 30_000, async () => {
      const res = await apiRequest(cp, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgppeers.metallb.io');
      const conds = (res.body as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
      return conds.some((c) => c.type === 'Established' && c.status === 'True');
    });
    const ns = await cp.kubectl(['create', 'namespace', NAMESPACE]);
    t.equal(ns.code, 0, ns.stderr);
    const spec = { ...v1beta1Spec, ...v1beta2Only };
    t.equal((await createPeer(cp, 'v1beta2', 'stored-by-upstream', spec)).status, 201, 'a v1beta2 peer stored under the old CRD');
    const broken = await apiRequest(cp, 'GET', path('v1beta1', 'stored-by-upstream'));
    t.not(broken.status, 200, 'with the webhook unreachable, upstream-style v1beta1 reads fail');

    await installCrds(cp);
    const crd = await apiRequest(cp, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgppeers.metallb.io');
    t.same((crd.body as UpstreamCrd).spec.conversion, { strategy: 'None' }, 'kubectl apply of our CRD leaves conversion None, no webhook');
    t.has(await specIn(cp, 'v1beta1', 'stored-by-upstream'), spec, 'the old object reads fully as v1beta1');
    t.has(await specIn(cp, 'v1beta2', 'stored-by-upstream'), spec, 'and as v1beta2');
  });
  await installCrds(cp); // idempotent; the cases below need the CRDs even if the one above failed

  t.test('written as v1beta1, read in both versions: identical, nothing lost', async (t) => {
    const res = await createPeer(cp, 'v1beta1', 'from-v1beta1', { ...v1beta1Spec, ...v1beta2Only });
    t.equal(res.status, 201, JSON.stringify(res.body));
    t.ok(
      res.warnings.some((w) => w.includes('v1beta1 is deprecated, please use v1beta2')),
      `deprecation warning returned (${res.warnings.join('; ')})`,
    );
    const a = await specIn(cp, 'v1beta1', 'from-v1beta1');
    const b = await specIn(cp, 'v1beta2', 'from-v1beta1');
    t.same(a, b, 'the two views carry the same spec');
    t.has(b, { ...v1beta1Spec, ...v1beta2Only }, 'every field written is there');
  });

  t.test('written as v1beta2 with every field, read as v1beta1: nothing lost', async (t) => {
    const full: Spec = { ...v1beta1Spec, ...v1beta2Only, passwordSecret: { name: 's', namespace: NAMESPACE } };
    delete full.password; // password and passwordSecret are mutually exclusive
    const res = await createPeer(cp, 'v1beta2', 'full-v1beta2', full);
    t.equal(res.status, 201, JSON.stringify(res.body));
    t.equal(res.warnings.length, 0, 'no deprecation warning on v1beta2');
    t.same(await specIn(cp, 'v1beta1', 'full-v1beta2'), await specIn(cp, 'v1beta2', 'full-v1beta2'));

    const unnumbered = { myASN: 64500, dynamicASN: 'internal', interface: 'eth1', nodeSelectors: [{ matchExpressions: [{ key: 'edge', operator: 'Exists' }] }] };
    t.equal((await createPeer(cp, 'v1beta2', 'unnumbered', unnumbered)).status, 201);
    const legacyView = await specIn(cp, 'v1beta1', 'unnumbered');
    t.has(legacyView, unnumbered, 'interface, dynamicASN and an Exists selector show in v1beta1 too');
    t.notOk('peerAddress' in legacyView, 'no invented peerAddress');
  });

  t.test('an edit through v1beta1 keeps the v1beta2-only fields', async (t) => {
    const got = await apiRequest(cp, 'GET', path('v1beta1', 'full-v1beta2'));
    const obj = got.body as { spec: Spec };
    obj.spec.holdTime = '180s';
    const put = await apiRequest(cp, 'PUT', path('v1beta1', 'full-v1beta2'), { body: obj });
    t.equal(put.status, 200, JSON.stringify(put.body));
    const after = await specIn(cp, 'v1beta2', 'full-v1beta2');
    t.equal(after.holdTime, '180s');
    t.has(after, { ...v1beta2Only, passwordSecret: { name: 's', namespace: NAMESPACE } }, 'v1beta2-only fields survived');
  });

  t.test('v1beta1 still enforces its own required fields on writes', async (t) => {
    const got = await apiRequest(cp, 'GET', path('v1beta1', 'unnumbered'));
    const obj = got.body as { spec: Spec };
    obj.spec.holdTime = '30s';
    const put = await apiRequest(cp, 'PUT', path('v1beta1', 'unnumbered'), { body: obj });
    t.equal(put.status, 422, 'peerAddress and peerASN are required in v1beta1: edit such peers as v1beta2');
    t.match(JSON.stringify(put.body), /spec\.peerAddress: Required value/);
    t.notOk('holdTime' in (await specIn(cp, 'v1beta2', 'unnumbered')), 'object unchanged');
  });

  t.test('kubectl reads the preferred version, v1beta2', async (t) => {
    const res = await cp.kubectl(['get', 'bgppeers', '-n', NAMESPACE, 'from-v1beta1', '-o', 'jsonpath={.apiVersion}']);
    t.equal(res.stdout, 'metallb.io/v1beta2', res.stderr);
  });

  t.test('storage version is v1beta2', async (t) => {
    const res = await apiRequest(cp, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bgppeers.metallb.io');
    t.same((res.body as { status: { storedVersions: string[] } }).status.storedVersions, ['v1beta2']);
  });

  t.test('property: any valid v1beta2 peer reads the same through v1beta1', async (t) => {
    // Valid (holdTime, keepaliveTime) pairs, either possibly absent (RFC 4271 §4.2 and
    // docs/upstream-behaviour.md §2.8).
    const timers = fc.constantFrom<[string?, string?]>(['90s', '30s'], ['3s', '1s'], ['1m30s', '1m30s'], ['0s'], [undefined, '30s'], [], ['2h', '0s']);
    const arbSpec = fc.record(
      {
        myASN: fc.integer({ min: 1, max: 4294967295 }),
        peerASN: fc.integer({ min: 1, max: 4294967295 }),
        peerAddress: fc.oneof(fc.ipV4(), fc.constantFrom('fd00:77::1', '2001:db8::a', '::1')),
        sourceAddress: fc.ipV4(),
        routerID: fc.ipV4(),
        peerPort: fc.integer({ min: 1, max: 16384 }),
        connectTime: fc.constantFrom('1s', '10s', '65535s', '2m'),
        password: fc.string({ maxLength: 20 }),
        vrf: fc.string({ maxLength: 10 }),
        bfdProfile: fc.string({ maxLength: 10 }),
        enableGracefulRestart: fc.boolean(),
        dualStackAddressFamily: fc.boolean(),
        localASN: fc.integer({ min: 1, max: 4294967295 }),
        nodeSelectors: fc.array(
          fc.record({ matchLabels: fc.dictionary(fc.constantFrom('a', 'b', 'rack'), fc.constantFrom('1', 'x')) }, { requiredKeys: [] }),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: ['myASN', 'peerASN', 'peerAddress'] },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(arbSpec, timers, async (spec: Spec, [holdTime, keepaliveTime]) => {
        // Plain JSON objects (fast-check builds records without a prototype).
        const s = JSON.parse(JSON.stringify(spec)) as Spec;
        if (holdTime !== undefined) s.holdTime = holdTime;
        if (keepaliveTime !== undefined) s.keepaliveTime = keepaliveTime;
        const name = `prop-${n++}`;
        const res = await createPeer(cp, 'v1beta2', name, s);
        if (res.status !== 201) throw new Error(`create ${JSON.stringify(s)}: ${JSON.stringify(res.body)}`);
        const v1 = await specIn(cp, 'v1beta1', name);
        const v2 = await specIn(cp, 'v1beta2', name);
        return isDeepStrictEqual(v1, v2) && Object.entries(s).every(([k, v]) => isDeepStrictEqual(v2[k], v));
      }),
      { numRuns: 40 },
    );
    t.equal(n, 40, 'forty random peers round-tripped');
  });
});
