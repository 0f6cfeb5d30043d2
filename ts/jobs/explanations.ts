/**
 * The explanations job: read samples → validate → load the model → explain the
 * model → explain every sample → write both tables → alert — and return every
 * intermediate value (the seed's `return locals()`).
 *
 * ```ts
 * const job = new ExplanationsJob((await loadConfig('explanations.yaml')).job);
 * const { samplesExplanations, modelsExplanations } = await job.execute();
 * ```
 *
 * Outputs are committed together: each table is first written to a temporary
 * file beside its target, and only when all are written are they renamed into
 * place. A failure or an abort (Ctrl-C) before that leaves no output file, and
 * never a partial one. The alert is sent after the outputs are in place; an
 * alert that cannot be delivered is logged as a warning and the run succeeds.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type * as arrow from 'apache-arrow';
import type winston from 'winston';
import { parseJobConfig, type ExplanationsJobConfig, type ExplanationsJobConfigInput } from '../config.ts';
import { explainModel, explainSamples, resolveAlgorithm, resolveDevice, type SamplesExplanations } from '../core/explainers.ts';
import type { IdColumn } from '../core/schemas.ts';
import { createReader } from '../io/datasets/reader.ts';
import { featureColumns as toFeatureColumns, idColumn } from '../io/datasets/features.ts';
import { createWriter, type WriterConfig } from '../io/datasets/writer.ts';
import { createLoader } from '../io/registries/loaders.ts';
import type { ModelVersion, Registry } from '../io/registries/registry.ts';
import { createAlerts, type AlertFields, type Alerts } from '../io/services/alerts.ts';
import { createLogger, type LoggerOptions } from '../io/services/logger.ts';
import type { FeatureColumn, TreeModel } from '../native.ts';
import { Job, type Service } from './base.ts';
import { createJobRegistry, FileRegistry } from './file_registry.ts';

/** Title of the alert sent when the job finishes. */
export const ALERT_TITLE = 'Explanations Job Finished';

/** Options of an {@link ExplanationsJob} beyond its config. */
export interface ExplanationsJobOptions {
  /** Aborts the run (Ctrl-C in the CLI): no output is written. */
  signal?: AbortSignal;
  /** Rows explained so far / total, while samples are explained. */
  onProgress?: (rowsDone: number, totalRows: number) => void;
  /** Use this logger instead of building one from `config.logger`. */
  logger?: winston.Logger;
  /** Options of the logger built from `config.logger` (stream, colors). */
  loggerOptions?: LoggerOptions;
  /** Use these alerts instead of building them from `config.alerts`. */
  alerts?: Alerts;
}

/** Milliseconds spent in each step. */
export interface ExplanationsTimings {
  read: number;
  validate: number;
  load: number;
  explainModel: number;
  explainSamples: number;
  write: number;
  notify: number;
  total: number;
}

/** Everything a run computed (the seed's `locals()`). */
export interface ExplanationsJobOutput {
  /** The validated config the job ran with. */
  config: ExplanationsJobConfig;
  /** The input samples as read. */
  inputs: arrow.Table;
  /** The background sample (tree-interventional). */
  background?: arrow.Table;
  /** The resolved model version. */
  modelVersion: ModelVersion;
  /** Its URI (`models:/NAME/VERSION`, or `file:` for a FileRegistry). */
  modelUri: string;
  /** The loaded model. */
  model: TreeModel;
  /** The model's feature columns, in model order, as handed to the native core. */
  featureColumns: FeatureColumn[];
  /** The carried id column, when `explainer.id_column` is set. */
  ids?: IdColumn;
  /** Everything the samples explainer returned (algorithm, mean |SHAP|, …). */
  samples: SamplesExplanations;
  /** The model explanations table. */
  modelsExplanations: arrow.Table;
  /** The samples explanations table. */
  samplesExplanations: arrow.Table;
  /** The interaction values table (with `explainer.interactions`). */
  interactions?: arrow.Table;
  /** Absolute paths written, by output key. */
  outputs: Record<string, string>;
  /** The fields of the alert sent. */
  alertFields: AlertFields;
  /** Whether the alert was delivered. */
  alertSent: boolean;
  /** Milliseconds per step. */
  timings: ExplanationsTimings;
}

/** The explanations job (see the module doc). */
export class ExplanationsJob extends Job<ExplanationsJobOutput> {
  /** The validated config. */
  readonly config: ExplanationsJobConfig;
  /** Run options. */
  readonly options: ExplanationsJobOptions;
  /** The registry (built at start). */
  registry?: Registry;
  /** The alerts (built at start). */
  alerts?: Alerts;

  constructor(config: ExplanationsJobConfigInput | ExplanationsJobConfig, options: ExplanationsJobOptions = {}) {
    super();
    this.config = parseJobConfig(config);
    this.options = options;
  }

