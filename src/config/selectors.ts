/**
 * Kubernetes label selectors (`metav1.LabelSelector`) as small pure matchers. Parsing validates
 * the way apimachinery's `LabelSelectorAsSelector` does (qualified-name keys, label values,
 * operator/value-count rules) and returns a result instead of throwing, because selectors arrive
 * in user objects of any shape.
 */

/** Selector operators; `Equals` comes from `matchLabels`, the rest from `matchExpressions`. */
export const SelectorOperator = {
  Equals: 'Equals',
  In: 'In',
  NotIn: 'NotIn',
  Exists: 'Exists',
  DoesNotExist: 'DoesNotExist',
} as const;
export type SelectorOperator = (typeof SelectorOperator)[keyof typeof SelectorOperator];

/** One requirement; `values` are sorted and de-duplicated. */
export interface Requirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/**
 * A parsed selector: requirements ANDed, sorted by key like apimachinery's internal selector.
 * `text` is the canonical string form (`a=b,c in (x,y),!d`); `''` matches everything.
 */
export interface LabelMatcher {
  readonly requirements: readonly Requirement[];
  readonly text: string;
}

/** Result of parsing one selector. */
export type SelectorParse =
  | { readonly ok: true; readonly matcher: LabelMatcher }
  | { readonly ok: false; readonly error: string };

/** Labels of an object (node, namespace, service, pool). */
export type Labels = Readonly<Record<string, string>>;

const NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** apimachinery `IsQualifiedName`: `[prefix/]name`, name ≤ 63 chars, prefix a DNS subdomain ≤ 253. */
export function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0] ?? '';
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN_RE.test(prefix)) return false;
  } else {
    return false;
  }
  return name.length > 0 && name.length <= 63 && NAME_RE.test(name);
}

/** apimachinery `IsValidLabelValue`: empty, or ≤ 63 chars of the name alphabet. */
export function isLabelValue(value: string): boolean {
  return value === '' || (value.length <= 63 && NAME_RE.test(value));
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function requirementText(r: Requirement): string {
  switch (r.operator) {
    case SelectorOperator.Equals:
      return `${r.key}=${r.values[0] ?? ''}`;
    case SelectorOperator.In:
      return `${r.key} in (${r.values.join(',')})`;
    case SelectorOperator.NotIn:
      return `${r.key} notin (${r.values.join(',')})`;
    case SelectorOperator.Exists:
      return r.key;
    case SelectorOperator.DoesNotExist:
      return `!${r.key}`;
  }
}

function byKeyThenText(a: Requirement, b: Requirement): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  const ta = requirementText(a);
  const tb = requirementText(b);
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}

/** Build a matcher from already valid requirements (sorted into canonical order). */
export function matcherFrom(requirements: readonly Requirement[]): LabelMatcher {
  const sorted = [...requirements].sort(byKeyThenText);
  return { requirements: sorted, text: sorted.map(requirementText).join(',') };
}

/** The selector that matches every object (an empty LabelSelector). */
export function everything(): LabelMatcher {
  return { requirements: [], text: '' };
}

const OPERATORS: Readonly<Record<string, SelectorOperator>> = {
  In: SelectorOperator.In,
  NotIn: SelectorOperator.NotIn,
  Exists: SelectorOperator.Exists,
  DoesNotExist: SelectorOperator.DoesNotExist,
};

