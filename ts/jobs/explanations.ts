/**
 * The explanations job, as the seed's seven stories — each a step method,
 * numbered the same in the README, the log lines (`[i/7]`) and here:
 *
 * 1. {@link ExplanationsJob.configure}: settle the explainer (algorithm, device), build the readers and the loader;
 * 2. {@link ExplanationsJob.readInputs}: open the input stream (first batch), read the background;
 * 3. {@link ExplanationsJob.loadModel}: resolve and load the model, check the inputs' feature columns against it
 *    (a LightGBM model's stored names matched to the user's columns, see `core/lightgbm_names.ts`);
 * 4. {@link ExplanationsJob.explainModel}: global importances (the model table);
 * 5. {@link ExplanationsJob.explainSamples}: SHAP values of every sample, batch by batch, streamed to the outputs (and checkpointed);
 * 6. {@link ExplanationsJob.write}: the model table, then every output committed together;
 * 7. {@link ExplanationsJob.notify}: the alert, with key figures.
 *
 * `run()` calls them in order and returns the intermediate values (the seed's
 * `return locals()`):
 * ```ts
 * const job = new ExplanationsJob((await loadConfig('explanations.yaml')).job);
 * const { samplesExplanations, modelsExplanations, rows, timings } = await job.execute();
 * ```
 *
 * The inputs are **streamed**: read in batches of `explainer.batch_rows` rows,
 * each batch checked, explained in the native core and appended to the outputs
 * before the next is read, so memory stays flat whatever the input size. The
 * whole tables (`inputs`, `featureColumns`, `samplesExplanations`,
 * `interactions`) are returned only for a small run — at most
 * {@link DEFAULT_KEEP_ROWS} input rows by default, see
 * {@link ExplanationsJobOptions.keepTables}; `tablesKept` tells which.
 *
 * Outputs are committed together (see `outputs.ts`): a failure or an abort
 * (Ctrl-C) before step 6 ends leaves no output file, never a partial one. The
 * alert is sent after the outputs are in place; an alert that cannot be
 * delivered is logged as a warning and the run succeeds.
 *
 * Each batch done is also recorded in a checkpoint beside the samples output
 * (`checkpoint.ts`): a run killed at any moment and run again with the same
 * config, model and input replays the recorded batches through the writers and
 * explains from the next one on, publishing the bytes an uninterrupted run
 * would (option `restart` / `--restart` starts over). The checkpoint is removed
 * once the outputs are published.
 */
import { resolve } from 'node:path';
import * as arrow from 'apache-arrow';
import winston from 'winston';
import type { ExplanationsJobConfig, ExplanationsJobConfigInput } from '../config/job.ts';
import { parseJobConfig } from '../config/load.ts';
import { abortError } from '../core/abort.ts';
import { explainModel, resolveAlgorithm, resolveDevice, SamplesExplainer, type Algorithm, type Device, type SamplesSummary } from '../core/explainers.ts';
import { modelSchema, tableOf, withMeanAbsShap, type IdColumn } from '../core/schemas.ts';
import { describeMapping, modelForColumns } from '../core/lightgbm_names.ts';
import { modelColumns, rawColumnsOf } from '../core/pipeline/columns.ts';
import { idColumn } from '../io/datasets/features.ts';
import { readerOf, type Reader } from '../io/datasets/reader.ts';
import { FileRegistry } from '../io/registries/file_registry.ts';
import { loaderOf, type Loader } from '../io/registries/loaders.ts';
import { registryOf, type ModelVersion, type Registry } from '../io/registries/registry.ts';
import { alertsOf, type Alerts } from '../io/services/alerts.ts';
import { loggerOf } from '../io/services/logger.ts';
import type { FeatureColumn } from '../native/addon.ts';
import type { TreeModel } from '../native/tree_model.ts';
import { ALERT_TITLE, alertFields, alertMessage } from './alert_text.ts';
import { Job, type Service } from './base.ts';
import {
  DEFAULT_KEEP_ROWS,
  type ExplanationsJobOptions,
  type ExplanationsJobOutput,
  type ExplanationsRows,
  type ExplanationsTimings,
} from './explanations_types.ts';
import { checkDistinctPaths } from './distinct_paths.ts';
import { JobOutputs, type OutputSpec } from './outputs.ts';
import { Checkpoint, checkpointDir } from './checkpoint.ts';
import { checkpointKey } from './checkpoint_key.ts';
import { ReportCollector } from '../report/collector.ts';
import { configureObjectStorage } from '../io/storage/s3.ts';
import { storageOptions } from '../io/storage/config.ts';
import { buildReport, writeReport } from '../report/report.ts';

