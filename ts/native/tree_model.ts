/**
 * `TreeModel`: a tree ensemble loaded in the native core, and every explainer
 * over it (TreeSHAP path-dependent, interventional, interactions, KernelSHAP).
 */
import { checkColumns, native, runNative, type FeatureColumn, type NativeModelHandle, type RunOptions, type ShapResult } from './addon.ts';
import { runKernel, type KernelExplainOptions, type KernelShapResult } from './kernel.ts';

/** Global per-feature facts of a tree model: total split `gain`, `cover` and split count (`weight`) per feature. */
export type FeatureStats = ReturnType<NativeModelHandle['featureStats']>;

/**
 * A tree ensemble (XGBoost JSON/UBJ, LightGBM text) loaded in the native core.
 *
 * Layouts of results (R rows, K outputs, M features):
 * - `shapPathDependent` / `shapInterventional`: column-major, M+1 columns of R·K
 *   values each, ordered (row, output); column M is the base value. Column j is
 *   `values.subarray(j*R*K, (j+1)*R*K)`.
 * - `shapInteractions`: M columns of T = R·K·M values, ordered (row, output, feature i);
 *   column j is `values.subarray(j*T, (j+1)*T)`.
 * - `predictRaw`: row-major R × K raw margins.
 */
export class TreeModel {
  private constructor(private readonly handle: NativeModelHandle) {}

  /** Loads a model file (format sniffed from content). Throws naming the file and field at fault. */
  static fromFile(path: string): TreeModel {
    return new TreeModel(native().Model.fromFile(path));
  }

  /** Loads a model from bytes; `name` appears in error messages. */
  static fromBytes(bytes: Uint8Array, name: string): TreeModel {
    return new TreeModel(native().Model.fromBytes(bytes, name));
  }

  /** Feature names in model order. */
  get featureNames(): string[] {
    return this.handle.featureNames;
  }
  /** Number of features. */
  get numFeatures(): number {
    return this.handle.numFeatures;
  }
  /** Number of outputs. */
  get numOutputs(): number {
    return this.handle.numOutputs;
  }
  /** Number of trees. */
  get numTrees(): number {
    return this.handle.numTrees;
  }
  /** Greatest tree depth. */
  get maxDepth(): number {
    return this.handle.maxDepth;
  }
  /** Training objective. */
  get objective(): string {
    return this.handle.objective;
  }
  /** Origin: `xgboost-json`, `xgboost-ubj`, `lightgbm-text`. */
  get source(): string {
    return this.handle.source;
  }
  /** Link from raw output to prediction: identity, logit, log, softmax. */
  get link(): string {
    return this.handle.link;
  }
  /** Expected raw output per output (path-dependent base value). */
  expectedValue(): Float64Array {
    return this.handle.expectedValue();
  }
  /** Per-feature totals of gain, cover and split count. */
  featureStats(): FeatureStats {
    return this.handle.featureStats();
  }

  /** Raw margin predictions, row-major rows × outputs. */
  async predictRaw(columns: FeatureColumn[], opts: RunOptions = {}): Promise<Float64Array> {
    const rows = checkColumns(this.featureNames, columns, 'predictRaw');
    const r = await runNative(rows, opts, (run, t) => this.handle.predictRaw(columns, t, run));
    return r.values;
  }

  /** Path-dependent TreeSHAP (XGBoost `pred_contribs`). */
  shapPathDependent(columns: FeatureColumn[], opts: RunOptions = {}): Promise<ShapResult> {
    const rows = checkColumns(this.featureNames, columns, 'shapPathDependent');
    return runNative(rows, opts, (run, t) => this.handle.shapPathDependent(columns, t, run));
  }

  /** SHAP interaction values (XGBoost `pred_interactions` without bias). */
  shapInteractions(columns: FeatureColumn[], opts: RunOptions = {}): Promise<ShapResult> {
    const rows = checkColumns(this.featureNames, columns, 'shapInteractions');
    return runNative(rows, opts, (run, t) => this.handle.shapInteractions(columns, t, run));
  }

  /** Interventional TreeSHAP against a background sample (shap `feature_perturbation="interventional"`). */
  shapInterventional(
    columns: FeatureColumn[],
    background: FeatureColumn[],
    opts: RunOptions = {},
  ): Promise<ShapResult> {
    const rows = checkColumns(this.featureNames, columns, 'shapInterventional');
    checkColumns(this.featureNames, background, 'shapInterventional background');
    return runNative(rows, opts, (run, t) => this.handle.shapInterventional(columns, background, t, run));
  }

  /**
   * KernelSHAP against a background, with the model evaluated inside the core
   * (raw margin output): each coalition's background average comes from tables
   * one walk per (tree, background row) fills, without building masked rows.
   */
  shapKernel(columns: FeatureColumn[], background: FeatureColumn[], opts: KernelExplainOptions = {}): Promise<KernelShapResult> {
    return runKernel({ kind: 'tree', handle: this.handle, featureNames: this.featureNames }, columns, background, opts);
  }
}

export type { FeatureColumn, RunOptions, ShapResult } from './addon.ts';
