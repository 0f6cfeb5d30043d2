/**
 * The global bar plot: mean |SHAP| per feature, largest first (shap's
 * `shap.plots.bar`), the features beyond `maxDisplay` summed into one
 * "Sum of N other features" bar; for a multi-output model one bar segment per
 * output, stacked (shap's multi-output bar).
 */
import type { TopLevelSpec } from 'vega-lite';
import { round } from './render.ts';

/** Options of the bar plot. */
export interface BarOptions {
  /** Bars shown, the last one summing the remaining features (default 10, as shap). */
  maxDisplay?: number;
  /** Chart title. */
  title?: string;
  /** Width in pixels of the plotting area (default 420). */
  width?: number;
}

/** One bar segment of the plot (what is drawn, for tests and custom charts). */
export interface BarDatum {
  /** Feature name, or `Sum of N other features`. */
  feature: string;
  /** Output name (multi-output), else `''`. */
  output: string;
  /** Mean |SHAP| of the feature for that output (the bar length). */
  value: number;
}

/**
 * The bars of the plot: features ordered by their mean |SHAP| summed over outputs.
 * @param meanAbs one array of mean |SHAP| per feature for each output.
 */
export function barData(featureNames: readonly string[], meanAbs: readonly Float64Array[], outputNames: readonly string[], opts: BarOptions = {}): BarDatum[] {
  const maxDisplay = Math.max(1, opts.maxDisplay ?? 10);
  const total = featureNames.map((_, j) => meanAbs.reduce((s, v) => s + v[j], 0));
  const order = [...featureNames.keys()].sort((a, b) => total[b] - total[a] || a - b);
  const shown = order.length <= maxDisplay ? order : order.slice(0, maxDisplay - 1);
  const rest = order.slice(shown.length);
  const multi = meanAbs.length > 1;
  const out: BarDatum[] = [];
  for (const j of shown) {
    meanAbs.forEach((v, k) => out.push({ feature: featureNames[j], output: multi ? outputNames[k] : '', value: v[j] }));
  }
  if (rest.length > 0) {
    const label = `Sum of ${rest.length} other features`;
    meanAbs.forEach((v, k) => out.push({ feature: label, output: multi ? outputNames[k] : '', value: rest.reduce((s, j) => s + v[j], 0) }));
  }
  return out;
}

/** The Vega-Lite spec of the bar plot over {@link barData}. */
export function barSpec(data: BarDatum[], opts: BarOptions = {}): TopLevelSpec {
  const order = [...new Set(data.map((d) => d.feature))];
  const multi = data.some((d) => d.output !== '');
  const values = data.map((d) => ({ ...d, label: round(d.value) }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 420,
    height: { step: multi ? 22 : 20 },
    data: { values },
    layer: [
      {
        mark: { type: 'bar', color: '#ff0052' },
        encoding: {
          y: { field: 'feature', type: 'nominal', sort: order, title: null, axis: { labelLimit: 220 } },
          x: { field: 'value', type: 'quantitative', title: 'mean(|SHAP value|)', stack: multi ? 'zero' : null },
          ...(multi ? { color: { field: 'output', type: 'nominal', title: 'output', scale: { scheme: 'tableau10' } } } : {}),
          tooltip: [
            { field: 'feature', type: 'nominal' },
            ...(multi ? [{ field: 'output', type: 'nominal' as const }] : []),
            { field: 'value', type: 'quantitative', title: 'mean |SHAP|', format: '.4g' },
          ],
        },
      },
      ...(multi
        ? []
        : [
            {
              mark: { type: 'text' as const, align: 'left' as const, dx: 3, fontSize: 10, color: '#555' },
              encoding: {
                y: { field: 'feature', type: 'nominal' as const, sort: order },
                x: { field: 'value', type: 'quantitative' as const },
                text: { field: 'label', type: 'quantitative' as const, format: '.3~g' },
              },
            },
          ]),
    ],
  } as TopLevelSpec;
}
