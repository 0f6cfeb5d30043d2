/**
 * The explanations report: one self-contained HTML file (see `html.ts`) with
 * - the model card: model URI and version, algorithm, rows, features, outputs,
 *   base value(s), timings, and how many rows the sampled charts show;
 * - the global bar of mean |SHAP| over every row (stacked per output for
 *   multi-output models) and the importance table (mean |SHAP|, gain importance,
 *   gain, cover, split count);
 * - per output: the beeswarm (feature value as colour), dependence plots of the top
 *   features (coloured by each one's strongest interaction partner when interaction
 *   values were computed), and the waterfalls of the selected rows.
 *
 * ```ts
 * const collector = new ReportCollector(model.featureNames, model.numOutputs);
 * // … collector.add(batch, columns) for every batch …
 * const html = await buildReport({ card, sample: collector.result(), importances: modelsTable });
 * await writeReport('report.html', html);
 * ```
 */
import type * as arrow from 'apache-arrow';
import { writeFileAtomic } from '../io/atomic.ts';
import { strongestPartner, type ReportSample } from './collector.ts';
import { cardTable, escapeHtml, figure, htmlTable, page, section, type Cell } from './html.ts';
import { barData, barSpec } from './plots/bar.ts';
import { beeswarmData, beeswarmSpec, featureOrder } from './plots/beeswarm.ts';
import { dependenceData, dependenceSpec } from './plots/dependence.ts';
import { renderSvg } from './plots/render.ts';
import { waterfallData, waterfallSpec } from './plots/waterfall.ts';

/** Facts of the run shown in the model card. */
export interface ModelCard {
  /** Model URI (`models:/name@Champion`, `file:…`). */
  modelUri: string;
  /** Registered version, when known. */
  version?: string | number;
  /** SHAP algorithm used. */
  algorithm: string;
  /** Model objective (e.g. `binary:logistic`). */
  objective?: string;
  /** Model format / library (e.g. `xgboost-json`). */
  source?: string;
  /** Trees in the model. */
  trees?: number;
  /** Where the samples came from. */
  inputs?: string;
  /** Milliseconds per step of the run. */
  timings?: Record<string, number>;
}

/** Options of {@link buildReport}. */
export interface ReportOptions {
  /** Page title (default `Explanations: <model URI>`). */
  title?: string;
  /** Features in the bar, beeswarm and waterfalls (default 10). */
  maxDisplay?: number;
  /** Dependence plots per output, for the top features (default 4). */
  dependencePlots?: number;
  /** Time shown as generated (default now). */
  generated?: Date;
}

/** What a report is built from. */
export interface ReportInput extends ReportOptions {
  /** The model card facts. */
  card: ModelCard;
  /** What the run gathered (a {@link ReportCollector}'s result). */
  sample: ReportSample;
  /** The model explanations table (`feature`, `importance`, `gain`, `cover`, `weight`, [`mean_abs_shap`]). */
  importances?: arrow.Table;
}

function importanceRows(sample: ReportSample, importances?: arrow.Table): { header: string[]; rows: Cell[][] } {
  const m = sample.featureNames.length;
  const total = sample.featureNames.map((_, j) => sample.meanAbs.reduce((s, v) => s + v[j], 0) / sample.outputs);
  const order = featureOrder(total);
  const header = ['rank', 'feature', 'mean |SHAP|'];
  if (sample.outputs > 1) header.push(...sample.outputNames.map((n) => `mean |SHAP| ${n}`));
  const extra = ['importance', 'gain', 'cover', 'weight'].filter((c) => importances?.getChild(c));
  header.push(...extra.map((c) => (c === 'importance' ? 'gain importance' : c)));
  const byName = new Map<string, number>();
  const names = importances?.getChild('feature');
  if (names) for (let i = 0; i < names.length; i++) byName.set(String(names.get(i)), i);
  const rows = order.slice(0, m).map((j, rank) => {
    const row: Cell[] = [rank + 1, sample.featureNames[j], total[j]];
    if (sample.outputs > 1) row.push(...sample.meanAbs.map((v) => v[j]));
    const at = byName.get(sample.featureNames[j]);
    for (const c of extra) row.push(at === undefined ? '' : Number(importances!.getChild(c)!.get(at)));
    return row;
  });
  return { header, rows };
}

