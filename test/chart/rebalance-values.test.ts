/**
 * `speaker.l2Rebalance` (docs/speaker.md "Rebalance"): off by default, so the chart renders no
 * rebalance flag; each value turns into its flag; the schema refuses nonsense naming the key; and
 * the key is a known one (NOTES.txt lists unknown keys).
 */
import t from 'tap';
import { CHART_DIR, container, find, helm, render, template, valueArgs } from '../fixtures/chart/helm';

const speakerArgs = async (set: string[]): Promise<string[]> => container(find(await render({ set }), 'DaemonSet', 'metallb-speaker'), 'speaker')['args'] as string[];

t.test('off by default: no rebalance flag is rendered', async (t) => {
  const args = await speakerArgs([]);
  t.same(args.filter((a) => a.startsWith('--l2-rebalance')), []);
});

t.test('each value renders its flag', async (t) => {
  const args = await speakerArgs(['speaker.l2Rebalance.enabled=true', 'speaker.l2Rebalance.batch=2', 'speaker.l2Rebalance.interval=30s', 'speaker.l2Rebalance.settle=2m']);
  t.same(args.filter((a) => a.startsWith('--l2-rebalance')), ['--l2-rebalance', '--l2-rebalance-batch=2', '--l2-rebalance-interval=30s', '--l2-rebalance-settle=2m']);
});

t.test('nonsense is refused naming the key', async (t) => {
  const cases: [string[], string[], RegExp][] = [
    [['speaker.l2Rebalance.batch=0'], [], /\/speaker\/l2Rebalance\/batch/],
    [['speaker.l2Rebalance.interval=soon'], [], /\/speaker\/l2Rebalance\/interval/],
    [[], ['speaker.l2Rebalance.enabled=yes'], /\/speaker\/l2Rebalance\/enabled/],
    [['speaker.l2Rebalance.rate=3'], [], /additional properties 'rate' not allowed/],
  ];
  for (const [set, setString, re] of cases) {
    const res = await template({ set, setString });
    t.not(res.code, 0, `${[...set, ...setString].join(' ')}: refused`);
    t.match(res.stderr, re);
  }
});

t.test('the block is a known key: NOTES.txt does not list it as unknown', async (t) => {
  const res = await helm(['install', 'metallb', CHART_DIR, '--namespace', 'metallb-system', '--dry-run=client', ...valueArgs({ set: ['speaker.l2Rebalance.enabled=true'] })]);
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, 'NOTES:', 'the notes were rendered');
  t.notMatch(res.stdout.slice(res.stdout.indexOf('NOTES:')), /l2Rebalance/);
});
