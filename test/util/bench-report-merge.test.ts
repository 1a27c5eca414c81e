// `npm run bench:report -- --only x` reruns one bench and keeps every other row of the last
// report (bench/report/main.ts mergeResults), so a changed figure does not cost the whole hour.
import t from 'tap';
import { mergeResults, type RunResult } from '../../bench/report/main';

const row = (label: string, ranAt: string): RunResult => ({ name: label.split(' ')[0]!, label, args: [], env: {}, timeoutMs: 1, exitCode: 0, seconds: 1, tail: '', ranAt, json: { x: 1 } });

t.test('fresh rows replace rows of the same label; the others are kept in plan order', async (t) => {
  const previous = [row('allocator', 'old'), row('l2-failover', 'old'), row('gone-bench', 'old')];
  const fresh = [row('l2-failover', 'new'), row('speaker-scale', 'new')];
  const merged = mergeResults(previous, fresh, ['allocator', 'speaker-scale', 'l2-failover']);
  t.same(
    merged.map((r) => `${r.label}@${r.ranAt ?? ''}`),
    ['allocator@old', 'speaker-scale@new', 'l2-failover@new'],
    'plan order; fresh wins; a bench no longer planned is dropped',
  );
});
