/**
 * Explainers: global (model) and local (sample) explanations of a tree model.
 *
 * `SamplesExplainer` explains one batch of rows at a time (one native call, one
 * Arrow record batch per output table, float columns that are views of the native
 * buffer) and accumulates mean |SHAP| on the way: the job streams its input through
 * it. `explainSamples` runs it over whole feature columns in row batches of
 * `batchRows`, so that the native result buffers stay bounded whatever the input size.
 */
import type * as arrow from 'apache-arrow';
import { checkColumns, gpuInfo, native, type DeviceRunOptions, type FeatureColumn, type RunOptions, type ShapResult } from '../native/addon.ts';
import type { KernelExplainOptions, KernelShapResult } from '../native/kernel.ts';
import type { FeatureStats } from '../native/tree_model.ts';
import type { BackgroundOptions, BackgroundTables } from '../background/index.ts';
import { checkBatchRows, DEFAULT_BATCH_ROWS } from './batches.ts';
import { withInputColumns, withInputFields } from './input_columns.ts';
import { withRawColumns, withRawFields, type RawColumnGroup } from './raw_columns.ts';
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
/** Attributions a config may ask for: Shapley values, or Banzhaf values (tree-interventional only). */
export const VALUES = ['shapley', 'banzhaf'] as const;
/**
 * `shapley` (SHAP values: with the base value they add up to the raw prediction) or
 * `banzhaf` (every coalition weighs the same; they do not add up in general).
 */
export type ValuesKind = (typeof VALUES)[number];
/** Devices a config may ask for. */
export const DEVICES = ['auto', 'cpu', 'gpu'] as const;
/**
 * A device name: `cpu`, `gpu` (tree-path-dependent values and interactions on a CUDA GPU;
 * an error when none is usable) or `auto` (the GPU for large batches when one is usable).
 */
export type Device = (typeof DEVICES)[number];
/** Output spaces a config may ask for. */
export const MODEL_OUTPUTS = ['raw', 'probability'] as const;
/**
 * `raw` (the model's margin: log-odds for logistic models; the default) or `probability`
 * (tree-interventional only: shap's `model_output="probability"`, each background row's
 * values rescaled by the link's slope, so that they add up to the predicted probability).
 */
export type ModelOutput = (typeof MODEL_OUTPUTS)[number];

/**
 * What the explainers need of a model: satisfied by the native `TreeModel`
 * (and by test doubles).
 */
export interface ExplainableModel {
  readonly featureNames: string[];
  readonly numFeatures: number;
  readonly numOutputs: number;
  featureStats(): FeatureStats;
  shapPathDependent(columns: FeatureColumn[], opts?: DeviceRunOptions): Promise<ShapResult>;
  shapInteractions(columns: FeatureColumn[], opts?: DeviceRunOptions): Promise<ShapResult>;
  shapInterventional(columns: FeatureColumn[], background: FeatureColumn[], opts?: RunOptions): Promise<ShapResult>;
  shapKernel(columns: FeatureColumn[], background: FeatureColumn[], opts?: KernelExplainOptions): Promise<KernelShapResult>;
  /** Interventional values of the probability output (`model_output: probability`); tree models. */
  shapInterventionalProbability?(columns: FeatureColumn[], background: FeatureColumn[], opts?: RunOptions): Promise<ShapResult>;
  /** Which space `model_output: probability` explains (one line); throws naming the objective when none. */
  probabilitySpace?(): string;
  /** Background tables (tree models): Banzhaf values and interactions against a background need them. */
  backgroundTables?(background: FeatureColumn[], opts?: BackgroundOptions): Promise<BackgroundTables>;
  /** True when path-dependent SHAP needs covers counted first (ONNX models). */
  needsCovers?(): boolean;
  /** A copy with node covers counted over `background` rows. */
  withCoversFrom?(background: FeatureColumn[]): ExplainableModel;
}

/**
 * The model tree-path-dependent SHAP runs on: an ONNX model stores no node covers, so they
 * are counted over the background rows (e.g. the training rows) first; without a background
 * it is refused with what to do.
 */
