/**
 * Per-object admission as the apiserver does it for metallb.io objects, offline: the CRD's own
 * OpenAPI v3 schema (with ajv), unknown fields as `fieldValidation=Strict` reports them (kubectl's
 * default, `--validate=strict`), schema defaults applied before the CEL rules, then the
 * `x-kubernetes-validations` rules (crd-cel.ts). Pure: the caller supplies the parsed CRDs.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { CelEnv } from '@bufbuild/cel';
import { closestName } from './closest-name';
import { compileRule, isTransitionRule, kubernetesCelEnv, type CelRuleSpec, type CompiledRule } from './crd-cel';
import { asObject } from './issues';

/** A structural schema node, as far as admission reads it. */
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  uniqueItems?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-validations'?: CelRuleSpec[];
  [k: string]: unknown;
}

/** One reason the apiserver would refuse an object. */
export interface AdmissionIssue {
  /** Field path in the apiserver's notation (`spec.addresses[0]`), `` for the object itself. */
  readonly path: string;
  readonly message: string;
}

/** Checks objects of the kinds and versions the CRDs serve. */
export interface Admission {
  /** True when `apiVersion`/`kind` name a served version of one of the CRDs. */
  serves(apiVersion: string, kind: string): boolean;
  /** Problems the apiserver would refuse `obj` for on create; empty when it would admit it. */
  check(obj: unknown): AdmissionIssue[];
}

interface Served {
  readonly validate: ValidateFunction;
  readonly schema: Schema;
}

/**
 * The schema ajv checks: structural schemas prune (or, under Strict, refuse) fields they do not
 * declare, so every object node with properties gets `additionalProperties: false` unless it
 * preserves unknown fields; `x-kubernetes-list-type: set` lists must not repeat an item.
 */
function forAjv(node: Schema): Schema {
  const out: Schema = { ...node };
  if (node.properties) out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, forAjv(v)]));
  if (node.items) out.items = forAjv(node.items);
  if (typeof node.additionalProperties === 'object') out.additionalProperties = forAjv(node.additionalProperties);
  if (node.type === 'object' && node.properties && node.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  if (node['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;
  return out;
}

/** `/spec/addresses/0` → `spec.addresses[0]`. */
function fieldPath(pointer: string, extra?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`), '');
}

function describe(e: ErrorObject): AdmissionIssue {
  if (e.keyword === 'additionalProperties') {
    const field = String((e.params as { additionalProperty: string }).additionalProperty);
    const known = Object.keys(asObject((e.parentSchema as Schema | undefined)?.properties) ?? {});
    const guess = closestName(field, known);
    return { path: fieldPath(e.instancePath, field), message: `unknown field${guess === undefined ? '' : `; did you mean ${guess}?`}` };
  }
  return { path: fieldPath(e.instancePath), message: e.message ?? e.keyword };
}

/** The CEL rules of a schema tree, evaluated on a value, depth first as the apiserver does. */
function celIssues(env: CelEnv, cache: Map<CelRuleSpec, CompiledRule>, schema: Schema, value: unknown, path: string, out: AdmissionIssue[]): void {
  if (value === undefined) return;
  for (const spec of schema['x-kubernetes-validations'] ?? []) {
    if (isTransitionRule(spec.rule)) continue;
    let rule = cache.get(spec);
    if (rule === undefined) {
      rule = compileRule(env, spec);
      cache.set(spec, rule);
    }
    const verdict = rule.check(value, schema);
    if (!verdict.ok) out.push({ path, message: verdict.message });
  }
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((v, i) => celIssues(env, cache, schema.items as Schema, v, `${path}[${i}]`, out));
    return;
  }
  const obj = asObject(value);
  if (!obj) return;
  const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  for (const [k, v] of Object.entries(obj)) {
    const child = schema.properties?.[k] ?? extra;
    if (child) celIssues(env, cache, child, v, path === '' ? k : `${path}.${k}`, out);
  }
}

/** Build the checks from parsed CustomResourceDefinition objects (any others are ignored). */
export function createAdmission(crds: readonly unknown[]): Admission {
  // int32/int64 are not range-checked by the apiserver's validator (kube-openapi), and
  // date-time only appears in status; `true` makes ajv accept these formats as they are.
  const ajv = new Ajv({ strict: false, allErrors: true, useDefaults: true, verbose: true, formats: { int32: true, int64: true, 'date-time': true } });
  const served = new Map<string, Served>();
  for (const raw of crds) {
    const crd = asObject(raw);
    const spec = asObject(crd?.['spec']);
    if (crd?.['kind'] !== 'CustomResourceDefinition' || !spec) continue;
    const kind = String(asObject(spec['names'])?.['kind'] ?? '');
    for (const v of Array.isArray(spec['versions']) ? (spec['versions'] as unknown[]) : []) {
      const version = asObject(v);
      const schema = asObject(asObject(version?.['schema'])?.['openAPIV3Schema']) as Schema | undefined;
      if (!version || version['served'] !== true || !schema) continue;
      served.set(`${String(spec['group'])}/${String(version['name'])}/${kind}`, { validate: ajv.compile(forAjv(schema)), schema });
    }
  }
  const env = kubernetesCelEnv();
  const cache = new Map<CelRuleSpec, CompiledRule>();
  return {
    serves: (apiVersion, kind) => served.has(`${apiVersion}/${kind}`),
    check(obj) {
      const o = asObject(obj);
      const s = served.get(`${String(o?.['apiVersion'])}/${String(o?.['kind'])}`);
      if (!o || !s) return [];
      // Defaults are applied to a copy: the caller's object is what the user wrote.
      const copy = structuredClone(o);
      if (!s.validate(copy)) return (s.validate.errors ?? []).map(describe);
      // As the apiserver, CEL runs only on a value that fits its schema (rules assume types).
      const out: AdmissionIssue[] = [];
      celIssues(env, cache, s.schema, copy, '', out);
      return out;
    },
  };
}