export { ALERT_TITLE, DEFAULT_KEEP_ROWS };
export type { ExplanationsJobOptions, ExplanationsJobOutput, ExplanationsRows, ExplanationsTimings };

/** Step 1's result: the settled explainer and the objects the run is built from. */
export interface Plan {
  algorithm: Exclude<Algorithm, 'auto'>;
  device: Exclude<Device, 'auto'>;
  batchRows: number;
  /** Input rows up to which the whole tables are kept. */
  keepRows: number;
  /** Passes over the rows (2 with interactions), for progress. */
  passes: number;
  inputs: Reader;
  background?: Reader;
  loader: Loader;
  /** Position of the inputs' first row in the whole input (a shard's; default 0). */
  firstRow?: number;
}

/** Step 2's result: the input stream, its first batch, the background. */
export interface Inputs {
  batches: AsyncGenerator<arrow.Table, void, undefined>;
  first: arrow.Table;
  firstIds?: IdColumn;
  background?: arrow.Table;
  /** Input rows, when the format tells them up front (Parquet). */
  expectedRows?: number;
}

/** Step 3's result: the model and the first batch's (and the background's) feature columns. */
export interface Loaded {
  modelVersion: ModelVersion;
  modelUri: string;
  model: TreeModel;
  firstColumns: FeatureColumn[];
  backgroundColumns?: FeatureColumn[];
}

/** Step 5's result: what the explainer found, the rows, and the whole tables of a small run. */
export interface Explained {
  samples: SamplesSummary;
  rows: ExplanationsRows;
  /** What the report is built from (with `report`). */
  report?: ReportCollector;
  kept?: Pick<ExplanationsJobOutput, 'inputs' | 'featureColumns' | 'ids' | 'samplesExplanations' | 'interactions'>;
}

/** The explanations job (see the module doc). */
export class ExplanationsJob extends Job<ExplanationsJobOutput> {
  /** The validated config (typed, paths absolute). */
  readonly config: ExplanationsJobConfig;
  /** Run options. */
  readonly options: ExplanationsJobOptions;
  /** The registry (built at start). */
  registry?: Registry;
  /** The alerts (built at start). */
  alerts?: Alerts;
  private timings = emptyTimings();
  private outputs = new JobOutputs([]);
  /** The run's checkpoint (step 5 on; see `checkpoint.ts`). */
  private checkpoint?: Checkpoint;
  /** The checkpoint save in flight (the last batch's). */
  private saving?: Promise<void>;

  constructor(config: ExplanationsJobConfigInput | ExplanationsJobConfig, options: ExplanationsJobOptions = {}) {
    super();
    this.config = parseJobConfig(config);
    this.options = options;
    if (this.config.explainer.shard !== undefined && new.target === ExplanationsJob) {
      throw new Error('explainer.shard: a sharded run is a ShardedExplanationsJob (`arrowshap run` picks it; see ts/shard/job.ts)');
    }
  }

  /** The logger (flushed and closed at stop when the job built it), the registry, the alerts. */
  protected createServices(): Service[] {
    const { config, options } = this;
    const logger = options.logger ?? loggerOf(config.logger, options.loggerOptions);
    this.logger = logger;
    configureObjectStorage(storageOptions(config.storage));
    this.registry = registryOf(config.registry);
    this.alerts = options.alerts ?? alertsOf(config.alerts);
    const registry = this.registry;
    return [
      {
        start: () => logger.debug('services started', { registry: registry.describe(), alerts: this.alerts!.describe() }),
        stop: () => (options.logger ? undefined : this.closeLogger(logger)),
      },
    ];
  }

