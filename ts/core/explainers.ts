/**
 * Explainers: global (model) and local (sample) explanations of a tree model.
 *
 * `explainSamples` runs the native core over the feature columns in row
 * batches of `batchRows`, so that the native result buffers stay bounded
 * whatever the input size; each batch becomes one Arrow record batch of the
 * output table (its float columns are views of the native buffer).
 */
import type * as arrow from 'apache-arrow';
import { explainKernel } from '../kernel/index.ts';
import type { FeatureColumn, FeatureStats, ShapResult, RunOptions, TreeModel } from '../native.ts';
import {
  interactionsBatch,
  interactionsSchema,
  modelTable,
  samplesBatch,
  samplesSchema,
  tableOf,
  type IdColumn,
} from './schemas.ts';

/** SHAP algorithms a config may ask for. */
export const ALGORITHMS = ['auto', 'tree-path-dependent', 'tree-interventional', 'kernel'] as const;
/**
 * A SHAP algorithm name: `auto` (= `tree-path-dependent`), `tree-path-dependent`
 * (XGBoost's `pred_contribs`), `tree-interventional` (against a background) or
 * `kernel` (KernelSHAP against a background; exact when `nsamples ≥ 2^M − 2`).
 */
export type Algorithm = (typeof ALGORITHMS)[number];
/** Devices a config may ask for. */
export const DEVICES = ['auto', 'cpu', 'gpu'] as const;
/** A device name (`auto` resolves to `cpu` in this build). */
export type Device = (typeof DEVICES)[number];

/** Default rows per native call. */
export const DEFAULT_BATCH_ROWS = 65536;

/**
 * What the explainers need of a model: satisfied by the native `TreeModel`
 * (and by test doubles).
 */
export interface ExplainableModel {
  readonly featureNames: string[];
  readonly numFeatures: number;
  readonly numOutputs: number;
  featureStats(): FeatureStats;
  shapPathDependent(columns: FeatureColumn[], opts?: RunOptions): Promise<ShapResult>;
  shapInteractions(columns: FeatureColumn[], opts?: RunOptions): Promise<ShapResult>;
  shapInterventional(columns: FeatureColumn[], background: FeatureColumn[], opts?: RunOptions): Promise<ShapResult>;
}

/** Options of {@link explainSamples}. */
export interface ExplainSamplesOptions {
  /** Algorithm (default `auto` = `tree-path-dependent`). */
  algorithm?: Algorithm;
  /** Background feature columns (model order); required by `tree-interventional` and `kernel`. */
  background?: FeatureColumn[];
  /** Coalitions sampled per row by `kernel` (default shap's `2M + 2048`). */
  nsamples?: number;
  /** Also compute SHAP interaction values (path-dependent only). */
  interactions?: boolean;
  /** Device (default `auto` = `cpu`; `gpu` is not available in this build). */
  device?: Device;
  /** Native worker threads (0 = all cores). */
  threads?: number;
  /** Rows per native call (default 65536). */
  batchRows?: number;
  /** Carry this input column instead of `row`. */
  ids?: IdColumn;
  /** Aborts the work; the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
  /** Rows done / total rows, over all batches (and over both passes with interactions). */
  onProgress?: (rowsDone: number, totalRows: number) => void;
  /** Progress polling interval in ms. */
  progressIntervalMs?: number;
}

/** Result of {@link explainSamples}. */
export interface SamplesExplanations {
  /** The algorithm actually used. */
  algorithm: Exclude<Algorithm, 'auto'>;
  /** The device actually used. */
  device: Exclude<Device, 'auto'>;
  /** Input rows explained. */
  rows: number;
  /** Model outputs. */
  outputs: number;
  /** Model features. */
  features: number;
  /** The samples explanations table. */
  table: arrow.Table;
  /** The interaction values table, when asked. */
  interactions?: arrow.Table;
  /** Mean |SHAP| per feature over rows and outputs (model order). */
  meanAbsShap: Float64Array;
  /** Mean base value per output. */
  baseValue: Float64Array;
  /** Warnings of the run (e.g. KernelSHAP over a large background). */
  warnings: string[];
}

/** Resolves `auto` and checks the algorithm/options combination. */
export function resolveAlgorithm(
  algorithm: Algorithm = 'auto',
  opts: { background?: unknown; interactions?: boolean } = {},
): Exclude<Algorithm, 'auto'> {
  const resolved = algorithm === 'auto' ? 'tree-path-dependent' : algorithm;
  if ((resolved === 'tree-interventional' || resolved === 'kernel') && !opts.background) {
    throw new Error(`explainer.algorithm "${resolved}" needs a background sample (explainer.background)`);
  }
  if (opts.interactions && resolved !== 'tree-path-dependent') {
    throw new Error(`explainer.interactions is only available with tree-path-dependent, not ${resolved}`);
  }
  return resolved;
}

/** Resolves `auto` to the device used; `gpu` is an error in this build. */
export function resolveDevice(device: Device = 'auto'): Exclude<Device, 'auto'> {
  if (device === 'gpu') {
    throw new Error('explainer.device "gpu" requested but this build has no GPU backend: use device auto or cpu');
  }
  return 'cpu';
}

