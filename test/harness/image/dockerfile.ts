/**
 * A small Dockerfile reader, enough to compare a stage's recipe with the image scripts' own
 * manifest: logical lines (backslash continuations, comments), stages by `FROM ... AS name`, and
 * the instructions that shape a runtime image (COPY, ENV, WORKDIR, USER, ENTRYPOINT, CMD, RUN).
 * Pure: text in, data out.
 */

/** One instruction: its keyword (upper case) and the rest of the logical line. */
export interface Instruction {
  keyword: string;
  args: string;
}

/** One build stage. */
export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** One COPY: `from` is a stage name, or undefined for the build context. */
export interface CopyStep {
  from?: string;
  sources: string[];
  dest: string;
}

/** What a stage contributes to the image it produces. */
export interface StageRecipe {
  base: string;
  env: Record<string, string>;
  workdir: string;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  copies: CopyStep[];
  runs: string[];
}

/** Logical lines: comments and blank lines dropped, `\` continuations joined. */
export function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (pending === '' && /^\s*#/.test(line)) continue; // comments and parser directives
    if (pending !== '' && /^\s*#/.test(line)) continue; // comment lines inside a continuation
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const full = (pending + line.trim()).trim();
    pending = '';
    if (full !== '') out.push(full);
  }
  if (pending.trim() !== '') out.push(pending.trim());
  return out;
}

/** Stages in order; instructions before the first FROM (global ARGs) are dropped. */
export function parseStages(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const line of logicalLines(text)) {
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const keyword = (m[1] ?? '').toUpperCase();
    const args = m[2] ?? '';
    if (keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`cannot read FROM ${args}`);
      stages.push({ base: from[1] ?? '', name: from[2] ?? String(stages.length), instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ keyword, args });
  }
  return stages;
}

/** ENTRYPOINT/CMD: the JSON (exec) form as an array; the shell form as `/bin/sh -c`. */
export function execForm(args: string): string[] {
  if (args.startsWith('[')) {
    const parsed: unknown = JSON.parse(args);
    if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not a string array: ${args}`);
    return parsed;
  }
  return ['/bin/sh', '-c', args];
}

/** ENV KEY=VALUE ... (or the legacy `ENV KEY VALUE`); values may be double-quoted. */
export function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (!args.includes('=')) {
    const [key, ...rest] = args.split(/\s+/);
    if (key) env[key] = rest.join(' ');
    return env;
  }
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const value = m[2] ?? '';
    env[m[1] ?? ''] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  }
  return env;
}

/** COPY [--from=stage] [--chown=...] src... dest (the JSON form too). */
export function parseCopy(args: string): CopyStep {
  const words: string[] = [];
  let from: string | undefined;
  let rest = args;
  for (let m = /^--(\w+)=(\S+)\s+/.exec(rest); m; m = /^--(\w+)=(\S+)\s+/.exec(rest)) {
    if (m[1] === 'from') from = m[2];
    rest = rest.slice(m[0].length);
  }
  if (rest.startsWith('[')) words.push(...execForm(rest));
  else words.push(...rest.split(/\s+/));
  const dest = words.pop();
  if (dest === undefined || words.length === 0) throw new Error(`COPY needs a source and a destination: ${args}`);
  return from === undefined ? { sources: words, dest } : { from, sources: words, dest };
}

/** The recipe of one stage, by name (instructions the image config does not see are ignored). */
export function stageRecipe(text: string, name: string): StageRecipe {
  const stage = parseStages(text).find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  const recipe: StageRecipe = { base: stage.base, env: {}, workdir: '/', copies: [], runs: [] };
  for (const { keyword, args } of stage.instructions) {
    if (keyword === 'ENV') Object.assign(recipe.env, parseEnv(args));
    else if (keyword === 'WORKDIR') recipe.workdir = args.startsWith('/') ? args : `${recipe.workdir.replace(/\/$/, '')}/${args}`;
    else if (keyword === 'USER') recipe.user = args;
    else if (keyword === 'ENTRYPOINT') recipe.entrypoint = execForm(args);
    else if (keyword === 'CMD') recipe.cmd = execForm(args);
    else if (keyword === 'COPY') recipe.copies.push(parseCopy(args));
    else if (keyword === 'RUN') recipe.runs.push(args);
  }
  return recipe;
}
