/**
 * `validate`'s per-object admission (src/config/crd-admission.ts) against the real apiserver:
 * generated metallb.io objects (valid, with values the CEL rules refuse, with misspelt keys) are
 * created with `dryRun=All&fieldValidation=Strict` (what `kubectl apply` sends by default) and
 * checked offline; both must give the same verdict on every object.
 *
 * The compared verdict is per-object admission only. `validate` also applies the controller's
 * cross-object config rules (overlapping pools, unknown pool names, ...), which no apiserver
 * check knows about; those are covered by test/cli/validate.test.ts.
 */
import fc from 'fast-check';
import t from 'tap';
import { createAdmission } from '../../src/config/crd-admission';
import { startControlPlane } from '../harness/apiserver';
import { apiRequest, installCrds, loadCrds, NAMESPACE } from '../fixtures/crs/kit';

/** Objects checked; the brief's floor is 2,000. */
const OBJECTS = 2_100;
/** Requests in flight at once. */
const CONCURRENCY = 8;
/** Fixed by default so a failure reproduces; VALIDATE_AGREEMENT_SEED explores others. */
const SEED = Number(process.env['VALIDATE_AGREEMENT_SEED'] ?? 20_261_205);

type Json = Record<string, unknown>;

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });
/** Mostly values the CRD accepts, sometimes ones it refuses: every object has several fields. */
const mostly = <T>(valid: fc.Arbitrary<T>, bad: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: bad, weight: 1 });
const between = (min: number, max: number, lo: number, hi: number) => mostly(fc.integer({ min, max }), fc.integer({ min: lo, max: hi }));
/** An object without the keys whose generated value is undefined. */
const record = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Json> =>
  fc.record(fields).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));