/**
 * Explains the model globally: per-feature gain, cover and split counts, and
 * importance (gain normalized to sum 1); with `meanAbsShap` from a samples run,
 * the `mean_abs_shap` column too.
 */
export function explainModel(model: Pick<ExplainableModel, 'featureNames' | 'featureStats'>, meanAbsShap?: Float64Array): arrow.Table {
  const stats = model.featureStats();
  return modelTable({ featureNames: model.featureNames, ...stats, meanAbsShap });
}

function checkColumns(model: ExplainableModel, columns: FeatureColumn[], what: string): number {
  if (columns.length !== model.numFeatures) {
    throw new Error(`${what}: the model has ${model.numFeatures} features, got ${columns.length} columns`);
  }
  const rows = columns[0]?.length ?? 0;
  columns.forEach((c, j) => {
    if (c.length !== rows) throw new Error(`${what}: column ${model.featureNames[j]} has ${c.length} rows, expected ${rows}`);
  });
  return rows;
}

/**
 * Explains every sample: SHAP values of each input row (one typed array per
 * feature, in model order), in the model's raw output space.
 *
 * Rows are processed in batches of `batchRows`; each batch is one record batch
 * of the result tables. Mean |SHAP| per feature is accumulated on the way.
 */
export async function explainSamples(
  model: ExplainableModel,
  columns: FeatureColumn[],
  opts: ExplainSamplesOptions = {},
): Promise<SamplesExplanations> {
  const algorithm = resolveAlgorithm(opts.algorithm, opts);
  const device = resolveDevice(opts.device);
  const rows = checkColumns(model, columns, 'explainSamples');
  if (opts.background) checkColumns(model, opts.background, 'explainSamples background');
  if (algorithm !== 'tree-path-dependent' && (opts.background?.[0]?.length ?? 0) === 0) {
    throw new Error(`explainer.background is empty: ${algorithm} needs at least one background row`);
  }
  const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
  if (!Number.isInteger(batchRows) || batchRows <= 0) throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
  const features = model.numFeatures;
  const outputs = model.numOutputs;
  const names = model.featureNames;
  const passes = opts.interactions ? 2 : 1;
  const total = rows * passes;

  const sumAbs = new Float64Array(features);
  const sumBase = new Float64Array(outputs);
  const batches: arrow.RecordBatch[] = [];
  const interactionBatches: arrow.RecordBatch[] = [];
  const warnings: string[] = [];
  let done = 0;
  const runOpts = (offset: number): RunOptions => ({
    threads: opts.threads,
    signal: opts.signal,
    progressIntervalMs: opts.progressIntervalMs,
    onProgress: opts.onProgress ? (d) => opts.onProgress!(offset + d, total) : undefined,
  });

  for (let start = 0; start < rows; start += batchRows) {
    const end = Math.min(rows, start + batchRows);
    const view = columns.map((c) => c.subarray(start, end));
    let result: ShapResult;
    if (algorithm === 'kernel') {
      const kernel = await explainKernel(model as unknown as TreeModel, view, opts.background!, {
        ...runOpts(done),
        nsamples: opts.nsamples,
        rowOffset: start,
      });
      for (const w of kernel.warnings) if (!warnings.includes(w)) warnings.push(w);
      result = kernel;
    } else if (algorithm === 'tree-interventional') {
      result = await model.shapInterventional(view, opts.background!, runOpts(done));
    } else {
      result = await model.shapPathDependent(view, runOpts(done));
    }
    done += end - start;
    accumulate(result, sumAbs, sumBase);
    batches.push(samplesBatch(result, names, { rowOffset: start, ids: opts.ids }));
    if (opts.interactions) {
      const inter = await model.shapInteractions(view, runOpts(done));
      done += end - start;
      interactionBatches.push(interactionsBatch(inter, names, { rowOffset: start, ids: opts.ids }));
    }
  }

  const n = rows * outputs;
  const meanAbsShap = sumAbs.map((s) => (n > 0 ? s / n : 0));
  const baseValue = sumBase.map((s) => (rows > 0 ? s / rows : 0));
  return {
    algorithm,
    device,
    rows,
    outputs,
    features,
    table: tableOf(samplesSchema(names, outputs, opts.ids), batches),
    interactions: opts.interactions ? tableOf(interactionsSchema(names, outputs, opts.ids), interactionBatches) : undefined,
    meanAbsShap,
    baseValue,
    warnings,
  };
}

/** Adds |φ| per feature and the base value per output of one result. */
function accumulate(result: ShapResult, sumAbs: Float64Array, sumBase: Float64Array): void {
  const { rows, outputs, features, values } = result;
  const n = rows * outputs;
  for (let j = 0; j < features; j++) {
    let s = 0;
    const end = (j + 1) * n;
    for (let i = j * n; i < end; i++) s += Math.abs(values[i]);
    sumAbs[j] += s;
  }
  const base = features * n;
  for (let i = 0; i < n; i++) sumBase[i % outputs] += values[base + i];
}
