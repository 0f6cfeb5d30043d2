/**
 * `arrowshap merge`: completes a sharded run. Reads every shard's summary,
 * checks that all N shards are there and agree (one shard count, the same
 * config hash, the same model version, contiguous rows covering the input,
 * each part's footer holding the rows its summary says, no stray part of
 * another shard count), combines mean |SHAP| exactly from the shards' sums
 * (Σ over shards of Σ|φ|, divided once by the total rows × outputs — never a
 * mean of means), writes the model explanations table as a single run would,
 * and sends the run's one alert.
 */
import type * as arrow from 'apache-arrow';
import type winston from 'winston';
import type { ExplanationsJobConfig } from '../config/job.ts';
import type { SamplesSummary } from '../core/explainers.ts';
import { modelTable } from '../core/schemas.ts';
import { parquetLayout } from '../io/datasets/parquet_dataset.ts';
import { writerOf } from '../io/datasets/writer.ts';
import { alertsOf, type Alerts } from '../io/services/alerts.ts';
import { loggerOf } from '../io/services/logger.ts';
import { storageOptions } from '../io/storage/config.ts';
import { findFiles } from '../io/storage/files.ts';
import { configureObjectStorage } from '../io/storage/s3.ts';
import { baseName, joinLocation } from '../io/storage/url.ts';
import { ALERT_TITLE, alertFields, alertMessage } from '../jobs/alert_text.ts';
import { checkShardable, shardDatasets } from './job.ts';
import { partName } from './spec.ts';
import { configHash, readSummary, type ShardSummary } from './summary.ts';

/** Options of {@link mergeShards}. */
export interface MergeOptions {
  /** Logger (default: the config's). */
  logger?: winston.Logger;
  /** Alerts (default: the config's). */
  alerts?: Alerts;
}

/** What {@link mergeShards} did. */
export interface MergeResult {
  /** Shards merged. */
  shards: number;
  /** The combined summary (rows, mean |SHAP|, mean base value…). */
  samples: SamplesSummary;
  /** The model explanations table, with `mean_abs_shap` over every shard's rows. */
  modelsExplanations: arrow.Table;
  /** The part files of the samples (and interactions) dataset, in row order. */
  parts: Record<string, string[]>;
  /** Where the model table went (when `models_explanations` is set). */
  modelsPath?: string;
  /** Whether the alert was delivered. */
  alertSent: boolean;
  /** The summaries, in shard order. */
  summaries: ShardSummary[];
}

const SUMMARY_NAME = /^part-(\d{5})-of-(\d{5})\.json$/;
const PART_NAME = /^part-(\d{5})-of-(\d{5})\.parquet$/;

/** Reads and checks the summaries of the dataset `dir`. @throws naming what is missing or inconsistent. */
async function completeSummaries(dir: string, hash: string): Promise<ShardSummary[]> {
  const files = await findFiles(joinLocation(dir, '_shards'), SUMMARY_NAME);
  if (files.length === 0) throw new Error(`no shard summary in ${joinLocation(dir, '_shards')}: run the shards (arrowshap run CONFIG --shard I/N) first`);
  const summaries = await Promise.all(files.map((f) => readSummary(f)));
  const counts = [...new Set(summaries.map((s) => s.shard.count))];
  if (counts.length > 1) {
    throw new Error(`${dir} holds shards of different runs (shard counts ${counts.join(', ')}): remove the old run's parts and _shards/ summaries`);
  }
  const count = counts[0];
  const byIndex = new Map(summaries.map((s, i) => [s.shard.index, { s, file: files[i] }] as const));
  const missing = [...Array(count).keys()].filter((i) => !byIndex.has(i));
  if (missing.length) {
    const shown = missing.slice(0, 10).join(', ') + (missing.length > 10 ? `, … (${missing.length} in all)` : '');
    throw new Error(`shards ${shown} of ${count} are not complete (no ${joinLocation(dir, '_shards', `${partName({ index: missing[0], count })}.json`)}): run them, then merge`);
  }
  const ordered = [...Array(count).keys()].map((i) => byIndex.get(i)!);
  const first = ordered[0].s;
  let row = 0;
  let unit = 0;
  for (const { s, file } of ordered) {
    if (s.config_hash !== hash) {
      throw new Error(`${file}: shard ${s.shard.index} ran another config (hash ${s.config_hash.slice(0, 12)}) than this merge's (${hash.slice(0, 12)}): re-run it with the same config`);
    }
    if (s.model.uri !== first.model.uri || String(s.model.version) !== String(first.model.version)) {
      throw new Error(
        `${file}: shard ${s.shard.index} explained model ${s.model.uri} (version ${s.model.version}), shard 0 explained ${first.model.uri} (version ${first.model.version}): re-run it`,
      );
    }
    if (s.input.total_rows !== first.input.total_rows || s.input.total_units !== first.input.total_units) {
      throw new Error(`${file}: shard ${s.shard.index} saw an input of ${s.input.total_rows} rows in ${s.input.total_units} row groups, shard 0 one of ${first.input.total_rows} in ${first.input.total_units}: the input changed between shards`);
    }
    if (s.input.first_row !== row || s.input.first_unit !== unit) {
      throw new Error(`${file}: shard ${s.shard.index} starts at row ${s.input.first_row} (row group ${s.input.first_unit}), expected ${row} (${unit})`);
    }
    if (s.sums.abs_shap.length !== first.sums.abs_shap.length || s.sums.base_value.length !== first.sums.base_value.length) {
      throw new Error(`${file}: shard ${s.shard.index} has sums of another shape than shard 0's`);
    }
    row += s.input.rows;
    unit += s.input.units;
  }
  if (row !== first.input.total_rows || unit !== first.input.total_units) {
    throw new Error(`the shards cover ${row} of ${first.input.total_rows} rows (${unit} of ${first.input.total_units} row groups)`);
  }
  return ordered.map((o) => o.s);
}

