/**
 * The dependence plot of one feature (shap's `shap.plots.scatter` /
 * `dependence_plot`): its value on x, its SHAP value on y, one dot per sample,
 * coloured by another feature's value — the one it interacts with most when
 * interaction values were computed — so interactions show as a colour gradient.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Explanation } from '../explanation.ts';
import { colorScale } from './beeswarm.ts';
import { HIGH_COLOR, LOW_COLOR, MISSING_COLOR, round } from './render.ts';

/** Options of the dependence plot. */
export interface DependenceOptions {
  /** Feature whose value colours the dots (name or index); none by default. */
  color?: string | number;
  /** Output of a multi-output explanation (default 0). */
  output?: number;
  /** Chart title. */
  title?: string;
  /** Width in pixels of the plotting area (default 300). */
  width?: number;
}

/** The dots of a dependence plot. */
export interface DependenceData {
  /** The feature on x. */
  feature: string;
  /** The colouring feature, if any. */
  colorFeature?: string;
  /** Dots with a known feature value. */
  dots: { x: number; shap: number; color: number | null }[];
  /** Rows left out because the feature value is missing (or unknown). */
  missing: number;
}

/** The dots of the dependence plot of `feature` in `e` (needs `e.data`). */
export function dependenceData(e: Explanation, feature: string | number, opts: DependenceOptions = {}): DependenceData {
  const j = e.featureIndex(feature);
  if (!e.data) throw new Error('dependence plot: the explanation has no feature values (data)');
  const one = e.output(opts.output ?? 0);
  const c = opts.color === undefined ? undefined : e.featureIndex(opts.color);
  const colors = c === undefined ? undefined : colorScale(e.data[c]);
  const dots: DependenceData['dots'] = [];
  let missing = 0;
  for (let r = 0; r < e.rows; r++) {
    const x = e.data[j][r];
    if (!Number.isFinite(x)) {
      missing++;
      continue;
    }
    dots.push({ x: round(x, 6), shap: round(one.values[j][r], 6), color: colors ? colors[r] : null });
  }
  return { feature: e.featureNames[j], colorFeature: c === undefined ? undefined : e.featureNames[c], dots, missing };
}

/** The Vega-Lite spec of a dependence plot over {@link dependenceData}. */
export function dependenceSpec(data: DependenceData, opts: DependenceOptions = {}): TopLevelSpec {
  const colored = data.colorFeature !== undefined;
  const subtitle = data.missing > 0 ? `${data.missing} rows with a missing ${data.feature} not shown` : undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: opts.title ?? data.feature, ...(subtitle ? { subtitle } : {}) },
    width: opts.width ?? 300,
    height: 200,
    data: { values: data.dots },
    mark: { type: 'circle', size: 14, opacity: 0.8, aria: false },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: data.feature, scale: { zero: false } },
      y: { field: 'shap', type: 'quantitative', title: `SHAP value for ${data.feature}` },
      color: colored
        ? {
            condition: { test: 'datum.color === null', value: MISSING_COLOR },
            field: 'color',
            type: 'quantitative',
            scale: { domain: [0, 1], range: [LOW_COLOR, HIGH_COLOR] },
            legend: { title: data.colorFeature, values: [0, 1], labelExpr: "datum.value === 0 ? 'Low' : 'High'", gradientLength: 100 },
          }
        : { value: LOW_COLOR },
    },
  } as TopLevelSpec;
}
