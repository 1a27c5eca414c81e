/**
 * Offline checks of the chart's CRDs against upstream's API surface
 * (docs/upstream-behaviour.md §1): names, scope, versions, defaults, required fields, status
 * subresources and printer columns; the BGPPeer v1beta1 superset schema (docs/crds.md);
 * structural-schema basics. The apiserver tests (apiserver.test.ts, bgppeer-versions.test.ts,
 * address-cel.test.ts) check behaviour for real.
 */
import { join } from 'node:path';
import t from 'tap';
import { BAD_DIR, GOOD_DIR, loadCrds, loadDocs, NAMESPACE, yamlFiles, type KObject } from '../fixtures/crs/kit';

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  required?: string[];
  default?: unknown;
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string }[];
  [k: string]: unknown;
};
interface Version {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  additionalPrinterColumns?: { name: string; type: string; jsonPath: string; priority?: number }[];
  schema: { openAPIV3Schema: Schema };
  subresources?: { status?: unknown };
}
interface Crd extends KObject {
  spec: {
    group: string;
    scope: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: Version[];
    conversion?: { strategy: string };
  };
}

/** Upstream's printer columns, per kind (all versions), as [name, type, jsonPath, priority]. */
const PRINTER: Record<string, [string, string, string, number?][]> = {
  IPAddressPool: [
    ['Auto Assign', 'boolean', '.spec.autoAssign'],
    ['Avoid Buggy IPs', 'boolean', '.spec.avoidBuggyIPs'],
    ['Addresses', 'string', '.spec.addresses'],
  ],
  L2Advertisement: [
    ['IPAddressPools', 'string', '.spec.ipAddressPools'],
    ['IPAddressPool Selectors', 'string', '.spec.ipAddressPoolSelectors'],
    ['Interfaces', 'string', '.spec.interfaces'],
    ['Node Selectors', 'string', '.spec.nodeSelectors', 10],
  ],
  BGPAdvertisement: [
    ['IPAddressPools', 'string', '.spec.ipAddressPools'],
    ['IPAddressPool Selectors', 'string', '.spec.ipAddressPoolSelectors'],
    ['Peers', 'string', '.spec.peers'],
    ['Node Selectors', 'string', '.spec.nodeSelectors', 10],
  ],
  BGPPeer: [
    ['Address', 'string', '.spec.peerAddress'],
    ['ASN', 'string', '.spec.peerASN'],
    ['BFD Profile', 'string', '.spec.bfdProfile'],
    ['Multi Hops', 'string', '.spec.ebgpMultiHop'],
  ],
  Community: [],
  BFDProfile: [
    ['Passive Mode', 'boolean', '.spec.passiveMode'],
    ['Transmit Interval', 'integer', '.spec.transmitInterval'],
    ['Receive Interval', 'integer', '.spec.receiveInterval'],
    ['Multiplier', 'integer', '.spec.detectMultiplier'],
  ],
  ServiceL2Status: [
    ['Allocated Node', 'string', '.status.node'],
    ['Service Name', 'string', '.status.serviceName'],
    ['Service Namespace', 'string', '.status.serviceNamespace'],
  ],
  ServiceBGPStatus: [
    ['Node', 'string', '.status.node'],
    ['Service Name', 'string', '.status.serviceName'],
    ['Service Namespace', 'string', '.status.serviceNamespace'],
  ],
  // Ours, not upstream's (frr-k8s's kind and fields, in metallb.io; docs/bgp.md "Session state").
  BGPSessionState: [
    ['Node', 'string', '.status.node'],
    ['Peer', 'string', '.status.bgpPeer'],
    ['Address', 'string', '.status.peer'],
    ['BGP', 'string', '.status.bgpStatus'],
    ['BFD', 'string', '.status.bfdStatus'],
    ['Up', 'date', '.status.establishedSince'],
    ['Last Error', 'string', '.status.lastError'],
    ['VRF', 'string', '.status.vrf', 1],
  ],
  ConfigurationState: [
    ['Result', 'string', '.status.result'],
    ['ErrorSummary', 'string', '.status.errorSummary'],
    ['Age', 'date', '.metadata.creationTimestamp'],
  ],
};

/** kind -> plural, versions (storage marked), per-path defaults and required lists of upstream. */
const KINDS: Record<
  string,
  { plural: string; versions: [string, boolean][]; defaults: Record<string, unknown>; required: Record<string, string[]> }
