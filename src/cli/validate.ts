/**
 * `metallb-ts validate <files|dirs>`: the controller's own config parser, offline, for GitOps CI.
 * Reads YAML/JSON manifests (multi-document, `List`s flattened), checks every metallb.io object
 * against the chart's CRDs as the apiserver would (src/config/crd-admission.ts), runs
 * `parseConfig` over them and prints every problem as `<file>: <Kind>/<name>: <message>`.
 * Exit codes: 0 valid, 1 configuration errors, 2 unreadable input or YAML syntax errors.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { Composer, LineCounter, parseAllDocuments, Parser, type CST } from 'yaml';
import { createAdmission, type Admission } from '../config/crd-admission';
import { collectManifests, type Origin, originKey } from '../config/manifests';
import { parseConfig } from '../config/parse';
import { describeConfigError } from '../config/scope';
import type { ConfigError } from '../config/types';
import { errorMessage } from '../util/errors';

/** Output sinks; each call receives one line without its trailing newline. */
export interface ValidateIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

/** Options beyond the paths. */
export interface ValidateOptions {
  /** The MetalLB namespace; namespaced objects elsewhere are ignored with a warning. */
  readonly namespace?: string;
  /** Directory of the CRD manifests; by default the chart's, found above this file. */
  readonly crdDir?: string;
}

/** Exit codes of the command. */
export const ValidateExit = { Valid: 0, Invalid: 1, BadInput: 2 } as const;

const MANIFEST_RE = /\.(ya?ml|json)$/i;

/**
 * Expand directories recursively into manifest files (sorted); explicit files are kept as given.
 * Each real file is returned once, under the first path that reached it: `validate dir dir/q.yaml`
 * or a symlink to a sibling manifest would otherwise read the same objects twice and report them
 * as duplicate definitions.
 */
async function expand(paths: readonly string[], problems: string[]): Promise<string[]> {
  const out: string[] = [];
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();
  const addFile = async (p: string): Promise<void> => {
    // A dangling symlink has no realpath; keep it under its own name so readDocs reports it.
    const real = await realpath(p).catch(() => path.resolve(p));
    if (seenFiles.has(real)) return;
    seenFiles.add(real);
    out.push(p);
  };
  const walk = async (dir: string): Promise<void> => {
    // Symlinked directories may form loops; visit each real directory once.
    const real = await realpath(dir);
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = path.join(dir, e.name);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(p).then((s) => s.isDirectory(), () => false)));
      if (isDir) await walk(p);
      else if (MANIFEST_RE.test(e.name)) await addFile(p);
    }
  };
  for (const p of paths) {
    try {
      const s = await stat(p);
      if (s.isDirectory()) await walk(p);
      else await addFile(p);
    } catch (err) {
      problems.push(`${p}: cannot read: ${errorMessage(err)}`);
    }
  }
  return out;
}

/** The chart's CRD directory, searched upwards from here (src/cli and dist/src/cli alike). */
function defaultCrdDir(): string | undefined {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'charts', 'metallb-ts', 'files', 'crds');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The admission checks built from every CRD manifest in `dir`. */
async function loadAdmission(dir: string | undefined, problems: string[]): Promise<Admission | undefined> {
  if (dir === undefined) {
    problems.push('cannot find the metallb.io CRDs (charts/metallb-ts/files/crds); pass them with --crds <dir>');
    return undefined;
  }
  try {
    const crds: unknown[] = [];
    for (const f of (await readdir(dir)).filter((n) => MANIFEST_RE.test(n)).sort()) {
      for (const doc of parseAllDocuments(await readFile(path.join(dir, f), 'utf8'))) crds.push(doc.toJS() as unknown);
    }
    return createAdmission(crds);
  } catch (err) {
    problems.push(`${dir}: cannot load the CRDs: ${errorMessage(err)}`);
    return undefined;
  }
}

interface Doc {
  readonly value: unknown;
  readonly origin: Origin;
}


/**
 * Deepest collection nesting accepted. yaml's composer recurses once per level and overflows the
 * stack near 1,000 levels; on Node 20 a second such overflow in one process aborts it inside V8's
 * RegExp compiler (a fatal out-of-memory, not an exception), so `[[[[...` in two files killed the
 * command. The CST parser is iterative, so depth is measured there first. The metallb.io CRDs are
 * under 10 levels deep.
 */
export const MAX_YAML_NESTING = 200;

/** The deepest collection nesting under a CST token, measured without recursion. */
function cstDepth(root: CST.Token): number {
  let max = 0;
  const stack: Array<[CST.Token, number]> = [[root, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [tok, depth] = top;
    max = Math.max(max, depth);
    if (tok.type === 'document') {
      if (tok.value) stack.push([tok.value, depth]);
    } else if (tok.type === 'block-map' || tok.type === 'block-seq' || tok.type === 'flow-collection') {
      for (const item of tok.items) {
        if (item.key) stack.push([item.key, depth + 1]);
        if (item.value) stack.push([item.value, depth + 1]);
      }
    }
  }
  return max;
}

/**
 * True when a decoded value contains itself. A recursive alias (`&a {items: [*a]}`) decodes to a
 * cyclic object, which no manifest can mean and which would send every walker round forever.
 * Iterative three-colour DFS; shared (non-cyclic) alias targets are walked once.
 */
function isCyclic(root: unknown): boolean {
  const done = new Set<object>();
  const active = new Set<object>();
  const stack: Array<{ node: object; exit: boolean }> = [];
  if (typeof root === 'object' && root !== null) stack.push({ node: root, exit: false });
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (top.exit) {
      active.delete(top.node);
      done.add(top.node);
      continue;
    }
    if (done.has(top.node)) continue;
    active.add(top.node);
    stack.push({ node: top.node, exit: true });
    for (const child of Object.values(top.node) as unknown[]) {
      if (typeof child !== 'object' || child === null || done.has(child)) continue;
      if (active.has(child)) return true;
      stack.push({ node: child, exit: false });
    }
  }
  return false;
}

