/**
 * The chart's documentation and schema stay in step with the templates: every flag the chart
 * can render is documented in docs/chart-reference.md (and nothing undocumented is rendered),
 * and every key of values.yaml is described by values.schema.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { repoRoot } from '../harness/tools';
import { CHART_DIR, container, find, render } from '../fixtures/chart/helm';

const reference = readFileSync(join(repoRoot, 'docs', 'chart-reference.md'), 'utf8');

const EVERY_FLAG = [
  'loadBalancerClass=x',
  'controller.replicas=2',
  'tls.controllerMetricsTLSSecret=a',
  'tls.speakerMetricsTLSSecret=b',
  'tls.minVersion=VersionTLS13',
  'speaker.ignoreExcludeLB=true',
  'speaker.l2Election.leaseDuration=1s',
  'speaker.l2Election.renewInterval=1s',
  'speaker.l2Election.probeInterval=1s',
  'speaker.l2Election.probeMisses=1',
  'speaker.l2Announce.garpCount=1',
  'speaker.l2Announce.garpInterval=1s',
  'speaker.l2Announce.refreshInterval=1s',
  'speaker.l2Rebalance.enabled=true',
  'speaker.l2Rebalance.batch=1',
  'speaker.l2Rebalance.interval=1s',
  'speaker.l2Rebalance.settle=1s',
];

t.test('every rendered flag and env var is documented in chart-reference.md', async (t) => {
  const docs = await render({ set: EVERY_FLAG });
  for (const [kind, name, c] of [
    ['Deployment', 'metallb-controller', 'controller'],
    ['DaemonSet', 'metallb-speaker', 'speaker'],
  ] as const) {
    const ct = container(find(docs, kind, name), c);
    const flags = (ct['args'] as string[]).filter((a) => a.startsWith('--')).map((a) => a.split('=')[0] as string);
    t.ok(flags.length >= 5, `${c}: ${flags.length} flags rendered`);
    for (const f of flags) {
      t.match(reference, `\`${f}`, `${c} ${f} in the rendered-args table`);
      t.match(reference, new RegExp(`\\| [^\\n]*\`${f}\`[^\\n]*\\| (both|${c})`), `${c} ${f} in the command-line contract`);
    }
    for (const e of ct['env'] as Array<{ name: string }>) t.match(reference, `| \`${e.name}\``, `${c} env ${e.name}`);
  }
});

t.test('every key of values.yaml is described by values.schema.json', async (t) => {
  const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Record<string, unknown>;
  const defs = schema['definitions'] as Record<string, Record<string, unknown>>;
  const resolve = (s: Record<string, unknown>): Record<string, unknown> => {
    const ref = s['$ref'];
    return typeof ref === 'string' ? (defs[ref.replace('#/definitions/', '')] as Record<string, unknown>) : s;
  };
  let checked = 0;
  const walk = (value: unknown, s: Record<string, unknown>, path: string): void => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    // Kubernetes pass-through objects (securityContext, tlsConfig, ...) are free-form.
    if (resolve(s)['properties'] === undefined) return;
    const props = resolve(s)['properties'] as Record<string, Record<string, unknown>>;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const sub = props[k];
      const isMap = resolve(s)['additionalProperties'] !== undefined && typeof resolve(s)['additionalProperties'] === 'object';
      if (!sub) {
        if (!isMap) t.fail(`${path}${k} has no schema`);
        continue;
      }
      checked++;
      walk(v, sub, `${path}${k}.`);
    }
  };
  walk(values, schema, '');
  t.ok(checked > 100, `${checked} keys checked`);
});