> = {
  IPAddressPool: {
    plural: 'ipaddresspools',
    versions: [['v1beta1', true]],
    defaults: { 'spec.autoAssign': true, 'spec.avoidBuggyIPs': false },
    required: { '': ['spec'], spec: ['addresses'], status: ['assignedIPv4', 'assignedIPv6', 'availableIPv4', 'availableIPv6'] },
  },
  L2Advertisement: {
    plural: 'l2advertisements',
    versions: [['v1beta1', true]],
    defaults: {},
    required: { 'spec.preferredNodeSelectors[]': ['weight', 'preference'] },
  },
  BGPAdvertisement: {
    plural: 'bgpadvertisements',
    versions: [['v1beta1', true]],
    defaults: { 'spec.aggregationLength': 32, 'spec.aggregationLengthV6': 128 },
    required: {},
  },
  BGPPeer: {
    plural: 'bgppeers',
    versions: [
      ['v1beta1', false],
      ['v1beta2', true],
    ],
    defaults: {},
    required: {},
  },
  Community: { plural: 'communities', versions: [['v1beta1', true]], defaults: {}, required: {} },
  BFDProfile: { plural: 'bfdprofiles', versions: [['v1beta1', true]], defaults: {}, required: {} },
  ServiceL2Status: { plural: 'servicel2statuses', versions: [['v1beta1', true]], defaults: {}, required: {} },
  ServiceBGPStatus: { plural: 'servicebgpstatuses', versions: [['v1beta1', true]], defaults: {}, required: {} },
  BGPSessionState: { plural: 'bgpsessionstates', versions: [['v1beta1', true]], defaults: {}, required: {} },
  ConfigurationState: {
    plural: 'configurationstates',
    versions: [['v1beta1', true]],
    defaults: {},
    required: { 'status.conditions[]': ['lastTransitionTime', 'message', 'reason', 'status', 'type'] },
  },
};

/** The schema node at a dotted path; `x[]` steps into array items. */
function at(schema: Schema, path: string): Schema | undefined {
  let node: Schema | undefined = schema;
  for (const step of path === '' ? [] : path.split('.')) {
    const isItems = step.endsWith('[]');
    const key = isItems ? step.slice(0, -2) : step;
    node = node?.properties?.[key];
    if (isItems) node = node?.items;
  }
  return node;
}

/** Every schema node with its path, for structural checks. */
function walk(schema: Schema, path: string, visit: (s: Schema, p: string) => void): void {
  visit(schema, path);
  for (const [k, v] of Object.entries(schema.properties ?? {})) walk(v, path ? `${path}.${k}` : k, visit);
  if (schema.items) walk(schema.items, `${path}[]`, visit);
  if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, `${path}{}`, visit);
}

const crds = loadCrds() as Map<string, Crd>;

t.test('one CRD per upstream kind, group metallb.io, namespaced, no shortNames', async (t) => {
  t.same([...crds.keys()].sort(), Object.values(KINDS).map((k) => `${k.plural}.metallb.io`).sort());
  for (const [kind, want] of Object.entries(KINDS)) {
    const crd = crds.get(`${want.plural}.metallb.io`);
    if (!crd) continue;
    t.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
    t.equal(crd.spec.group, 'metallb.io');
    t.equal(crd.spec.scope, 'Namespaced', kind);
    t.same(crd.spec.names, { kind, listKind: `${kind}List`, plural: want.plural, singular: kind.toLowerCase() }, `${kind} names`);
    t.notOk(crd.spec.conversion && crd.spec.conversion.strategy !== 'None', `${kind}: no conversion webhook`);
    t.same(
      crd.spec.versions.map((v) => [v.name, v.storage]),
      want.versions,
      `${kind} versions and storage`,
    );
    for (const v of crd.spec.versions) {
      t.equal(v.served, true, `${kind} ${v.name} served`);
      t.ok(v.subresources && 'status' in v.subresources, `${kind} ${v.name} has the status subresource`);
      const cols = (v.additionalPrinterColumns ?? []).map((c) => [c.name, c.type, c.jsonPath, ...(c.priority ? [c.priority] : [])]);
      t.same(cols, PRINTER[kind], `${kind} ${v.name} printer columns`);
      const root = v.schema.openAPIV3Schema;
      for (const [path, value] of Object.entries(want.defaults)) t.equal(at(root, path)?.default, value, `${kind} default ${path}`);
      for (const [path, req] of Object.entries(want.required)) t.same(at(root, path)?.required, req, `${kind} required at ${path || '<root>'}`);
    }
  }
});

t.test('schemas are structural: every node has a type', async (t) => {
  for (const crd of crds.values()) {
    for (const v of crd.spec.versions) {
      walk(v.schema.openAPIV3Schema, '', (s, p) => {
        if (typeof s.type !== 'string') t.fail(`${crd.metadata.name} ${v.name} ${p || '<root>'} has no type`);
      });
    }
  }
  t.pass('walked every schema');
});

