/**
 * What an {@link ExplanationsJob} takes beside its config, and what its run
 * returns (the seed's `return locals()`): options, timings, row counts, output.
 */
import type * as arrow from 'apache-arrow';
import type winston from 'winston';
import type { ExplanationsJobConfig } from '../config/job.ts';
import { DEFAULT_BATCH_ROWS } from '../core/batches.ts';
import type { SamplesSummary } from '../core/explainers.ts';
import type { IdColumn } from '../core/schemas.ts';
import type { ModelVersion } from '../io/registries/registry.ts';
import type { AlertFields, Alerts } from '../io/services/alerts.ts';
import type { LoggerOptions } from '../io/services/logger.ts';
import type { FeatureColumn } from '../native/addon.ts';
import type { TreeModel } from '../native/tree_model.ts';

/** Input rows up to which a run returns its whole tables by default: one batch (see {@link ExplanationsJobOptions.keepTables}). */
export const DEFAULT_KEEP_ROWS = DEFAULT_BATCH_ROWS;

/** Options of an {@link ExplanationsJob} beyond its config. */
export interface ExplanationsJobOptions {
  /** Aborts the run (Ctrl-C in the CLI): no output is written. */
  signal?: AbortSignal;
  /**
   * Work done / total while samples are explained (rows, ×2 with interactions).
   * When the input's row count is not known in advance (CSV, Arrow IPC), `total`
   * grows batch by batch, staying one batch ahead until the last.
   */
  onProgress?: (rowsDone: number, totalRows: number) => void;
  /** Use this logger instead of building one from `config.logger`. */
  logger?: winston.Logger;
  /** Options of the logger built from `config.logger` (stream, colors). */
  loggerOptions?: LoggerOptions;
  /** Use these alerts instead of building them from `config.alerts`. */
  alerts?: Alerts;
  /**
   * Whether `run()` returns the whole tables (`inputs`, `featureColumns`,
   * `samplesExplanations`, `interactions`): `true` always (memory then grows with
   * the input), `false` never, or a number N: when the input has at most N rows
   * (default {@link DEFAULT_KEEP_ROWS}). The files are written either way.
   */
  keepTables?: boolean | number;
  /**
   * Keep a checkpoint after each batch, beside the samples output (default
   * `true`): a run killed at any moment and run again with the same config,
   * model and input resumes after its last completed batch, with the same
   * output bytes (see `checkpoint.ts`). `false`: no checkpoint is kept or read.
   */
  checkpoint?: boolean;
  /** Discard the checkpoint of an earlier run and start from the first batch (CLI `--restart`). */
  restart?: boolean;
}

/** Milliseconds spent in each step; the streamed steps (read, validate, explainSamples, write) are summed over the batches. */
export interface ExplanationsTimings {
  /** Reading the input batches and the background. */
  read: number;
  /** Checking the inputs and taking each batch's feature (and id) columns. */
  validate: number;
  /** Resolving and loading the model. */
  load: number;
  /** Model explanations (global importances). */
  explainModel: number;
  /** Native SHAP computation over every batch (the compute). */
  explainSamples: number;
  /** Opening, appending to, finishing and committing the outputs. */
  write: number;
  /** Sending the alert. */
  notify: number;
  /** The whole run. */
  total: number;
}

/** Rows of the run's tables. */
export interface ExplanationsRows {
  /** Input rows read (after `limit`). */
  inputs: number;
  /** Rows of the samples explanations table (inputs × outputs). */
  samples: number;
  /** Rows of the interactions table (inputs × outputs × features), when written. */
  interactions?: number;
  /** Input batches streamed. */
  batches: number;
}

/** What a run computed (the seed's `locals()`); the whole tables only when {@link tablesKept}. */
export interface ExplanationsJobOutput {
  /** The validated config the job ran with. */
  config: ExplanationsJobConfig;
  /** Whether the whole tables below are returned (see {@link ExplanationsJobOptions.keepTables}). */
  tablesKept: boolean;
  /** The input samples as read (kept tables only). */
  inputs?: arrow.Table;
  /** The background sample (tree-interventional, kernel). */
  background?: arrow.Table;
  /** The resolved model version. */
  modelVersion: ModelVersion;
  /** Its URI (`models:/NAME/VERSION`, or `file:` for a FileRegistry). */
  modelUri: string;
  /** The loaded model. */
  model: TreeModel;
  /** The model's feature columns over every input row, in model order (kept tables only). */
  featureColumns?: FeatureColumn[];
  /** The carried id column over every input row, when `explainer.id_column` is set (kept tables only). */
  ids?: IdColumn;
  /** What the samples explainer found (algorithm, rows, mean |SHAP|, …). */
  samples: SamplesSummary;
  /** The model explanations table (always: one row per feature). */
  modelsExplanations: arrow.Table;
  /** The samples explanations table (kept tables only). */
  samplesExplanations?: arrow.Table;
  /** The interaction values table, with `explainer.interactions` (kept tables only). */
  interactions?: arrow.Table;
  /** Rows of every table, and batches streamed. */
  rows: ExplanationsRows;
  /** Absolute paths written, by output key. */
  outputs: Record<string, string>;
  /** The fields of the alert sent. */
  alertFields: AlertFields;
  /** Whether the alert was delivered. */
  alertSent: boolean;
  /** Milliseconds per step. */
  timings: ExplanationsTimings;
}
