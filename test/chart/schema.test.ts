/**
 * values.schema.json: both upstream values files pass unchanged (render.test.ts renders them);
 * nonsense is refused before anything renders, with a message naming the key and the rule.
 * Plus the template guards upstream also has (configInline, two scrape mechanisms, Prometheus
 * RBAC without a ServiceAccount).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { render, template } from '../fixtures/chart/helm';

interface Case {
  name: string;
  set?: string[];
  setString?: string[];
  /** every pattern must appear in helm's stderr */
  expect: RegExp[];
}

const cases: Case[] = [
  { name: 'unknown log level', set: ['controller.logLevel=loud'], expect: [/\/controller\/logLevel/, /value must be one of 'all', 'debug', 'info', 'warn', 'error', 'none'/] },
  { name: 'speaker log level', set: ['speaker.logLevel=verbose'], expect: [/\/speaker\/logLevel/, /must be one of/] },
  { name: 'metrics port as text', setString: ['prometheus.metricsPort=abc'], expect: [/\/prometheus\/metricsPort/, /got string, want integer/] },
  { name: 'metrics port out of range', set: ['prometheus.metricsPort=70000'], expect: [/\/prometheus\/metricsPort/, /maximum/] },
  { name: 'boolean as text', setString: ['speaker.tolerateMaster=yes'], expect: [/\/speaker\/tolerateMaster/, /got string, want boolean/] },
  { name: 'bad pull policy', set: ['controller.image.pullPolicy=Sometimes'], expect: [/\/controller\/image\/pullPolicy/, /must be one of/] },
  { name: 'duration without unit', set: ['speaker.l2Election.leaseDuration=30'], expect: [/\/speaker\/l2Election\/leaseDuration/, /got number, want null or string/] },
  { name: 'malformed duration', set: ['speaker.l2Election.probeInterval=soon'], expect: [/\/speaker\/l2Election\/probeInterval/, /does not match pattern/] },
  { name: 'misspelt key in our own block', set: ['speaker.l2Election.leaseDurationSec=30'], expect: [/\/speaker\/l2Election/, /additional properties 'leaseDurationSec' not allowed/] },
  { name: 'zero probe misses', set: ['speaker.l2Election.probeMisses=0'], expect: [/\/speaker\/l2Election\/probeMisses/, /minimum/] },
  { name: 'negative replicas', set: ['controller.replicas=-1'], expect: [/\/controller\/replicas/, /minimum/] },
  { name: 'bad webhook failure policy', set: ['crds.validationFailurePolicy=Maybe'], expect: [/\/crds\/validationFailurePolicy/, /'Ignore', 'Fail'/] },
  { name: 'bad TLS version', set: ['tls.minVersion=TLS10'], expect: [/\/tls\/minVersion/, /VersionTLS12/] },
  { name: 'negative probe period', set: ['controller.livenessProbe.periodSeconds=-1'], expect: [/\/controller\/livenessProbe\/periodSeconds/, /minimum/] },
  { name: 'usage threshold above 100%', set: ['prometheus.prometheusRule.addressPoolUsage.thresholds[0].percent=150'], expect: [/thresholds\/0\/percent/, /maximum/] },
  { name: 'empty image repository', set: ['image.repository='], expect: [/\/image\/repository/, /minLength|at least 1/] },
  { name: 'extra arg that is not a flag', set: ['speaker.extraArgs[0]=oops'], expect: [/\/speaker\/extraArgs\/0/, /does not match pattern/] },
  { name: 'annotation value not a string', set: ['controller.podAnnotations.x=1'], expect: [/\/controller\/podAnnotations\/x/, /want string/] },
  { name: 'update strategy enum', set: ['speaker.updateStrategy.type=Rolling'], expect: [/\/speaker\/updateStrategy\/type/, /'RollingUpdate', 'OnDelete'/] },
  { name: 'scrape interval', set: ['prometheus.serviceMonitor.interval=fast'], expect: [/\/prometheus\/serviceMonitor\/interval/, /does not match pattern/] },
  { name: 'configInline is refused as upstream refuses it', set: ['configInline.address-pools[0].name=default'], expect: [/configInline is no longer supported/] },
  {
    name: 'both scrape mechanisms',
    set: ['prometheus.serviceMonitor.enabled=true', 'prometheus.podMonitor.enabled=true', 'prometheus.serviceAccount=p', 'prometheus.namespace=m'],
    expect: [/serviceMonitor\.enabled and prometheus\.podMonitor\.enabled cannot both be true/],
  },
  { name: 'Prometheus RBAC needs its ServiceAccount', set: ['prometheus.serviceMonitor.enabled=true'], expect: [/prometheus\.serviceAccount must be set/] },
];

t.test('nonsense values are refused with a message naming the key', async (t) => {
  for (const c of cases) {
    const res = await template({ set: c.set ?? [], setString: c.setString ?? [] });
    t.not(res.code, 0, `${c.name}: refused`);
    t.equal(res.stdout.trim(), '', `${c.name}: nothing rendered`);
    for (const re of c.expect) t.match(res.stderr, re, `${c.name}: ${re}`);
  }
});

t.test('schema errors are reported together, not one at a time', async (t) => {
  const res = await template({ set: ['controller.logLevel=loud', 'speaker.logLevel=loud'], setString: ['prometheus.metricsPort=x'] });
  t.not(res.code, 0);
  for (const key of ['/controller/logLevel', '/speaker/logLevel', '/prometheus/metricsPort']) t.match(res.stderr, key);
});

t.test('keys of other upstream releases are not rejected (drop-in), null leaves defaults', async (t) => {
  const res = await template({ set: ['speaker.someFutureUpstreamKey=1', 'controller.image.tag=null', 'speaker.l2Election.leaseDuration=null'] });
  t.equal(res.code, 0, res.stderr);
});

// Found comparing with upstream's chart: values it accepts must render here too.
t.test("values upstream's chart accepts: an empty configInline, numeric labels, zero probe timings", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-values-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'values.yaml');
  // 0.12 values files carried `configInline: {}`; upstream fails only on a non-empty value.
  writeFileSync(
    file,
    [
      'configInline: {}',
      'controller:',
      '  labels: { tier: 1, critical: true }',
      '  livenessProbe: { periodSeconds: 0 }',
      'prometheus:',
      '  prometheusRule:',
      '    enabled: true',
      // A PromQL string as upstream users write it: the template inserts it as is.
      "    addressPoolExhausted: { excludePools: 'pool-\\\\d+' }",
      '    addressPoolUsage:',
      '      thresholds: [{ percent: 0 }]',
    ].join('\n'),
  );
  const res = await template({ valuesFiles: [file] });
  t.equal(res.code, 0, res.stderr);
  const docs = await render({ valuesFiles: [file] });
  const controller = docs.find((d) => d.kind === 'Deployment');
  t.match(controller?.metadata.labels, { tier: '1', critical: 'true' }, 'label values quoted, as upstream renders them');
  const rules = docs.find((d) => d.kind === 'PrometheusRule') as unknown as { spec: { groups: { rules: { alert: string; expr: string }[] }[] } };
  const exhausted = rules.spec.groups.flatMap((g) => g.rules).find((r) => r.alert === 'MetalLBAddressPoolExhausted');
  t.match(exhausted?.expr, 'metallb_allocator_addresses_in_use_total{pool!~"pool-\\\\d+"}', 'excludePools inserted as written (no second escaping)');
});