t.test('BGPPeer: v1beta1 deprecated, v1beta2 storage; v1beta1 declares every v1beta2 field', async (t) => {
  const crd = crds.get('bgppeers.metallb.io');
  if (!crd) throw new Error('no BGPPeer CRD');
  const [v1, v2] = crd.spec.versions;
  if (!v1 || !v2) throw new Error('BGPPeer needs two versions');
  t.same(crd.spec.conversion, { strategy: 'None' }, 'conversion None, explicitly (replaces an upstream Webhook strategy)');
  t.equal(v1.deprecated, true);
  t.equal(v1.deprecationWarning, 'v1beta1 is deprecated, please use v1beta2');
  t.notOk(v2.deprecated);
  const s1 = at(v1.schema.openAPIV3Schema, 'spec');
  const s2 = at(v2.schema.openAPIV3Schema, 'spec');
  if (!s1?.properties || !s2?.properties) throw new Error('BGPPeer spec schemas missing');
  t.same(s1.required, ['myASN', 'peerASN', 'peerAddress'], 'v1beta1 requires what upstream v1beta1 requires');
  t.same(s2.required, ['myASN'], 'v1beta2 requires only myASN');
  t.same(Object.keys(s1.properties).sort(), Object.keys(s2.properties).sort(), 'same field set: conversion None prunes nothing');
  // Fields whose v1beta1 schema deliberately differs, as upstream's v1beta1 did.
  const differs = new Set(['peerPort', 'nodeSelectors']);
  for (const [k, v] of Object.entries(s2.properties)) {
    if (!differs.has(k)) t.same(s1.properties[k], v, `v1beta1 ${k} identical to v1beta2`);
  }
  t.same(s1.properties.peerPort, { type: 'integer', minimum: 0, maximum: 16384, description: 'TCP port to dial.' }, 'v1beta1 peerPort: min 0, no default');
  t.equal(s2.properties.peerPort?.default, 179);
  t.equal(s2.properties.peerPort?.minimum, 1);
  t.same(at(s1, 'nodeSelectors[].matchExpressions[]')?.required, ['key', 'operator', 'values'], 'legacy selector requires values');
  t.equal(at(s1, 'nodeSelectors[].matchExpressions[].values')?.minItems, 1);
  t.same(at(s2, 'nodeSelectors[].matchExpressions[]')?.required, ['key', 'operator']);
  t.same(s1['x-kubernetes-validations'], s2['x-kubernetes-validations'], 'same per-object rules in both versions');
  t.same(v1.schema.openAPIV3Schema['x-kubernetes-validations'], v2.schema.openAPIV3Schema['x-kubernetes-validations']);
});

t.test('every CEL rule has a message in upstream words (message or messageExpression)', async (t) => {
  let rules = 0;
  for (const crd of crds.values()) {
    for (const v of crd.spec.versions) {
      walk(v.schema.openAPIV3Schema, '', (s, p) => {
        for (const r of s['x-kubernetes-validations'] ?? []) {
          rules++;
          if (!r.message && !r.messageExpression) t.fail(`${crd.metadata.name} ${v.name} ${p}: rule without message`);
        }
      });
    }
  }
  t.ok(rules >= 40, `CEL rules present (${rules})`);
});

t.test('fixtures: good/ holds namespaced metallb.io objects, bad/ one object per file', async (t) => {
  const kinds = new Set<string>();
  for (const f of yamlFiles(GOOD_DIR)) {
    for (const doc of loadDocs(join(GOOD_DIR, f))) {
      t.equal(doc.metadata.namespace, NAMESPACE, `${f} ${doc.metadata.name} in ${NAMESPACE}`);
      if (doc.kind !== 'Secret') {
        t.match(doc.apiVersion, /^metallb\.io\/v1beta[12]$/, `${f} ${doc.metadata.name}`);
        kinds.add(`${doc.kind}/${doc.apiVersion}`);
      }
    }
  }
  for (const k of [
    'IPAddressPool/metallb.io/v1beta1',
    'L2Advertisement/metallb.io/v1beta1',
    'BGPAdvertisement/metallb.io/v1beta1',
    'BGPPeer/metallb.io/v1beta1',
    'BGPPeer/metallb.io/v1beta2',
    'Community/metallb.io/v1beta1',
    'BFDProfile/metallb.io/v1beta1',
  ]) {
    t.ok(kinds.has(k), `good/ covers ${k}`);
  }
  for (const f of yamlFiles(BAD_DIR)) {
    const docs = loadDocs(join(BAD_DIR, f));
    t.equal(docs.length, 1, `${f}: one object`);
    t.equal(`${docs[0]?.metadata.name}.yaml`, f, `${f}: named after its file`);
  }
});
