/**
 * Small, dependency-free SVG charts for docs/benchmarks.md: an XY line chart (linear or log
 * x axis) and a failover timeline (one dot per client connect attempt, coloured by the node that
 * answered, red for failures, with vertical markers for the faults). Pure: data in, text out.
 */

/** One line of an XY chart. */
export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly logX?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf'] as const;
/** Font attributes (one font-size attribute per element: a repeated attribute is invalid XML). */
const font = (size = 12): string => `font-family="sans-serif" font-size="${size}"`;

/** Escape text for SVG/XML. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "Nice" tick values covering [min, max] (1, 2, 5 x 10^k steps). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Compact tick label: 1500 -> 1.5k. */
export function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e3) return `${Number((v / 1e3).toPrecision(3))}k`;
  return `${Number(v.toPrecision(3))}`;
}

/** An XY chart with markers at every point; empty series are listed as "(no data)". */
export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 360;
  const m = { l: 70, r: 50, t: 40, b: 70 };
  const pts = o.series.flatMap((s) => s.points);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const tx = (x: number): number => (o.logX ? Math.log10(Math.max(x, 1e-9)) : x);
  // A linear axis starts at 0 so that sizes compare by eye; a log axis starts at the smallest size.
  let x0 = xs.length ? Math.min(...xs.map(tx), ...(o.logX ? [] : [0])) : 0;
  let x1 = xs.length ? Math.max(...xs.map(tx)) : 1;
  if (x1 === x0) {
    x0 -= o.logX ? 0.5 : Math.abs(x0) * 0.5 || 1;
    x1 += o.logX ? 0.5 : Math.abs(x1) * 0.5 || 1;
  }
  const y1 = ys.length ? Math.max(...ys) * 1.1 || 1 : 1;
  const px = (x: number): number => m.l + ((tx(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number): number => H - m.b - (y / y1) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" ${font(15)}>${esc(o.title)}</text>`,
  ];
  for (const v of niceTicks(0, y1)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end" ${font()}>${fmt(v)}</text>`);
  }
  const xTicks = o.logX ? [...new Set(xs)].sort((a, b) => a - b) : niceTicks(x0, x1);
  for (const v of xTicks) {
    if (!Number.isFinite(px(v))) continue;
    parts.push(`<line x1="${px(v).toFixed(1)}" x2="${px(v).toFixed(1)}" y1="${H - m.b}" y2="${H - m.b + 5}" stroke="#333"/>`);
    parts.push(`<text x="${px(v).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle" ${font()}>${fmt(v)}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`, `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - m.b + 38}" text-anchor="middle" ${font()}>${esc(o.xLabel)}${o.logX ? ' (log scale)' : ''}</text>`);
  parts.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle" ${font()}>${esc(o.yLabel)}</text>`);
  o.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const sorted = [...s.points].sort((a, b) => a[0] - b[0]);
    if (sorted.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${sorted.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of sorted) {
      parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="4" fill="${color}"><title>${esc(`${s.name}: ${fmt(x)} -> ${fmt(y)}`)}</title></circle>`);
      parts.push(`<text x="${(px(x) + 6).toFixed(1)}" y="${(py(y) - 6).toFixed(1)}" ${font(10)} fill="${color}">${fmt(y)}</text>`);
    }
    const ly = H - 14;
    const lx = m.l + i * 180;
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${color}"/>`, `<text x="${lx + 14}" y="${ly}" ${font()}>${esc(s.name)}${s.points.length ? '' : ' (no data)'}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** One client connect attempt: start time (ms from the run's start), duration, who answered. */
export interface TimelineAttempt {
  readonly tMs: number;
  readonly durMs: number;
  readonly ok: boolean;
  readonly node?: string;
}

/** A labelled instant on the timeline (a fault). */
export interface TimelineMarker {
  readonly tMs: number;
  readonly label: string;
}

/**
 * Failover timeline: x = time since start, y = connect duration (ms, capped at the attempt
 * timeout), one dot per attempt coloured by answering node, failures in red on the top row.
 */
export function timelineChart(o: { title: string; attempts: readonly TimelineAttempt[]; markers: readonly TimelineMarker[]; width?: number; height?: number }): string {
  const W = o.width ?? 900;
  const H = o.height ?? 380;
  const m = { l: 70, r: 20, t: 40, b: 70 };
  const tEnd = Math.max(1, ...o.attempts.map((a) => a.tMs + a.durMs), ...o.markers.map((k) => k.tMs));
  const yMax = Math.max(10, ...o.attempts.map((a) => a.durMs)) * 1.05;
  const px = (t: number): number => m.l + (t / tEnd) * (W - m.l - m.r);
  const py = (d: number): number => H - m.b - (Math.min(d, yMax) / yMax) * (H - m.t - m.b);
  const nodes = [...new Set(o.attempts.filter((a) => a.ok && a.node).map((a) => a.node!))].sort();
  const colorOf = (n: string | undefined): string => (n === undefined ? '#d62728' : PALETTE[nodes.indexOf(n) % PALETTE.length]!);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" ${font(15)}>${esc(o.title)}</text>`,
  ];
  for (const v of niceTicks(0, yMax)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#eee"/>`, `<text x="${m.l - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end" ${font()}>${fmt(v)}</text>`);
  }
  for (const v of niceTicks(0, tEnd / 1000, 10)) {
    parts.push(`<text x="${px(v * 1000).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle" ${font()}>${fmt(v)}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`, `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - m.b + 38}" text-anchor="middle" ${font()}>seconds since start</text>`);
  parts.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle" ${font()}>connect time (ms); failures at the top</text>`);
  for (const k of o.markers) {
    parts.push(`<line x1="${px(k.tMs).toFixed(1)}" x2="${px(k.tMs).toFixed(1)}" y1="${m.t}" y2="${H - m.b}" stroke="#555" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${(px(k.tMs) + 4).toFixed(1)}" y="${m.t + 12}" ${font(11)}>${esc(k.label)}</text>`);
  }
  for (const a of o.attempts) {
    const y = a.ok ? py(a.durMs) : m.t + 20;
    parts.push(`<circle cx="${px(a.tMs).toFixed(1)}" cy="${y.toFixed(1)}" r="${a.ok ? 1.6 : 2.4}" fill="${a.ok ? colorOf(a.node) : '#d62728'}"/>`);
  }
  const legend = [...nodes.map((n) => [n, colorOf(n)] as const), ['failed', '#d62728'] as const];
  legend.forEach(([name, color], i) => {
    const lx = m.l + i * 120;
    parts.push(`<rect x="${lx}" y="${H - 23}" width="10" height="10" fill="${color}"/>`, `<text x="${lx + 14}" y="${H - 14}" ${font()}>${esc(name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
