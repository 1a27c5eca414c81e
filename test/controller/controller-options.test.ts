import t from 'tap';
import { Command } from 'commander';
import { addControllerFlags, controllerOptionsFrom } from '../../src/controller/controller-options';

const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const cmd = addControllerFlags(new Command('controller')).exitOverride();
  cmd.parse(['node', 'x', ...args]);
  return controllerOptionsFrom(cmd.opts(), env);
};

t.test('the args the chart renders are accepted (docs/chart-reference.md)', async (t) => {
  const o = parse(['--port=9120', '--log-level=debug', '--lb-class=metallb', '--leader-elect', '--metrics-cert-dir=/etc/metrics', '--tls-min-version=VersionTLS12'], {
    METALLB_NAMESPACE: 'mlb',
    METALLB_POD_NAME: 'metallb-controller-abc',
  });
  t.match(o, { port: 9120, logLevel: 'debug', lbClass: 'metallb', leaderElect: true, namespace: 'mlb', podName: 'metallb-controller-abc', metricsCertDir: '/etc/metrics', tlsMinVersion: 'VersionTLS12' });
});

t.test('defaults and upstream-only flags', async (t) => {
  const o = parse(['--webhook-mode=disabled', '--health-probe-port=17472'], {});
  t.match(o, { port: 9120, logLevel: 'info', lbClass: '', leaderElect: false, leaseDurationSec: 6, renewDeadlineSec: 4, retryPeriodSec: 1 });
  t.equal(o.namespace.length > 0, true);
});

t.test('Go durations for leader election, renew deadline below lease', async (t) => {
  t.match(parse(['--leader-elect-lease-duration=15s', '--leader-elect-renew-deadline=10s', '--leader-elect-retry-period=1500ms']), {
    leaseDurationSec: 15,
    renewDeadlineSec: 10,
    retryPeriodSec: 1.5,
  });
  t.throws(() => parse(['--leader-elect-lease-duration=5s', '--leader-elect-renew-deadline=5s']), { code: 'MLB_ERR_USAGE' });
  t.throws(() => parse(['--log-level=loud']), { code: 'MLB_ERR_USAGE' });
  t.throws(() => parse(['--port=-1']), { code: 'MLB_ERR_USAGE' });
});

t.test('secure metrics and the probe port, as the chart renders them', async (t) => {
  t.match(parse(['--metrics-cert-dir=/etc/metrics', '--secure-metrics', '--health-probe-port=17472']), { secureMetrics: true, healthProbePort: 17472, metricsCertDir: '/etc/metrics' });
  t.match(parse([]), { secureMetrics: false, healthProbePort: 0 }, 'defaults: plain, probes on --port');
  t.throws(() => parse(['--secure-metrics']), { code: 'MLB_ERR_USAGE', message: /--secure-metrics needs --metrics-cert-dir/ }, 'no self-signed fallback');
  for (const bad of ['-1', '70000', 'x']) t.throws(() => parse([`--health-probe-port=${bad}`]), { code: 'MLB_ERR_USAGE', message: /--health-probe-port/ }, bad);
});