  protected createServices(): Service[] {
    const { config, options } = this;
    this.logger = options.logger ?? createLogger(config.logger, options.loggerOptions, 'job.logger');
    const logger = this.logger;
    this.registry = createJobRegistry(config.registry);
    this.alerts = options.alerts ?? createAlerts(config.alerts, 'job.alerts');
    const registry = this.registry;
    return [
      // The logger is closed by its owner: winston transports cannot be reopened.
      { start: () => logger.debug('services started', { registry: registry.describe?.() ?? config.registry.KIND }) },
      { start: () => registry.start?.(), stop: () => registry.stop?.() },
      {},
    ];
  }

  async run(): Promise<ExplanationsJobOutput> {
    const { config, options, logger } = this;
    const { explainer } = config;
    const signal = options.signal;
    const registry = this.registry!;
    const alerts = this.alerts!;
    const started = performance.now();
    const timings = {} as ExplanationsTimings;
    const step = async <T>(name: keyof ExplanationsTimings, fn: () => Promise<T> | T): Promise<T> => {
      signal?.throwIfAborted();
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        timings[name] = performance.now() - t0;
      }
    };

    // 0. fail fast on explainer settings that cannot work (gpu, a background missing, …)
    const algorithm = resolveAlgorithm(explainer.algorithm, explainer);
    const device = resolveDevice(explainer.device);

    // 1. read the input samples (and the background sample)
    const inputsReader = createReader(config.inputs_samples, 'job.inputs_samples');
    logger.info(`[1/7] reading inputs: ${inputsReader.describe()}`);
    const backgroundReader = explainer.background ? createReader(explainer.background, 'job.explainer.background') : undefined;
    const [inputs, background] = await step('read', () =>
      Promise.all([inputsReader.read(), backgroundReader?.read()] as const),
    );
    logger.debug(`inputs: ${inputs.numRows} rows × ${inputs.numCols} columns`, { columns: inputs.schema.fields.map((f) => f.name) });
    if (background) logger.debug(`background: ${background.numRows} rows × ${background.numCols} columns`);

    // 2. validate the inputs (the feature columns are checked against the model at step 3)
    logger.info('[2/7] validating inputs');
    const ids = await step('validate', () => {
      if (inputs.numCols === 0) throw new Error(`${inputsReader.describe()} has no columns`);
      if (inputs.numRows === 0) logger.warn(`${inputsReader.describe()} has no rows: the explanation tables will be empty`);
      if (!explainer.id_column) return undefined;
      const vector = idColumn(inputs, explainer.id_column, { source: config.inputs_samples.path });
      return { name: explainer.id_column, vector } satisfies IdColumn;
    });

    // 3. resolve and load the model, and take the inputs' feature columns in model order
    logger.info(`[3/7] loading model ${config.alias_or_version} from ${registry.describe?.() ?? config.registry.KIND}`);
    const loader = createLoader(config.loader, 'job.loader');
    const { modelVersion, model } = await step('load', async () => {
      const modelVersion = await registry.resolve(config.alias_or_version);
      try {
        return { modelVersion, model: await loader.load(modelVersion) };
      } catch (err) {
        // A model file given directly: the native error already names the file.
        const cause = (err as { cause?: unknown }).cause;
        throw registry instanceof FileRegistry && cause instanceof Error ? cause : err;
      }
    });
    const modelUri = modelVersion.aliasUri ?? modelVersion.uri;
    logger.debug(`model ${modelVersion.uri}: ${model.source}, ${model.numTrees} trees, ${model.numFeatures} features, ${model.numOutputs} outputs`, {
      objective: model.objective,
      dir: modelVersion.dir,
    });
    const featureColumns = toFeatureColumns(inputs, model.featureNames, { source: config.inputs_samples.path });
    const backgroundColumns = background
      ? toFeatureColumns(background, model.featureNames, { source: config.explainer.background!.path })
      : undefined;
    logger.debug(`feature columns: ${featureColumns.length} × ${inputs.numRows} rows`);

    // 4. explain the model (global importances)
    logger.info(`[4/7] explaining model ${modelUri}`);
    let modelsExplanations = await step('explainModel', () => explainModel(model));
    logger.debug(`models explanations: ${modelsExplanations.numRows} rows × ${modelsExplanations.numCols} columns`);

    // 5. explain every sample
    logger.info(`[5/7] explaining ${inputs.numRows} samples (${algorithm} on ${device})`);
    const samples = await step('explainSamples', () =>
      explainSamples(model, featureColumns, {
        algorithm: explainer.algorithm,
        background: backgroundColumns,
        nsamples: explainer.nsamples,
        interactions: explainer.interactions,
        device: explainer.device,
        threads: explainer.threads,
        batchRows: explainer.batch_rows,
        ids,
        signal,
        onProgress: options.onProgress,
      }),
    );
    for (const warning of samples.warnings) logger.warn(warning);
    modelsExplanations = explainModel(model, samples.meanAbsShap);
    const samplesExplanations = samples.table;
    const interactions = samples.interactions;
    logger.debug(`samples explanations: ${samplesExplanations.numRows} rows × ${samplesExplanations.numCols} columns`, {
      algorithm: samples.algorithm,
      batches: samplesExplanations.batches.length,
    });
    if (interactions) logger.debug(`interactions: ${interactions.numRows} rows × ${interactions.numCols} columns`);

