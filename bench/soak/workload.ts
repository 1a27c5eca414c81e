/**
 * The soak's workload: a seeded random walk of Service and pool changes (create, edit, delete),
 * each one logged as a {@link Cause} when it may legitimately move an IP, so the invariant
 * checker can tell a caused reassignment from a spontaneous one.
 */
import type { Cluster } from '../../test/harness/cluster';
import { RELEASE_NAMESPACE } from '../../test/harness/cluster';
import { labConfig, pool, toYaml } from '../../test/fixtures/manifests/metallb-config';
import type { Cause } from './invariants';

/** Namespace the soak's Services live in. */
export const SOAK_NAMESPACE = 'soak';
/** The always-present pool (auto-assign), and the one the workload creates, edits and deletes. */
export const BASE_POOL = 'base';
export const CHURN_POOL = 'churn';
/** The IP that Services with a sharing key ask for. */
export const SHARED_IP = '10.77.0.130';
const MAX_SERVICES = 8;
const MIN_SERVICES = 3;

const CHURN_RANGES = [
  ['10.77.0.140-10.77.0.149', 'fd00:77::140-fd00:77::149'],
  ['10.77.0.140-10.77.0.144', 'fd00:77::140-fd00:77::144'],
  ['10.77.0.145-10.77.0.149', 'fd00:77::145-fd00:77::149'],
] as const;

/** Static configuration: base pool, L2 + BGP advertisements of every pool, the FRR peer. */
export function baseConfig(passwordSecret?: string): string {
  return toYaml(
    labConfig({
      pool: BASE_POOL,
      addresses: ['10.77.0.100-10.77.0.130', 'fd00:77::100-fd00:77::130'],
      everyPool: true,
      l2: { name: 'all' },
      bgp: { name: 'all', aggregationLength: 32, aggregationLengthV6: 128 },
      peer: { holdTime: '9s', dualStackAddressFamily: true, ...(passwordSecret ? { passwordSecret: { name: passwordSecret, namespace: RELEASE_NAMESPACE } } : {}) },
    }),
  );
}

function churnPoolYaml(range: readonly string[]): string {
  return toYaml([pool(CHURN_POOL, range, { autoAssign: false })]);
}

/** The workload's own memory of what it made. */
export interface WorkloadState {
  next: number;
  services: Set<string>;
  churnPool: boolean;
  /**
   * Services created whose EndpointSlice write failed (the apiserver restarting in between):
   * without endpoints nobody may announce them, so the next steps retry before anything else.
   */
  readonly missingEndpoints: Set<string>;
  readonly causes: Cause[];
  readonly ops: Record<string, number>;
}

/** A fresh workload state. */
export function newWorkload(): WorkloadState {
  return { next: 1, services: new Set(), churnPool: false, missingEndpoints: new Set(), causes: [], ops: {} };
}

type Variant = 'v4' | 'dual' | 'v6' | 'shared' | 'churn';

function serviceBody(name: string, variant: Variant, port: number): Record<string, unknown> {
  const annotations: Record<string, string> = {};
  const spec: Record<string, unknown> = { type: 'LoadBalancer', ports: [{ name: 'p', port, protocol: 'TCP' }], selector: { app: name } };
  if (variant === 'dual') Object.assign(spec, { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] });
  if (variant === 'v6') Object.assign(spec, { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] });
  if (variant === 'shared') Object.assign(annotations, { 'metallb.io/allow-shared-ip': 'soak', 'metallb.io/loadBalancerIPs': SHARED_IP });
  if (variant === 'churn') annotations['metallb.io/address-pool'] = CHURN_POOL;
  return { metadata: { name, annotations, labels: { soak: 'yes' } }, spec };
}

/**
 * One random step. Returns a short description of what was done. Errors (apiserver down during
 * a restart fault) propagate: the caller counts them and carries on.
 */
export async function step(c: Cluster, w: WorkloadState, rand: () => number, now: () => number): Promise<string> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  for (const name of [...w.missingEndpoints]) {
    if (w.services.has(name)) await c.setEndpoints(SOAK_NAMESPACE, name, c.lab.nodes.map((n) => n.name));
    w.missingEndpoints.delete(name);
  }
  const count = w.services.size;
  const roll = rand();
  const op = count < MIN_SERVICES ? 'create' : count >= MAX_SERVICES ? 'delete' : roll < 0.3 ? 'create' : roll < 0.55 ? 'edit' : roll < 0.75 ? 'delete' : 'pool';
  w.ops[op] = (w.ops[op] ?? 0) + 1;
  if (op === 'create') {
    const name = `svc-${w.next++}`;
    const variant = pick<Variant>(['v4', 'v4', 'dual', 'v6', 'shared', 'churn']);
    const port = variant === 'shared' ? 8000 + Math.floor(rand() * 4) : 8080;
    w.causes.push({ atMs: now(), service: `${SOAK_NAMESPACE}/${name}`, what: `create ${variant}` });
    await c.core.createNamespacedService({ namespace: SOAK_NAMESPACE, body: serviceBody(name, variant, port) as never });
    w.services.add(name);
    w.missingEndpoints.add(name);
    await c.setEndpoints(SOAK_NAMESPACE, name, c.lab.nodes.map((n) => n.name));
    w.missingEndpoints.delete(name);
    return `create ${name} (${variant}, port ${port})`;
  }
  if (op === 'delete') {
    const name = pick([...w.services]);
    w.causes.push({ atMs: now(), service: `${SOAK_NAMESPACE}/${name}`, what: 'delete' });
    w.services.delete(name);
    await c.core.deleteNamespacedService({ name, namespace: SOAK_NAMESPACE });
    return `delete ${name}`;
  }
  if (op === 'edit') {
    const name = pick([...w.services]);
    const kind = pick(['label', 'label', 'port', 'pool']);
    const patch =
      kind === 'label'
        ? // A label edit is no reason to move an IP: deliberately not recorded as a cause.
          [{ op: 'add', path: '/metadata/labels/rev', value: String(w.next++) }]
        : kind === 'port'
          ? [{ op: 'replace', path: '/spec/ports/0/port', value: 8000 + Math.floor(rand() * 4) }]
          : [{ op: 'add', path: '/metadata/annotations', value: rand() < 0.5 ? { 'metallb.io/address-pool': CHURN_POOL } : {} }];
    if (kind !== 'label') w.causes.push({ atMs: now(), service: `${SOAK_NAMESPACE}/${name}`, what: `edit ${kind}` });
    const r = await c.cp.kubectl(['patch', 'service', '-n', SOAK_NAMESPACE, name, '--type=json', '-p', JSON.stringify(patch)]);
    if (r.code !== 0) throw new Error(`patch ${name}: ${r.stderr.trim()}`);
    return `edit ${name} (${kind})`;
  }
  // Pool churn: create, reshape or delete the churn pool (a cause for every Service in it).
  w.causes.push({ atMs: now(), pool: CHURN_POOL, what: 'pool change' });
  if (w.churnPool && rand() < 0.35) {
    const r = await c.cp.kubectl(['delete', 'ipaddresspool', '-n', RELEASE_NAMESPACE, CHURN_POOL, '--wait=false']);
    if (r.code !== 0) throw new Error(`delete pool: ${r.stderr.trim()}`);
    w.churnPool = false;
    return 'delete pool churn';
  }
  const range = pick(CHURN_RANGES);
  await c.apply(churnPoolYaml(range));
  w.churnPool = true;
  return `apply pool churn ${range.join(',')}`;
}
