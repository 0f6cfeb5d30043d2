/**
 * The explanation drift report: two model versions explained on the same samples,
 * side by side — both model cards, the alerts, the share of mean |SHAP| of each
 * feature under both, the drift table (alerted features highlighted), and both
 * beeswarms on the same sampled rows.
 *
 * ```ts
 * const html = await buildCompareReport({ drift, cards: [champion, challenger], samples: [sampleA, sampleB] });
 * ```
 */
import type { ModelCard } from './report.ts';
import type { Drift } from './drift.ts';
import type { Explanation } from './explanation.ts';
import { cardTable, escapeHtml, figure, htmlTable, page, section, type Cell } from './html.ts';
import { beeswarmData, beeswarmSpec } from './plots/beeswarm.ts';
import { compareData, compareSpec } from './plots/compare.ts';
import { renderSvg } from './plots/render.ts';

/** What a drift report is built from. */
export interface CompareReportInput {
  /** The drift of B against A. */
  drift: Drift;
  /** Model cards of A and B. */
  cards: [ModelCard, ModelCard];
  /** The sampled rows explained under A and B (the same rows), for the beeswarms. */
  samples?: [Explanation, Explanation];
  /** Page title (default `Explanation drift: A vs B`). */
  title?: string;
  /** Features in the charts (default 10). */
  maxDisplay?: number;
  /** Time shown as generated (default now). */
  generated?: Date;
}

/** The drift report's HTML (see the module doc). */
export async function buildCompareReport(input: CompareReportInput): Promise<string> {
  const { drift, cards } = input;
  const [la, lb] = drift.labels;
  const maxDisplay = input.maxDisplay ?? 10;
  const title = input.title ?? `Explanation drift: ${la} vs ${lb}`;
  const cardOf = (c: ModelCard): [string, Cell][] => [
    ['model', c.modelUri],
    ...(c.version !== undefined ? [['version', String(c.version)] as [string, Cell]] : []),
    ...(c.objective ? [['objective', c.objective] as [string, Cell]] : []),
    ...(c.trees !== undefined ? [['trees', c.trees] as [string, Cell]] : []),
    ['algorithm', c.algorithm],
  ];
  const t = drift.thresholds;
  const sections = [
    section(
      'card',
      'Models',
      `<div class="charts"><div><h3>${escapeHtml(la)}</h3>${cardTable(cardOf(cards[0]))}</div><div><h3>${escapeHtml(lb)}</h3>${cardTable(cardOf(cards[1]))}</div></div>` +
        cardTable([
          ['rows compared', drift.rows],
          ['outputs', drift.outputs],
          ['rows in the divergence', drift.divergenceRows],
          ['thresholds', `share shift ≥ ${t.shareShift}, |rank shift| ≥ ${t.rankShift} (top ${t.topRanks}), JS divergence ≥ ${t.jsDivergence}, sign flips ≥ ${t.signFlipShare}`],
          ['generated', (input.generated ?? new Date()).toISOString()],
        ]),
    ),
    section(
      'alerts',
      drift.alerts.length > 0 ? `Alerts (${drift.alerts.length})` : 'Alerts: none',
      drift.alerts.length > 0
        ? `<ul class="alerts">${drift.alerts.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul>`
        : '<p class="note">No feature passed a threshold.</p>',
    ),
  ];
  const chart = await renderSvg(compareSpec(compareData(drift, { maxDisplay }), drift.labels, { title: 'Share of mean |SHAP| per feature' }));
  const alerted = new Set(drift.alertedFeatures);
  const header = ['feature', `mean |SHAP| ${la}`, `mean |SHAP| ${lb}`, 'shift', `share ${la}`, `share ${lb}`, 'share shift', `rank ${la}`, `rank ${lb}`, 'rank shift', 'sign flips', 'JS divergence'];
  const rows: Cell[][] = drift.features.map((d) => [
    d.feature + (d.inA ? '' : ` (not in ${la})`) + (d.inB ? '' : ` (not in ${lb})`),
    d.meanAbsA,
    d.meanAbsB,
    d.shift,
    d.shareA,
    d.shareB,
    d.shareShift,
    d.rankA,
    d.rankB,
    d.rankShift,
    d.signFlipShare,
    d.jsDivergence,
  ]);
  sections.push(
    section(
      'drift',
      'Attribution shift',
      `<div class="charts">${figure('compare', chart, `share of the total mean |SHAP value| over ${drift.rows.toLocaleString('en-US')} rows`)}</div>` +
        htmlTable(header, rows, { id: 'drift-table', rowClass: (i) => (alerted.has(drift.features[i].feature) ? 'alert' : undefined) }),
      'Per feature: mean |SHAP| under each version and its shift, its share of the total, its rank (1 = most important), the share of rows where the SHAP value changes sign, and the Jensen–Shannon divergence (0–1) between the two distributions of its SHAP values.',
    ),
  );
  if (input.samples) {
    const figs: string[] = [];
    for (const [i, e] of input.samples.entries()) {
      for (let o = 0; o < e.outputs; o++) {
        const name = e.outputs > 1 ? ` — ${e.outputNames[o]}` : '';
        const svg = await renderSvg(beeswarmSpec(beeswarmData(e, { output: o, maxDisplay }), { title: `${drift.labels[i]}${name}` }));
        figs.push(figure(`beeswarm-${i}${e.outputs > 1 ? `-${o}` : ''}`, svg, `${e.rows} sampled rows, the same under both`));
      }
    }
    sections.push(section('beeswarms', 'Beeswarms', `<div class="charts">${figs.join('')}</div>`));
  }
  const nav: [string, string][] = [
    ['card', 'Models'],
    ['alerts', 'Alerts'],
    ['drift', 'Attribution shift'],
    ...(input.samples ? [['beeswarms', 'Beeswarms'] as [string, string]] : []),
  ];
  return page(title, `arrowshap drift report — ${drift.rows.toLocaleString('en-US')} rows × ${drift.features.length} features`, nav, sections);
}