  /** The seven steps, in order (see the module doc). */
  async run(): Promise<ExplanationsJobOutput> {
    const started = performance.now();
    this.timings = emptyTimings();
    const plan = this.configure();
    const inputs = await this.readInputs(plan);
    try {
      const loaded = await this.loadModel(plan, inputs);
      const modelTable = await this.explainModel(loaded);
      const explained = await this.explainSamples(plan, inputs, loaded);
      const { modelsExplanations, written } = await this.write(modelTable, explained, loaded);
      const seconds = (performance.now() - started) / 1000;
      const { fields, sent } = await this.notify(loaded.modelUri, explained.samples, modelsExplanations, seconds, written.report);
      this.timings.total = performance.now() - started;
      this.logDone(explained.rows);
      return {
        config: this.config,
        tablesKept: explained.kept !== undefined,
        ...explained.kept,
        background: inputs.background,
        modelVersion: loaded.modelVersion,
        modelUri: loaded.modelUri,
        model: loaded.model,
        samples: explained.samples,
        modelsExplanations,
        rows: explained.rows,
        outputs: written,
        alertFields: fields,
        alertSent: sent,
        timings: this.timings,
      };
    } catch (err) {
      await this.outputs.abort();
      await this.releaseCheckpoint();
      // An abort seen by a reader (the signal's DOMException) reads like the native one.
      const signal = this.options.signal;
      throw signal?.aborted && !(err instanceof Error && err.name === 'AbortError') ? abortError(signal) : err;
    } finally {
      await inputs.batches.return(undefined).catch(() => undefined);
    }
  }

  /** 1. Settles the explainer (failing fast on settings that cannot work: gpu, a background missing) and builds the readers and the loader. */
  protected configure(): Plan {
    const { config, options } = this;
    const { explainer } = config;
    const algorithm = resolveAlgorithm(explainer.algorithm, explainer);
    const device = resolveDevice(explainer.device, algorithm);
    checkDistinctPaths(
      [
        { key: 'job.inputs_samples.path', path: config.inputs_samples.path },
        ...(explainer.background ? [{ key: 'job.explainer.background.path', path: explainer.background.path }] : []),
      ],
      (['models_explanations', 'samples_explanations', 'interactions_explanations'] as const).flatMap((key) => {
        const out = config[key];
        return out ? [{ key: `job.${key}.path`, path: out.path }] : [];
      }),
    );
    const plan: Plan = {
      algorithm,
      device,
      batchRows: explainer.batch_rows,
      keepRows: keepLimit(options.keepTables),
      passes: explainer.interactions ? 2 : 1,
      inputs: readerOf(config.inputs_samples),
      background: explainer.background ? readerOf(explainer.background) : undefined,
      loader: loaderOf(config.loader),
    };
    this.logger.info(`[1/7] configuring: ${algorithm} on ${device}, batches of ${plan.batchRows} rows`);
    return plan;
  }

  /** 2. Opens the input stream (its first batch), reads the background, and checks the inputs have columns and the id column. */
  protected async readInputs(plan: Plan): Promise<Inputs> {
    const { logger } = this;
    logger.info(`[2/7] reading inputs: ${plan.inputs.describe()}, in batches of ${plan.batchRows} rows`);
    const batches = plan.inputs.batches({ batchRows: plan.batchRows, signal: this.options.signal });
    try {
      const [firstRead, background, expectedRows] = await this.step('read', () =>
        Promise.all([batches.next(), plan.background?.read(), plan.inputs.countRows()] as const),
      );
      if (firstRead.done) throw new Error(`${plan.inputs.describe()} gave no batch`); // readers give at least one
      const first = firstRead.value;
      logger.debug(`input columns: ${first.numCols}${expectedRows === undefined ? '' : `, ${expectedRows} rows`}`, {
        columns: first.schema.fields.map((f) => f.name),
      });
      if (background) logger.debug(`background: ${background.numRows} rows × ${background.numCols} columns`);
      const firstIds = await this.step('validate', () => {
        if (first.numCols === 0) throw new Error(`${plan.inputs.describe()} has no columns`);
        if (first.numRows === 0) logger.warn(`${plan.inputs.describe()} has no rows: the explanation tables will be empty`);
        return this.idsOf(first);
      });
      return { batches, first, firstIds, background, expectedRows };
    } catch (err) {
      await batches.return(undefined).catch(() => undefined);
      throw err;
    }
  }

