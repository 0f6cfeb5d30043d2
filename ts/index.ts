/**
 * arrowshap — exact, fast SHAP explanations of XGBoost and LightGBM models over
 * Arrow tables, as a library and as an MLOps explanations job.
 *
 * Explain a table with a model file:
 * ```ts
 * import { TreeModel, readerForPath, featureColumns, explainSamples, explainModel } from 'arrowshap';
 *
 * const model = TreeModel.fromFile('model.ubj');
 * const inputs = await readerForPath('inputs.parquet').read();
 * const { table, meanAbsShap } = await explainSamples(model, featureColumns(inputs, model.featureNames));
 * const importances = explainModel(model, meanAbsShap);
 * ```
 * A LightGBM model stores `Marital Status` as `Marital_Status`; to read the user's
 * columns and name the tables' columns as they are named:
 * ```ts
 * const { model: named, mapping } = modelForColumns(model, inputs.schema.fields.map((f) => f.name));
 * const { table } = await explainSamples(named, modelColumns(named, inputs));
 * ```
 *
 * Run the whole job (read → validate → load from a registry → explain → write → alert):
 * ```ts
 * import { ExplanationsJob, loadConfig } from 'arrowshap';
 *
 * const { job } = await loadConfig('explanations.yaml', ['job.inputs_samples.limit=100']);
 * const { samplesExplanations, modelsExplanations, modelVersion } = await new ExplanationsJob(job).execute();
 * ```
 * The job streams its input in batches of `explainer.batch_rows`; the whole tables
 * (`samplesExplanations`, …) are returned for small runs only (`keepTables` option).
 *
 * Stream a large file yourself:
 * ```ts
 * import { SamplesExplainer, featureColumns, readerForPath, writerForPath } from 'arrowshap';
 *
 * const explainer = new SamplesExplainer(model, { threads: 0 });
 * const output = await writerForPath('samples.parquet').open(explainer.samplesSchema());
 * for await (const batch of readerForPath('inputs.parquet').batches({ batchRows: 65536 })) {
 *   const { samples } = await explainer.explainBatch(featureColumns(batch, model.featureNames));
 *   await output.write(samples);
 * }
 * await output.close(); // or output.abort() on failure: nothing is left behind
 * ```
 *
 * Tables follow the contracts in docs/configuration.md: the samples table has
 * `row` (or the id column), [`output`], one float64 column per feature and
 * `base_value`; the model table has `feature`, `importance`, `gain`, `cover`,
 * `weight` and `mean_abs_shap`.
 * @packageDocumentation
 */

// ── the native model ─────────────────────────────────────────────────────────
export { TreeModel } from './native/tree_model.ts';
export { RowBackground } from './native/row_background.ts';
export { RowInputError } from './native/rows.ts';
export type { RowValues } from './native/rows.ts';
export type { FeatureStats } from './native/tree_model.ts';
export { gpuInfo } from './native/addon.ts';
export type { DeviceRunOptions, FeatureColumn, GpuInfo, NativeDevice, RunOptions, ShapResult } from './native/addon.ts';
export { abortError } from './core/abort.ts';

// ── explainers and output tables ─────────────────────────────────────────────
export { DEFAULT_BATCH_ROWS } from './core/batches.ts';
export {
  ALGORITHMS,
  checkModelOutput,
  DEVICES,
  explainModel,
  explainSamples,
  MODEL_OUTPUTS,
  resolveAlgorithm,
  resolveDevice,
  SamplesExplainer,
} from './core/explainers.ts';
export type {
  Algorithm,
  Device,
  ExplainableModel,
  ExplainBatchOptions,
  ExplainedBatch,
  ExplainSamplesOptions,
  ModelOutput,
  SamplesExplainerOptions,
  SamplesExplanations,
  SamplesSummary,
} from './core/explainers.ts';
export {
  BASE_VALUE_COLUMN,
  FEATURE_COLUMN,
  importances,
  interactionsBatch,
  interactionsSchema,
  interactionsTable,
  MEAN_ABS_SHAP_COLUMN,
  modelSchema,
  modelTable,
  OUTPUT_COLUMN,
  ROW_COLUMN,
  samplesBatch,
  samplesSchema,
  samplesTable,
  withMeanAbsShap,
} from './core/schemas.ts';
export type { IdColumn, ModelTableInput, SampleTableOptions } from './core/schemas.ts';

