/**
 * The per-shard summary: `DATASET/_shards/part-0000I-of-0000N.json` beside the
 * part files (the `_` prefix keeps it out of Arrow/Spark dataset reads). It is
 * written after the shard's parts are in place, so its presence marks the
 * shard complete; `arrowshap merge` combines them (`merge.ts`).
 */
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../io/atomic.ts';
import { readText } from '../io/storage/files.ts';
import { joinLocation } from '../io/storage/url.ts';
import { canonical } from '../config/canonical.ts';
import type { ExplanationsJobConfig } from '../config/job.ts';
import { partName, type Shard } from './spec.ts';

/** The summary's format tag (bumped when its fields change meaning). */
export const SUMMARY_FORMAT = 'arrowshap-shard-summary/1';

/** What one shard did, as written to its summary file (JSON; numbers round-trip exactly). */
export interface ShardSummary {
  format: typeof SUMMARY_FORMAT;
  shard: { index: number; count: number; source: string };
  /** {@link configHash} of the job config: every shard and the merge must agree. */
  config_hash: string;
  /** The model explained: resolved URI (alias and version), version number, source, objective. */
  model: { uri: string; version: number | string; source: string; objective: string; features: string[]; outputs: number };
  /** The input share: dataset rows/units, this shard's first row/unit and counts. */
  input: { path: string; total_rows: number; total_units: number; first_row: number; rows: number; first_unit: number; units: number; bytes_read: number };
  /** The explainer as run: algorithm, device, batches, warnings, and the space of the values (`explainer.model_output` and its description). */
  explainer: { algorithm: string; device: string; batches: number; warnings: string[]; model_output: 'raw' | 'probability'; output_space: string };
  /** The part files written (target paths) with their rows. */
  outputs: Record<string, { path: string; rows: number }>;
  /** Running sums for the merge: Σ|SHAP| per feature over the shard's rows and outputs, Σ base value per output. */
  sums: { abs_shap: number[]; base_value: number[] };
  /** The model table without `mean_abs_shap` (the same in every shard of one model): feature, importance, gain, cover, weight. */
  model_table: { feature: string[]; importance: number[]; gain: number[]; cover: number[]; weight: number[] };
  /** When the shard finished (ISO 8601) and how long it ran. */
  finished: string;
  seconds: number;
}

/** The summary file of `shard` in the dataset directory `dir`. */
export function summaryPath(dir: string, shard: Pick<Shard, 'index' | 'count'>): string {
  return joinLocation(dir, '_shards', `${partName(shard)}.json`);
}

/**
 * SHA-256 of the job config that decides the outputs' content: everything but
 * `explainer.shard` (differs per shard), `logger`, `alerts` and
 * `models_explanations` (the merge's business).
 */
export function configHash(config: ExplanationsJobConfig): string {
  const { logger: _logger, alerts: _alerts, models_explanations: _models, ...rest } = config;
  const { shard: _shard, ...explainer } = rest.explainer;
  return createHash('sha256')
    .update(JSON.stringify(canonical({ ...rest, explainer })))
    .digest('hex');
}

/** Writes a summary atomically (local: temp + rename; `s3://`: one upload). */
export async function writeSummary(path: string, summary: ShardSummary): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(summary, null, 1)}\n`);
}

/** Reads and checks a summary. @throws naming the file when it is not one. */
export async function readSummary(path: string): Promise<ShardSummary> {
  const text = await readText(path);
  let value: ShardSummary;
  try {
    value = JSON.parse(text) as ShardSummary;
  } catch (err) {
    throw new Error(`${path}: not a shard summary (${err instanceof Error ? err.message : String(err)})`);
  }
  if (value?.format !== SUMMARY_FORMAT) throw new Error(`${path}: not a shard summary of this version (format ${JSON.stringify(value?.format)}, expected ${SUMMARY_FORMAT})`);
  const finite = (xs: unknown) => Array.isArray(xs) && xs.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!finite(value.sums?.abs_shap) || !finite(value.sums?.base_value)) throw new Error(`${path}: sums.abs_shap/base_value must be arrays of finite numbers`);
  return value;
}