  /** 3. Resolves and loads the model; checks the first batch's and the background's feature columns against it. */
  protected async loadModel(plan: Plan, inputs: Inputs): Promise<Loaded> {
    const { config, logger } = this;
    const registry = this.registry!;
    logger.info(`[3/7] loading model ${config.alias_or_version} from ${registry.describe()}`);
    const { modelVersion, model } = await this.step('load', async () => {
      const modelVersion = await registry.resolve(config.alias_or_version);
      try {
        return { modelVersion, model: await plan.loader.load(modelVersion) };
      } catch (err) {
        // A model file given directly: the native error already names the file.
        const cause = (err as { cause?: unknown }).cause;
        throw registry instanceof FileRegistry && cause instanceof Error ? cause : err;
      }
    });
    logger.debug(`model ${modelVersion.uri}: ${model.source}, ${model.numTrees} trees, ${model.numFeatures} features, ${model.numOutputs} outputs`, {
      objective: model.objective,
      dir: modelVersion.dir,
    });
    if (model.sklearn) {
      const sk = model.sklearn;
      logger.info(
        `model ${modelVersion.uri}: scikit-learn ${sk.steps.length ? `pipeline (${sk.steps.join(' → ')}) → ` : ''}${sk.estimator}; ` +
          `SHAP values in ${sk.output_space}`,
      );
    }
    const background = config.explainer.background;
    const [named, firstColumns, backgroundColumns] = await this.step('validate', () => {
      // LightGBM stores `Marital Status` as `Marital_Status`: the model takes the user's names
      const { model: named, mapping } = modelForColumns(model, inputs.first.schema.fields.map((f) => f.name), config.inputs_samples.path);
      if (mapping.length > 0) logger.info(describeMapping(mapping));
      return [
        named,
        modelColumns(named, inputs.first, { source: config.inputs_samples.path }),
        inputs.background && background ? modelColumns(named, inputs.background, { source: background.path }) : undefined,
      ] as const;
    });
    return { modelVersion, modelUri: modelVersion.aliasUri ?? modelVersion.uri, model: named, firstColumns, backgroundColumns };
  }

  /** 4. Explains the model: per-feature importance, gain, cover and split counts (`mean_abs_shap` is added at step 6). */
  protected async explainModel(loaded: Loaded): Promise<arrow.Table> {
    this.logger.info(`[4/7] explaining model ${loaded.modelUri}`);
    const table = await this.step('explainModel', () => explainModel(loaded.model));
    this.logger.debug(`models explanations: ${table.numRows} rows × ${table.numCols} columns`);
    return table;
  }

