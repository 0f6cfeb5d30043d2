/**
 * The drift chart of two model versions: each feature's share of the total mean
 * |SHAP| under both (grouped bars, features ordered by the larger share), so the
 * features one version leans on more stand out.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Drift } from '../drift.ts';
import { HIGH_COLOR, LOW_COLOR } from './render.ts';

/** Options of the compare chart. */
export interface CompareOptions {
  /** Features shown (default 15), by the larger of both shares. */
  maxDisplay?: number;
  /** Chart title. */
  title?: string;
  /** Width in pixels of the plotting area (default 420). */
  width?: number;
}

/** One bar: a feature's share of the total mean |SHAP| under one version. */
export interface CompareDatum {
  feature: string;
  version: string;
  share: number;
  meanAbs: number;
}

/** The bars of the compare chart. */
export function compareData(drift: Drift, opts: CompareOptions = {}): CompareDatum[] {
  const top = [...drift.features]
    .sort((x, y) => Math.max(y.shareA, y.shareB) - Math.max(x.shareA, x.shareB))
    .slice(0, Math.max(1, opts.maxDisplay ?? 15));
  return top.flatMap((d) => [
    { feature: d.feature, version: drift.labels[0], share: d.shareA, meanAbs: d.meanAbsA },
    { feature: d.feature, version: drift.labels[1], share: d.shareB, meanAbs: d.meanAbsB },
  ]);
}

/** The Vega-Lite spec of the compare chart over {@link compareData}. */
export function compareSpec(data: CompareDatum[], labels: [string, string], opts: CompareOptions = {}): TopLevelSpec {
  const order = [...new Set(data.map((d) => d.feature))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 420,
    height: { step: 26 },
    data: { values: data.map((d) => ({ ...d, description: `${d.feature} under ${d.version}: share ${d.share}, mean |SHAP| ${d.meanAbs}` })) },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'feature', type: 'nominal', sort: order, title: null, axis: { labelLimit: 220 } },
      yOffset: { field: 'version', type: 'nominal', sort: labels },
      x: { field: 'share', type: 'quantitative', title: 'share of total mean(|SHAP value|)', axis: { format: '.0%' } },
      color: { field: 'version', type: 'nominal', sort: labels, scale: { domain: labels, range: [LOW_COLOR, HIGH_COLOR] }, title: null },
      description: { field: 'description', type: 'nominal' },
      tooltip: [
        { field: 'feature', type: 'nominal' },
        { field: 'version', type: 'nominal' },
        { field: 'share', type: 'quantitative', format: '.2%' },
        { field: 'meanAbs', type: 'quantitative', title: 'mean |SHAP|', format: '.4g' },
      ],
    },
  } as TopLevelSpec;
}
