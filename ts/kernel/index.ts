/**
 * KernelSHAP: model-agnostic SHAP values, computed natively and in batches.
 *
 * shap's `KernelExplainer`, moved into the Rust core (`arrowshap_core::kernel`):
 * the coalition plan, the masked-sample blocks, the weighted least squares. The
 * model is evaluated
 * - inside the core for a {@link TreeModel} (raw margin output, parallel over rows),
 *   without building masked rows: each coalition's background average comes from tables
 *   that one walk per (tree, background row) fills with the leaves a coalition reaches
 *   (the same values up to rounding, two orders of magnitude faster);
 * - through one call per large block (tens of thousands of rows, one typed array per
 *   feature) for a {@link JsModel} or a {@link TfjsModel}: the core waits for the
 *   (possibly async) result on its worker thread while the JS thread runs the model.
 *
 * Results have the `ShapResult` layout of every explainer: `(features + 1)` columns of
 * `rows × outputs` values ordered (row, output), the base value last; each row's
 * values sum with the base value to the model output (in the `link` space).
 *
 * With `nsamples ≥ 2^m − 2` (m = features whose value differs from some background
 * row) every coalition is enumerated and the values are exact: the interventional
 * Shapley values against the background (for a tree model, interventional TreeSHAP's).
 */
import { native, runNative, TreeModel, type FeatureColumn, type NativeRunHandle, type ShapResult } from '../native.ts';
import { loadTfjsModel, TfjsModel, type LoadTfjsOptions } from './tfjs.ts';

export { loadTfjsModel, TfjsModel, type LoadTfjsOptions };

/** A model function: one column per feature in, row-major rows × outputs out. */
export type PredictFunction = (columns: Float64Array[]) => Float64Array | Float32Array | Promise<Float64Array | Float32Array>;

/** What KernelSHAP needs of a model evaluated in JS. */
export interface BatchPredictor {
  /** Feature names in input order. */
  readonly featureNames: string[];
  /** Number of input features. */
  readonly numFeatures: number;
  /** Values per row the model returns. */
  readonly numOutputs: number;
  /** Evaluates rows given as one column per feature; row-major rows × outputs. */
  predict(columns: Float64Array[]): Float64Array | Float32Array | Promise<Float64Array | Float32Array>;
}

/** Options of {@link JsModel}: the feature names (or just their count) and the output count. */
export interface JsModelOptions {
  /** Feature names in input order; `numFeatures` alone names them `f0`, `f1`, …. */
  featureNames?: string[];
  /** Number of features (when `featureNames` is not given). */
  numFeatures?: number;
  /** Values per row the function returns (default 1). */
  numOutputs?: number;
}

/**
 * A user function as a model: `(columns: Float64Array[]) => Float64Array | Promise<Float64Array>`,
 * one column per feature in, row-major rows × `numOutputs` values out. It is called
 * with large blocks of rows, one call at a time.
 */
export class JsModel implements BatchPredictor {
  readonly featureNames: string[];
  readonly numOutputs: number;

  constructor(
    private readonly fn: PredictFunction,
    opts: JsModelOptions,
  ) {
    if (typeof fn !== 'function') throw new Error('JsModel: the model must be a function (columns) => Float64Array');
    const names = opts.featureNames ?? (opts.numFeatures != null ? Array.from({ length: opts.numFeatures }, (_, j) => `f${j}`) : undefined);
    if (!names || names.length === 0) throw new Error('JsModel: give featureNames or a positive numFeatures');
    if (opts.numFeatures != null && opts.numFeatures !== names.length) {
      throw new Error(`JsModel: ${names.length} feature names but numFeatures = ${opts.numFeatures}`);
    }
    const k = opts.numOutputs ?? 1;
    if (!Number.isInteger(k) || k < 1) throw new Error(`JsModel: numOutputs must be a positive integer, got ${k}`);
    this.featureNames = names;
    this.numOutputs = k;
  }

  /** Number of input features. */
  get numFeatures(): number {
    return this.featureNames.length;
  }

  /** Calls the function. */
  predict(columns: Float64Array[]): Float64Array | Float32Array | Promise<Float64Array | Float32Array> {
    return this.fn(columns);
  }
}

/** Output space explained: the model output as is, or the log-odds of a probability output. */
export type KernelLink = 'identity' | 'logit';