  /** 5. Explains every sample, batch by batch, appending each batch's rows to the (temporary) outputs as it goes. */
  protected async explainSamples(plan: Plan, inputs: Inputs, loaded: Loaded): Promise<Explained> {
    const { config, options, logger } = this;
    const { model } = loaded;
    const { explainer } = config;
    const explaining = new SamplesExplainer(model, {
      algorithm: plan.algorithm,
      background: loaded.backgroundColumns,
      nsamples: explainer.nsamples,
      interactions: explainer.interactions,
      includeInputs: explainer.include_inputs,
      values: explainer.values,
      modelOutput: explainer.model_output,
      rawColumns: explainer.raw_columns ? rawColumnsOf(model) : undefined,
      device: explainer.device,
      threads: explainer.threads,
      signal: options.signal,
      firstRow: plan.firstRow,
      onProgress: options.onProgress
        ? (done, total) => options.onProgress!(done, inputs.expectedRows === undefined ? total + plan.batchRows * plan.passes : total)
        : undefined,
    });
    explaining.expectedRows = inputs.expectedRows;
    logger.info(`SHAP values in ${explaining.outputSpace} (explainer.model_output ${explainer.model_output})`);
    this.outputs = new JobOutputs(this.outputSpecs(plan, model, explaining, inputs.firstIds));
    const streamed = ['samples_explanations', 'interactions_explanations'];
    logger.info(
      `[5/7] explaining samples (${plan.algorithm} on ${plan.device}) in batches of ${plan.batchRows} rows, streaming to ${this.outputs.paths(streamed)}`,
    );
    const checkpoint = await this.step('write', () => this.openCheckpoint(loaded, inputs));
    const resumable = checkpoint?.resumable;
    if (resumable) explaining.restore(resumable.state);
    const inputRowsDone: number[] = [];
    let checkpointFailed = false;
    await this.step('write', () => this.outputs.open());
    const samplesOut = this.outputs.get('samples_explanations')!;
    const interactionsOut = this.outputs.get('interactions_explanations');
    const keeping = plan.keepRows > 0 ? new KeptTables() : undefined;
    const report = config.report
      ? new ReportCollector(model.featureNames, model.numOutputs, {
          sampleRows: config.report.sample_rows,
          rows: config.report.rows,
          waterfalls: config.report.waterfalls,
          seed: config.report.seed,
        })
      : undefined;
    let kept = keeping !== undefined;
    let inputRows = 0;
    let batchCount = 0;
    for (let batch: arrow.Table | undefined = inputs.first; batch; batchCount++) {
      const current: arrow.Table = batch;
      const [columns, ids] =
        current === inputs.first
          ? [loaded.firstColumns, inputs.firstIds]
          : await this.step('validate', () => [modelColumns(model, current, { source: config.inputs_samples.path }), this.idsOf(current)] as const);
      const replay = resumable !== undefined && batchCount < resumable.inputRows.length;
      if (replay && current.numRows !== resumable.inputRows[batchCount]) {
        throw new Error(
          `${plan.inputs.describe()}: batch ${batchCount + 1} has ${current.numRows} rows, the checkpoint ${checkpoint!.dir} recorded ` +
            `${resumable.inputRows[batchCount]}: the input changed since; run again with --restart`,
        );
      }
      const out =
        current.numRows === 0
          ? undefined
          : replay
            ? await this.step('read', () => checkpoint!.load(batchCount, interactionsOut !== undefined))
            : await this.step('explainSamples', () => explaining.explainBatch(columns, { ids }));
      if (out) {
        await this.step('write', async () => {
          await samplesOut.write(out.samples);
          if (interactionsOut && out.interactions) await interactionsOut.write(out.interactions);
        });
        report?.add(out.samples, columns, out.interactions);
      }
      inputRowsDone.push(current.numRows);
      if (checkpoint && !replay && !checkpointFailed) {
        // one save in flight: the previous batch's went on while this batch was explained
        await this.step('write', () => this.saving);
        // a checkpoint that cannot be written costs the resume, not the run
        this.saving = checkpoint.save(batchCount, [...inputRowsDone], out, explaining.state()).catch((err: unknown) => {
          checkpointFailed = true;
          logger.warn(`${err instanceof Error ? err.message : String(err)}; the run goes on without checkpoints`);
        });
      }
      kept &&= inputRows + current.numRows <= plan.keepRows;
      if (kept) keeping!.add(current, out);
      inputRows += current.numRows;
      const next = await this.step('read', () => inputs.batches.next());
      batch = next.done ? undefined : next.value;
    }
    if (resumable && batchCount < resumable.inputRows.length) {
      throw new Error(
        `${plan.inputs.describe()} gave ${batchCount} batches, the checkpoint ${checkpoint!.dir} recorded ${resumable.inputRows.length} done: ` +
          'the input changed since; run again with --restart',
      );
    }
    await this.step('write', () => this.saving);
    options.onProgress?.(inputRows * plan.passes, inputRows * plan.passes);
    const samples = explaining.summary();
    for (const warning of samples.warnings) logger.warn(warning);
    const rows: ExplanationsRows = { inputs: inputRows, samples: samplesOut.rows, batches: batchCount };
    if (interactionsOut) rows.interactions = interactionsOut.rows;
    logger.debug(`inputs: ${inputRows} rows × ${inputs.first.numCols} columns in ${batchCount} batch${batchCount === 1 ? '' : 'es'}`);
    logger.debug(`samples explanations: ${rows.samples} rows × ${samplesOut.schema.fields.length} columns`, {
      algorithm: samples.algorithm,
      batches: samples.batches,
    });
    if (interactionsOut) logger.debug(`interactions: ${rows.interactions} rows × ${interactionsOut.schema.fields.length} columns`);
    return { samples, rows, report, kept: kept ? keeping!.tables(this, model, samplesOut.schema, interactionsOut?.schema) : undefined };
  }

