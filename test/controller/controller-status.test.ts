import t from 'tap';
import { configurationStateStatus } from '../../src/k8s/configuration-state';
import { poolStatusCurrent } from '../../src/controller/controller-status';
import { allocationFingerprint } from '../../src/controller/controller-config';
import { parseConfig } from '../../src/config/parse';
import { l2Advertisement, pool as ipAddressPool } from '../fixtures/manifests/metallb-config';

const now = new Date(Date.UTC(2026, 0, 1, 0, 0, 0));

t.test('ConfigurationState status as upstream (docs/upstream-behaviour.md §1.10)', async (t) => {
  t.same(configurationStateStatus({ valid: true }, now), {
    result: 'Valid',
    errorSummary: '',
    conditions: [{ type: 'poolReconcilerValid', status: 'True', reason: 'Reconciled', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }],
  });
  t.match(configurationStateStatus({ valid: false, reason: 'ConfigurationError', summary: 'IPAddressPool/a: overlaps' }, now), {
    result: 'Invalid',
    errorSummary: 'configuration error: IPAddressPool/a: overlaps',
    conditions: [{ status: 'False', reason: 'ConfigurationError', message: 'configuration error: IPAddressPool/a: overlaps' }],
  });
  // Upstream QUIRK kept: UnknownError does not make the result Invalid.
  t.match(configurationStateStatus({ valid: false, reason: 'UnknownError', summary: 'x' }, now), { result: 'Valid', errorSummary: '', conditions: [{ status: 'False' }] });
});

t.test('pool status comparison', async (t) => {
  const c = { assignedIPv4: 2n, assignedIPv6: 0n, availableIPv4: 2n, availableIPv6: 0n, total: 4n, totalIPv4: 4n, totalIPv6: 0n, inUse: 2n };
  t.ok(poolStatusCurrent({ status: { assignedIPv4: 2, assignedIPv6: 0, availableIPv4: 2, availableIPv6: 0 } }, c));
  t.notOk(poolStatusCurrent({ status: { assignedIPv4: 1, assignedIPv6: 0, availableIPv4: 3, availableIPv6: 0 } }, c));
  t.notOk(poolStatusCurrent({}, c), 'no status yet');
});

t.test('allocation fingerprint ignores what the allocator does not use', async (t) => {
  const pool = (addresses: string[], labels: Record<string, string> = {}) => ipAddressPool('p', addresses, { labels });
  const fp = (r: Parameters<typeof parseConfig>[0]): string => {
    const res = parseConfig(r);
    if (!res.ok) throw new Error(res.errors.map((e) => e.message).join('; '));
    return allocationFingerprint(res.config);
  };
  const base = fp({ pools: [pool(['10.77.0.0/30'])] });
  t.equal(fp({ pools: [pool(['10.77.0.0/30'], { team: 'x' })] }), base, 'pool labels do not matter to allocation');
  t.equal(
    fp({ pools: [pool(['10.77.0.0/30'])], l2Advertisements: [l2Advertisement('l2')] }),
    base,
    'advertisements do not matter to allocation',
  );
  t.not(fp({ pools: [pool(['10.77.0.0/29'])] }), base, 'addresses do');
});