// ── config ───────────────────────────────────────────────────────────────────
export { ConfigError, formatIssues, validate } from './config/errors.ts';
export type { ValidateOptions } from './config/errors.ts';
export { Config, DEFAULT_REGISTRY, ExplainerConfig, ExplanationsJobConfig } from './config/job.ts';
export type { ConfigInput, ExplainerConfigInput, ExplanationsJobConfigInput } from './config/job.ts';
export { applySet, configJsonSchema, loadConfig, parseConfig, parseConfigText, parseJobConfig, resolvePaths } from './config/load.ts';

// ── jobs ─────────────────────────────────────────────────────────────────────
export { Job } from './jobs/base.ts';
export type { Service } from './jobs/base.ts';
export { ALERT_TITLE, DEFAULT_KEEP_ROWS, ExplanationsJob } from './jobs/explanations.ts';
export type { ExplanationsJobOptions, ExplanationsJobOutput, ExplanationsRows, ExplanationsTimings } from './jobs/explanations.ts';

// ── io: datasets ─────────────────────────────────────────────────────────────
export {
  ArrowReader,
  CsvReader,
  ParquetReader,
  ReaderConfig,
  createReader,
  readAllBatches,
  readerConfigForPath,
  readerForPath,
  readerOf,
} from './io/datasets/reader.ts';
export type { ReadBatchesOptions, Reader } from './io/datasets/reader.ts';
export {
  ArrowWriter,
  CsvWriter,
  ParquetWriter,
  WriterConfig,
  createWriter,
  writerConfigForPath,
  writerForPath,
  writerOf,
} from './io/datasets/writer.ts';
export type { OpenOptions, TableOutput, Writer } from './io/datasets/writer.ts';
export { featureColumns, idColumn, numericColumn } from './io/datasets/features.ts';
export { modelColumns } from './core/pipeline/columns.ts';
export { describeMapping, lightgbmStoredName, matchColumns, modelForColumns } from './core/lightgbm_names.ts';
export type { MatchedColumns, NameMapping } from './core/lightgbm_names.ts';
export { atomicOutput, StagedFile, writeFileAtomic } from './io/atomic.ts';

// ── io: registries and loaders ───────────────────────────────────────────────
export {
  FileRegistry,
  FileRegistryConfig,
  LocalRegistry,
  MlflowRegistry,
  RegistryConfig,
  createRegistry,
  registryOf,
} from './io/registries/registry.ts';
export type { ModelVersion, Registry } from './io/registries/registry.ts';
export type { MlflowFetchInfo, MlflowRegistryOptions } from './io/registries/mlflow.ts';
export { MlflowClient, MlflowHttpError, MlflowUnreachableError } from './io/registries/mlflow_client.ts';
export type { MlflowClientOptions } from './io/registries/mlflow_client.ts';
export { BuiltinLoader, CustomLoader, LoaderConfig, createLoader, loaderOf } from './io/registries/loaders.ts';
export type { Loader } from './io/registries/loaders.ts';

// ── io: services ─────────────────────────────────────────────────────────────
export { AlertsConfig, ConsoleAlerts, WebhookAlerts, alertsOf, createAlerts } from './io/services/alerts.ts';
export type { AlertFields, Alerts } from './io/services/alerts.ts';
export { LoggerConfig, createLogger, loggerOf } from './io/services/logger.ts';

// ── KernelSHAP: any model (JS functions, TF.js, tree models) ─────────────────
export { explainKernel, JsModel } from './kernel/explain_kernel.ts';
export type { BatchPredictor, PredictFunction } from './kernel/explain_kernel.ts';
export { loadTfjsModel, TfjsModel } from './kernel/tfjs.ts';
export type { LoadTfjsOptions, TfjsModelLike } from './kernel/tfjs.ts';
export { parseBackgroundSummary } from './native/kernel.ts';
export type { KernelExplainOptions, KernelLink, KernelShapResult } from './native/kernel.ts';

// ── reports, plots and explanation drift ─────────────────────────────────────
export * from './report/index.ts';
export { HtmlReportConfig, ReportConfig } from './report/config.ts';
export type { HtmlReportConfigInput } from './report/config.ts';
export { withInputColumns, withInputFields } from './core/input_columns.ts';
export { COMPARE_ALERT_TITLE, CompareJob, DRIFT_ALERT_TITLE } from './jobs/compare.ts';
export type { ComparedModel, CompareJobOptions, CompareJobOutput } from './jobs/compare.ts';
export { CompareConfig, CompareJobConfig, CompareReportConfig, DriftThresholdsConfig, ModelRefConfig } from './config/compare.ts';
export type { CompareJobConfigInput } from './config/compare.ts';
export { loadAnyConfig } from './config/load.ts';
