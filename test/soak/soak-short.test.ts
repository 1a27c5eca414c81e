// The soak in CI (docs/soak.md): `scripts/soak.ts` for 2 minutes of edits and faults (plus
// start-up and up to 90 s of settling), then zero invariant violations. The last stdout line is
// the JSON summary; violations are listed in the failure message with their timestamps.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../harness/tools';

const MINUTES = Number(process.env['SOAK_CI_MINUTES'] ?? 2);

t.test(`soak for ${MINUTES} min: no invariant violations`, { timeout: (MINUTES * 60 + 300) * 1000 }, async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts', 'soak.ts'), '--minutes', String(MINUTES), '--seed', '8'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const last = stdout.trim().split('\n').pop() ?? '';
  let summary: { violationCount?: number; violations?: unknown[]; faults?: Record<string, number>; checks?: number; eventsFile?: string } = {};
  try {
    summary = JSON.parse(last) as typeof summary;
  } catch {
    t.fail(`no JSON summary (exit ${code}); stderr tail:\n${stderr.slice(-3000)}`);
    return;
  }
  t.comment(last);
  t.ok((summary.checks ?? 0) > 10, 'the checker ran');
  t.ok(Object.values(summary.faults ?? {}).reduce((a, b) => a + b, 0) >= 4, 'faults were injected');
  t.equal(summary.violationCount, 0, `no violations (events: ${summary.eventsFile}): ${JSON.stringify(summary.violations ?? [], null, 1).slice(0, 4000)}`);
  t.equal(code, 0, 'exit 0');
});