const word = fc.constantFrom('a', 'pool-a', 'pool-b', 'rack', 'zone', 'eth0', 'peer-1');
const names = fc.array(word, { maxLength: 3 });
const expression = record({
  key: word,
  operator: mostly(fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'), fc.constant('Equals')),
  values: opt(fc.array(word, { maxLength: 2 })),
});
const selector = record({
  matchLabels: opt(fc.dictionary(word, word, { maxKeys: 2 })),
  matchExpressions: opt(fc.array(expression, { maxLength: 2 })),
});
const selectors = fc.array(selector, { maxLength: 2 });

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
const badIp = fc.constantFrom('10.0.0.300', '1.2.3', '::ffff:1.2.3.4', 'fe80::1%eth0', '01.2.3.4', 'host', '');
const ip = mostly(fc.oneof(v4, v6), badIp);
const address = fc.oneof(
  fc.tuple(v4, between(0, 32, 0, 34)).map(([a, l]) => `${a}/${l}`),
  fc.tuple(v6, between(0, 128, 0, 130)).map(([a, l]) => `${a}/${l}`),
  fc.tuple(v4, v4).map(([a, b]) => (a < b ? `${a}-${b}` : `${b}-${a}`)),
  fc.tuple(v4, v4).map(([a, b]) => `${a}-${b}`),
  fc.tuple(v6, v6, fc.constantFrom('-', ' - ')).map(([a, b, d]) => `${a}${d}${b}`),
  fc.tuple(v4, v6).map(([a, b]) => `${a}-${b}`),
  fc.constantFrom('10.0.0.1', '::ffff:10.0.0.0/120', '10.0.0.0/024', '', 'x/8'),
);
const duration = mostly(fc.constantFrom('0s', '3s', '90s', '1m', '1h', '10s'), fc.constantFrom('1s', '2s', '1.5s', '500ms', '-1s', '70000s', 'abc', '10', '2.5m'));
const community = mostly(
  fc.constantFrom('65000:100', '0:0', '65535:65535', 'large:1:2:3', 'large:4294967295:0:1'),
  fc.oneof(
  fc.tuple(fc.nat(70_000), fc.nat(70_000)).map(([a, b]) => `${a}:${b}`),
  fc.tuple(fc.nat(4_300_000_000), fc.nat(9), fc.nat(9)).map(([a, b, c]) => `large:${a}:${b}:${c}`),
  fc.constantFrom('no-advertise', 'huge:1:2:3', '1:2:3', 'a:b', '007:1', 'large:1:2'),
  ),
);

/** spec generators per kind; `version` is the one created. */
const KINDS: Record<string, { plural: string; versions: string[]; spec: fc.Arbitrary<Json> }> = {
  IPAddressPool: {
    plural: 'ipaddresspools',
    versions: ['v1beta1'],
    spec: record({
      addresses: opt(fc.array(address, { maxLength: 3 })),
      autoAssign: opt(fc.boolean()),
      avoidBuggyIPs: opt(fc.boolean()),
      serviceAllocation: opt(record({ priority: opt(between(0, 100, -5, -1)), namespaces: opt(names), namespaceSelectors: opt(selectors), serviceSelectors: opt(selectors) })),
    }),
  },
  L2Advertisement: {
    plural: 'l2advertisements',
    versions: ['v1beta1'],
    spec: record({
      ipAddressPools: opt(names),
      ipAddressPoolSelectors: opt(selectors),
      nodeSelectors: opt(selectors),
      interfaces: opt(names),
      serviceSelectors: opt(selectors),
      preferredNodeSelectors: opt(fc.array(record({ weight: between(1, 100, 0, 101), preference: selector }), { maxLength: 2 })),
    }),
  },
  BGPAdvertisement: {
    plural: 'bgpadvertisements',
    versions: ['v1beta1'],
    spec: record({
      aggregationLength: opt(between(1, 32, -2, 34)),
      aggregationLengthV6: opt(between(0, 128, -2, 130)),
      localPref: opt(mostly(fc.nat(1000), fc.constantFrom(4_294_967_295, 4_294_967_296, -1))),
      communities: opt(fc.array(community, { maxLength: 3 })),
      ipAddressPools: opt(names),
      ipAddressPoolSelectors: opt(selectors),
      nodeSelectors: opt(selectors),
      peers: opt(names),
      serviceSelectors: opt(selectors),
    }),
  },
  BGPPeer: {
    plural: 'bgppeers',
    versions: ['v1beta2', 'v1beta1'],
    spec: record({
      myASN: mostly(fc.integer({ min: 1, max: 70_000 }), fc.constantFrom(0, 4_294_967_295, 4_294_967_296, undefined)),
      peerASN: mostly(fc.integer({ min: 1, max: 70_000 }), fc.constantFrom(0, 64512, undefined)),
      dynamicASN: opt(mostly(fc.constant(''), fc.constantFrom('internal', 'external', 'Internal'))),
      peerAddress: mostly(ip, fc.constant(undefined)),
      interface: opt(mostly(fc.constant(''), fc.constant('eth0'))),
      sourceAddress: opt(ip),
      peerPort: opt(between(1, 16_384, -1, 16_400)),
      holdTime: opt(duration),
      keepaliveTime: opt(duration),
      connectTime: opt(duration),
      routerID: opt(ip),
      nodeSelectors: opt(selectors),
      password: opt(fc.constantFrom('', 'secret')),
      passwordSecret: opt(record({ name: opt(fc.constantFrom('', 'bgp-auth')), namespace: opt(fc.constantFrom(NAMESPACE)) })),
      bfdProfile: opt(word),
      enableGracefulRestart: opt(fc.boolean()),
      ebgpMultiHop: opt(fc.boolean()),
      vrf: opt(fc.constantFrom('', 'red')),
      disableMP: opt(fc.boolean()),
    }),
  },
  BFDProfile: {
    plural: 'bfdprofiles',
    versions: ['v1beta1'],
    spec: record({
      detectMultiplier: opt(between(2, 255, 0, 300)),
      echoInterval: opt(between(10, 60_000, 0, 70_000)),
      echoMode: opt(fc.boolean()),
      minimumTtl: opt(between(1, 254, 0, 300)),
      passiveMode: opt(fc.boolean()),
      receiveInterval: opt(between(10, 60_000, 0, 70_000)),
      transmitInterval: opt(between(10, 60_000, 0, 70_000)),
    }),
  },
  Community: {
    plural: 'communities',
    versions: ['v1beta1'],
    spec: record({ communities: opt(fc.array(record({ name: opt(word), value: opt(community) }), { maxLength: 3 })) }),
  },
};

/** How a key is misspelt: a letter changed, singular/plural toggled, one letter's case flipped. */
function misspell(key: string, how: number, at: number): string {
  const i = at % key.length;
  if (how === 0) return `${key.slice(0, i)}${key[i] === 'x' ? 'y' : 'x'}${key.slice(i + 1)}`;
  if (how === 1) return key.endsWith('s') ? key.slice(0, -1) : `${key}s`;
  const c = key[i] as string;
  return `${key.slice(0, i)}${c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()}${key.slice(i + 1)}`;
}

/** Rename one key found by walking `path` choices down from `spec` (objects only). */
function withMisspeltKey(spec: Json, choices: readonly number[], how: number, at: number): Json {
  const copy = structuredClone(spec);
  let node: Json = copy;
  for (const choice of choices) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[choice % keys.length] as string;
    const child = node[key];
    const next = Array.isArray(child) ? child[0] : child;
    if (typeof next === 'object' && next !== null && !Array.isArray(next) && Object.keys(next).length > 0 && choice % 3 !== 0) {
      node = next as Json;
      continue;
    }
    const renamed = misspell(key, how, at);
    delete node[key];
    node[renamed] = child;
    return copy;
  }
  node[misspell('spec', how, at)] = true;
  return copy;
}

