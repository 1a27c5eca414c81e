/**
 * The defaults written in the docs' flag tables are the defaults the code registers with
 * commander. docs/chart-reference.md once said `--l2-probe-misses` defaults to 3 while the speaker
 * used 4: docs.test.ts checks every rendered flag is documented, not what the docs say about it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import t, { type Test } from 'tap';
import { parseGoDuration } from '../../src/config/duration';
import { addControllerFlags } from '../../src/controller/controller-options';
import { addSpeakerFlags } from '../../src/speaker/speaker-options';
import { repoRoot } from '../harness/tools';

type Defaults = Map<string, unknown>;

function defaultsOf(cmd: Command): Defaults {
  return new Map(cmd.options.map((o) => [o.long ?? '', o.defaultValue as unknown]));
}

const speaker = defaultsOf(addSpeakerFlags(new Command('speaker')));
const controller = defaultsOf(addControllerFlags(new Command('controller')));

/** Table rows whose first cell is one flag: [flag, cells after it]. */
function flagRows(doc: string): [string, string[]][] {
  const rows: [string, string[]][] = [];
  for (const line of readFileSync(join(repoRoot, 'docs', doc), 'utf8').split('\n')) {
    const m = /^\| `(--[a-z0-9-]+)` \|(.*)\|\s*$/.exec(line);
    if (m) rows.push([m[1] as string, (m[2] as string).split('|').map((c) => c.trim())]);
  }
  return rows;
}

/** A documented default cell as the value commander would hold, or undefined when it is prose. */
function documented(cell: string): string | boolean | undefined {
  const v = cell.replace(/`/g, '').trim();
  if (v === 'off') return false;
  if (v === 'empty' || v === '""') return '';
  if (/^[A-Za-z0-9./_-]+$/.test(v)) return v;
  return undefined; // "$METALLB_NAMESPACE, else ...", "unset: HTTP": derived at run time
}

function same(doc: string | boolean, code: unknown): boolean {
  if (typeof doc === 'boolean' || typeof code !== 'string') return doc === code;
  const a = parseGoDuration(doc);
  const b = parseGoDuration(code);
  // Durations compare by value (1.1s = 1100ms); a bare number parses as no duration.
  if (a !== undefined && b !== undefined && /[a-z]$/.test(doc) && /[a-z]$/.test(code)) return a === b;
  return doc === code;
}

function check(t: Test, doc: string, component: (cells: string[]) => Defaults[], defaultCell: (cells: string[]) => string): void {
  const rows = flagRows(doc);
  t.ok(rows.length >= 5, `${doc}: ${rows.length} flag rows`);
  for (const [flag, cells] of rows) {
    const want = documented(defaultCell(cells));
    for (const defaults of component(cells)) {
      const code = defaults.get(flag);
      if (!defaults.has(flag)) {
        t.fail(`${doc}: ${flag} is not a flag of the ${defaults === speaker ? 'speaker' : 'controller'}`);
        continue;
      }
      if (want === undefined || code === undefined) continue;
      t.ok(same(want, code), `${doc}: ${flag} documented default ${JSON.stringify(want)}, code ${JSON.stringify(code)}`);
    }
  }
}

t.test('docs/chart-reference.md: the command-line contract', async (t) => {
  const byComponent = (cells: string[]): Defaults[] => {
    const c = cells[0];
    return c === 'both' ? [speaker, controller] : c === 'speaker' ? [speaker] : c === 'controller' ? [controller] : [];
  };
  check(t, 'chart-reference.md', byComponent, (cells) => cells[cells.length - 1] ?? '');
});

t.test('docs/speaker.md and docs/controller.md: flag tables', async (t) => {
  check(t, 'speaker.md', () => [speaker], (cells) => cells[0] ?? '');
  check(t, 'controller.md', () => [controller], (cells) => cells[0] ?? '');
});