/** Checks each part of a dataset directory against the summaries; returns the parts in order. */
async function checkParts(dir: string, key: string, summaries: ShardSummary[]): Promise<string[]> {
  const count = summaries[0].shard.count;
  const stray = (await findFiles(dir, PART_NAME)).filter((f) => Number(PART_NAME.exec(baseName(f))![2]) !== count);
  if (stray.length) throw new Error(`${stray[0]} is a part of a run with another shard count than ${count}: remove it (a dataset read would count its rows twice)`);
  const parts: string[] = [];
  for (const s of summaries) {
    const out = s.outputs[key];
    const path = joinLocation(dir, `${partName(s.shard)}.parquet`);
    if (!out) throw new Error(`shard ${s.shard.index}'s summary names no ${key} part`);
    let rows: number;
    try {
      rows = (await parquetLayout(path)).reduce((n, l) => n + l.rowGroupRows.reduce((a, b) => a + b, 0), 0);
    } catch (err) {
      throw new Error(`shard ${s.shard.index}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (rows !== out.rows) throw new Error(`${path} holds ${rows} rows, shard ${s.shard.index}'s summary says ${out.rows}: re-run the shard`);
    parts.push(path);
  }
  return parts;
}

/** Combines the shards' sums: Σ over shards, in shard order, then one division. */
function combined(summaries: ShardSummary[]): SamplesSummary {
  const first = summaries[0];
  const features = first.sums.abs_shap.length;
  const outputs = first.sums.base_value.length;
  const sumAbs = new Float64Array(features);
  const sumBase = new Float64Array(outputs);
  let rows = 0;
  let batches = 0;
  const warnings = new Set<string>();
  for (const s of summaries) {
    s.sums.abs_shap.forEach((v, f) => (sumAbs[f] += v));
    s.sums.base_value.forEach((v, o) => (sumBase[o] += v));
    rows += s.input.rows;
    batches += s.explainer.batches;
    s.explainer.warnings.forEach((w) => warnings.add(w));
  }
  const n = rows * outputs;
  return {
    algorithm: first.explainer.algorithm as SamplesSummary['algorithm'],
    device: summaries.some((s) => s.explainer.device === 'gpu') ? 'gpu' : 'cpu',
    rows,
    outputs,
    features,
    batches,
    meanAbsShap: sumAbs.map((v) => (n > 0 ? v / n : 0)),
    baseValue: sumBase.map((v) => (rows > 0 ? v / rows : 0)),
    sumAbsShap: sumAbs,
    sumBaseValue: sumBase,
    warnings: [...warnings],
    modelOutput: first.explainer.model_output,
    outputSpace: first.explainer.output_space,
  };
}

/**
 * Merges a sharded run of `config` (the config every shard ran, `explainer.shard`
 * aside): see the module doc. Writes `models_explanations` when the config
 * names it, atomically; sends the alert (a failed alert is a warning).
 * @throws naming the shard, file or key at fault when the run is incomplete or inconsistent.
 */
export async function mergeShards(config: ExplanationsJobConfig, options: MergeOptions = {}): Promise<MergeResult> {
  const started = performance.now();
  configureObjectStorage(storageOptions(config.storage));
  checkShardable(config);
  const logger = options.logger ?? loggerOf(config.logger);
  const datasets = shardDatasets(config);
  const summaries = await completeSummaries(datasets.samples, configHash(config));
  const count = summaries.length;
  const parts: Record<string, string[]> = { samples_explanations: await checkParts(datasets.samples, 'samples_explanations', summaries) };
  if (datasets.interactions) parts.interactions_explanations = await checkParts(datasets.interactions, 'interactions_explanations', summaries);
  const samples = combined(summaries);
  const first = summaries[0];
  const t = first.model_table;
  const modelsExplanations = modelTable({
    featureNames: t.feature,
    gain: Float64Array.from(t.gain),
    cover: Float64Array.from(t.cover),
    weight: Float64Array.from(t.weight),
    meanAbsShap: samples.meanAbsShap,
  });
  let modelsPath: string | undefined;
  if (config.models_explanations) {
    await writerOf(config.models_explanations).write(modelsExplanations);
    modelsPath = config.models_explanations.path;
  }
  const seconds = summaries.reduce((a, s) => a + s.seconds, 0);
  logger.info(`merged ${count} shards: ${samples.rows} rows of ${first.model.uri}${modelsPath ? `, model table ${modelsPath}` : ''}`);
  const alerts = options.alerts ?? alertsOf(config.alerts);
  let alertSent = false;
  try {
    const fields = { ...alertFields(first.model.uri, samples, modelsExplanations, seconds), shards: count, samples_dataset: datasets.samples };
    await alerts.notify(ALERT_TITLE, `${alertMessage(first.model.uri, samples, seconds)} (${count} shards)`, fields);
    alertSent = true;
  } catch (err) {
    logger.warn(`alert not sent (outputs are written): ${err instanceof Error ? err.message : String(err)}`);
  }
  logger.debug(`merge took ${((performance.now() - started) / 1000).toFixed(2)} s`);
  if (!options.logger) await new Promise<void>((resolve) => logger.once('finish', () => resolve()).end());
  return { shards: count, samples, modelsExplanations, parts, modelsPath, alertSent, summaries };
}
