/**
 * Codec throughput: UPDATEs packed with IPv4 /32 (NLRI field) and IPv6 /128 (MP_REACH), as the
 * Adj-RIB-out sends them. Prints {"encodePrefixesPerSec","decodePrefixesPerSec"} as the last line;
 * each figure is the slower of the two families. Target: >= 500,000 each.
 */
import { decode, encode } from '../src/bgp/codec';
import type { CodecContext, UpdateMessage } from '../src/bgp/codec';

const ctx: CodecContext = { fourOctetAs: true };
const base = { origin: 0 as const, asPath: [{ type: 2, asns: [64500] }] };

function v4Updates(total: number, perMsg: number): UpdateMessage[] {
  const out: UpdateMessage[] = [];
  for (let i = 0; i < total; i += perMsg) {
    const nlri: string[] = [];
    for (let j = i; j < Math.min(total, i + perMsg); j++) nlri.push(`10.${(j >>> 16) & 255}.${(j >>> 8) & 255}.${j & 255}/32`);
    out.push({ type: 2, withdrawn: [], attributes: { ...base, nextHop: '10.77.0.11' }, nlri });
  }
  return out;
}

function v6Updates(total: number, perMsg: number): UpdateMessage[] {
  const out: UpdateMessage[] = [];
  for (let i = 0; i < total; i += perMsg) {
    const nlri: string[] = [];
    for (let j = i; j < Math.min(total, i + perMsg); j++) nlri.push(`fd00:77::${(j >>> 16).toString(16)}:${(j & 0xffff).toString(16)}/128`);
    out.push({ type: 2, withdrawn: [], attributes: { ...base, mpReach: { afi: 2, safi: 1, nextHops: ['fd00:77::11'], nlri } }, nlri: [] });
  }
  return out;
}

function rate(prefixes: number, fn: () => void, minMs = 700): number {
  fn(); // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    fn();
    n++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return Math.round((prefixes * n) / (elapsed / 1000));
}

const N = 20000;
const families = [
  { name: 'ipv4/32', msgs: v4Updates(N, 800) },
  { name: 'ipv6/128', msgs: v6Updates(N, 230) },
];
const results = families.map(({ name, msgs }) => {
  const wires = msgs.map((m) => encode(m, ctx));
  const enc = rate(N, () => {
    for (const m of msgs) encode(m, ctx);
  });
  const dec = rate(N, () => {
    for (const w of wires) decode(w, ctx);
  });
  console.log(`${name}: ${msgs.length} UPDATEs, encode ${enc}/s, decode ${dec}/s`);
  return { enc, dec };
});
console.log(
  JSON.stringify({
    encodePrefixesPerSec: Math.min(...results.map((r) => r.enc)),
    decodePrefixesPerSec: Math.min(...results.map((r) => r.dec)),
  }),
);
