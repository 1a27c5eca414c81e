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
