/**
 * SVG plots of explanations, shaped like shap's `shap.plots.*`, for apps and
 * notebooks: each takes an {@link Explanation} and resolves to an `<svg>` string.
 *
 * ```ts
 * import { Explanation, plots } from 'arrowshap';
 * const e = Explanation.fromTables(samplesTable, { inputs: featureColumns });
 * await writeFile('beeswarm.svg', await plots.beeswarm(e));
 * await plots.bar(e);            // mean |SHAP| per feature (stacked per output when multi-output)
 * await plots.waterfall(e, 3);   // row 3
 * await plots.dependence(e, 'bmi', { color: 'age' });
 * ```
 * The `*Data` functions give what each plot draws, and the `*Spec` functions the
 * Vega-Lite spec, for custom rendering.
 */
import type { Drift } from '../drift.ts';
import type { Explanation } from '../explanation.ts';
import { barData, barSpec, type BarOptions } from './bar.ts';
import { beeswarmData, beeswarmSpec, type BeeswarmOptions } from './beeswarm.ts';
import { compareData, compareSpec, type CompareOptions } from './compare.ts';
import { dependenceData, dependenceSpec, type DependenceOptions } from './dependence.ts';
import { renderSvg } from './render.ts';
import { waterfallData, waterfallSpec, type WaterfallOptions } from './waterfall.ts';

export * from './bar.ts';
export * from './beeswarm.ts';
export * from './compare.ts';
export * from './dependence.ts';
export * from './waterfall.ts';
export { renderSvg } from './render.ts';

/** Mean |SHAP| per feature of each output of `e` (the bar lengths). */
function meanAbsPerOutput(e: Explanation): Float64Array[] {
  return [...Array(e.outputs).keys()].map((k) => e.meanAbs(k));
}

/** The SVG plots (see the module doc). */
export const plots = {
  /** Bar plot of mean |SHAP| per feature (one stacked segment per output for multi-output). */
  bar: (e: Explanation, opts: BarOptions = {}): Promise<string> =>
    renderSvg(barSpec(barData(e.featureNames, meanAbsPerOutput(e), e.outputNames, opts), opts)),
  /** Beeswarm (summary) plot of one output, coloured by feature value. */
  beeswarm: (e: Explanation, opts: BeeswarmOptions = {}): Promise<string> => renderSvg(beeswarmSpec(beeswarmData(e, opts), opts)),
  /** Waterfall of one row (a position in `e`). */
  waterfall: (e: Explanation, row: number, opts: WaterfallOptions = {}): Promise<string> =>
    renderSvg(waterfallSpec(waterfallData(e, row, opts), opts)),
  /** Dependence (scatter) plot of one feature, optionally coloured by another. */
  dependence: (e: Explanation, feature: string | number, opts: DependenceOptions = {}): Promise<string> =>
    renderSvg(dependenceSpec(dependenceData(e, feature, opts), opts)),
  /** Drift chart of two model versions (see `compareExplanations`). */
  compare: (drift: Drift, opts: CompareOptions = {}): Promise<string> => renderSvg(compareSpec(compareData(drift, opts), drift.labels, opts)),
};
