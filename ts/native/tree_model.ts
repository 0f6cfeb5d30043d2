/**
 * `TreeModel`: a tree ensemble loaded in the native core, and every explainer
 * over it (TreeSHAP path-dependent, interventional, interactions, KernelSHAP).
 */
import { readFileSync } from 'node:fs';
import type { SklearnDescription } from '../core/pipeline/program.ts';
import {
  checkColumns,
  native,
  runNative,
  type DeviceRunOptions,
  type FeatureColumn,
  type NativeModelHandle,
  type RunOptions,
  type ShapResult,
} from './addon.ts';
import { runKernel, type KernelExplainOptions, type KernelShapResult } from './kernel.ts';
import { RowBackground } from './row_background.ts';
import { prepareTables, type BackgroundOptions, type BackgroundTables } from '../background/index.ts';
import { columnMajor, rowMajor, writeRow, type RowValues } from './rows.ts';

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
 *
 * Online use (one request, one row): `explainRowSync` and the other `…Sync` methods run
 * on the calling thread, with the model's plans built once (`prepare`, or the first
 * call) and shared by every call; worker threads reach the same loaded model through
 * `shareId` / `TreeModel.fromShared`. Their results are the batch calls' values, bit for bit.
 */
export class TreeModel {
  private names?: string[];

  private constructor(private readonly handle: NativeModelHandle) {}

  /**
   * The model another thread of this process shared with {@link TreeModel.shareId}:
   * the same native model and plans, not a copy (for `worker_threads`).
   * @throws when no live model has that id.
   */
  static fromShared(id: number): TreeModel {
    return new TreeModel(native().Model.fromShared(id));
  }

  /**
   * Loads a model file (format sniffed from content; a skops zip goes through
   * {@link TreeModel.fromSkops}). Throws naming the file and field at fault.
   */
  static fromFile(path: string): TreeModel {
    const bytes = readFileSync(path);
    return isZip(bytes) ? TreeModel.fromSkops(bytes, path) : new TreeModel(native().Model.fromBytes(bytes, path));
  }

  /** Loads a model from bytes; `name` appears in error messages. */
  static fromBytes(bytes: Uint8Array, name: string): TreeModel {
    return isZip(bytes) ? TreeModel.fromSkops(bytes, name) : new TreeModel(native().Model.fromBytes(bytes, name));
  }

  /**
   * Loads a scikit-learn estimator or pipeline saved with skops (MLflow 3's `model.skops`),
   * never executing anything: the trees of the final estimator over the pipeline's
   * transformed features, and {@link TreeModel.sklearn} describing the preprocessing.
   */
  static fromSkops(bytes: Uint8Array, name: string): TreeModel {
    const p = native().SklearnPipeline.fromBytes(bytes, name);
    const m = new TreeModel(p.model());
    m.sklearnInfo = JSON.parse(p.description) as SklearnDescription;
    return m;
  }

  private sklearnInfo?: SklearnDescription;

  /**
   * For a model read from skops: the estimator, the space its SHAP values are in, and
   * the preprocessing program from raw input columns to {@link TreeModel.featureNames}.
   */
  get sklearn(): SklearnDescription | undefined {
    return this.sklearnInfo;
  }

  private coversCounted = false;

  /**
   * True for a model without node covers (ONNX stores none): tree-path-dependent SHAP
   * then needs {@link TreeModel.withCoversFrom} first.
   */
  needsCovers(): boolean {
    return this.source === 'onnx' && !this.coversCounted;
  }

  /**
   * A copy whose node covers are the number of `background` rows reaching each node (for an
   * ONNX model, which stores none; with the training rows these are the sample counts
   * scikit-learn's trees keep). Path-dependent SHAP weighs paths by them.
   */
  withCoversFrom(background: FeatureColumn[]): TreeModel {
    checkColumns(this.featureNames, background, 'withCoversFrom');
    const m = new TreeModel(this.handle.withCoversFrom(background));
    m.coversCounted = true;
    m.names = this.names;
    return m;
  }

