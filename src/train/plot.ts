/**
 * Training curves as a self-contained SVG (no dependencies): one panel per chart, each with
 * one or more named series of (x, y) points, linear axes with round-number ticks.
 */
export interface Series {
  name: string;
  points: [number, number][];
}
export interface Chart {
  title: string;
  xLabel: string;
  series: Series[];
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/** Round tick values covering [lo, hi] (about `count` of them). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  // The round step (1, 2 or 5 × 10^k) whose tick count is closest to `count`.
  const step = [1, 2, 5, 10]
    .map((m) => m * mag)
    .reduce((best, s) => (Math.abs((hi - lo) / s - count) < Math.abs((hi - lo) / best - count) ? s : best));
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function fmtTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

function panel(chart: Chart, x0: number, y0: number, w: number, h: number): string {
  const pts = chart.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const out: string[] = [`<text x="${x0 + w / 2}" y="${y0 + 16}" text-anchor="middle" font-size="14">${esc(chart.title)}</text>`];
  const left = x0 + 60, right = x0 + w - 12, top = y0 + 28, bottom = y0 + h - 40;
  out.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#999"/>`);
  if (!pts.length) {
    out.push(`<text x="${(left + right) / 2}" y="${(top + bottom) / 2}" text-anchor="middle" fill="#999">no data</text>`);
    return out.join("\n");
  }
  let [xmin, xmax] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [ymin, ymax] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (xmax === xmin) xmax = xmin + 1;
  if (ymax === ymin) [ymin, ymax] = [ymin - 0.5, ymax + 0.5];
  const sx = (x: number) => left + ((x - xmin) / (xmax - xmin)) * (right - left);
  const sy = (y: number) => bottom - ((y - ymin) / (ymax - ymin)) * (bottom - top);
  for (const t of niceTicks(xmin, xmax)) {
    out.push(`<line x1="${sx(t)}" y1="${bottom}" x2="${sx(t)}" y2="${bottom + 4}" stroke="#666"/>`);
    out.push(`<text x="${sx(t)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${fmtTick(t)}</text>`);
  }
  for (const t of niceTicks(ymin, ymax)) {
    out.push(`<line x1="${left}" y1="${sy(t)}" x2="${right}" y2="${sy(t)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${fmtTick(t)}</text>`);
  }
  out.push(`<text x="${(left + right) / 2}" y="${bottom + 32}" text-anchor="middle" font-size="12">${esc(chart.xLabel)}</text>`);
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const good = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (good.length === 1) {
      const [x, y] = good[0]!;
      out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${color}"/>`);
    } else if (good.length > 1) {
      const d = good.map(([x, y], k) => `${k ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
    out.push(`<rect x="${right - 140}" y="${top + 8 + i * 16}" width="10" height="10" fill="${color}"/>`);
    out.push(`<text x="${right - 125}" y="${top + 17 + i * 16}" font-size="11">${esc(s.name)}</text>`);
  });
  return out.join("\n");
}

/** An SVG document with the charts stacked vertically. */
export function curvesSvg(charts: Chart[], width = 720, panelHeight = 300): string {
  const height = Math.max(1, charts.length) * panelHeight;
  const body = charts.map((c, i) => panel(c, 0, i * panelHeight, width, panelHeight)).join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}
