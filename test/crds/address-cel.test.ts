/**
 * Property test of the IPAddressPool `addresses` CEL rules on the real apiserver: random IPv4 and
 * IPv6 ranges (written compressed, uncompressed, zero-padded, upper case, with spaces around the
 * dash) and CIDRs with random prefix lengths. A range is rejected exactly when its start is after
 * its end (compared as BigInt here), a CIDR exactly when its length exceeds the family's bits, and
 * the controller's own parser (src/net/cidr.ts) agrees with the CRD on every entry.
 */
import fc from 'fast-check';
import t from 'tap';
import { parseAddressEntry } from '../../src/net/cidr';
import { startControlPlane } from '../harness/apiserver';
import { apiRequest, installCrds, NAMESPACE } from '../fixtures/crs/kit';

interface Entry {
  text: string;
  valid: boolean;
}

const v4Text = (v: bigint): string => [24n, 16n, 8n, 0n].map((s) => ((v >> s) & 0xffn).toString()).join('.');

/** One of the textual forms Go's and CEL's parsers both accept for the same IPv6 address. */
function v6Text(v: bigint, style: number, zeroRunPick: number): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn));
  let parts = groups.map((g) => (style % 3 === 1 ? g.toString(16).padStart(4, '0') : g.toString(16)));
  if (style % 2 === 1) parts = parts.map((p) => p.toUpperCase());
  // Compress one run of zero groups (any length >= 1) with '::' unless the style keeps it full.
  const runs: [number, number][] = [];
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    runs.push([i, j]);
    i = j;
  }
  const run = runs.length > 0 && style % 4 !== 3 ? runs[zeroRunPick % runs.length] : undefined;
  if (!run) return parts.join(':');
  return `${parts.slice(0, run[0]).join(':')}::${parts.slice(run[1]).join(':')}`;
}

const MAX6 = (1n << 128n) - 1n;
const MAX4 = (1n << 32n) - 1n;

/** A start value and an end near it (shared long prefix) or anywhere. */
const pair = (max: bigint) =>
  fc.tuple(fc.bigInt(0n, max), fc.oneof(fc.bigInt(-300n, 300n), fc.bigInt(-max, max)), fc.bigInt(0n, 127n)).map(([a, d, shift]) => {
    const delta = shift < 100n ? d : d << shift % 120n;
    const b = a + delta;
    return [a, b < 0n ? 0n : b > max ? max : b] as const;
  });

const rangeEntry: fc.Arbitrary<Entry> = fc.oneof(
  fc.tuple(pair(MAX4), fc.constantFrom('-', ' - ', '- ', ' -')).map(([[a, b], dash]) => ({ text: `${v4Text(a)}${dash}${v4Text(b)}`, valid: a <= b })),
  fc
    .tuple(pair(MAX6), fc.nat(7), fc.nat(7), fc.nat(5), fc.constantFrom('-', ' - '))
    .map(([[a, b], sa, sb, z, dash]) => ({ text: `${v6Text(a, sa, z)}${dash}${v6Text(b, sb, z + 1)}`, valid: a <= b })),
);

const cidrEntry: fc.Arbitrary<Entry> = fc.oneof(
  fc.tuple(fc.bigInt(0n, MAX4), fc.integer({ min: 0, max: 36 })).map(([a, len]) => ({ text: `${v4Text(a)}/${len}`, valid: len <= 32 })),
  fc
    .tuple(fc.bigInt(0n, MAX6), fc.integer({ min: 0, max: 132 }), fc.nat(7), fc.nat(5))
    .map(([a, len, style, z]) => ({ text: `${v6Text(a, style, z)}/${len}`, valid: len <= 128 })),
);

t.test('addresses CEL rules agree with BigInt ordering and the controller parser', async (t) => {
  const cp = await startControlPlane(t);
  await installCrds(cp);
  let pool = 0;
  let checked = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(rangeEntry, cidrEntry), { minLength: 100, maxLength: 200 }), async (entries) => {
      const res = await apiRequest(cp, 'POST', `/apis/metallb.io/v1beta1/namespaces/${NAMESPACE}/ipaddresspools`, {
        query: 'dryRun=All',
        body: { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: `prop-${pool++}` }, spec: { addresses: entries.map((e) => e.text) } },
      });
      const causes = (res.body as { details?: { causes?: { field?: string; message?: string }[] } }).details?.causes ?? [];
      const rejected = new Set<number>();
      for (const c of causes) {
        const m = /^spec\.addresses\[(\d+)\]$/.exec(c.field ?? '');
        if (!m) throw new Error(`unexpected cause ${JSON.stringify(c)}`);
        rejected.add(Number(m[1]));
      }
      if (res.status !== 201 && rejected.size === 0) throw new Error(`status ${res.status}: ${JSON.stringify(res.body)}`);
      entries.forEach((e, i) => {
        const apiserver = !rejected.has(i);
        if (apiserver !== e.valid) throw new Error(`${JSON.stringify(e.text)}: CRD says ${apiserver ? 'valid' : 'invalid'}, BigInt says ${e.valid}`);
        const parser = parseAddressEntry(e.text).ok;
        if (parser !== apiserver) throw new Error(`${JSON.stringify(e.text)}: CRD says ${apiserver}, controller parser says ${parser}`);
        checked++;
      });
    }),
    { numRuns: 12 },
  );
  t.ok(checked >= 1200, `${checked} entries checked on the apiserver`);
});
