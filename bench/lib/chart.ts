/** A hand-written SVG grouped bar chart (no dependencies): throughput by concurrency per system. */

export interface Bar {
  readonly value: number;
  readonly min?: number;
  readonly max?: number;
}

export interface ChartInput {
  readonly title: string;
  readonly yLabel: string;
  /** Group labels along the x axis, e.g. `c1`, `c10`, `c100`. */
  readonly groups: readonly string[];
  /** One series per system: its bar in each group (undefined = no bar). */
  readonly series: ReadonlyArray<{ name: string; bars: ReadonlyArray<Bar | undefined> }>;
}

const COLOURS = ['#2563eb', '#dc2626', '#d97706', '#6b7280', '#059669', '#7c3aed'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const short = (v: number) =>
  v >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${Math.round(v)}`;

export function barChartSvg(input: ChartInput): string {
  const width = 760;
  const height = 420;
  const m = { top: 50, right: 20, bottom: 80, left: 70 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = input.series.flatMap((s) => s.bars.flatMap((b) => (b ? [b.max ?? b.value, b.value] : [])));
  const yMax = niceMax(Math.max(0, ...all));
  const y = (v: number) => m.top + plotH - (v / yMax) * plotH;
  const groupW = plotW / Math.max(1, input.groups.length);
  const barW = Math.min(40, (groupW * 0.8) / Math.max(1, input.series.length));
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(input.title)}</text>`,
  );
  for (let i = 0; i <= 5; i++) {
    const v = (yMax / 5) * i;
    out.push(
      `<line x1="${m.left}" x2="${width - m.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/>`,
      `<text x="${m.left - 8}" y="${y(v) + 4}" text-anchor="end">${short(v)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(18 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(input.yLabel)}</text>`,
  );
  input.groups.forEach((g, gi) => {
    const x0 = m.left + gi * groupW + (groupW - barW * input.series.length) / 2;
    input.series.forEach((s, si) => {
      const b = s.bars[gi];
      if (!b) return;
      const x = x0 + si * barW;
      const colour = COLOURS[si % COLOURS.length];
      out.push(
        `<rect x="${x + 2}" y="${y(b.value)}" width="${barW - 4}" height="${y(0) - y(b.value)}" fill="${colour}"><title>${esc(s.name)} ${esc(g)}: ${Math.round(b.value)} tasks/s</title></rect>`,
      );
      if (b.min !== undefined && b.max !== undefined && b.max > b.min) {
        const cx = x + barW / 2;
        out.push(`<line x1="${cx}" x2="${cx}" y1="${y(b.min)}" y2="${y(b.max)}" stroke="#111827"/>`);
      }
      out.push(
        `<text x="${x + barW / 2}" y="${y(b.max ?? b.value) - 4}" text-anchor="middle" font-size="10">${short(b.value)}</text>`,
      );
    });
    out.push(
      `<text x="${m.left + gi * groupW + groupW / 2}" y="${m.top + plotH + 18}" text-anchor="middle">${esc(g)}</text>`,
    );
  });
  out.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${y(0)}" y2="${y(0)}" stroke="#111827"/>`);
  // Legend: items laid out left to right by their text length, wrapping to a second row.
  let lx = m.left;
  let ly = height - 40;
  input.series.forEach((s, si) => {
    const w = 30 + s.name.length * 7;
    if (lx + w > width - m.right) {
      lx = m.left;
      ly += 18;
    }
    out.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLOURS[si % COLOURS.length]}"/>`,
      `<text x="${lx + 18}" y="${ly}">${esc(s.name)}</text>`,
    );
    lx += w;
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
