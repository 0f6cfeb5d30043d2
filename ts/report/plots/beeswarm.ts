/**
 * The beeswarm (shap's summary plot, `shap.plots.beeswarm`): one row per feature
 * (largest mean |SHAP| on top), one dot per sample at its SHAP value, dots piled
 * up where they crowd (shap's binned layering), coloured by the feature's value
 * from low (blue) to high (red) — clipped to its 5th–95th percentiles as shap
 * does —, grey when the value is missing or unknown.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Explanation } from '../explanation.ts';
import { HIGH_COLOR, LOW_COLOR, MISSING_COLOR, round } from './render.ts';

/** Options of the beeswarm. */
export interface BeeswarmOptions {
  /** Features shown, largest mean |SHAP| first (default 10). */
  maxDisplay?: number;
  /** Output of a multi-output explanation (default 0). */
  output?: number;
  /** Feature order to use instead of the sample's own mean |SHAP| (e.g. over all rows). */
  order?: readonly number[];
  /** Chart title. */
  title?: string;
  /** Width in pixels of the plotting area (default 420). */
  width?: number;
}

/** One dot. */
export interface BeeswarmDatum {
  /** Feature name. */
  feature: string;
  /** SHAP value (x). */
  shap: number;
  /** Feature value scaled to [0, 1] between its 5th and 95th percentiles, null when missing. */
  color: number | null;
  /** Vertical offset inside the feature's row, in [−0.4, 0.4]. */
  jitter: number;
}

/** The value at quantile `q` of sorted finite values (linear interpolation, as numpy). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Feature values scaled to [0, 1] between their 5th and 95th percentiles (shap's
 * colour range; min/max when those coincide), null for a missing value.
 */
export function colorScale(values: ArrayLike<number>): (number | null)[] {
  const finite = Float64Array.from(Array.from(values).filter(Number.isFinite)).sort();
  let lo = quantile(finite, 0.05);
  let hi = quantile(finite, 0.95);
  if (hi <= lo) {
    lo = finite[0];
    hi = finite[finite.length - 1];
  }
  return Array.from(values, (v) => {
    if (!Number.isFinite(v)) return null;
    if (!(hi > lo)) return 0.5;
    return round(Math.min(1, Math.max(0, (v - lo) / (hi - lo))), 3);
  });
}

/**
 * shap's beeswarm layering: values binned in 100 bins over their range; within a
 * bin the dots alternate above and below the row's centre line, scaled so the
 * tallest pile spans ±`rowHeight`.
 */
export function beeswarmJitter(shap: ArrayLike<number>, rowHeight = 0.4): Float64Array {
  const n = shap.length;
  const ys = new Float64Array(n);
  if (n === 0) return ys;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    min = Math.min(min, shap[i]);
    max = Math.max(max, shap[i]);
  }
  const nbins = 100;
  const quant = Float64Array.from({ length: n }, (_, i) => Math.round((nbins * (shap[i] - min)) / (max - min + 1e-8)));
  const order = [...Array(n).keys()].sort((a, b) => quant[a] - quant[b] || a - b);
  let layer = 0;
  let last = -1;
  let top = 0;
  for (const i of order) {
    if (quant[i] !== last) layer = 0;
    ys[i] = Math.ceil(layer / 2) * ((layer % 2) * 2 - 1);
    top = Math.max(top, ys[i]);
    layer++;
    last = quant[i];
  }
  const scale = (0.9 * rowHeight) / (top + 1);
  for (let i = 0; i < n; i++) ys[i] = round(ys[i] * scale, 3);
  return ys;
}

/** Features by mean |SHAP| of one output, largest first (ties by model order). */
export function featureOrder(meanAbs: ArrayLike<number>): number[] {
  return [...Array(meanAbs.length).keys()].sort((a, b) => meanAbs[b] - meanAbs[a] || a - b);
}

/** The dots of the beeswarm for one output of `e`, top `maxDisplay` features. */
export function beeswarmData(e: Explanation, opts: BeeswarmOptions = {}): { features: string[]; dots: BeeswarmDatum[] } {
  const one = e.output(opts.output ?? 0);
  const order = (opts.order ?? featureOrder(one.meanAbs())).slice(0, Math.max(1, opts.maxDisplay ?? 10));
  const dots: BeeswarmDatum[] = [];
  for (const j of order) {
    const shap = one.values[j];
    const colors = one.data ? colorScale(one.data[j]) : new Array<null>(one.rows).fill(null);
    const jitter = beeswarmJitter(shap);
    for (let r = 0; r < one.rows; r++) {
      dots.push({ feature: one.featureNames[j], shap: round(shap[r], 6), color: colors[r], jitter: jitter[r] });
    }
  }
  return { features: order.map((j) => one.featureNames[j]), dots };
}

/** The Vega-Lite spec of a beeswarm over {@link beeswarmData}. */
export function beeswarmSpec(data: { features: string[]; dots: BeeswarmDatum[] }, opts: BeeswarmOptions = {}): TopLevelSpec {
  const anyColor = data.dots.some((d) => d.color !== null);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 420,
    height: { step: 34 },
    data: { values: data.dots },
    layer: [
      {
        data: { values: [{}] },
        mark: { type: 'rule', color: '#999', strokeDash: [2, 2], aria: false },
        encoding: { x: { datum: 0, type: 'quantitative' } },
      },
      {
        // one short path per dot: no per-dot label or tooltip keeps the SVG small
        mark: { type: 'circle', size: 14, opacity: 0.85, aria: false },
        encoding: {
          y: { field: 'feature', type: 'nominal', sort: data.features, title: null, axis: { grid: true, labelLimit: 220 } },
          yOffset: { field: 'jitter', type: 'quantitative', scale: { domain: [-0.5, 0.5] } },
          x: { field: 'shap', type: 'quantitative', title: 'SHAP value (impact on model output)' },
          color: {
            condition: { test: 'datum.color === null', value: MISSING_COLOR },
            field: 'color',
            type: 'quantitative',
            scale: { domain: [0, 1], range: [LOW_COLOR, HIGH_COLOR] },
            legend: anyColor
              ? { title: 'Feature value', values: [0, 1], labelExpr: "datum.value === 0 ? 'Low' : 'High'", gradientLength: 120 }
              : null,
          },
        },
      },
    ],
  } as TopLevelSpec;
}
