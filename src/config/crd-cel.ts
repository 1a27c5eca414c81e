/**
 * Offline evaluation of a CRD's `x-kubernetes-validations` CEL rules with @bufbuild/cel, as the
 * apiserver evaluates them on create (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel).
 * Kubernetes adds library functions to standard CEL; only those our CRDs call are provided here:
 * cel-go's strings extension (from @bufbuild/cel/ext) and `isIP`, `isCIDR`, `ip(...).family()`
 * from k8s.io/apiserver/pkg/cel/library/ip.go and cidr.go.
 */
import { celEnv, celFunc, celMethod, CelScalar, isCelError, parse, plan, type CelEnv, type CelInput } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { isKubeCidr, parseKubeIp } from './kube-ip';

/** One `x-kubernetes-validations` entry. */
export interface CelRuleSpec {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
}

/** The subset of a structural schema the CEL value conversion needs. */
export interface CelSchema {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, CelSchema>>;
  readonly items?: CelSchema;
  readonly additionalProperties?: CelSchema | boolean;
}

/** The verdict of one rule on one value. */
export type RuleVerdict = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** A compiled rule; `check(self)` takes the JSON value at the rule's schema node. */
export interface CompiledRule {
  readonly rule: string;
  check(self: unknown, schema: CelSchema): RuleVerdict;
}

/**
 * The Kubernetes library functions the CRDs call. A k8s `net.IP` value is modelled as its
 * address text: `family()` is the only method our rules call on it.
 */
const KUBERNETES_FUNCS = [
  celFunc('isIP', [CelScalar.STRING], CelScalar.BOOL, (s) => parseKubeIp(s) !== undefined),
  celFunc('isCIDR', [CelScalar.STRING], CelScalar.BOOL, (s) => isKubeCidr(s)),
  celFunc('ip', [CelScalar.STRING], CelScalar.STRING, (s) => {
    if (parseKubeIp(s) === undefined) throw new Error(`IP Address ${JSON.stringify(s)} parse error during conversion from string`);
    return s;
  }),
  celMethod('family', CelScalar.STRING, [], CelScalar.INT, function (this: string) {
    return BigInt(parseKubeIp(this)?.family ?? 0);
  }),
];

/** One CEL environment per process use; plans are cached by the caller per rule. */
export function kubernetesCelEnv(): CelEnv {
  return celEnv({ funcs: [...strings, ...KUBERNETES_FUNCS] });
}

/**
 * JSON to CEL input by the schema, as the apiserver's UnstructuredToVal does: `integer` fields
 * are CEL ints (bigint), `number` doubles, objects maps, arrays lists. A value that does not fit
 * its schema type is passed as it is; the schema check reports it and CEL then errors.
 */
export function toCel(value: unknown, schema: CelSchema | undefined): CelInput {
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema?.items));
  if (typeof value === 'number') return schema?.type === 'integer' && Number.isInteger(value) ? BigInt(value) : value;
  if (typeof value === 'object' && value !== null) {
    const extra = typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    const out = new Map<string, CelInput>();
    for (const [k, v] of Object.entries(value)) out.set(k, toCel(v, schema?.properties?.[k] ?? extra));
    return out;
  }
  return value as CelInput;
}

/** True when a rule is a transition rule: the apiserver skips those on create. */
export function isTransitionRule(rule: string): boolean {
  return /\boldSelf\b/.test(rule);
}

/**
 * Compile one rule. The message is the rule's `messageExpression` result when it evaluates to a
 * string, else `message`, else the apiserver's default (`failed rule: <rule>`).
 */
export function compileRule(env: CelEnv, spec: CelRuleSpec): CompiledRule {
  const run = plan(env, parse(spec.rule));
  const messageRun = spec.messageExpression === undefined ? undefined : plan(env, parse(spec.messageExpression));
  const fallback = spec.message ?? `failed rule: ${spec.rule.replace(/\s+/g, ' ')}`;
  return {
    rule: spec.rule,
    check(self, schema) {
      const bound = { self: toCel(self, schema) };
      let result: unknown;
      try {
        result = run(bound);
      } catch (err) {
        result = err;
      }
      if (result === true) return { ok: true };
      if (isCelError(result) || typeof result !== 'boolean') {
        // The apiserver rejects the object when a rule cannot be evaluated.
        const why = isCelError(result) ? result.message : `rule returned ${typeof result}`;
        return { ok: false, message: `${fallback} (rule evaluation error: ${why})` };
      }
      if (messageRun !== undefined) {
        try {
          const m = messageRun(bound);
          if (typeof m === 'string' && m.trim() !== '') return { ok: false, message: m };
        } catch {
          // fall through to the static message, as the apiserver does
        }
      }
      return { ok: false, message: fallback };
    },
  };
}
