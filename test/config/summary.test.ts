// What a reload logs: counts per kind, and a bounded sample of errors naming their objects.
import t from 'tap';
import { parseConfig } from '../../src/config/parse';
import { configCounts, errorSample } from '../../src/config/summary';

const pool = (name: string, addresses: string[]): Record<string, unknown> => ({ metadata: { name, namespace: 'metallb-system' }, spec: { addresses } });

t.test('configCounts counts every kind', async (t) => {
  const res = parseConfig({
    pools: [pool('a', ['10.0.0.0/28']), pool('b', ['10.0.1.0/28'])],
    l2Advertisements: [{ metadata: { name: 'l2', namespace: 'metallb-system' }, spec: {} }],
  });
  if (!res.ok) throw new Error(JSON.stringify(res.errors));
  t.same(configCounts(res.config), { pools: 2, peers: 0, bfdProfiles: 0, communities: 0, l2Advertisements: 1, bgpAdvertisements: 0 });
});

t.test('errorSample keeps the first errors, each naming its object, and the count', async (t) => {
  const res = parseConfig({ pools: Array.from({ length: 25 }, (_, i) => pool(`p${String(i).padStart(2, '0')}`, ['10.0.0.0/33'])) });
  if (res.ok) throw new Error('expected errors');
  const s = errorSample(res.errors);
  t.equal(s.errorCount, 25);
  t.equal(s.omitted, 15);
  t.equal(s.errors.length, 10);
  t.match(s.errors[0], /^IPAddressPool\/p00: invalid CIDR "10\.0\.0\.0\/33"/);
  t.same(errorSample(res.errors.slice(0, 2)).omitted, 0);
});
