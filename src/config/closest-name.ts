/**
 * "Did you mean" for unknown field names. No edit-distance library is a dependency of the
 * package (fast-levenshtein is only eslint's, and commander does not export its suggester), so
 * the optimal-string-alignment distance (Damerau-Levenshtein without repeated edits) is here.
 */

/** Edits (insert, delete, substitute, swap adjacent) between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  // d[i][j] = distance between a[0..i) and b[0..j)
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The known name closest to `name`, or undefined when none is plausibly meant: a case-only
 * difference always counts, otherwise at most a third of the name's letters (and at least 2)
 * may differ. Ties go to the first name in `known`.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const folded = known.find((k) => k.toLowerCase() === name.toLowerCase());
  if (folded !== undefined) return folded;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const dist = editDistance(name, k);
    if (dist < bestDistance) {
      best = k;
      bestDistance = dist;
    }
  }
  return best;
}
