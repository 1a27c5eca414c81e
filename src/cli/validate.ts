/**
 * `metallb-ts validate <files|dirs>`: the controller's own config parser, offline, for GitOps CI.
 * Reads YAML/JSON manifests (multi-document, `List`s flattened), runs `parseConfig` over every
 * metallb.io object found and prints every problem as `<file>: <Kind>/<name>: <message>`.
 * Exit codes: 0 valid, 1 configuration errors, 2 unreadable input or YAML syntax errors.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { collectManifests, type Origin, originKey } from '../config/manifests';
import { parseConfig } from '../config/parse';
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
}

/** Exit codes of the command. */
export const ValidateExit = { Valid: 0, Invalid: 1, BadInput: 2 } as const;

const MANIFEST_RE = /\.(ya?ml|json)$/i;

/** Expand directories recursively into manifest files (sorted); explicit files are kept as given. */
async function expand(paths: readonly string[], problems: string[]): Promise<string[]> {
  const out: string[] = [];
  const seenDirs = new Set<string>();
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
      else if (MANIFEST_RE.test(e.name)) out.push(p);
    }
  };
  for (const p of paths) {
    try {
      const s = await stat(p);
      if (s.isDirectory()) await walk(p);
      else out.push(p);
    } catch (err) {
      problems.push(`${p}: cannot read: ${errorMessage(err)}`);
    }
  }
  return out;
}

interface Doc {
  readonly value: unknown;
  readonly origin: Origin;
}

/** Line number (1-based) of a character offset. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

async function readDocs(file: string, problems: string[]): Promise<Doc[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    problems.push(`${file}: cannot read: ${errorMessage(err)}`);
    return [];
  }
  const docs: Doc[] = [];
  for (const doc of parseAllDocuments(text, { prettyErrors: false })) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = e.linePos?.[0];
        const where = pos ? `${pos.line}:${pos.col}` : `${lineOf(text, e.pos[0])}:1`;
        problems.push(`${file}:${where}: YAML syntax error: ${e.message.split('\n')[0] ?? e.code}`);
      }
      continue;
    }
    const start = doc.contents?.range?.[0] ?? 0;
    docs.push({ value: doc.toJS({ maxAliasCount: 1000 }) as unknown, origin: { file, line: lineOf(text, start) } });
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
  const docs: Doc[] = [];
  for (const f of files) docs.push(...(await readDocs(f, problems)));
  for (const p of problems) io.stderr(p);
  if (files.length === 0 && problems.length === 0) {
    // A CI step that silently checks nothing is worse than a failing one.
    io.stderr(`no manifest files (*.yaml, *.yml, *.json) found in ${paths.join(', ')}`);
    return ValidateExit.BadInput;
  }

  const collected = collectManifests(docs, options.namespace);
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
    lines.push({ file: where, text: `${where}: ${w.kind}/${w.name}: warning: ${w.message}` });
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