  /**
   * 6. Completes the model table with mean |SHAP|, writes it, renders the report
   * (with `report`), commits every table together, then writes the report file
   * (atomically, under `written.report`).
   */
  protected async write(
    modelTable: arrow.Table,
    explained: Explained,
    loaded: Loaded,
  ): Promise<{ modelsExplanations: arrow.Table; written: Record<string, string> }> {
    const reportConfig = this.config.report;
    this.logger.info(`[6/7] writing ${this.outputs.paths()}${reportConfig ? `, ${reportConfig.path}` : ''}`);
    const modelsExplanations = withMeanAbsShap(modelTable, explained.samples.meanAbsShap);
    const html =
      reportConfig && explained.report
        ? await this.step('write', () =>
            buildReport({
              card: {
                modelUri: loaded.modelUri,
                version: loaded.modelVersion.version,
                algorithm:
                  explained.samples.modelOutput === 'probability' ? `${explained.samples.algorithm}, model_output probability` : explained.samples.algorithm,
                objective: loaded.model.objective,
                source: loaded.model.source,
                trees: loaded.model.numTrees,
                inputs: this.config.inputs_samples.path,
                timings: { read: this.timings.read, load: this.timings.load, explainSamples: this.timings.explainSamples },
              },
              sample: explained.report!.result(),
              importances: modelsExplanations,
              title: reportConfig.title,
              maxDisplay: reportConfig.max_display,
              dependencePlots: reportConfig.dependence_plots,
            }),
          )
        : undefined;
    const written = await this.step('write', async () => {
      await this.outputs.get('models_explanations')?.write(modelsExplanations);
      const paths = await this.outputs.commit(this.options.signal);
      if (reportConfig && html !== undefined) {
        await writeReport(resolve(reportConfig.path), html);
        paths.report = resolve(reportConfig.path);
      }
      // published: nothing left to resume (a checkpoint that cannot be removed is a warning, the outputs are in place)
      await this.checkpoint?.remove().catch((err: unknown) => this.logger.warn(`checkpoint ${this.checkpoint!.dir} not removed: ${err instanceof Error ? err.message : String(err)}`));
      this.checkpoint = undefined;
      return paths;
    });
    return { modelsExplanations, written };
  }

  /** 7. Sends the alert (after the outputs are in place: a failed alert loses nothing, it is logged). */
  protected async notify(modelUri: string, samples: SamplesSummary, modelsExplanations: arrow.Table, seconds: number, reportPath?: string) {
    const alerts = this.alerts!;
    const fields = alertFields(modelUri, samples, modelsExplanations, seconds, reportPath);
    this.logger.info(`[7/7] notifying: ${alerts.describe()}`);
    const sent = await this.step('notify', async () => {
      try {
        await alerts.notify(ALERT_TITLE, alertMessage(modelUri, samples, seconds), fields);
        return true;
      } catch (err) {
        this.logger.warn(`alert not sent (outputs are written): ${err instanceof Error ? err.message : String(err)}`);
        return false;
      }
    });
    return { fields, sent };
  }

  /** After a failure: lets the save in flight end, then keeps the checkpoint for the next run (or removes an empty one). */
  private async releaseCheckpoint(): Promise<void> {
    await this.saving?.catch(() => undefined);
    const done = this.checkpoint?.batchesDone ?? 0;
    if (done > 0) this.logger.info(`checkpoint ${this.checkpoint!.dir} kept: run the same config again to resume after batch ${done} (--restart starts over)`);
    await this.checkpoint?.release();
    this.checkpoint = undefined;
    this.saving = undefined;
  }

  /**
   * Opens the run's checkpoint (beside the samples output) for this config, model
   * and input; logs where a resumed run starts. None when `options.checkpoint` is false.
   */
  private async openCheckpoint(loaded: Loaded, inputs: Inputs): Promise<Checkpoint | undefined> {
    const { config, options, logger } = this;
    this.checkpoint = undefined;
    this.saving = undefined;
    if (options.checkpoint === false) return undefined;
    const dir = checkpointDir(config.samples_explanations.path);
    let checkpoint: Checkpoint | undefined;
    try {
      checkpoint = await Checkpoint.open(dir, await checkpointKey(config, loaded.modelVersion), { restart: options.restart, logger });
    } catch (err) {
      // e.g. a read-only cache directory: the run goes on, it just cannot be resumed
      logger.warn(`no checkpoint (${dir}: ${err instanceof Error ? err.message : String(err)}): this run cannot be resumed if interrupted`);
      return undefined;
    }
    this.checkpoint = checkpoint;
    const done = checkpoint?.resumable;
    if (done) {
      const rows = done.inputRows.reduce((a, b) => a + b, 0);
      const of = inputs.expectedRows === undefined ? '' : ` of ${inputs.expectedRows}`;
      logger.info(
        `resuming from batch ${done.inputRows.length + 1}: batches 1..${done.inputRows.length} (${rows}${of} rows) were done by an earlier run, ` +
          `replayed from the checkpoint ${dir} (--restart discards it)`,
      );
    }
    return checkpoint;
  }

