/**
 * Property test of the community CEL rules on the real apiserver against the controller's parser
 * (src/config/communities.ts, upstream's community.go semantics): random strings built from the
 * pieces that matter (numbers at and around the 16/32-bit limits, leading zeros, the `large`
 * marker, stray text, 1-5 fields). A Community value is accepted exactly when it parses; a
 * BGPAdvertisement entry exactly when it parses or has no ':' (an alias name).
 */
import fc from 'fast-check';
import t from 'tap';
import { parseCommunity } from '../../src/config/communities';
import { startControlPlane } from '../harness/apiserver';
import { apiRequest, installCrds, NAMESPACE } from '../fixtures/crs/kit';

const section = fc.oneof(
  fc.constantFrom('0', '1', '65535', '65536', '4294967295', '4294967296', '00065535', '0000000000004294967295', '99999999999999999999', '', 'x', '-1', '+1', ' 1'),
  fc.nat(70000).map(String),
  fc.bigInt(0n, 1n << 33n).map(String),
);
const community = fc.oneof(
  fc.tuple(section, section).map(([a, b]) => `${a}:${b}`),
  fc.tuple(fc.constantFrom('large', 'LARGE', 'big', '1'), section, section, section).map((p) => p.join(':')),
  fc.array(section, { minLength: 1, maxLength: 5 }).map((p) => p.join(':')),
  fc.constantFrom('NO_ADVERTISE', 'no-export', 'alias_1'),
);

/** Send `values`, return the indexes the apiserver rejected (by the cause field path). */
async function rejectedIndexes(res: { status: number; body: unknown }, field: RegExp): Promise<Set<number>> {
  const causes = (res.body as { details?: { causes?: { field?: string }[] } }).details?.causes ?? [];
  const out = new Set<number>();
  for (const c of causes) {
    const m = field.exec(c.field ?? '');
    if (!m) throw new Error(`unexpected cause ${JSON.stringify(c)}`);
    out.add(Number(m[1]));
  }
  if (res.status !== 201 && out.size === 0) throw new Error(`status ${res.status}: ${JSON.stringify(res.body)}`);
  return out;
}

t.test('community CEL rules agree with the controller parser', async (t) => {
  const cp = await startControlPlane(t);
  await installCrds(cp);
  let n = 0;
  let checked = 0;
  const base = `/apis/metallb.io/v1beta1/namespaces/${NAMESPACE}`;
  await fc.assert(
    // Community values are capped at 64 characters (docs/crds.md "Limits"); a longer one fails the
    // schema and the apiserver then skips every CEL rule of the object.
    fc.asyncProperty(fc.uniqueArray(community.filter((v) => v.length <= 64), { minLength: 50, maxLength: 120 }), async (values) => {
      const com = await apiRequest(cp, 'POST', `${base}/communities`, {
        query: 'dryRun=All',
        body: {
          apiVersion: 'metallb.io/v1beta1',
          kind: 'Community',
          metadata: { name: `prop-${n}` },
          spec: { communities: values.map((value, i) => ({ name: `alias-${i}`, value })) },
        },
      });
      const comRejected = await rejectedIndexes(com, /^spec\.communities\[(\d+)\]$/);
      const adv = await apiRequest(cp, 'POST', `${base}/bgpadvertisements`, {
        query: 'dryRun=All',
        body: { apiVersion: 'metallb.io/v1beta1', kind: 'BGPAdvertisement', metadata: { name: `prop-${n++}` }, spec: { communities: values } },
      });
      const advRejected = await rejectedIndexes(adv, /^spec\.communities\[(\d+)\]$/);
      values.forEach((v, i) => {
        const parses = parseCommunity(v).ok;
        if (comRejected.has(i) === parses) throw new Error(`Community value ${JSON.stringify(v)}: CRD ${comRejected.has(i) ? 'rejects' : 'accepts'}, parser ok=${parses}`);
        const alias = !v.includes(':');
        if (advRejected.has(i) === (parses || alias)) throw new Error(`BGPAdvertisement community ${JSON.stringify(v)}: CRD ${advRejected.has(i) ? 'rejects' : 'accepts'}, parser ok=${parses}`);
        checked++;
      });
    }),
    { numRuns: 10 },
  );
  t.ok(checked >= 500, `${checked} community strings checked on the apiserver`);
});
