/**
 * The HTML page shell of the reports: one self-contained document (inline CSS, the
 * charts as inline SVG, no script, no external resource), plus small helpers to
 * build its parts safely (every text is escaped).
 */

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Formats a number for a table cell (4 significant digits, integers as is). */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}

/** A table cell value: text, or a number formatted with {@link formatNumber}. */
export type Cell = string | number | boolean;

/** An HTML table with a header row; numbers right-aligned. `rowClass` marks rows (e.g. alerts). */
export function htmlTable(header: readonly string[], rows: readonly Cell[][], opts: { id?: string; rowClass?: (i: number) => string | undefined } = {}): string {
  const cell = (c: Cell) =>
    typeof c === 'number' ? `<td class="num">${escapeHtml(formatNumber(c))}</td>` : `<td>${escapeHtml(String(c))}</td>`;
  const body = rows
    .map((r, i) => {
      const cls = opts.rowClass?.(i);
      return `<tr${cls ? ` class="${escapeHtml(cls)}"` : ''}>${r.map(cell).join('')}</tr>`;
    })
    .join('\n');
  return `<table${opts.id ? ` id="${escapeHtml(opts.id)}"` : ''}><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** A key/value table (the model card). */
export function cardTable(entries: readonly [string, Cell][]): string {
  return `<table class="card">${entries
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(typeof v === 'number' ? formatNumber(v) : String(v))}</td></tr>`)
    .join('')}</table>`;
}

/** A chart figure: the SVG and a caption. `id` names it for links and tests. */
export function figure(id: string, svg: string, caption: string): string {
  return `<figure class="chart" id="${escapeHtml(id)}" data-chart="${escapeHtml(id)}">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** A titled section. */
export function section(id: string, title: string, body: string, intro?: string): string {
  return `<section id="${escapeHtml(id)}"><h2>${escapeHtml(title)}</h2>${intro ? `<p class="intro">${escapeHtml(intro)}</p>` : ''}\n${body}\n</section>`;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f2937;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#cbd5e1;font-size:13px}
nav{padding:8px 28px;background:#fff;border-bottom:1px solid #e5e7eb;font-size:13px}nav a{margin-right:14px;color:#2563eb;text-decoration:none}
main{padding:8px 28px 40px;max-width:1280px}
section{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:12px 18px;margin:16px 0}
h2{font-size:17px;margin:4px 0 10px}h3{font-size:15px;margin:14px 0 6px}p.intro{color:#555;font-size:13px;margin:0 0 10px}
table{border-collapse:collapse;font-size:12px;margin:6px 0}th,td{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}thead th{background:#f3f4f6;position:sticky;top:0}
table.card th{background:none;color:#555;font-weight:600}
tr.alert td{background:#fee2e2}
.charts{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
figure.chart{margin:0;padding:4px;border:1px solid #f0f0f0;border-radius:4px;background:#fff}
figure.chart svg{display:block;max-width:100%;height:auto}figcaption{font-size:11px;color:#666;padding:2px 4px}
details{margin:8px 0}summary{cursor:pointer;font-weight:600;font-size:15px;padding:4px 0}
.note{font-size:12px;color:#666}
ul.alerts{color:#b91c1c;font-size:13px}
`;

/** The whole document: title, subtitle, navigation links and sections. */
export function page(title: string, subtitle: string, nav: readonly [string, string][], sections: readonly string[]): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><header><h1>${escapeHtml(title)}</h1><p>${escapeHtml(subtitle)}</p></header>
<nav>${nav.map(([id, label]) => `<a href="#${escapeHtml(id)}">${escapeHtml(label)}</a>`).join('')}</nav>
<main>
${sections.join('\n')}
</main></body></html>
`;
}