/** Options of {@link explainKernel}. */
export interface KernelExplainOptions {
  /**
   * Coalitions per row (default `2m + 2048`, shap's, m = varying features of the row).
   * At `2^m − 2` or more every coalition is enumerated and the values are exact. Below,
   * whole subset sizes are enumerated as shap does and the rest of the budget is spent on
   * complementary pairs drawn without replacement, a fixed number per size (stratified):
   * lower error than shap's sampling at the same budget.
   */
  nsamples?: number;
  /** Seed of the coalition sampling and of the background summary (default 0). */
  seed?: number;
  /**
   * Summarize the background first: `'kmeans(k)'` (weighted k-means, centres snapped to
   * data values, weights = cluster sizes) or `'sample(n)'` (n rows, seeded). Default: none;
   * a background over 300 rows then earns a warning in the result.
   */
  backgroundSummary?: string;
  /** Weights of the background rows (default equal). */
  backgroundWeights?: Float64Array;
  /** `'identity'` (default) or `'logit'` (for a model returning probabilities). */
  link?: KernelLink;
  /**
   * L1 feature selection: keep the `k` features least angle regression picks first
   * (shap's `l1_reg="num_features(k)"`); default none (every feature estimated).
   */
  numFeatures?: number;
  /** Rows per model call (default 65536 for JS models, 2048 in-core for tree models). */
  batchRows?: number;
  /**
   * Position of the first row in the whole input (default 0): each row's coalitions
   * come from the stream of its position, so explaining in batches with the right
   * offsets gives the values of one call.
   */
  rowOffset?: number;
  /** Native worker threads (0 or undefined = all cores). */
  threads?: number;
  /** Aborts the run; the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
  /** Rows explained / total rows, while the run goes (and once at the end). */
  onProgress?: (rowsDone: number, totalRows: number) => void;
  /** Progress polling interval in ms (default 100). */
  progressIntervalMs?: number;
}

/** A KernelSHAP result: the `ShapResult` layout plus what the run did. */
export interface KernelShapResult extends ShapResult {
  /** Warnings to show (e.g. a background over 300 rows). */
  warnings: string[];
  /** Background rows used, after any summary. */
  backgroundRows: number;
  /** Rows explained by full enumeration (exact values). */
  exactRows: number;
  /** Largest number of coalitions of one row. */
  maxCoalitions: number;
  /** Model evaluations in total: rows passed to the model (for a TreeModel, the masked rows its tables stand for). */
  modelRows: number;
}

interface NativeKernelOptions {
  nsamples?: number;
  seed?: number;
  link?: string;
  numFeatures?: number;
  summary?: string;
  summarySize?: number;
  batchRows?: number;
  rowOffset?: number;
}

interface KernelAddon {
  NativeRun: new () => NativeRunHandle;
  kernelShapTree(
    model: unknown,
    columns: FeatureColumn[],
    background: FeatureColumn[],
    weights: Float64Array | undefined,
    options: NativeKernelOptions,
    threads: number,
    run: NativeRunHandle,
  ): Promise<KernelShapResult>;
  kernelShapJs(
    predict: (columns: Float64Array[]) => Float64Array | Promise<Float64Array>,
    numFeatures: number,
    numOutputs: number,
    columns: FeatureColumn[],
    background: FeatureColumn[],
    weights: Float64Array | undefined,
    options: NativeKernelOptions,
    threads: number,
    run: NativeRunHandle,
  ): Promise<KernelShapResult>;
}

/** A parsed background summary. */
export interface BackgroundSummarySpec {
  kind: 'kmeans' | 'sample';
  size: number;
}

/** Parses `'kmeans(k)'` / `'sample(n)'` (k, n positive integers). */
export function parseBackgroundSummary(spec: string): BackgroundSummarySpec {
  const m = /^\s*(kmeans|sample)\s*\(\s*(\d+)\s*\)\s*$/.exec(spec);
  const size = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(size) || size < 1) {
    throw new Error(`backgroundSummary must be 'kmeans(k)' or 'sample(n)' with a positive integer, got '${spec}'`);
  }
  return { kind: m[1] as 'kmeans' | 'sample', size };
}

function checkColumns(names: string[], columns: FeatureColumn[] | undefined, what: string): number {
  if (!Array.isArray(columns)) throw new Error(`${what}: expected one typed array per feature`);
  if (columns.length !== names.length) {
    throw new Error(`${what}: the model has ${names.length} features, got ${columns.length} columns`);
  }
  const rows = columns[0]?.length ?? 0;
  columns.forEach((c, j) => {
    if (!(c instanceof Float64Array || c instanceof Float32Array)) {
      throw new Error(`${what}: column ${names[j]} must be a Float64Array or Float32Array`);
    }
    if (c.length !== rows) throw new Error(`${what}: column ${names[j]} has ${c.length} rows, expected ${rows}`);
  });
  return rows;
}

