/**
 * The compare job: two versions of a model (`champion`, `challenger`) explained on
 * the same samples, and what they attribute differently — the explanation drift
 * (see `ts/report/drift.ts`):
 *
 * 1. read the input samples (streamed, in batches of `explainer.batch_rows`);
 * 2. resolve and load both versions, check the inputs against each;
 * 3. explain every batch under both, accumulating the drift (and the same sampled
 *    rows under both for the report);
 * 4. write the per-feature drift table (and the report page), committed together;
 * 5. alert: "Explanation Drift" listing the features past a threshold, else
 *    "Compare Job Finished".
 *
 * ```ts
 * const { drift } = await new CompareJob((await loadAnyConfig('compare.yaml')).job).execute();
 * drift.alerts; // ['f2: absent from Challenger, share 7.2% → 0.0%', …]
 * ```
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as arrow from 'apache-arrow';
import winston from 'winston';
import { CompareJobConfig, type CompareJobConfigInput, type ModelRefConfig } from '../config/compare.ts';
import { validate } from '../config/errors.ts';
import { resolvePaths } from '../config/load.ts';
import { abortError } from '../core/abort.ts';
import { SamplesExplainer } from '../core/explainers.ts';
import { describeMapping, modelForColumns } from '../core/lightgbm_names.ts';
import { modelColumns } from '../core/pipeline/columns.ts';
import { idColumn } from '../io/datasets/features.ts';
import { readerOf } from '../io/datasets/reader.ts';
import { loaderOf } from '../io/registries/loaders.ts';
import { registryOf, type ModelVersion } from '../io/registries/registry.ts';
import { alertsOf, type AlertFields, type Alerts } from '../io/services/alerts.ts';
import { loggerOf, type LoggerOptions } from '../io/services/logger.ts';
import type { TreeModel } from '../native/tree_model.ts';
import { ReportCollector, shapColumns } from '../report/collector.ts';
import { buildCompareReport } from '../report/compare_report.ts';
import { DriftAccumulator, type Drift } from '../report/drift.ts';
import type { Explanation } from '../report/explanation.ts';
import { writeReport, type ModelCard } from '../report/report.ts';
import { Job, type Service } from './base.ts';
import { JobOutputs } from './outputs.ts';

/** Title of the alert when a feature's drift passes a threshold. */
export const DRIFT_ALERT_TITLE = 'Explanation Drift';
/** Title of the alert when no threshold is passed. */
export const COMPARE_ALERT_TITLE = 'Compare Job Finished';

/** Options of a {@link CompareJob} beyond its config. */
export interface CompareJobOptions {
  /** Aborts the run: no output is written. */
  signal?: AbortSignal;
  /** Use this logger instead of building one from `config.logger`. */
  logger?: winston.Logger;
  /** Options of the logger built from `config.logger`. */
  loggerOptions?: LoggerOptions;
  /** Use these alerts instead of building them from `config.alerts`. */
  alerts?: Alerts;
}

/** One side of the comparison, loaded. */
export interface ComparedModel {
  /** Its label in the table, the report and the alert. */
  label: string;
  modelVersion: ModelVersion;
  modelUri: string;
  model: TreeModel;
}

/** What a compare run returns. */
export interface CompareJobOutput {
  config: CompareJobConfig;
  /** Champion (A) and challenger (B). */
  models: [ComparedModel, ComparedModel];
  /** The drift, with its per-feature table. */
  drift: Drift;
  /** Input rows compared. */
  rows: number;
  /** Absolute paths written, by key (`drift_explanations`, `report`). */
  outputs: Record<string, string>;
  /** The alert sent: title and fields. */
  alertTitle: string;
  alertFields: AlertFields;
  alertSent: boolean;
}

/** The label of a side: its `label`, else the alias, else `v<version>`. */
function labelOf(ref: ModelRefConfig, version: ModelVersion): string {
  if (typeof ref === 'object' && ref.label) return ref.label;
  const aov = typeof ref === 'object' ? ref.alias_or_version : ref;
  return typeof aov === 'string' && !/^\d+$/.test(aov) ? aov : `v${version.version}`;
}

