/**
 * Error collection for one parse, plus tolerant readers for user objects of any JSON shape.
 * Upstream stops at the first error; we collect every error so a user (or `metallb-ts
 * validate`) sees all of them at once. A collector lives for one `parseConfig` call only.
 */
import type { ConfigError, ConfigKind } from './types';

/** Identity of the object an error is about. */
export interface ObjectRef {
  readonly kind: ConfigKind;
  readonly namespace: string;
  readonly name: string;
}

/** Accumulates errors and warnings for one parse. */
export class Issues {
  readonly errors: ConfigError[] = [];
  readonly warnings: ConfigError[] = [];
  private readonly seen = new Set<string>();

  /** Record an error that makes the configuration invalid. */
  error(ref: ObjectRef, field: string, message: string, transient = false): void {
    this.push(this.errors, 'e', ref, field, message, transient);
  }

  /** Record a problem that upstream silently accepts (the config stays valid). */
  warn(ref: ObjectRef, field: string, message: string): void {
    this.push(this.warnings, 'w', ref, field, message, false);
  }

  /**
   * Take over what a per-object collector found, its errors as warnings: a broken BGPPeer
   * disables itself only (`disablesPeer` marks those), a broken BFDProfile the peers using it.
   * True when it had errors.
   */
  absorbAsWarnings(sub: Issues, disablesPeer: boolean): boolean {
    for (const w of sub.warnings) this.push(this.warnings, 'w', w, w.field, w.message, false);
    for (const e of sub.errors) this.push(this.warnings, disablesPeer ? 'p' : 'w', e, e.field, e.message, e.transient, disablesPeer);
    return sub.errors.length > 0;
  }

  private push(list: ConfigError[], tag: string, ref: ObjectRef, field: string, message: string, transient: boolean, disablesPeer = false): void {
    // One object can hit the same rule through several pools; report it once. A set keeps
    // this linear even for hostile objects with huge lists.
    const key = JSON.stringify([tag, ref.kind, ref.namespace, ref.name, message]);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    list.push({ kind: ref.kind, namespace: ref.namespace, name: ref.name, field, message, transient, ...(disablesPeer ? { disablesPeer } : {}) });
  }
}

/** A plain JSON object, or undefined for anything else (arrays, null, scalars). */
export function asObject(x: unknown): Record<string, unknown> | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}

/** Metadata of a Kubernetes object, tolerating missing or mistyped fields. */
export interface Meta {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Read `metadata.name`, `metadata.namespace` and string-valued `metadata.labels`. */
export function readMeta(obj: unknown): Meta {
  const md = asObject(asObject(obj)?.['metadata']);
  const name = md?.['name'];
  const namespace = md?.['namespace'];
  const rawLabels = asObject(md?.['labels']);
  // fromEntries defines own properties, so a "__proto__" label cannot touch the prototype.
  const labels: Record<string, string> = Object.fromEntries(
    Object.entries(rawLabels ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  return {
    name: typeof name === 'string' ? name : '',
    namespace: typeof namespace === 'string' ? namespace : '',
    labels,
  };
}

/** Show a user value inside a message without dumping huge structures. */
export function show(x: unknown): string {
  let s: string;
  try {
    // JSON has no NaN or Infinity (YAML's .nan/.inf): stringify would print them as "null".
    s = typeof x === 'string' ? JSON.stringify(x) : typeof x === 'number' && !Number.isFinite(x) ? String(x) : (JSON.stringify(x) ?? String(x));
  } catch {
    // BigInt, cycles or exotic objects: fall back to the tag, which cannot throw.
    s = Object.prototype.toString.call(x);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Reads typed fields of one object's spec, reporting type errors against that object. */
export class FieldReader {
  constructor(
    readonly issues: Issues,
    readonly ref: ObjectRef,
    readonly spec: Record<string, unknown>,
    readonly prefix = 'spec',
  ) {}

  /** Path of a field for error records. */
  path(field: string): string {
    return `${this.prefix}.${field}`;
  }

  /** Report an error against this object. */
  error(field: string, message: string, transient = false): void {
    this.issues.error(this.ref, field === '' ? this.prefix : this.path(field), message, transient);
  }

  /** Optional string field. */
  string(field: string): string | undefined {
    const v = this.spec[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.error(field, `${this.path(field)} must be a string, got ${show(v)}`);
      return undefined;
    }
    return v;
  }

  /** Optional boolean field (default false). */
  bool(field: string, dflt = false): boolean {
    const v = this.spec[field];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') {
      this.error(field, `${this.path(field)} must be a boolean, got ${show(v)}`);
      return dflt;
    }
    return v;
  }

  /** Optional integer field within [min, max]. */
  int(field: string, min: number, max: number): number | undefined {
    const v = this.spec[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.error(field, `${this.path(field)} must be an integer between ${min} and ${max}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }

  /** Optional list of strings (undefined/null = empty). */
  stringList(field: string): string[] {
    const v = this.spec[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.error(field, `${this.path(field)} must be a list of strings, got ${show(v)}`);
      return [];
    }
    const out: string[] = [];
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      if (typeof item !== 'string') this.error(`${field}[${i}]`, `${this.path(field)}[${i}] must be a string, got ${show(item)}`);
      else out.push(item);
    }
    return out;
  }

  /** Optional raw list (undefined/null = empty). */
  list(field: string): unknown[] {
    const v = this.spec[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.error(field, `${this.path(field)} must be a list, got ${show(v)}`);
      return [];
    }
    return v;
  }

  /** Report duplicates in a string list with upstream's `duplicate definition of <field> "<x>"`. */
  noDuplicates(field: string, values: readonly string[], message: (v: string) => string): void {
    const seen = new Set<string>();
    for (const v of values) {
      if (seen.has(v)) this.error(field, message(v));
      seen.add(v);
    }
  }
}