    // 6. write both tables (and the interactions), committed together
    const targets: [string, WriterConfig, arrow.Table][] = [];
    if (config.models_explanations) targets.push(['models_explanations', config.models_explanations, modelsExplanations]);
    targets.push(['samples_explanations', config.samples_explanations, samplesExplanations]);
    if (interactions && config.interactions_explanations) {
      targets.push(['interactions_explanations', config.interactions_explanations, interactions]);
    }
    logger.info(`[6/7] writing ${targets.map(([, cfg]) => cfg.path).join(', ')}`);
    const outputs = await step('write', () => writeAll(targets, signal));

    // 7. notify (after the outputs are in place; a failed alert loses nothing)
    const totalSeconds = (performance.now() - started) / 1000;
    const alertFields = alertFieldsOf(modelUri, samples, modelsExplanations, totalSeconds);
    logger.info(`[7/7] notifying: ${alerts.describe()}`);
    const alertSent = await step('notify', async () => {
      try {
        await alerts.notify(ALERT_TITLE, alertMessage(modelUri, samples, totalSeconds), alertFields);
        return true;
      } catch (err) {
        logger.warn(`alert not sent (outputs are written): ${err instanceof Error ? err.message : String(err)}`);
        return false;
      }
    });
    timings.total = performance.now() - started;
    logger.info(`done in ${(timings.total / 1000).toFixed(2)} s`);
    logger.debug('timings (ms)', Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])));

    return {
      config,
      inputs,
      background,
      modelVersion,
      modelUri,
      model,
      featureColumns,
      ids,
      samples,
      modelsExplanations,
      samplesExplanations,
      interactions,
      outputs,
      alertFields,
      alertSent,
      timings,
    };
  }
}

/** `diabetes@Champion: 442 samples × 10 features explained in 0.31 s` */
function alertMessage(modelUri: string, s: SamplesExplanations, seconds: number): string {
  const outputs = s.outputs > 1 ? ` × ${s.outputs} outputs` : '';
  return `${modelUri}: ${s.rows} samples × ${s.features} features${outputs} explained in ${seconds.toFixed(2)} s`;
}

/** Key figures of the alert: samples, features, outputs, top 5 features by importance, wall time. */
function alertFieldsOf(modelUri: string, s: SamplesExplanations, models: arrow.Table, seconds: number): AlertFields {
  const features = models.getChild('feature')!.toArray() as string[];
  const importance = models.getChild('importance')!.toArray() as Float64Array;
  const top = [...features.keys()]
    .sort((a, b) => importance[b] - importance[a])
    .slice(0, 5)
    .map((i) => `${features[i]} (${importance[i].toFixed(3)})`)
    .join(', ');
  return {
    model: modelUri,
    algorithm: s.algorithm,
    samples: s.rows,
    features: s.features,
    outputs: s.outputs,
    top_features: top || '(none)',
    wall_time_s: Number(seconds.toFixed(3)),
  };
}

/**
 * Writes every table to a temporary file beside its target, then renames them
 * all into place; on failure (or abort) removes the temporaries, so no target
 * is touched.
 */
async function writeAll(targets: [string, WriterConfig, arrow.Table][], signal?: AbortSignal): Promise<Record<string, string>> {
  const seen = new Map<string, string>();
  for (const [key, cfg] of targets) {
    const path = resolve(cfg.path);
    if (seen.has(path)) throw new Error(`job.${key} and job.${seen.get(path)} both write ${cfg.path}`);
    seen.set(path, key);
  }
  const staged: [string, string, string][] = [];
  try {
    for (const [key, cfg, table] of targets) {
      const target = resolve(cfg.path);
      const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      await mkdir(dirname(target), { recursive: true });
      staged.push([key, temp, target]);
      await createWriter(stagedConfig(cfg, temp), `job.${key}`).write(table);
      signal?.throwIfAborted();
    }
    signal?.throwIfAborted();
    for (const [, temp, target] of staged) await rename(temp, target);
  } catch (err) {
    await Promise.all(staged.map(([, temp]) => rm(temp, { force: true }).catch(() => undefined)));
    throw renamePaths(err, staged);
  }
  return Object.fromEntries(staged.map(([key, , target]) => [key, target]));
}

/**
 * The writer config that writes `cfg`'s table to `temp`: what a writer infers
 * from the target's extension (the Arrow IPC layout: stream for `.arrows`) is
 * made explicit, since the temporary's name ends in `.tmp`.
 */
function stagedConfig(cfg: WriterConfig, temp: string): WriterConfig {
  if (cfg.KIND === 'ArrowWriter') {
    return { ...cfg, path: temp, format: cfg.format ?? (extname(cfg.path).toLowerCase() === '.arrows' ? 'stream' : 'file') };
  }
  return { ...cfg, path: temp };
}

/** Error messages name the target paths, not the temporaries. */
function renamePaths(err: unknown, staged: [string, string, string][]): unknown {
  if (!(err instanceof Error)) return err;
  for (const [, temp, target] of staged) err.message = err.message.split(temp).join(target);
  return err;
}
