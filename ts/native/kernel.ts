/**
 * KernelSHAP at the native boundary: its options, its result, and the one
 * function that starts a native KernelSHAP run — over a tree model inside the
 * core, or over a JS model function called back with large blocks of rows.
 *
 * The options (`nsamples`, `seed`, `numFeatures`, `batchRows`, `rowOffset`,
 * `link`, the summary size) are checked once, in the addon; what is checked
 * here is what the JS side sees first (typed arrays, the background's shape,
 * the summary string).
 */
import { checkColumns, native, runNative, type FeatureColumn, type NativeKernelOptions, type NativeModelHandle, type ShapResult } from './addon.ts';

/** Output space explained: the model output as is, or the log-odds of a probability output. */
export type KernelLink = 'identity' | 'logit';

/** Options of a KernelSHAP run (`explainKernel`, `TreeModel.shapKernel`). */
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

/** The model a KernelSHAP run evaluates: a native tree model, or a JS function of feature columns. */
export type KernelModel =
  | { kind: 'tree'; handle: NativeModelHandle; featureNames: readonly string[] }
  | {
      kind: 'js';
      featureNames: readonly string[];
      numOutputs: number;
      predict: (columns: Float64Array[]) => Float64Array | Promise<Float64Array>;
    };

/**
 * Runs KernelSHAP natively for every row of `columns` (one typed array per model
 * feature) against `background` (same layout, at least one row).
 * @throws naming the option or column at fault.
 */
export async function runKernel(
  model: KernelModel,
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
  if (opts.link === 'logit' && model.kind === 'tree') {
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
  const weights = opts.backgroundWeights;
  return runNative(rows, opts, (run, threads) =>
    model.kind === 'tree'
      ? native().kernelShapTree(model.handle, columns, background, weights, nativeOpts, threads, run)
      : native().kernelShapJs(model.predict, names.length, model.numOutputs, columns, background, weights, nativeOpts, threads, run),
  );
}