  /** The outputs the config names, with their schemas (a batch's rows per row group). */
  private outputSpecs(plan: Plan, model: TreeModel, explaining: SamplesExplainer, ids?: IdColumn): OutputSpec[] {
    const { config } = this;
    const specs: OutputSpec[] = [];
    if (config.models_explanations) specs.push({ key: 'models_explanations', config: config.models_explanations, schema: modelSchema(true) });
    const rowGroupRows = plan.batchRows * model.numOutputs;
    specs.push({ key: 'samples_explanations', config: config.samples_explanations, schema: explaining.samplesSchema(ids), rowGroupRows });
    if (config.explainer.interactions && config.interactions_explanations) {
      specs.push({
        key: 'interactions_explanations',
        config: config.interactions_explanations,
        schema: explaining.interactionsSchema(ids),
        rowGroupRows: rowGroupRows * model.numFeatures,
      });
    }
    return specs;
  }

  /** The batch's id column, when `explainer.id_column` is set. */
  private idsOf(table: arrow.Table): IdColumn | undefined {
    const name = this.config.explainer.id_column;
    return name ? { name, vector: idColumn(table, name, { source: this.config.inputs_samples.path }) } : undefined;
  }

  /** Runs `fn` (unless aborted), adding its time to `timings[name]` (streamed steps add up over the batches). */
  private async step<T>(name: keyof ExplanationsTimings, fn: () => Promise<T> | T): Promise<T> {
    const signal = this.options.signal;
    if (signal?.aborted) throw abortError(signal);
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.timings[name] += performance.now() - t0;
    }
  }

  private logDone(rows: ExplanationsRows): void {
    const t = this.timings;
    const sec = (ms: number) => Number((ms / 1000).toFixed(3));
    const s = (ms: number) => sec(ms).toFixed(2);
    this.logger.info(
      `done in ${s(t.total)} s: read ${s(t.read)} s, validate ${s(t.validate)} s, compute ${s(t.explainSamples)} s, write ${s(t.write)} s ` +
        `(${rows.inputs} rows in ${rows.batches} batch${rows.batches === 1 ? '' : 'es'})`,
      { timings_s: Object.fromEntries(Object.entries(t).map(([k, v]) => [k, sec(v)])), rows },
    );
  }

  /** Flushes and closes a logger the job built (winston transports cannot be reopened: the next start builds another). */
  private async closeLogger(logger: winston.Logger): Promise<void> {
    await new Promise<void>((resolve) => {
      logger.once('finish', () => resolve());
      logger.end();
    });
  }
}

/** The input batches and output record batches of a small run, to return as whole tables. */
class KeptTables {
  private readonly inputs: arrow.Table[] = [];
  private readonly samples: arrow.RecordBatch[] = [];
  private readonly interactions: arrow.RecordBatch[] = [];

  add(input: arrow.Table, out?: { samples: arrow.RecordBatch; interactions?: arrow.RecordBatch }): void {
    this.inputs.push(input);
    if (out) this.samples.push(out.samples);
    if (out?.interactions) this.interactions.push(out.interactions);
  }

  /** The whole tables: views of the batch for a one-batch run, else one copy over the batches. */
  tables(job: ExplanationsJob, model: TreeModel, samplesSchema: arrow.Schema, interactionsSchema?: arrow.Schema): Explained['kept'] {
    const inputs = this.inputs.length === 1 ? this.inputs[0] : new arrow.Table(this.inputs.flatMap((t) => t.batches));
    const idName = job.config.explainer.id_column;
    return {
      inputs,
      featureColumns: modelColumns(model, inputs, { source: job.config.inputs_samples.path }),
      ids: idName ? { name: idName, vector: inputs.getChild(idName)! } : undefined,
      samplesExplanations: tableOf(samplesSchema, this.samples),
      interactions: interactionsSchema ? tableOf(interactionsSchema, this.interactions) : undefined,
    };
  }
}

function emptyTimings(): ExplanationsTimings {
  return { read: 0, validate: 0, load: 0, explainModel: 0, explainSamples: 0, write: 0, notify: 0, total: 0 };
}

/** The row limit of {@link ExplanationsJobOptions.keepTables}. */
function keepLimit(keep: boolean | number | undefined): number {
  if (keep === undefined) return DEFAULT_KEEP_ROWS;
  if (keep === true) return Infinity;
  if (keep === false) return 0;
  if (!(keep >= 0)) throw new Error(`keepTables must be a boolean or a number of rows >= 0, got ${keep}`);
  return keep;
}
