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
import type { FeatureColumn } from '../native/addon.ts';
import { runKernel, type KernelExplainOptions, type KernelShapResult } from '../native/kernel.ts';
import { TreeModel } from '../native/tree_model.ts';
import type { TfjsModel } from './tfjs.ts';

export { loadTfjsModel, TfjsModel, type LoadTfjsOptions } from './tfjs.ts';
export { parseBackgroundSummary, type KernelExplainOptions, type KernelLink, type KernelShapResult } from '../native/kernel.ts';

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

/** A typed array of numbers (not a DataView, not a BigInt array). */
function isNumberView(v: unknown): v is ArrayLike<number> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
}

function toF64(v: unknown, rows: number, outputs: number): Float64Array {
  let out: Float64Array;
  if (v instanceof Float64Array) out = v;
  else if (isNumberView(v)) out = Float64Array.from(v);
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
  if (model instanceof TreeModel) return model.shapKernel(columns, background, opts);
  const k = model.numOutputs;
  const predict = (cols: Float64Array[]): Float64Array | Promise<Float64Array> => {
    const n = cols[0]?.length ?? 0;
    const r = model.predict(cols);
    return r instanceof Promise || (r != null && typeof (r as { then?: unknown }).then === 'function')
      ? Promise.resolve(r).then((v) => toF64(v, n, k))
      : toF64(r, n, k);
  };
  return runKernel({ kind: 'js', featureNames: model.featureNames, numOutputs: k, predict }, columns, background, opts);
}
