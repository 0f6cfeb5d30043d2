/**
 * Typed access to the native addon (`native/node`, napi-rs).
 *
 * The addon is thin: it takes one typed array per feature (the values buffer of
 * an Arrow Float64/Float32 column, nulls as NaN) without copying, runs the core
 * on the libuv pool, and hands back one `Float64Array` without copying. This
 * module adds the JS conventions: `AbortSignal`, progress callbacks, camelCase.
 *
 * Progress is read from a native atomic counter (`NativeRun.rowsDone`) on a
 * timer rather than pushed from worker threads: the SHAP threads never wait on
 * the JS event loop, and a busy loop cannot be flooded with progress events.
 */
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One feature column: Arrow column values (missing = NaN). */
export type FeatureColumn = Float64Array | Float32Array;

/** A native result: dimensions plus one values buffer (layout per method). */
export interface ShapResult {
  /** Input rows explained. */
  rows: number;
  /** Model outputs (classes for multiclass, else 1). */
  outputs: number;
  /** Model features. */
  features: number;
  /** The values; see the method that produced them for the layout. */
  values: Float64Array;
}

/** Options of every long native call. */
export interface RunOptions {
  /** Worker threads; 0 or undefined = all cores. */
  threads?: number;
  /** Aborts the native work; the Promise rejects with an `AbortError`. */
  signal?: AbortSignal;
  /** Called with rows done and total rows while the work runs (and once at the end). */
  onProgress?: (rowsDone: number, totalRows: number) => void;
  /** Progress polling interval in ms (default 100). */
  progressIntervalMs?: number;
}

/** The native run handle: cancel flag and rows done (see `runNative`). */
export interface NativeRunHandle {
  cancel(): void;
  readonly rowsDone: number;
  readonly cancelled: boolean;
}

interface NativeModelHandle {
  readonly numFeatures: number;
  readonly numOutputs: number;
  readonly numTrees: number;
  readonly maxDepth: number;
  readonly featureNames: string[];
  readonly objective: string;
  readonly source: string;
  readonly link: string;
  expectedValue(): Float64Array;
  featureStats(): { gain: Float64Array; cover: Float64Array; weight: Float64Array };
  predictRaw(columns: FeatureColumn[], threads: number, run: NativeRunHandle): Promise<ShapResult>;
  shapPathDependent(columns: FeatureColumn[], threads: number, run: NativeRunHandle): Promise<ShapResult>;
  shapInteractions(columns: FeatureColumn[], threads: number, run: NativeRunHandle): Promise<ShapResult>;
  shapInterventional(
    columns: FeatureColumn[],
    background: FeatureColumn[],
    threads: number,
    run: NativeRunHandle,
  ): Promise<ShapResult>;
}

interface NativeAddon {
  Model: {
    fromFile(path: string): NativeModelHandle;
    fromBytes(bytes: Uint8Array, name: string): NativeModelHandle;
  };
  NativeRun: new () => NativeRunHandle;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Finds the built addon (`native/node/arrowshap.<platform>-<arch>*.node`). */
function findAddon(): string {
  const dir = join(here, '..', 'native', 'node');
  const prefix = `arrowshap.${process.platform}-${process.arch}`;
  const found = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.node')) : [];
  if (found.length === 0) {
    throw new Error(`arrowshap native addon not built (no ${prefix}*.node in ${dir}): run \`npm run build\``);
  }
  return join(dir, found.sort()[0]);
}

let addon: NativeAddon | undefined;

/** The loaded addon (loaded on first use). */
export function native(): NativeAddon {
  addon ??= createRequire(import.meta.url)(findAddon()) as NativeAddon;
  return addon;
}

/** The error a run rejects with when its signal aborts it. */
export function abortError(signal?: AbortSignal): Error {
  const reason = signal?.reason;
  const err = new Error(reason instanceof Error ? reason.message : 'the operation was aborted');
  err.name = 'AbortError';
  return err;
}

/**
 * Runs one native call with cancellation and progress wired up (every native
 * entry point goes through it: the tree explainers here and KernelSHAP).
 * @param totalRows rows the call will process (for progress).
 * @param call starts the native work on the given run handle.
 */
export async function runNative<T>(
  totalRows: number,
  opts: RunOptions,
  call: (run: NativeRunHandle, threads: number) => Promise<T>,
): Promise<T> {
  const { signal, onProgress } = opts;
  if (signal?.aborted) throw abortError(signal);
  const run = new (native().NativeRun)();
  const onAbort = () => run.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = onProgress
    ? setInterval(() => onProgress(run.rowsDone, totalRows), opts.progressIntervalMs ?? 100)
    : undefined;
  try {
    const result = await call(run, opts.threads ?? 0);
    onProgress?.(totalRows, totalRows);
    return result;
  } catch (e) {
    if (run.cancelled) throw abortError(signal);
    throw e;
  } finally {
    if (timer) clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function checkColumns(model: NativeModelHandle, columns: FeatureColumn[], what: string): number {
  if (columns.length !== model.numFeatures) {
    throw new Error(`${what}: the model has ${model.numFeatures} features, got ${columns.length} columns`);
  }
  return columns[0]?.length ?? 0;
}

/** Global per-feature facts of a tree model. */
export interface FeatureStats {
  /** Total split gain per feature. */
  gain: Float64Array;
  /** Total split cover per feature. */
  cover: Float64Array;
  /** Split count per feature. */
  weight: Float64Array;
}

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

  /** The addon's model handle, for other native entry points (KernelSHAP). @internal */
  get nativeHandle(): unknown {
    return this.handle;
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
    const rows = checkColumns(this.handle, columns, 'predictRaw');
    const r = await runNative(rows, opts, (run, t) => this.handle.predictRaw(columns, t, run));
    return r.values;
  }

  /** Path-dependent TreeSHAP (XGBoost `pred_contribs`). */
  shapPathDependent(columns: FeatureColumn[], opts: RunOptions = {}): Promise<ShapResult> {
    const rows = checkColumns(this.handle, columns, 'shapPathDependent');
    return runNative(rows, opts, (run, t) => this.handle.shapPathDependent(columns, t, run));
  }

  /** SHAP interaction values (XGBoost `pred_interactions` without bias). */
  shapInteractions(columns: FeatureColumn[], opts: RunOptions = {}): Promise<ShapResult> {
    const rows = checkColumns(this.handle, columns, 'shapInteractions');
    return runNative(rows, opts, (run, t) => this.handle.shapInteractions(columns, t, run));
  }

  /** Interventional TreeSHAP against a background sample (shap `feature_perturbation="interventional"`). */
  shapInterventional(
    columns: FeatureColumn[],
    background: FeatureColumn[],
    opts: RunOptions = {},
  ): Promise<ShapResult> {
    const rows = checkColumns(this.handle, columns, 'shapInterventional');
    checkColumns(this.handle, background, 'shapInterventional background');
    return runNative(rows, opts, (run, t) => this.handle.shapInterventional(columns, background, t, run));
  }
}
