import t from 'tap';
import { speakerOptionsFrom } from '../../src/speaker/speaker-options';
import { ErrorCode, MetalLbError } from '../../src/util/errors';

t.test('durations are milliseconds, flags override defaults', async (t) => {
  const o = speakerOptionsFrom({ nodeName: 'n1', l2ProbeInterval: '250ms', l2LeaseDuration: '1m', l2RenewInterval: '10s', l2GarpInterval: '1.1s', excludeInterfacesFile: '/nonexistent' }, {});
  t.equal(o.election.probeIntervalMs, 250);
  t.equal(o.election.leaseDurationMs, 60_000);
  t.equal(o.election.renewIntervalMs, 10_000);
  t.equal(o.garp.burstIntervalMs, 1100);
  t.equal(o.nodeName, 'n1');
  t.equal(o.namespace, 'metallb-system');
});

t.test('probe timing defaults: 100 ms period, 80 ms timeout, 4 misses (docs/speaker.md)', async (t) => {
  const o = speakerOptionsFrom({ nodeName: 'n1', excludeInterfacesFile: '/nonexistent' }, {});
  t.equal(o.election.probeIntervalMs, 100);
  t.equal(o.election.probeTimeoutMs, 80, 'the period minus 20 ms');
  t.equal(o.election.probeMisses, 4);
  t.equal(o.election.probeMisses * o.election.probeTimeoutMs, 320, 'a holder frozen for less than 320 ms keeps its VIPs');
});

t.test('node name from the environment, and bad values name the flag', async (t) => {
  t.equal(speakerOptionsFrom({ excludeInterfacesFile: '/nonexistent' }, { METALLB_NODE_NAME: 'envnode' }).nodeName, 'envnode');
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ excludeInterfacesFile: '/nonexistent' }, /node name is required/],
    [{ nodeName: 'n', l2ProbeInterval: '5', excludeInterfacesFile: '/nonexistent' }, /--l2-probe-interval: invalid duration "5"/],
    [{ nodeName: 'n', l2ProbeMisses: '0', excludeInterfacesFile: '/nonexistent' }, /--l2-probe-misses/],
    [{ nodeName: 'n', l2RenewInterval: '30s', l2LeaseDuration: '10s', excludeInterfacesFile: '/nonexistent' }, /must be shorter/],
    [{ nodeName: 'n', logLevel: 'loud', excludeInterfacesFile: '/nonexistent' }, /--log-level/],
  ];
  for (const [flags, re] of bad) {
    try {
      speakerOptionsFrom(flags, {});
      t.fail(`accepted ${JSON.stringify(flags)}`);
    } catch (err) {
      t.ok(err instanceof MetalLbError && err.code === ErrorCode.Usage, 'usage error');
      t.match((err as Error).message, re);
    }
  }
});

t.test('--host, default $METALLB_HOST: the address the endpoint binds (upstream)', async (t) => {
  const host = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv): string => speakerOptionsFrom({ nodeName: 'n', excludeInterfacesFile: '/nonexistent', ...flags }, env).host;
  t.equal(host({}, {}), '0.0.0.0', 'neither set: all addresses');
  t.equal(host({}, { METALLB_HOST: '' }), '0.0.0.0', 'empty: all addresses');
  t.equal(host({}, { METALLB_HOST: '10.77.0.11' }), '10.77.0.11', 'the node IP the chart passes');
  t.equal(host({}, { METALLB_HOST: 'fd00:77::11' }), 'fd00:77::11', 'an IPv6 node IP');
  t.equal(host({ host: '127.0.0.1' }, { METALLB_HOST: '10.77.0.11' }), '127.0.0.1', 'the flag wins');
  t.throws(() => host({ host: 'node-a.example' }, {}), /--host: "node-a.example" is not an IP address/);
  t.throws(() => host({}, { METALLB_HOST: '10.77.0.300' }), /METALLB_HOST \(the default of --host\): "10.77.0.300" is not an IP address/);
});

t.test('secure metrics and the probe port', async (t) => {
  const base = { nodeName: 'n', excludeInterfacesFile: '/nonexistent' };
  t.match(speakerOptionsFrom({ ...base, secureMetrics: true, metricsCertDir: '/etc/metrics', healthProbePort: '17472' }, {}), { secureMetrics: true, healthProbePort: 17472 });
  t.match(speakerOptionsFrom(base, {}), { secureMetrics: false, healthProbePort: 0 });
  t.throws(() => speakerOptionsFrom({ ...base, secureMetrics: true }, {}), /--secure-metrics needs --metrics-cert-dir/);
});

t.test('--l2-rebalance: off by default, on by the flag or METALLB_L2_REBALANCE', async (t) => {
  const opts = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => speakerOptionsFrom({ nodeName: 'n', excludeInterfacesFile: '/nonexistent', ...flags }, env).rebalance;
  t.same(opts({}), { enabled: false, batch: 5, intervalMs: 10_000, settleMs: 60_000 }, 'off, with the documented defaults');
  t.equal(opts({ l2Rebalance: true }).enabled, true);
  t.equal(opts({}, { METALLB_L2_REBALANCE: 'true' }).enabled, true);
  t.equal(opts({}, { METALLB_L2_REBALANCE: 'false' }).enabled, false);
  t.same(opts({ l2Rebalance: true, l2RebalanceBatch: '2', l2RebalanceInterval: '3s', l2RebalanceSettle: '1m' }), { enabled: true, batch: 2, intervalMs: 3_000, settleMs: 60_000 });
  t.throws(() => opts({ l2RebalanceBatch: '0' }), /--l2-rebalance-batch/);
  t.throws(() => opts({ l2RebalanceInterval: '0s' }), /--l2-rebalance-interval/);
  t.throws(() => opts({}, { METALLB_L2_REBALANCE: 'yes please' }), /METALLB_L2_REBALANCE/);
});