/** The report's HTML (see the module doc). */
export async function buildReport(input: ReportInput): Promise<string> {
  const { card, sample } = input;
  const maxDisplay = input.maxDisplay ?? 10;
  const dependencePlots = input.dependencePlots ?? 4;
  const k = sample.outputs;
  const m = sample.featureNames.length;
  const shown = sample.sample.rows;
  const sampleNote =
    shown < sample.rowsSeen
      ? `${shown.toLocaleString('en-US')} of ${sample.rowsSeen.toLocaleString('en-US')} rows (uniform reservoir sample)`
      : `all ${sample.rowsSeen.toLocaleString('en-US')} rows`;
  const title = input.title ?? `Explanations: ${card.modelUri}`;
  const generated = (input.generated ?? new Date()).toISOString();

  // model card
  const entries: [string, Cell][] = [
    ['model', card.modelUri],
    ...(card.version !== undefined ? [['version', String(card.version)] as [string, Cell]] : []),
    ...(card.source ? [['model format', card.source] as [string, Cell]] : []),
    ...(card.objective ? [['objective', card.objective] as [string, Cell]] : []),
    ...(card.trees !== undefined ? [['trees', card.trees] as [string, Cell]] : []),
    ['algorithm', card.algorithm],
    ...(card.inputs ? [['inputs', card.inputs] as [string, Cell]] : []),
    ['rows explained', sample.rowsSeen],
    ['features', m],
    ['outputs', k === 1 ? '1' : `${k} (${sample.outputNames.join(', ')})`],
    ['base value (mean, raw output)', [...sample.baseValue].map((b) => Number(b.toPrecision(6))).join(', ')],
    ['rows in the sampled charts', sampleNote],
    ...Object.entries(card.timings ?? {}).map(([step, ms]) => [`time: ${step} (s)`, Number((ms / 1000).toFixed(3))] as [string, Cell]),
    ['generated', generated],
  ];
  const sections = [section('card', 'Model card', cardTable(entries))];

  // global importance
  const bar = await renderSvg(
    barSpec(barData(sample.featureNames, sample.meanAbs, k > 1 ? sample.outputNames : [''], { maxDisplay }), {
      title: 'Mean |SHAP| per feature',
    }),
  );
  const imp = importanceRows(sample, input.importances);
  sections.push(
    section(
      'importance',
      'Global importance',
      `<div class="charts">${figure('bar', bar, `mean |SHAP value| over all ${sample.rowsSeen.toLocaleString('en-US')} rows${k > 1 ? ', stacked by output' : ''}`)}</div>` +
        htmlTable(imp.header, imp.rows, { id: 'importance-table' }),
      'Features ranked by their mean absolute SHAP value over every explained row (raw model output). Gain importance is the normalized total split gain.',
    ),
  );

  // per output views
  const views: string[] = [];
  for (let o = 0; o < k; o++) {
    const suffix = k > 1 ? `-${o}` : '';
    const name = k > 1 ? ` — ${sample.outputNames[o]}` : '';
    const order = featureOrder(sample.meanAbs[o]);
    const parts: string[] = [];
    if (shown > 0) {
      const bee = await renderSvg(beeswarmSpec(beeswarmData(sample.sample, { output: o, order, maxDisplay }), { title: `Beeswarm${name}` }));
      parts.push(
        `<h3>Beeswarm</h3><div class="charts">${figure(`beeswarm${suffix}`, bee, `one dot per row (${sampleNote}); colour: feature value, grey when missing`)}</div>`,
      );
      if (sample.sample.data) {
        const deps: string[] = [];
        for (const j of order.slice(0, Math.min(dependencePlots, m))) {
          const partner = strongestPartner(sample.interactionStrength, m, j);
          const data = dependenceData(sample.sample, j, { output: o, color: partner });
          const svg = await renderSvg(dependenceSpec(data, {}));
          const caption = partner === undefined ? sampleNote : `${sampleNote}; colour: ${sample.featureNames[partner]} (strongest interaction)`;
          deps.push(figure(`dependence${suffix}-${j}`, svg, caption));
        }
        parts.push(`<h3>Dependence plots (top ${deps.length} features)</h3><div class="charts">${deps.join('')}</div>`);
      }
    }
    const falls: string[] = [];
    for (let r = 0; r < sample.selected.rows; r++) {
      const data = waterfallData(sample.selected, r, { output: o, maxDisplay });
      const svg = await renderSvg(waterfallSpec(data, { title: `${sample.selected.rowIdName} ${data.row}${name}` }));
      falls.push(figure(`waterfall${suffix}-${r}`, svg, `${sample.selected.rowIdName} ${data.row}: f(x) = ${data.prediction.toPrecision(6)}`));
    }
    const how = sample.missingRows.length > 0 ? ` Rows not found in the input: ${sample.missingRows.join(', ')}.` : '';
    parts.push(`<h3>Waterfalls</h3>${falls.length > 0 ? `<div class="charts">${falls.join('')}</div>` : '<p class="note">no rows selected</p>'}${how ? `<p class="note">${escapeHtml(how)}</p>` : ''}`);
    views.push(k > 1 ? `<details id="output${suffix}"${o === 0 ? ' open' : ''}><summary>${escapeHtml(sample.outputNames[o])}</summary>${parts.join('\n')}</details>` : parts.join('\n'));
  }
  sections.push(
    section(
      'samples',
      k > 1 ? 'Per-output views' : 'Samples',
      views.join('\n'),
      `Beeswarm and dependence plots show ${sampleNote}. Waterfalls (raw model output): ${sample.selection === 'named' ? 'the rows named in report.rows' : `the ${sample.selected.rows} rows with the largest |prediction − base value|`}.`,
    ),
  );
  const nav: [string, string][] = [
    ['card', 'Model card'],
    ['importance', 'Global importance'],
    ['samples', k > 1 ? 'Per-output views' : 'Samples'],
  ];
  return page(title, `arrowshap report — ${sample.rowsSeen.toLocaleString('en-US')} rows × ${m} features${k > 1 ? ` × ${k} outputs` : ''}`, nav, sections);
}

/** Writes a report's HTML to `path` atomically (no partial file on failure). */
export async function writeReport(path: string, html: string): Promise<void> {
  await writeFileAtomic(path, html);
}
