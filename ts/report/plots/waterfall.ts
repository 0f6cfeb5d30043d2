/**
 * The waterfall of one row (shap's `shap.plots.waterfall`): from the base value
 * E[f(X)] at the bottom, each feature's SHAP value moves the output up (red) or
 * down (blue), largest |SHAP| on top, the features beyond `maxDisplay` summed in one
 * step, ending at the row's prediction f(x) (raw margin space).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Explanation } from '../explanation.ts';
import { HIGH_COLOR, LOW_COLOR, round } from './render.ts';

/** Options of the waterfall. */
export interface WaterfallOptions {
  /** Steps shown, the last one summing the remaining features (default 10, as shap). */
  maxDisplay?: number;
  /** Output of a multi-output explanation (default 0). */
  output?: number;
  /** Chart title. */
  title?: string;
  /** Width in pixels of the plotting area (default 420). */
  width?: number;
}

/** One step of the waterfall. */
export interface WaterfallStep {
  /** `feature = value`, or `N other features`. */
  label: string;
  /** The SHAP value (sum, for the other features). */
  shap: number;
  /** Output before the step. */
  start: number;
  /** Output after the step (`start + shap`). */
  end: number;
}

/** The waterfall of one row: its steps, bottom (first) to top (last), base value and prediction. */
export interface WaterfallData {
  /** Steps from the base value (bottom) up to the prediction (top). */
  steps: WaterfallStep[];
  /** E[f(X)]: the row's base value. */
  base: number;
  /** f(x): base + every SHAP value. */
  prediction: number;
  /** Row label (input position or id). */
  row: string;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  return Number.isInteger(v) ? String(v) : String(round(v, 4));
}

/** The steps of the waterfall of row `row` (a position in `e`). */
export function waterfallData(e: Explanation, row: number, opts: WaterfallOptions = {}): WaterfallData {
  if (!(Number.isInteger(row) && row >= 0 && row < e.rows)) throw new Error(`waterfall: row ${row} out of range (${e.rows} rows)`);
  const output = opts.output ?? 0;
  const maxDisplay = Math.max(1, opts.maxDisplay ?? 10);
  const phi = e.featureNames.map((_, j) => e.value(row, j, output));
  const order = [...phi.keys()].sort((a, b) => Math.abs(phi[b]) - Math.abs(phi[a]) || a - b);
  const shown = order.length <= maxDisplay ? order : order.slice(0, maxDisplay - 1);
  const rest = order.slice(shown.length);
  const base = e.baseValue(row, output);
  const steps: WaterfallStep[] = [];
  let at = base;
  const push = (label: string, shap: number) => {
    steps.push({ label, shap, start: at, end: at + shap });
    at += shap;
  };
  if (rest.length > 0) push(`${rest.length} other features`, rest.reduce((s, j) => s + phi[j], 0));
  for (const j of [...shown].reverse()) {
    const label = e.data ? `${e.featureNames[j]} = ${formatValue(e.dataValue(row, j))}` : e.featureNames[j];
    push(label, phi[j]);
  }
  return { steps, base, prediction: e.prediction(row, output), row: String(e.rowIds[row]) };
}

/** The Vega-Lite spec of a waterfall over {@link waterfallData}. */
export function waterfallSpec(data: WaterfallData, opts: WaterfallOptions = {}): TopLevelSpec {
  const order = data.steps.map((s) => s.label).reverse();
  const values = data.steps.map((s) => ({
    ...s,
    sign: s.shap >= 0 ? 'up' : 'down',
    text: `${s.shap >= 0 ? '+' : '−'}${round(Math.abs(s.shap), 3)}`,
    description: `${s.label}: SHAP ${s.shap}, from ${s.start} to ${s.end}`,
  }));
  const marks = [
    { value: data.base, text: `E[f(X)] = ${round(data.base, 4)}` },
    { value: data.prediction, text: `f(x) = ${round(data.prediction, 4)}` },
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 420,
    height: { step: 22 },
    layer: [
      {
        data: { values },
        mark: { type: 'bar', height: { band: 0.8 } },
        encoding: {
          y: { field: 'label', type: 'nominal', sort: order, title: null, axis: { labelLimit: 240 } },
          x: { field: 'start', type: 'quantitative', title: 'model output (raw)', scale: { zero: false } },
          x2: { field: 'end' },
          color: { field: 'sign', type: 'nominal', scale: { domain: ['up', 'down'], range: [HIGH_COLOR, LOW_COLOR] }, legend: null },
          description: { field: 'description', type: 'nominal' },
          tooltip: [
            { field: 'label', type: 'nominal', title: 'feature' },
            { field: 'shap', type: 'quantitative', title: 'SHAP', format: '.4g' },
          ],
        },
      },
      {
        data: { values },
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#333', aria: false },
        encoding: {
          y: { field: 'label', type: 'nominal', sort: order },
          x: { field: 'right', type: 'quantitative' },
          text: { field: 'text', type: 'nominal' },
        },
        transform: [{ calculate: 'max(datum.start, datum.end)', as: 'right' }],
      },
      {
        data: { values: marks },
        mark: { type: 'rule', strokeDash: [3, 3], color: '#666' },
        encoding: {
          x: { field: 'value', type: 'quantitative' },
          description: { field: 'text', type: 'nominal' },
        },
      },
      {
        data: { values: marks },
        mark: { type: 'text', baseline: 'bottom', dy: -2, fontSize: 10, color: '#333', y: 0, aria: false },
        encoding: { x: { field: 'value', type: 'quantitative' }, text: { field: 'text', type: 'nominal' } },
      },
    ],
  } as TopLevelSpec;
}