interface Case {
  kind: string;
  version: string;
  object: Json;
}

const caseArb: fc.Arbitrary<Case> = fc
  .constantFrom(...Object.keys(KINDS))
  .chain((kind) => {
    const k = KINDS[kind] as (typeof KINDS)[string];
    return fc.record({
      kind: fc.constant(kind),
      version: fc.constantFrom(...k.versions),
      spec: k.spec,
      mode: fc.constantFrom('as-is', 'as-is', 'misspelt'),
      choices: fc.array(fc.nat(30), { minLength: 1, maxLength: 3 }),
      how: fc.nat(2),
      at: fc.nat(20),
    });
  })
  .map(({ kind, version, spec, mode, choices, how, at }) => ({
    kind,
    version,
    object: {
      apiVersion: `metallb.io/${version}`,
      kind,
      metadata: { name: 'generated' },
      spec: mode === 'misspelt' ? withMisspeltKey(spec, choices, how, at) : spec,
    },
  }));

t.test('validate and the apiserver (dryRun, fieldValidation=Strict) agree on every generated object', async (t) => {
  const cp = await startControlPlane(t);
  await installCrds(cp);
  const admission = createAdmission([...loadCrds().values()]);
  const cases = fc.sample(caseArb, { numRuns: OBJECTS, seed: SEED });
  const disagreements: string[] = [];
  let admitted = 0;
  let unknownField = 0;
  let next = 0;
  const started = Date.now();
  const worker = async (): Promise<void> => {
    for (let i = next++; i < cases.length; i = next++) {
      const c = cases[i] as Case;
      const object = { ...c.object, metadata: { name: `gen-${i}` } };
      const plural = (KINDS[c.kind] as (typeof KINDS)[string]).plural;
      const res = await apiRequest(cp, 'POST', `/apis/metallb.io/${c.version}/namespaces/${NAMESPACE}/${plural}`, { query: 'dryRun=All&fieldValidation=Strict', body: object });
      if (res.status !== 201 && res.status !== 400 && res.status !== 422) throw new Error(`case ${i}: unexpected status ${res.status}: ${JSON.stringify(res.body)}`);
      const issues = admission.check(object);
      const server = res.status === 201;
      if (server) admitted++;
      if (issues.some((x) => x.message.startsWith('unknown field'))) unknownField++;
      if (server !== (issues.length === 0)) {
        const said = (res.body as { message?: string }).message ?? '';
        disagreements.push(`case ${i}: apiserver ${server ? 'admits' : `refuses (${said})`}, validate ${issues.length === 0 ? 'admits' : `refuses (${JSON.stringify(issues)})`}: ${JSON.stringify(object)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (Date.now() - started) / 1000;
  t.comment(`${cases.length} objects in ${seconds.toFixed(1)} s (seed ${SEED}): ${admitted} admitted, ${cases.length - admitted} refused, ${unknownField} with unknown fields`);
  t.ok(cases.length >= 2000, `${cases.length} objects compared`);
  // Both verdicts must occur often, or the comparison checks little.
  t.ok(admitted > cases.length / 5 && admitted < (cases.length * 4) / 5, `admitted ${admitted} of ${cases.length}`);
  t.ok(unknownField > cases.length / 10, `${unknownField} objects with a misspelt key`);
  t.same(disagreements.slice(0, 10), [], `${disagreements.length} disagreements`);
});
