/**
 * Reports and plots of explanations: the shap-like {@link Explanation}, SVG plots
 * (`plots.bar`, `plots.beeswarm`, `plots.waterfall`, `plots.dependence`,
 * `plots.compare`), the self-contained HTML report built from a streamed run
 * ({@link ReportCollector} → {@link buildReport}), and explanation drift between
 * two model versions ({@link compareExplanations}, {@link DriftAccumulator},
 * {@link buildCompareReport}).
 */
export { DEFAULT_SAMPLE_ROWS, DEFAULT_WATERFALLS, ReportCollector, strongestPartner } from './collector.ts';
export type { ReportCollectorOptions, ReportSample } from './collector.ts';
export { buildCompareReport } from './compare_report.ts';
export type { CompareReportInput } from './compare_report.ts';
export {
  compareExplanations,
  DEFAULT_DRIFT_SAMPLE_ROWS,
  DEFAULT_DRIFT_THRESHOLDS,
  DRIFT_COLUMNS,
  DriftAccumulator,
  driftTable,
  JS_BINS,
  jsDivergence,
} from './drift.ts';
export type { Drift, DriftOptions, DriftThresholds, FeatureDrift } from './drift.ts';
export { Explanation, INPUT_COLUMN_PREFIX, inputColumnName } from './explanation.ts';
export type { ExplanationInit, FromTablesOptions, ShapLike } from './explanation.ts';
export { plots } from './plots/index.ts';
export type { BarOptions } from './plots/bar.ts';
export type { BeeswarmOptions } from './plots/beeswarm.ts';
export type { CompareOptions } from './plots/compare.ts';
export type { DependenceOptions } from './plots/dependence.ts';
export type { WaterfallOptions } from './plots/waterfall.ts';
export { buildReport, writeReport } from './report.ts';
export type { ModelCard, ReportInput, ReportOptions } from './report.ts';
export { mulberry32, Reservoir } from './reservoir.ts';
