/**
 * Go `time.ParseDuration`, which is how Kubernetes decodes `metav1.Duration` fields such as
 * BGPPeer `holdTime`, `keepaliveTime` and `connectTime` ("90s", "1m30s", "1.5h", "0").
 */

const UNIT_SEC: Readonly<Record<string, number>> = {
  ns: 1e-9,
  us: 1e-6,
  'µs': 1e-6,
  'μs': 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** Parse a Go duration string into seconds (may be fractional or negative); undefined if invalid. */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  // One number+unit component per match; a sticky regex built per call (no shared lastIndex).
  const componentRe = /([0-9]*(?:\.[0-9]*)?)([^0-9.]+)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    componentRe.lastIndex = pos;
    const m = componentRe.exec(s);
    if (!m) return undefined;
    const num = m[1] ?? '';
    const unitText = m[2] ?? '';
    const unit = Object.hasOwn(UNIT_SEC, unitText) ? UNIT_SEC[unitText] : undefined;
    if (num === '' || num === '.' || unit === undefined) return undefined;
    total += Number(num) * unit;
    pos = componentRe.lastIndex;
  }
  // Go rejects durations beyond int64 nanoseconds (about 292 years).
  if (total > 2 ** 63 / 1e9) return undefined;
  return sign * total;
}