  /**
   * The same native model under other feature names (same count, unique): the names
   * it reads its columns by and the tables name its features by. The file's own names
   * stay in {@link TreeModel.storedFeatureNames}. The LightGBM name matching uses it
   * (see `core/lightgbm_names.ts`).
   * @throws when `names` has the wrong count or a repeated name.
   */
  withFeatureNames(names: readonly string[]): TreeModel {
    if (names.length !== this.numFeatures) {
      throw new Error(`withFeatureNames: the model has ${this.numFeatures} features, got ${names.length} names`);
    }
    const repeated = names.find((n, i) => names.indexOf(n) !== i);
    if (repeated !== undefined) throw new Error(`withFeatureNames: feature name \`${repeated}\` given twice`);
    const m = new TreeModel(this.handle);
    m.sklearnInfo = this.sklearnInfo;
    m.coversCounted = this.coversCounted;
    m.names = names.slice();
    return m;
  }

  /** Feature names as the model file stores them (equal to {@link TreeModel.featureNames} unless renamed by {@link TreeModel.withFeatureNames}). */
  get storedFeatureNames(): string[] {
    return this.handle.featureNames;
  }

  /** Feature names in model order. */
  get featureNames(): string[] {
    return this.featureList().slice();
  }

  /** The feature names, read from the addon once. */
  private featureList(): string[] {
    return (this.names ??= this.handle.featureNames);
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
  /** Origin: `xgboost-json`, `xgboost-ubj`, `lightgbm-text`, `sklearn-skops`, `catboost-json` or `onnx`. */
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

  /**
   * Path-dependent TreeSHAP (XGBoost `pred_contribs`) on `opts.device` (default `auto`: the
   * GPU for large calls when one is usable); `result.device` says where it ran.
   */
  shapPathDependent(columns: FeatureColumn[], opts: DeviceRunOptions = {}): Promise<ShapResult> {
    const rows = checkColumns(this.featureNames, columns, 'shapPathDependent');
    return runNative(rows, opts, (run, t) => this.handle.shapPathDependentOn(columns, t, opts.device ?? 'auto', run) as Promise<ShapResult>);
  }

  /** SHAP interaction values (XGBoost `pred_interactions` without bias) on `opts.device`, as {@link shapPathDependent}. */
  shapInteractions(columns: FeatureColumn[], opts: DeviceRunOptions = {}): Promise<ShapResult> {
    const rows = checkColumns(this.featureNames, columns, 'shapInteractions');
    return runNative(rows, opts, (run, t) => this.handle.shapInteractionsOn(columns, t, opts.device ?? 'auto', run) as Promise<ShapResult>);
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
   * Interventional TreeSHAP of the probability output (shap's `TreeExplainer(model, data=background,
   * model_output="probability")`): per background row, the margin's values rescaled by
   * `(σ(f(x)) − σ(f(z))) / (f(x) − f(z))`, then averaged; they add up to the predicted probability
   * minus the base value, the mean background probability. Same layout as {@link shapInterventional}.
   * Identity-link models (forest classifiers, regressors) get their raw values.
   * @throws naming the objective for softmax (multiclass) and log links.
   */
  shapInterventionalProbability(columns: FeatureColumn[], background: FeatureColumn[], opts: RunOptions = {}): Promise<ShapResult> {
    const rows = checkColumns(this.featureNames, columns, 'shapInterventionalProbability');
    checkColumns(this.featureNames, background, 'shapInterventionalProbability background');
    return runNative(rows, opts, (run, t) => this.handle.shapInterventionalProbability(columns, background, t, run));
  }

  /**
   * Which space `model_output: probability` explains for this model, in words (logistic link,
   * already a probability, or identity-link raw output).
   * @throws naming the objective when the model has no probability space (softmax, log links).
   */
  probabilitySpace(): string {
    return this.handle.probabilitySpace();
  }

  /**
   * Builds the model's explanation plans now (path-dependent; interactions too when
   * asked) so that no request pays for them; calls build what they need on first use anyway.
   */
  prepare(opts: { interactions?: boolean } = {}): this {
    this.handle.prepare(opts.interactions ?? false);
    return this;
  }

  /**
   * An id under which worker threads reach this same loaded model with
   * {@link TreeModel.fromShared} (post it to them). The id keeps nothing alive: it
   * resolves while some thread still holds the model.
   */
  shareId(): number {
    return this.handle.shareId();
  }

  /**
   * Path-dependent SHAP values of one row, synchronously on the calling thread (no
   * thread-pool hop; `npm run bench:latency` measures it against XGBoost and treeshap).
   * @param row values in feature order, or an object keyed by feature name (see {@link RowValues}).
   * @returns `outputs × (features + 1)` values, row-major: output k's SHAP values at
   *   `k*(M+1) … k*(M+1)+M-1`, its base value at `k*(M+1)+M` (XGBoost `pred_contribs` for one row).
   * @throws RowInputError when the row does not fit the model.
   */
  explainRowSync(row: RowValues): Float64Array {
    const names = this.featureList();
    const x = new Float64Array(names.length);
    writeRow(names, row, x, 0);
    return this.handle.shapRowsSync(x);
  }

  /**
   * Path-dependent SHAP values of a few rows (1–16 is the intended size), synchronously:
   * `rows × outputs × (features + 1)`, row-major as {@link TreeModel.explainRowSync}.
   */
  explainRowsSync(rows: readonly RowValues[]): Float64Array {
    return this.handle.shapRowsSync(rowMajor(this.featureList(), rows, false));
  }

  /**
   * SHAP interaction values of one row, synchronously: `outputs × features × features`,
   * row-major (entry `(k*M + i)*M + j` = φ_ij, main effects on the diagonal).
   */
  interactionsRowSync(row: RowValues): Float64Array {
    const names = this.featureList();
    const x = new Float64Array(names.length);
    writeRow(names, row, x, 0);
    return this.handle.interactionsRowsSync(x);
  }

  /** {@link TreeModel.shapPathDependent} of a few rows, synchronously, in the same layout. */
  shapPathDependentSync(columns: FeatureColumn[]): ShapResult {
    const names = this.featureList();
    const rows = checkColumns(names, columns, 'shapPathDependentSync');
    const v = this.handle.shapRowsSync(rowMajor(names, columns, true));
    const [m, k] = [names.length, this.numOutputs];
    return { rows, outputs: k, features: m, values: columnMajor(v, rows * k, m + 1) };
  }

  /** {@link TreeModel.shapInteractions} of a few rows, synchronously, in the same layout. */
  shapInteractionsSync(columns: FeatureColumn[]): ShapResult {
    const names = this.featureList();
    const rows = checkColumns(names, columns, 'shapInteractionsSync');
    const v = this.handle.interactionsRowsSync(rowMajor(names, columns, true));
    const [m, k] = [names.length, this.numOutputs];
    return { rows, outputs: k, features: m, values: columnMajor(v, rows * k * m, m) };
  }

  /**
   * A background kept with the model for interventional SHAP of single rows
   * ({@link RowBackground.explainRowSync}); its columns are copied once.
   */
  prepareBackground(background: FeatureColumn[]): RowBackground {
    const names = this.featureList();
    checkColumns(names, background, 'prepareBackground');
    return new RowBackground(this.handle.prepareBackground(background), names, this.numOutputs);
  }

  /**
   * Background tables for interventional Shapley or Banzhaf values and interaction
   * values of whole batches: prepared once (time linear in the background rows), then
   * each batch costs the same whatever the background size (see `ts/background`).
   */
  backgroundTables(background: FeatureColumn[], opts: BackgroundOptions = {}): Promise<BackgroundTables> {
    return prepareTables(this.handle, this, background, opts);
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

export type { DeviceRunOptions, FeatureColumn, RunOptions, ShapResult } from './addon.ts';

/** Whether bytes start like a zip archive (a skops file). */
function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}