function parseExpression(raw: unknown, index: number): Requirement | string {
  if (!isPlainObject(raw)) return `matchExpressions[${index}] must be an object`;
  const key = raw['key'];
  if (typeof key !== 'string') return `matchExpressions[${index}].key must be a string`;
  if (!isQualifiedName(key)) return `invalid label key "${key}"`;
  const opRaw = raw['operator'];
  const operator = typeof opRaw === 'string' && Object.hasOwn(OPERATORS, opRaw) ? OPERATORS[opRaw] : undefined;
  if (operator === undefined) return `${JSON.stringify(typeof opRaw === 'string' ? opRaw : typeof opRaw)} is not a valid label selector operator`;
  const valuesRaw = raw['values'] ?? [];
  if (!Array.isArray(valuesRaw)) return `matchExpressions[${index}].values must be a list of strings`;
  const values: string[] = [];
  for (const v of valuesRaw) {
    if (typeof v !== 'string') return `matchExpressions[${index}].values must be a list of strings`;
    if (!isLabelValue(v)) return `invalid label value "${v}" for key "${key}"`;
    values.push(v);
  }
  if ((operator === SelectorOperator.In || operator === SelectorOperator.NotIn) && values.length === 0) {
    return `key "${key}": for 'in', 'notin' operators, values set can't be empty`;
  }
  if ((operator === SelectorOperator.Exists || operator === SelectorOperator.DoesNotExist) && values.length > 0) {
    return `key "${key}": values set must be empty for exists and does not exist`;
  }
  return { key, operator, values: [...new Set(values)].sort() };
}

/**
 * Parse one `metav1.LabelSelector` JSON object. An empty selector (no labels, no expressions)
 * matches everything, as apimachinery's `LabelSelectorAsSelector` does for a non-nil selector.
 */
export function parseLabelSelector(raw: unknown): SelectorParse {
  if (raw === undefined || raw === null) return { ok: true, matcher: everything() };
  if (!isPlainObject(raw)) return { ok: false, error: 'label selector must be an object' };
  const requirements: Requirement[] = [];
  const ml = raw['matchLabels'];
  if (ml !== undefined && ml !== null) {
    if (!isPlainObject(ml)) return { ok: false, error: 'matchLabels must be a map of strings' };
    for (const [key, value] of Object.entries(ml)) {
      if (typeof value !== 'string') return { ok: false, error: `matchLabels["${key}"] must be a string` };
      if (!isQualifiedName(key)) return { ok: false, error: `invalid label key "${key}"` };
      if (!isLabelValue(value)) return { ok: false, error: `invalid label value "${value}" for key "${key}"` };
      requirements.push({ key, operator: SelectorOperator.Equals, values: [value] });
    }
  }
  const me = raw['matchExpressions'];
  if (me !== undefined && me !== null) {
    if (!Array.isArray(me)) return { ok: false, error: 'matchExpressions must be a list' };
    for (let i = 0; i < me.length; i++) {
      const r = parseExpression(me[i], i);
      if (typeof r === 'string') return { ok: false, error: r };
      requirements.push(r);
    }
  }
  return { ok: true, matcher: matcherFrom(requirements) };
}

function has(labels: Labels, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(labels, key);
}

/** Does one requirement hold for these labels (apimachinery `Requirement.Matches`)? */
export function requirementMatches(r: Requirement, labels: Labels): boolean {
  switch (r.operator) {
    case SelectorOperator.Equals:
    case SelectorOperator.In:
      return has(labels, r.key) && r.values.includes(labels[r.key] ?? '');
    case SelectorOperator.NotIn:
      // As in Kubernetes, NotIn also matches objects that lack the key.
      return !has(labels, r.key) || !r.values.includes(labels[r.key] ?? '');
    case SelectorOperator.Exists:
      return has(labels, r.key);
    case SelectorOperator.DoesNotExist:
      return !has(labels, r.key);
  }
}

/** Does the selector match these labels (every requirement holds)? */
export function matches(matcher: LabelMatcher, labels: Labels | undefined): boolean {
  const l = labels ?? {};
  return matcher.requirements.every((r) => requirementMatches(r, l));
}

/**
 * OR over a selector list, with upstream's convention that an empty list selects everything
 * (nodeSelectors, serviceSelectors of advertisements and peers).
 */
export function matchesAny(matchers: readonly LabelMatcher[], labels: Labels | undefined): boolean {
  return matchers.length === 0 || matchers.some((m) => matches(m, labels));
}