/** The compare job (see the module doc). */
export class CompareJob extends Job<CompareJobOutput> {
  /** The validated config. */
  readonly config: CompareJobConfig;
  /** Run options. */
  readonly options: CompareJobOptions;
  private alerts?: Alerts;

  constructor(config: CompareJobConfigInput | CompareJobConfig, options: CompareJobOptions = {}) {
    super();
    this.config = resolvePaths(validate(CompareJobConfig, config, { prefix: 'job' }), process.cwd());
    this.options = options;
  }

  protected createServices(): Service[] {
    const { config, options } = this;
    const logger = options.logger ?? loggerOf(config.logger, options.loggerOptions);
    this.logger = logger;
    this.alerts = options.alerts ?? alertsOf(config.alerts);
    return [
      {
        stop: () =>
          options.logger
            ? undefined
            : new Promise<void>((done) => {
                logger.once('finish', () => done());
                logger.end();
              }),
      },
    ];
  }

  async run(): Promise<CompareJobOutput> {
    const { config, options, logger } = this;
    const { explainer } = config;
    const signal = options.signal;
    const check = () => {
      if (signal?.aborted) throw abortError(signal);
    };

    // 1. the input stream and the background
    const inputs = readerOf(config.inputs_samples);
    logger.info(`[1/5] reading inputs: ${inputs.describe()}, in batches of ${explainer.batch_rows} rows`);
    const batches = inputs.batches({ batchRows: explainer.batch_rows, signal });
    let outputs = new JobOutputs([]);
    try {
      const [firstRead, background] = await Promise.all([batches.next(), explainer.background ? readerOf(explainer.background).read() : undefined]);
      if (firstRead.done) throw new Error(`${inputs.describe()} gave no batch`);

      // 2. both versions
      const models = (await Promise.all(
        [config.champion, config.challenger].map(async (ref) => {
          const registry = registryOf(typeof ref === 'object' && ref.registry ? ref.registry : config.registry);
          const modelVersion = await registry.resolve(typeof ref === 'object' ? ref.alias_or_version : ref);
          const label = labelOf(ref, modelVersion);
          // a LightGBM model's stored names (spaces as `_`) matched to the input's columns
          const columns = firstRead.value.schema.fields.map((f) => f.name);
          const { model, mapping } = modelForColumns(await loaderOf(config.loader).load(modelVersion), columns, config.inputs_samples.path);
          if (mapping.length > 0) logger.info(`${label}: ${describeMapping(mapping)}`);
          return { label, modelVersion, modelUri: modelVersion.aliasUri ?? modelVersion.uri, model };
        }),
      )) as [ComparedModel, ComparedModel];
      if (models[0].label === models[1].label) models[1].label = `${models[1].label} (B)`;
      const [a, b] = models;
      logger.info(`[2/5] comparing ${a.label} (${a.modelUri}) with ${b.label} (${b.modelUri})`);
      if (a.model.numOutputs !== b.model.numOutputs) {
        throw new Error(`${a.label} has ${a.model.numOutputs} outputs and ${b.label} ${b.model.numOutputs}: they cannot be compared`);
      }
      const k = a.model.numOutputs;
      const explainers = models.map(
        ({ model }) =>
          new SamplesExplainer(model, {
            algorithm: explainer.algorithm,
            background: background && modelColumns(model, background, { source: explainer.background!.path }),
            nsamples: explainer.nsamples,
            values: explainer.values,
            modelOutput: explainer.model_output,
            device: explainer.device,
            threads: explainer.threads,
            signal,
          }),
      );
      const thresholds = config.thresholds;
      const drift = new DriftAccumulator(a.model.featureNames, b.model.featureNames, k, {
        labels: [a.label, b.label],
        thresholds: {
          shareShift: thresholds.share_shift,
          rankShift: thresholds.rank_shift,
          topRanks: thresholds.top_ranks,
          jsDivergence: thresholds.js_divergence,
          signFlipShare: thresholds.sign_flip_share,
        },
        sampleRows: thresholds.divergence_rows,
      });
      // the same seed and row count: both collectors keep the same rows
      const collectors = config.report
        ? models.map(({ model }) => new ReportCollector(model.featureNames, k, { sampleRows: config.report!.sample_rows, seed: config.report!.seed, waterfalls: 0 }))
        : undefined;

      // 3. every batch under both
      logger.info(`[3/5] explaining samples under both (${explainers[0].algorithm})`);
      let rows = 0;
      for (let batch: arrow.Table | undefined = firstRead.value; batch; ) {
        check();
        const current: arrow.Table = batch;
        if (current.numRows > 0) {
          const ids = explainer.id_column ? { name: explainer.id_column, vector: idColumn(current, explainer.id_column, { source: config.inputs_samples.path }) } : undefined;
          const out = await Promise.all(
            models.map(async ({ model }, i) => {
              const columns = modelColumns(model, current, { source: config.inputs_samples.path });
              return { columns, samples: (await explainers[i].explainBatch(columns, { ids })).samples };
            }),
          );
          drift.add(shapColumns(out[0].samples, a.model.numFeatures, k), shapColumns(out[1].samples, b.model.numFeatures, k));
          collectors?.forEach((c, i) => c.add(out[i].samples, out[i].columns));
        }
        rows += current.numRows;
        const next = await batches.next();
        batch = next.done ? undefined : next.value;
      }
      const result = drift.result();
      for (const line of result.alerts) logger.warn(`drift: ${line}`);

      // 4. the drift table and the report, committed together
      logger.info(`[4/5] writing ${config.drift_explanations.path}${config.report ? `, ${config.report.path}` : ''}`);
      const html = config.report
        ? await buildCompareReport({
            drift: result,
            cards: models.map((m, i) => ({
              modelUri: m.modelUri,
              version: m.modelVersion.version,
              algorithm: explainers[i].algorithm,
              objective: m.model.objective,
              trees: m.model.numTrees,
            })) as [ModelCard, ModelCard],
            samples: collectors!.map((c) => c.result().sample) as [Explanation, Explanation],
            title: config.report.title,
            maxDisplay: config.report.max_display,
          })
        : undefined;
      outputs = new JobOutputs([{ key: 'drift_explanations', config: config.drift_explanations, schema: result.table.schema }]);
      await outputs.open();
      await outputs.get('drift_explanations')!.write(result.table);
      check();
      const written = await outputs.commit(signal);
      if (config.report && html !== undefined) {
        await writeReport(resolve(config.report.path), html);
        written.report = resolve(config.report.path);
      }

      // 5. the alert
      const alerted = result.alerts.length > 0;
      const alertTitle = alerted ? DRIFT_ALERT_TITLE : COMPARE_ALERT_TITLE;
      const top = [...result.features].slice(0, 5).map((d) => `${d.feature} (${d.shareShift >= 0 ? '+' : ''}${(100 * d.shareShift).toFixed(1)} pts)`);
      const alertFields: AlertFields = {
        champion: a.modelUri,
        challenger: b.modelUri,
        samples: rows,
        features_alerted: result.alerts.length,
        ...(alerted ? { alerts: result.alerts.join('; ') } : {}),
        largest_share_shifts: top.join(', ') || '(none)',
        ...(written.report ? { report: pathToFileURL(written.report).href } : {}),
      };
      const message = alerted
        ? `${b.label} attributes differently from ${a.label} on ${rows} samples: ${result.alerts.length} feature${result.alerts.length === 1 ? '' : 's'} past a threshold`
        : `${b.label} vs ${a.label} on ${rows} samples: no feature past a threshold`;
      logger.info(`[5/5] notifying: ${this.alerts!.describe()}`);
      let alertSent = true;
      try {
        await this.alerts!.notify(alertTitle, message, alertFields);
      } catch (err) {
        alertSent = false;
        logger.warn(`alert not sent (outputs are written): ${err instanceof Error ? err.message : String(err)}`);
      }
      return { config, models, drift: result, rows, outputs: written, alertTitle, alertFields, alertSent };
    } catch (err) {
      await outputs.abort();
      throw signal?.aborted && !(err instanceof Error && err.name === 'AbortError') ? abortError(signal) : err;
    } finally {
      await batches.return(undefined).catch(() => undefined);
    }
  }
}