function toF64(v: unknown, rows: number, outputs: number): Float64Array {
  let out: Float64Array;
  if (v instanceof Float64Array) out = v;
  else if (ArrayBuffer.isView(v) && !(v instanceof DataView)) out = Float64Array.from(v as unknown as ArrayLike<number>);
  else if (Array.isArray(v)) out = Float64Array.from(v as number[]);
  else {
    throw new Error(`the model function must return a Float64Array (row-major rows × outputs), got ${v === null ? 'null' : typeof v}`);
  }
  if (out.length !== rows * outputs) {
    throw new Error(`the model function returned ${out.length} values for ${rows} rows × ${outputs} outputs`);
  }
  return out;
}

/**
 * KernelSHAP values of every row of `columns` (one typed array per model feature,
 * model order) against `background` (same layout, at least one row).
 */
export async function explainKernel(
  model: TreeModel | JsModel | TfjsModel | BatchPredictor,
  columns: FeatureColumn[],
  background: FeatureColumn[],
  opts: KernelExplainOptions = {},
): Promise<KernelShapResult> {
  const names = model.featureNames;
  const rows = checkColumns(names, columns, 'explainKernel');
  if (background == null || (Array.isArray(background) && background.length === 0)) {
    throw new Error('explainKernel: KernelSHAP needs a background sample (one typed array per feature, at least one row)');
  }
  const bgRows = checkColumns(names, background, 'explainKernel background');
  if (bgRows === 0) throw new Error('explainKernel: the background is empty: KernelSHAP needs at least one background row');
  if (opts.backgroundWeights && opts.backgroundWeights.length !== bgRows) {
    throw new Error(`explainKernel: ${opts.backgroundWeights.length} background weights for ${bgRows} background rows`);
  }
  const positiveInt = (v: number | undefined, what: string, min = 1) => {
    if (v != null && (!Number.isSafeInteger(v) || v < min)) throw new Error(`explainKernel: ${what} must be an integer ≥ ${min}, got ${v}`);
  };
  positiveInt(opts.nsamples, 'nsamples');
  positiveInt(opts.seed, 'seed', 0);
  positiveInt(opts.numFeatures, 'numFeatures');
  positiveInt(opts.batchRows, 'batchRows');
  positiveInt(opts.rowOffset, 'rowOffset', 0);
  if (opts.link != null && opts.link !== 'identity' && opts.link !== 'logit') {
    throw new Error(`explainKernel: link must be 'identity' or 'logit', got '${String(opts.link)}'`);
  }
  if (opts.link === 'logit' && model instanceof TreeModel) {
    throw new Error(
      "explainKernel: link 'logit' is for models that return probabilities; a TreeModel is explained in its raw margin (already log-odds for binary logistic models)",
    );
  }
  const summary = opts.backgroundSummary != null ? parseBackgroundSummary(opts.backgroundSummary) : undefined;
  const nativeOpts: NativeKernelOptions = {
    nsamples: opts.nsamples,
    seed: opts.seed,
    link: opts.link,
    numFeatures: opts.numFeatures,
    summary: summary?.kind,
    summarySize: summary?.size,
    batchRows: opts.batchRows,
    rowOffset: opts.rowOffset,
  };
  const addon = native() as unknown as KernelAddon;

  return runNative(rows, opts, (run, threads) => {
    if (model instanceof TreeModel) {
      return addon.kernelShapTree(model.nativeHandle, columns, background, opts.backgroundWeights, nativeOpts, threads, run);
    }
    const k = model.numOutputs;
    const predict = (cols: Float64Array[]): Float64Array | Promise<Float64Array> => {
      const n = cols[0]?.length ?? 0;
      const r = model.predict(cols);
      return r instanceof Promise || (r != null && typeof (r as { then?: unknown }).then === 'function')
        ? Promise.resolve(r).then((v) => toF64(v, n, k))
        : toF64(r, n, k);
    };
    return addon.kernelShapJs(predict, model.numFeatures, k, columns, background, opts.backgroundWeights, nativeOpts, threads, run);
  });
}
