/**
 * Lists of label selectors inside MetalLB specs, with upstream's duplicate rules
 * (`validateLabelSelectorDuplicate`, docs/upstream-behaviour.md §2.13) followed by apimachinery's
 * conversion rules (operators, value counts, key and value syntax).
 */
import { asObject, type FieldReader, show } from './issues';
import { type LabelMatcher, matches, parseLabelSelector, type Labels } from './selectors';

function expressionKey(raw: unknown): string | undefined {
  const e = asObject(raw);
  if (!e) return undefined;
  const values = Array.isArray(e['values']) ? (e['values'] as unknown[]).map((v) => (typeof v === 'string' ? v : show(v))).sort() : [];
  const text = (v: unknown): string => (typeof v === 'string' ? v : show(v));
  return `${text(e['key'])} ${text(e['operator'])} (${values.join(',')})`;
}

/** Duplicate checks inside one selector; returns the first problem found, if any. */
function duplicateInside(raw: unknown): string | undefined {
  const sel = asObject(raw);
  const exprs = sel?.['matchExpressions'];
  if (!Array.isArray(exprs)) return undefined;
  const seenExpr = new Set<string>();
  for (const e of exprs) {
    const values = asObject(e)?.['values'];
    if (Array.isArray(values)) {
      const seenVal = new Set<unknown>();
      for (const v of values) {
        if (seenVal.has(v)) return `duplicate definition of match expression value in label selector ${show(v)}`;
        seenVal.add(v);
      }
    }
    const k = expressionKey(e);
    if (k !== undefined) {
      if (seenExpr.has(k)) return `duplicate definition of match expressions "${k}"`;
      seenExpr.add(k);
    }
  }
  return undefined;
}

/**
 * Parse `spec.<field>` as a list of LabelSelectors. Invalid selectors are reported with
 * `invalid(err)` (upstream's wording differs per field) and left out of the result.
 */
export function readSelectorList(
  r: FieldReader,
  field: string,
  invalid: (err: string) => string = (err) => `invalid ${field}: ${err}`,
): LabelMatcher[] {
  const raws = r.list(field);
  const out: LabelMatcher[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < raws.length; i++) {
    const dup = duplicateInside(raws[i]);
    if (dup !== undefined) {
      r.error(`${field}[${i}]`, dup);
      continue;
    }
    const p = parseLabelSelector(raws[i] ?? {});
    if (!p.ok) {
      r.error(`${field}[${i}]`, invalid(p.error));
      continue;
    }
    if (seen.has(p.matcher.text)) {
      r.error(`${field}[${i}]`, `duplicate definition of ${field} "${p.matcher.text}"`);
      continue;
    }
    seen.add(p.matcher.text);
    out.push(p.matcher);
  }
  return out;
}

/** Names of the objects selected by any of the selectors (an empty list selects all). */
export function selectNames(
  selectors: readonly LabelMatcher[],
  objects: readonly { readonly name: string; readonly labels: Labels }[],
): Set<string> {
  const out = new Set<string>();
  for (const o of objects) {
    if (selectors.length === 0 || selectors.some((s) => matches(s, o.labels))) out.add(o.name);
  }
  return out;
}

/** Sort selectors by canonical string form, as upstream does for serviceSelectors. */
export function sortSelectors(selectors: readonly LabelMatcher[]): LabelMatcher[] {
  return [...selectors].sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
}
