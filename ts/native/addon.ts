/**
 * The one native boundary: loading the addon (napi-rs; found by `./loader.ts`), the types
 * of its values, and {@link runNative}, the cancel/progress wiring every native
 * call goes through.
 *
 * The addon is thin: it takes one typed array per feature (the values buffer of
 * an Arrow Float64/Float32 column, nulls as NaN) without copying, runs the core
 * off the JS thread, and hands back one `Float64Array` without copying. The
 * `ts/native` modules add the JS conventions: `AbortSignal`, progress callbacks,
 * camelCase, input checks that name the column at fault.
 *
 * Progress is read from a native atomic counter (`NativeRun.rowsDone`) on a
 * timer rather than pushed from worker threads: the SHAP threads never wait on
 * the JS event loop, and a busy loop cannot be flooded with progress events.
 */
import { abortError } from '../core/abort.ts';
import type * as Addon from '../../native/node/generated.d.ts';
import { loadAddon } from './loader.ts';

/** The addon's exports, as napi-rs generates their declarations from the Rust (committed, rebuilt by `npm run build:native`). */
export type NativeAddon = typeof Addon;
/** The addon's model handle. */
export type NativeModelHandle = Addon.Model;
/** A background kept in native memory for interventional SHAP of single rows. */
export type NativeBackgroundHandle = Addon.Background;
/** The native run handle: cancel flag and rows done (see {@link runNative}). */
export type NativeRunHandle = Addon.NativeRun;
/** KernelSHAP options as the addon takes them. */
export type NativeKernelOptions = Addon.KernelOptionsJs;
/** What a native KernelSHAP run returns: the `ShapResult` layout plus what the run did. */
export type NativeKernelResult = Addon.KernelResult;

/** One feature column: Arrow column values (missing = NaN). */
export type FeatureColumn = Addon.JsColumn;

/** A native result: dimensions plus one values buffer (layout per method, see `TreeModel`). */
export type ShapResult = Addon.ShapResult & {
  /** Where it ran (`shapPathDependent` and `shapInteractions`, which take a device). */
  device?: 'cpu' | 'gpu';
};

/**
 * Where path-dependent and interaction values run: `cpu`; `gpu` (a CUDA GPU, or an error
 * saying why none is usable); `auto` (the GPU when usable and the call is large, else the CPU).
 */
export type NativeDevice = 'auto' | 'cpu' | 'gpu';

/** What {@link gpuInfo} found: `available`, and the device's `name`, `computeCapability` and `memory`, or the `reason` there is none. */
export type GpuInfo = Addon.GpuInfo;

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

/** Options of the tree explainers that can run on a GPU. */
export interface DeviceRunOptions extends RunOptions {
  /** Where to run (default `auto`); see {@link NativeDevice}. */
  device?: NativeDevice;
}

let addon: NativeAddon | undefined;

/** The loaded addon (loaded on first use: a local build, else the platform package; see `./loader.ts`). */
export function native(): NativeAddon {
  addon ??= loadAddon() as NativeAddon;
  return addon;
}

/** Most worker threads one call may ask for (far above any machine's cores; a typo such as `-1` or `1e9` is an error). */
export const MAX_THREADS = 1024;

/**
 * The thread count a call runs with: 0 (all cores) when not given.
 * @throws when `threads` is not a whole number from 0 to {@link MAX_THREADS}.
 */
export function threadCount(threads: number | undefined): number {
  const t = threads ?? 0;
  if (!Number.isSafeInteger(t) || t < 0 || t > MAX_THREADS) {
    throw new Error(`threads: expected a whole number from 0 (all cores) to ${MAX_THREADS}, got ${String(threads)}`);
  }
  return t;
}

/**
 * Whether a CUDA GPU is usable by the native core, and which. The first call starts the
 * GPU backend (loads the driver and builds the kernels with NVRTC: about a second when a
 * GPU is present, immediate when none is); the answer is kept for the process.
 */
export function gpuInfo(): GpuInfo {
  const g = native().gpuInfo();
  // napi leaves absent optional fields as null; drop them
  return Object.fromEntries(Object.entries(g).filter(([, v]) => v != null)) as unknown as GpuInfo;
}

/**
 * Runs one native call with cancellation and progress wired up (every native
 * entry point goes through it: the tree explainers and KernelSHAP).
 *
 * The caller's `onProgress` is guarded: if it throws, the native work is
 * cancelled and the call rejects with that error (it never reaches the event
 * loop as an uncaught exception).
 * @param totalRows rows the call will process (for progress).
 * @param call starts the native work on the given run handle.
 */
export async function runNative<T>(
  totalRows: number,
  opts: RunOptions,
  call: (run: NativeRunHandle, threads: number) => Promise<T>,
): Promise<T> {
  const { signal, onProgress } = opts;
  const threads = threadCount(opts.threads);
  if (signal?.aborted) throw abortError(signal);
  const run = new (native().NativeRun)();
  const onAbort = () => run.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  let progressFailure: { error: unknown } | undefined;
  const report = (done: number) => {
    if (!onProgress || progressFailure) return;
    try {
      onProgress(done, totalRows);
    } catch (error) {
      progressFailure = { error };
      run.cancel();
    }
  };
  const timer = onProgress ? setInterval(() => report(run.rowsDone), opts.progressIntervalMs ?? 100) : undefined;
  try {
    const result = await call(run, threads);
    report(totalRows);
    if (progressFailure) throw progressFailure.error;
    return result;
  } catch (e) {
    if (progressFailure) throw progressFailure.error;
    if (run.cancelled) throw abortError(signal);
    throw e;
  } finally {
    if (timer) clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The one input-column check of every explainer: one Float64Array or
 * Float32Array per model feature, all of the same length.
 * @param what the call, for the message (`explainSamples background`).
 * @returns the row count.
 * @throws naming the call and the column at fault.
 */
export function checkColumns(featureNames: readonly string[], columns: readonly FeatureColumn[] | undefined, what: string): number {
  if (!Array.isArray(columns)) throw new Error(`${what}: expected one typed array per feature`);
  if (columns.length !== featureNames.length) {
    throw new Error(`${what}: the model has ${featureNames.length} features, got ${columns.length} columns`);
  }
  const rows = columns[0]?.length ?? 0;
  columns.forEach((c, j) => {
    if (!(c instanceof Float64Array || c instanceof Float32Array)) {
      throw new Error(`${what}: column ${featureNames[j]} must be a Float64Array or Float32Array`);
    }
    if (c.length !== rows) throw new Error(`${what}: column ${featureNames[j]} has ${c.length} rows, expected ${rows}`);
  });
  return rows;
}