async function readDocs(file: string, problems: string[]): Promise<Doc[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    problems.push(`${file}: cannot read: ${errorMessage(err)}`);
    return [];
  }
  // Line numbers by binary search over recorded newlines: counting from the start for every
  // document made a file of 5,000 documents quadratic (tens of seconds).
  const lines = new LineCounter();
  const lineOf = (offset: number): number => lines.linePos(offset).line;
  const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
  for (const tok of tokens) {
    if (tok.type === 'document' && cstDepth(tok) > MAX_YAML_NESTING) {
      problems.push(`${file}:${lineOf(tok.offset)}:1: YAML nesting deeper than ${MAX_YAML_NESTING} levels; not parsed`);
      return [];
    }
  }
  const docs: Doc[] = [];
  // Counted over every document, skipped ones included, so the number matches the file.
  let document = 0;
  // logLevel 'error': yaml would otherwise print its own warnings (collection keys) via process.emitWarning.
  for (const doc of new Composer({ prettyErrors: false, logLevel: 'error' }).compose(tokens, true, text.length)) {
    document++;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = e.linePos?.[0];
        const where = pos ? `${pos.line}:${pos.col}` : `${lineOf(e.pos[0])}:1`;
        problems.push(`${file}:${where}: YAML syntax error: ${e.message.split('\n')[0] ?? e.code}`);
      }
      continue;
    }
    const start = doc.contents?.range?.[0] ?? 0;
    const line = lineOf(start);
    const where = `${file}:${line}:1`;
    let value: unknown;
    try {
      // toJS throws for an alias to an unknown anchor and for alias expansion past the limit
      // (a "billion laughs" document): input problems, not crashes.
      value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    } catch (err) {
      problems.push(`${where}: YAML error: ${errorMessage(err)}`);
      continue;
    }
    if (isCyclic(value)) {
      problems.push(`${where}: YAML aliases make this document contain itself; not parsed`);
      continue;
    }
    docs.push({ value, origin: { file, line, document } });
  }
  return docs;
}

function place(origins: ReadonlyMap<string, readonly Origin[]>, e: ConfigError): string {
  const list = origins.get(originKey(e.kind, e.namespace, e.name)) ?? [];
  const files = [...new Set(list.map((o) => o.file))];
  return files.length > 0 ? files.join(', ') : '<input>';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Run the command; never throws for bad input, returns the exit code. */
export async function runValidate(paths: string[], io: ValidateIo, options: ValidateOptions = {}): Promise<number> {
  const problems: string[] = [];
  if (paths.length === 0) {
    io.stderr('usage: metallb-ts validate <files|dirs>...');
    return ValidateExit.BadInput;
  }
  const files = await expand(paths, problems);
  const admission = await loadAdmission(options.crdDir ?? defaultCrdDir(), problems);
  const docs: Doc[] = [];
  for (const f of files) docs.push(...(await readDocs(f, problems)));
  for (const p of problems) io.stderr(p);
  if (files.length === 0 && problems.length === 0) {
    // A CI step that silently checks nothing is worse than a failing one.
    io.stderr(`no manifest files (*.yaml, *.yml, *.json) found in ${paths.join(', ')}`);
    return ValidateExit.BadInput;
  }

  const collected = collectManifests(docs, options.namespace, admission);
  const result = parseConfig(collected.resources);
  // Lines are grouped by file (stable, so parse order is kept inside a file).
  const lines: { file: string; text: string }[] = [];
  let errors = 0;
  let warnings = 0;
  for (const n of collected.notes) {
    if (n.severity === 'error') errors++;
    else warnings++;
    lines.push({ file: n.origin.file, text: `${n.origin.file}: ${n.subject}: ${n.severity === 'warning' ? 'warning: ' : ''}${n.message}` });
  }
  if (!result.ok) {
    for (const e of result.errors) {
      const where = place(collected.origins, e);
      lines.push({ file: where, text: `${where}: ${e.kind}/${e.name}: ${e.message}` });
    }
    errors += result.errors.length;
  }
  for (const w of result.warnings) {
    const where = place(collected.origins, w);
    lines.push({ file: where, text: `${where}: ${w.kind}/${w.name}: warning: ${describeConfigError(w)}` });
  }
  warnings += result.warnings.length;
  lines.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  for (const l of lines) io.stdout(l.text);

  const r = collected.resources;
  const counted = `${plural(r.pools.length, 'pool')}, ${plural(r.l2Advertisements.length, 'L2 advertisement')}, ${plural(r.bgpAdvertisements.length, 'BGP advertisement')}, ${plural(r.peers.length, 'peer')}, ${plural(r.communities.length, 'community object')}`;
  const summary = `${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${plural(files.length, 'file')} (${counted})`;
  if (problems.length > 0) {
    io.stdout(`${summary}; ${plural(problems.length, 'input problem')}`);
    return ValidateExit.BadInput;
  }
  io.stdout(errors > 0 ? `invalid: ${summary}` : `valid: ${summary}`);
  return errors > 0 ? ValidateExit.Invalid : ValidateExit.Valid;
}
