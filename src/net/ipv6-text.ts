/**
 * RFC 5952 text of an IPv6 address given as eight 16-bit groups: lower case, no leading zeros,
 * the longest run of two or more zero groups (the first on a tie) compressed to `::`
 * (RFC 5952 §4.2; a single zero group is never compressed, §4.2.2). One implementation shared by
 * the address formatter (ip.ts) and the ARP/NDP codecs, so they always print alike.
 */
export function formatIpv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** The eight groups of a 128-bit value. */
export function ipv6Groups(value: bigint): number[] {
  const groups = new Array<number>(8);
  for (let i = 7; i >= 0; i--) groups[7 - i] = Number((value >> BigInt(i * 16)) & 0xffffn);
  return groups;
}