export function withCovers(model: ExplainableModel, algorithm: string, background?: FeatureColumn[]): ExplainableModel {
  if (algorithm !== 'tree-path-dependent' || !model.needsCovers?.() || !model.withCoversFrom) return model;
  if (!background || (background[0]?.length ?? 0) === 0) {
    throw new Error(
      'the ONNX model stores no node covers, which tree-path-dependent SHAP weighs paths by: give explainer.background ' +
        '(e.g. a sample of the training rows) to count them, or use explainer.algorithm "tree-interventional"',
    );
  }
  return model.withCoversFrom(background);
}

/** Options of {@link explainSamples}. */
export interface ExplainSamplesOptions {
  /** Algorithm (default `auto` = `tree-path-dependent`). */
  algorithm?: Algorithm;
  /** Background feature columns (model order); required by `tree-interventional` and `kernel`. */
  background?: FeatureColumn[];
  /** Coalitions sampled per row by `kernel` (default shap's `2M + 2048`). */
  nsamples?: number;
  /** Add each feature's value beside its SHAP value: `input.<feature>` columns after `base_value`. */
  includeInputs?: boolean;
  /** Append `raw.<column>` roll-up columns (sums of each raw input column's features' SHAP values) after those. */
  rawColumns?: readonly RawColumnGroup[];
  /** Also compute interaction values (tree-path-dependent, or tree-interventional against the background). */
  interactions?: boolean;
  /** `shapley` (default) or `banzhaf` (tree-interventional only). */
  values?: ValuesKind;
  /** `raw` (default) or `probability` (tree-interventional, Shapley values, no interactions). */
  modelOutput?: ModelOutput;
  /** Device (default `auto`; see {@link Device}). */
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

/** What a samples run found, without its tables. */
export interface SamplesSummary {
  /** The algorithm actually used. */
  algorithm: Exclude<Algorithm, 'auto'>;
  /** The device actually used: `gpu` when any batch ran on the GPU. */
  device: Exclude<Device, 'auto'>;
  /** Input rows explained. */
  rows: number;
  /** Model outputs. */
  outputs: number;
  /** Model features. */
  features: number;
  /** Native calls (row batches) made. */
  batches: number;
  /** Mean |SHAP| per feature over rows and outputs (model order). */
  meanAbsShap: Float64Array;
  /** Σ|SHAP| per feature over rows and outputs (what the mean divides; shards add these up). */
  sumAbsShap: Float64Array;
  /** Σ base value per output over rows. */
  sumBaseValue: Float64Array;
  /** Mean base value per output. */
  baseValue: Float64Array;
  /** Warnings of the run (e.g. KernelSHAP over a large background). */
  warnings: string[];
  /** The output space asked for (`explainer.model_output`). */
  modelOutput: ModelOutput;
  /** Which space the values are in, in words (e.g. "raw output (margin)"). */
  outputSpace: string;
}

/** Result of {@link explainSamples}. */
export interface SamplesExplanations extends SamplesSummary {
  /** The samples explanations table. */
  table: arrow.Table;
  /** The interaction values table, when asked. */
  interactions?: arrow.Table;
}

/** Resolves `auto` and checks the algorithm/options combination. */
export function resolveAlgorithm(
  algorithm: Algorithm = 'auto',
  opts: { background?: unknown; interactions?: boolean; values?: ValuesKind; modelOutput?: ModelOutput; model_output?: ModelOutput } = {},
): Exclude<Algorithm, 'auto'> {
  const resolved = algorithm === 'auto' ? 'tree-path-dependent' : algorithm;
  if ((resolved === 'tree-interventional' || resolved === 'kernel') && !opts.background) {
    throw new Error(`explainer.algorithm "${resolved}" needs a background sample (explainer.background)`);
  }
  if (opts.interactions && resolved !== 'tree-path-dependent' && resolved !== 'tree-interventional') {
    throw new Error(`explainer.interactions is only available with tree-path-dependent or tree-interventional, not ${resolved}`);
  }
  if (opts.values === 'banzhaf' && resolved !== 'tree-interventional') {
    throw new Error(`explainer.values "banzhaf" is only available with tree-interventional, not ${resolved}`);
  }
  checkModelOutput(resolved, { ...opts, modelOutput: opts.modelOutput ?? opts.model_output });
  return resolved;
}

/**
 * Checks `explainer.model_output` against the rest of the explainer: `probability` needs
 * tree-interventional (shap's per-reference rescaling is defined against a background),
 * Shapley values (Banzhaf values do not add up, so there is nothing to rescale) and no
 * interactions. Throws naming the key.
 */
export function checkModelOutput(
  algorithm: Exclude<Algorithm, 'auto'>,
  opts: { interactions?: boolean; values?: ValuesKind; modelOutput?: ModelOutput },
): void {
  if (opts.modelOutput === undefined || opts.modelOutput === 'raw') return;
  if (algorithm !== 'tree-interventional') {
    throw new Error(`explainer.model_output "probability" is only available with explainer.algorithm tree-interventional, not ${algorithm}`);
  }
  if (opts.values === 'banzhaf') {
    throw new Error('explainer.model_output "probability" needs Shapley values (explainer.values shapley), not banzhaf');
  }
  if (opts.interactions) {
    throw new Error('explainer.model_output "probability" is not available with explainer.interactions (interaction values are in raw output)');
  }
}

/**
 * The device a run will use for `algorithm`: `cpu`, or `gpu` when asked for or (`auto`) when
 * a GPU is usable for tree-path-dependent values; under `auto`, batches too small for the
 * GPU still run on the CPU. Throws, naming the setting, when `gpu` is asked for and no GPU is
 * usable (with the reason), or for an algorithm the GPU does not run.
 */
export function resolveDevice(device: Device = 'auto', algorithm: Exclude<Algorithm, 'auto'> = 'tree-path-dependent'): Exclude<Device, 'auto'> {
  if (device === 'cpu') return 'cpu';
  const onGpu = algorithm === 'tree-path-dependent';
  if (device === 'gpu') {
    if (!onGpu) {
      throw new Error(`explainer.device "gpu": the GPU runs tree-path-dependent values and interactions, not ${algorithm}: use device auto or cpu`);
    }
    const info = gpuInfo();
    if (!info.available) throw new Error(`explainer.device "gpu" requested but no GPU is usable: ${info.reason}`);
    return 'gpu';
  }
  return onGpu && gpuInfo().available ? 'gpu' : 'cpu';
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

/** Options of {@link SamplesExplainer}: those of {@link explainSamples} that hold for every batch. */
export type SamplesExplainerOptions = Omit<ExplainSamplesOptions, 'batchRows' | 'ids' | 'onProgress'> & {
  /**
   * Work done / total work, where work is rows × passes (2 with interactions).
   * `total` is {@link SamplesExplainer.expectedRows} × passes when set, else grows
   * with the batches.
   */
  onProgress?: (done: number, total: number) => void;
  /**
   * Position in the whole input of the first row explained (default 0): a
   * shard's `row` column, and KernelSHAP's per-row sampling, start there, so a
   * sharded run gives the rows of a single run.
   */
  firstRow?: number;
};

/** Options of {@link SamplesExplainer.explainBatch}. */
export interface ExplainBatchOptions {
  /** The batch's id column (carried instead of `row`), its first value being the batch's first row. */
  ids?: IdColumn;
}

/** What a {@link SamplesExplainer} has accumulated after some batches ({@link SamplesExplainer.state}). */
export interface ExplainerState {
  /** Rows explained (the next batch's row offset). */
  rows: number;
  /** Batches explained. */
  batches: number;
  /** Σ|SHAP| per feature so far. */
  sumAbs: Float64Array;
  /** Σ base value per output so far. */
  sumBase: Float64Array;
  /** Warnings so far. */
  warnings: string[];
  /** Whether any batch ran on the GPU. */
  usedGpu: boolean;
}

/** One batch's output record batches. */
export interface ExplainedBatch {
  /** Rows of the batch. */
  rows: number;
  /** Position of the batch's first row in the whole input. */
  rowOffset: number;
  /** The samples explanations record batch. */
  samples: arrow.RecordBatch;
  /** The interaction values record batch, when asked. */
  interactions?: arrow.RecordBatch;
}

/**
 * Explains samples batch after batch (streaming): each {@link explainBatch} call
 * explains one batch of feature columns (one native call per pass) and returns the
 * output record batches; rows are numbered across batches, and mean |SHAP| and the
 * mean base value accumulate for {@link summary}.
 *
 * ```ts
 * const explainer = new SamplesExplainer(model, { threads: 2 });
 * for await (const batch of reader.batches({ batchRows: 65536 })) {
 *   const { samples } = await explainer.explainBatch(featureColumns(batch, model.featureNames));
 *   await output.write(samples);
 * }
 * const { meanAbsShap } = explainer.summary();
 * ```
 */
export class SamplesExplainer {
  readonly algorithm: Exclude<Algorithm, 'auto'>;
  readonly device: Exclude<Device, 'auto'>;
  /** Rows explained so far (the next batch's row offset). */
  rows = 0;
  /** Batches explained so far. */
  batches = 0;
  /** Total input rows, when known in advance (for progress). */
  expectedRows?: number;
  private sumAbs: Float64Array;
  private sumBase: Float64Array;
  private readonly warnings: string[] = [];
  private readonly passes: number;
  /** What the native calls are asked for: `auto` when a GPU serves only the large batches. */
  private readonly nativeDevice: Device;
  private usedGpu = false;
  /** The background tables (tree-interventional), prepared on the first batch. */
  private tables?: Promise<BackgroundTables>;
  /** Which space the values are in, in words. */
  readonly outputSpace: string;
  private readonly probability: boolean;

  /** The model explained (for an ONNX model under tree-path-dependent: with covers counted over the background). */
  readonly model: ExplainableModel;

  constructor(
    model: ExplainableModel,
    readonly options: SamplesExplainerOptions = {},
  ) {
    this.algorithm = resolveAlgorithm(options.algorithm, options);
    if (options.background) checkColumns(model.featureNames, options.background, 'explainSamples background');
    this.model = model = withCovers(model, this.algorithm, options.background);
    this.device = resolveDevice(options.device, this.algorithm);
    this.nativeDevice = this.device === 'gpu' && options.device !== 'gpu' ? 'auto' : this.device;
    if (this.algorithm !== 'tree-path-dependent' && (options.background?.[0]?.length ?? 0) === 0) {
      throw new Error(`explainer.background is empty: ${this.algorithm} needs at least one background row`);
    }
    this.sumAbs = new Float64Array(model.numFeatures);
    this.sumBase = new Float64Array(model.numOutputs);
    this.passes = options.interactions ? 2 : 1;
    this.probability = options.modelOutput === 'probability';
    if (this.probability) {
      if (!model.shapInterventionalProbability || !model.probabilitySpace) {
        throw new Error('explainer.model_output "probability" needs a tree model');
      }
      this.outputSpace = model.probabilitySpace(); // throws naming the objective (softmax, log links)
    } else {
      this.outputSpace = 'raw output (the model margin; log-odds for logistic models)';
    }
  }

  /** Schema of the samples table (`ids`: the id column carried, if any). */
  samplesSchema(ids?: IdColumn): arrow.Schema {
    let schema = samplesSchema(this.model.featureNames, this.model.numOutputs, ids);
    if (this.options.includeInputs) schema = withInputFields(schema, this.model.featureNames);
    return this.options.rawColumns ? withRawFields(schema, this.options.rawColumns) : schema;
  }

  /** Schema of the interactions table. */
  interactionsSchema(ids?: IdColumn): arrow.Schema {
    return interactionsSchema(this.model.featureNames, this.model.numOutputs, ids);
  }

  /**
   * Explains one batch: `columns` are the batch's feature columns in model order.
   * The output batches number its rows from {@link rows} on.
   */
  async explainBatch(columns: FeatureColumn[], opts: ExplainBatchOptions = {}): Promise<ExplainedBatch> {
    const { model, options } = this;
    const rows = checkColumns(model.featureNames, columns, 'explainSamples');
    const rowOffset = this.rows;
    const firstRow = (options.firstRow ?? 0) + rowOffset; // in the whole input (a shard starts past 0)
    const names = model.featureNames;
    const tableOpts = { rowOffset: firstRow, ids: opts.ids, idOffset: 0 };
    const workBefore = rowOffset * this.passes;
    const progress = (offset: number): RunOptions['onProgress'] => {
      const onProgress = options.onProgress;
      if (!onProgress) return undefined;
      const total = Math.max(this.expectedRows ?? 0, rowOffset + rows) * this.passes;
      return (d) => onProgress(workBefore + offset + d, total);
    };
    const runOpts = (offset: number): DeviceRunOptions => ({
      device: this.nativeDevice,
      threads: options.threads,
      signal: options.signal,
      progressIntervalMs: options.progressIntervalMs,
      onProgress: progress(offset),
    });
    let result: ShapResult;
    if (this.algorithm === 'kernel') {
      const kernel = await model.shapKernel(columns, options.background!, {
        ...runOpts(0),
        nsamples: options.nsamples,
        rowOffset: firstRow,
      });
      for (const w of kernel.warnings) if (!this.warnings.includes(w)) this.warnings.push(w);
      result = kernel;
    } else if (this.probability) {
      result = await model.shapInterventionalProbability!(columns, options.background!, runOpts(0));
    } else if (this.algorithm === 'tree-interventional') {
      const tables = await this.backgroundTables();
      result = tables ? await tables.explain(columns, runOpts(0)) : await model.shapInterventional(columns, options.background!, runOpts(0));
    } else {
      result = await model.shapPathDependent(columns, runOpts(0));
      if (result.device === 'gpu') this.usedGpu = true;
    }
    // Σ|φ| and Σbase continue natively, in (row, output) order: the same bits however batched.
    const sums = native().addShapSums(result.values, result.rows, result.outputs, this.sumAbs, this.sumBase);
    this.sumAbs = sums.sumAbs;
    this.sumBase = sums.sumBase;
    let samples = samplesBatch(result, names, tableOpts);
    if (options.includeInputs) samples = withInputColumns(samples, names, columns, model.numOutputs);
    if (options.rawColumns) samples = withRawColumns(samples, result.values, options.rawColumns);
    let interactions: arrow.RecordBatch | undefined;
    if (options.interactions) {
      const tables = this.algorithm === 'tree-interventional' ? await this.backgroundTables() : undefined;
      const inter = tables ? await tables.interactions(columns, runOpts(rows)) : await model.shapInteractions(columns, runOpts(rows));
      if (inter.device === 'gpu') this.usedGpu = true;
      interactions = interactionsBatch(inter, names, tableOpts);
    }
    this.rows += rows;
    this.batches++;
    return { rows, rowOffset: firstRow, samples, interactions };
  }

  /**
   * The background prepared once for every batch (tree models); `undefined` for a model
   * without background tables, which then gets `shapInterventional` per batch.
   */
  private backgroundTables(): Promise<BackgroundTables | undefined> {
    const { model, options } = this;
    if (!model.backgroundTables) {
      if (options.values === 'banzhaf' || options.interactions) {
        return Promise.reject(new Error('Banzhaf values and interactions against a background need a tree model'));
      }
      return Promise.resolve(undefined);
    }
    this.tables ??= model.backgroundTables(options.background!, {
      values: options.values,
      interactions: options.interactions,
      threads: options.threads,
      signal: options.signal,
    });
    return this.tables;
  }

  /**
   * What the batches so far have accumulated (rows, batches, running sums,
   * warnings, whether a GPU ran): a checkpoint keeps it so that a resumed run
   * continues where this one stopped ({@link restore}).
   */
  state(): ExplainerState {
    return {
      rows: this.rows,
      batches: this.batches,
      sumAbs: this.sumAbs.slice(),
      sumBase: this.sumBase.slice(),
      warnings: [...this.warnings],
      usedGpu: this.usedGpu,
    };
  }

  /**
   * Continues from a {@link state} taken after some batches (by an earlier run of
   * the same config, model and input): the next batch is numbered from
   * `state.rows` and the sums go on from `state`'s. Only before the first batch.
   * @throws when batches were explained already or the sums do not fit the model.
   */
  restore(state: ExplainerState): void {
    if (this.batches > 0) throw new Error('SamplesExplainer.restore: batches were explained already');
    if (state.sumAbs.length !== this.model.numFeatures || state.sumBase.length !== this.model.numOutputs) {
      throw new Error(
        `SamplesExplainer.restore: the state has ${state.sumAbs.length} features and ${state.sumBase.length} outputs, the model ${this.model.numFeatures} and ${this.model.numOutputs}`,
      );
    }
    this.rows = state.rows;
    this.batches = state.batches;
    this.sumAbs = state.sumAbs.slice();
    this.sumBase = state.sumBase.slice();
    this.warnings.splice(0, this.warnings.length, ...state.warnings);
    this.usedGpu = state.usedGpu;
  }

  /** What the batches so far add up to. */
  summary(): SamplesSummary {
    const rows = this.rows;
    const n = rows * this.model.numOutputs;
    return {
      algorithm: this.algorithm,
      device: this.usedGpu ? 'gpu' : 'cpu',
      rows,
      outputs: this.model.numOutputs,
      features: this.model.numFeatures,
      batches: this.batches,
      meanAbsShap: this.sumAbs.map((s) => (n > 0 ? s / n : 0)),
      sumAbsShap: this.sumAbs.slice(),
      sumBaseValue: this.sumBase.slice(),
      baseValue: this.sumBase.map((s) => (rows > 0 ? s / rows : 0)),
      warnings: [...this.warnings],
      modelOutput: this.probability ? 'probability' : 'raw',
      outputSpace: this.outputSpace,
    };
  }
}

/**
 * Explains every sample: SHAP values of each input row (one typed array per
 * feature, in model order), in the model's raw output space (or probability space with
 * `modelOutput: 'probability'`).
 *
 * Rows are processed in batches of `batchRows`; each batch is one record batch
 * of the result tables. Mean |SHAP| per feature is accumulated on the way.
 */
export async function explainSamples(
  model: ExplainableModel,
  columns: FeatureColumn[],
  opts: ExplainSamplesOptions = {},
): Promise<SamplesExplanations> {
  const rows = checkColumns(model.featureNames, columns, 'explainSamples');
  const batchRows = checkBatchRows(opts.batchRows ?? DEFAULT_BATCH_ROWS);
  const { batchRows: _b, ids, ...rest } = opts;
  const explainer = new SamplesExplainer(model, rest);
  explainer.expectedRows = rows;
  const batches: arrow.RecordBatch[] = [];
  const interactionBatches: arrow.RecordBatch[] = [];
  for (let start = 0; start < rows; start += batchRows) {
    const end = Math.min(rows, start + batchRows);
    const view = columns.map((c) => c.subarray(start, end));
    const batchIds = ids ? { name: ids.name, vector: ids.vector.slice(start, end) } : undefined;
    const out = await explainer.explainBatch(view, { ids: batchIds });
    batches.push(out.samples);
    if (out.interactions) interactionBatches.push(out.interactions);
  }
  return {
    ...explainer.summary(),
    table: tableOf(explainer.samplesSchema(ids), batches),
    interactions: opts.interactions ? tableOf(explainer.interactionsSchema(ids), interactionBatches) : undefined,
  };
}
