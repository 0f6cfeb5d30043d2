/**
 * One shard of a sharded explanations run: the same seven steps as
 * {@link ExplanationsJob}, over the shard's row groups only (`plan.ts`), writing
 * `part-0000I-of-0000N.parquet` into the samples (and interactions) dataset
 * directory, then its summary (`_shards/part-0000I-of-0000N.json`: row counts,
 * running sums, model version, config hash). No alert: `arrowshap merge` sends
 * the one alert of the run once every shard is in. A re-run of a shard
 * replaces its own part and summary, atomically, and nothing else.
 *
 * ```ts
 * await new ShardedExplanationsJob({ ...job, explainer: { shard: '2/8' } }).execute();
 * ```
 */
import type * as arrow from 'apache-arrow';
import type { ExplanationsJobConfig, ExplanationsJobConfigInput } from '../config/job.ts';
import { parseJobConfig } from '../config/load.ts';
import type { SamplesSummary } from '../core/explainers.ts';
import { ParquetDatasetReader, parquetLayout } from '../io/datasets/parquet_dataset.ts';
import type { ByteCounter } from '../io/storage/files.ts';
import { joinLocation } from '../io/storage/url.ts';
import { alertFields } from '../jobs/alert_text.ts';
import { ExplanationsJob, type Explained, type Inputs, type Loaded, type Plan } from '../jobs/explanations.ts';
import type { ExplanationsJobOptions } from '../jobs/explanations_types.ts';
import { planShard, type ShardPlan } from './plan.ts';
import { partName, resolveShard, type Shard } from './spec.ts';
import { configHash, summaryPath, writeSummary, SUMMARY_FORMAT, type ShardSummary } from './summary.ts';

/** The dataset directories of a sharded run (the config's output paths). */
export interface ShardDatasets {
  /** `samples_explanations.path`: the directory of the samples parts. */
  samples: string;
  /** `interactions_explanations.path`, with interactions. */
  interactions?: string;
}

/** Checks a config can run sharded. @throws naming the key that cannot. */
export function checkShardable(config: ExplanationsJobConfig): void {
  const problems: string[] = [];
  if (config.inputs_samples.KIND !== 'ParquetReader') problems.push(`job.inputs_samples: shards split Parquet row groups; ${config.inputs_samples.KIND} cannot be sharded`);
  if (config.inputs_samples.limit !== undefined) problems.push('job.inputs_samples.limit cannot be combined with explainer.shard');
  if (config.report) problems.push('job.report cannot be combined with explainer.shard (write the report from a single run)');
  for (const key of ['samples_explanations', 'interactions_explanations'] as const) {
    const out = config[key];
    if (out && out.KIND !== 'ParquetWriter') problems.push(`job.${key}: a sharded run writes a Parquet dataset (ParquetWriter), not ${out.KIND}`);
  }
  if (problems.length) throw new Error(problems.join('; '));
}

/** The dataset directories of a config. */
export function shardDatasets(config: ExplanationsJobConfig): ShardDatasets {
  return { samples: config.samples_explanations.path, interactions: config.interactions_explanations?.path };
}

/** The config one shard runs: outputs are its parts, no model table (the merge writes it). */
function shardConfig(config: ExplanationsJobConfig, shard: Shard): ExplanationsJobConfigInput {
  const part = (dir: string) => joinLocation(dir, `${partName(shard)}.parquet`);
  return {
    ...config,
    models_explanations: undefined,
    samples_explanations: { ...config.samples_explanations, path: part(config.samples_explanations.path) },
    ...(config.interactions_explanations
      ? { interactions_explanations: { ...config.interactions_explanations, path: part(config.interactions_explanations.path) } }
      : {}),
  } as ExplanationsJobConfigInput;
}

/** One shard of a sharded run (see the module doc). */
export class ShardedExplanationsJob extends ExplanationsJob {
  /** The shard this process runs. */
  readonly shard: Shard;
  /** The config as given (dataset directories; `config` holds the part paths). */
  readonly runConfig: ExplanationsJobConfig;
  /** {@link configHash} of {@link runConfig}. */
  readonly configHash: string;
  /** The share of the input, once the footers are read (step 2). */
  share?: ShardPlan;
  /** Bytes read: the footers (all files) plus the shard's row groups. */
  readonly bytesRead: ByteCounter = { bytes: 0, requests: 0 };
  private reader?: ParquetDatasetReader;
  private startedAt = 0;

  constructor(config: ExplanationsJobConfigInput | ExplanationsJobConfig, options: ExplanationsJobOptions = {}) {
    const run = parseJobConfig(config);
    if (run.explainer.shard === undefined) throw new Error('explainer.shard is not set: ShardedExplanationsJob runs one shard (I/N or auto)');
    checkShardable(run);
    const shard = resolveShard(run.explainer.shard);
    super(shardConfig(run, shard), options);
    this.shard = shard;
    this.runConfig = run;
    this.configHash = configHash(run);
  }

  /** Reads every file's footer, picks the shard's row groups, then opens them as step 2 does. */
  protected async readInputs(plan: Plan): Promise<Inputs> {
    this.startedAt = performance.now();
    const path = this.runConfig.inputs_samples.path;
    const layout = await parquetLayout(path, this.bytesRead);
    const share = planShard(layout, this.shard);
    this.share = share;
    this.reader = new ParquetDatasetReader({ path, parts: share.parts, rows: share.rows });
    this.logger.info(
      `shard ${this.shard.index}/${this.shard.count} (${this.shard.source}): row groups ${share.firstUnit}..${share.firstUnit + share.units - 1} ` +
        `of ${share.totalUnits}, rows ${share.firstRow}..${share.firstRow + share.rows - 1} of ${share.totalRows}`,
    );
    // the run goes on with this plan (step 5 numbers the rows from firstRow)
    plan.inputs = this.reader;
    plan.firstRow = share.firstRow;
    return super.readInputs(plan);
  }

  /** Commits the parts (step 6), then writes the shard's summary. */
  protected async write(modelTable: arrow.Table, explained: Explained, loaded: Loaded) {
    const result = await super.write(modelTable, explained, loaded);
    const summary = this.summary(modelTable, explained, loaded, result.written);
    const path = summaryPath(this.runConfig.samples_explanations.path, this.shard);
    await writeSummary(path, summary);
    result.written.summary = path;
    return result;
  }

  /** No alert from a shard: the merge sends the run's one alert. */
  protected async notify(modelUri: string, samples: SamplesSummary, modelsExplanations: arrow.Table, seconds: number) {
    this.logger.info(`[7/7] shard ${this.shard.index}/${this.shard.count} done; the alert is sent by \`arrowshap merge\` once every shard is in`);
    return { fields: alertFields(modelUri, samples, modelsExplanations, seconds), sent: false };
  }

  private summary(modelTable: arrow.Table, explained: Explained, loaded: Loaded, written: Record<string, string>): ShardSummary {
    const share = this.share!;
    const s = explained.samples;
    const column = (name: string) => Array.from(modelTable.getChild(name)!.toArray() as Float64Array);
    const outputs: ShardSummary['outputs'] = { samples_explanations: { path: written.samples_explanations, rows: explained.rows.samples } };
    if (written.interactions_explanations) outputs.interactions_explanations = { path: written.interactions_explanations, rows: explained.rows.interactions ?? 0 };
    if (explained.rows.inputs !== share.rows) {
      throw new Error(`shard ${this.shard.index}/${this.shard.count} read ${explained.rows.inputs} rows, its row groups hold ${share.rows}`);
    }
    return {
      format: SUMMARY_FORMAT,
      shard: { index: this.shard.index, count: this.shard.count, source: this.shard.source },
      config_hash: this.configHash,
      model: {
        uri: loaded.modelUri,
        version: loaded.modelVersion.version,
        source: loaded.model.source,
        objective: loaded.model.objective,
        features: [...loaded.model.featureNames],
        outputs: loaded.model.numOutputs,
      },
      input: {
        path: this.runConfig.inputs_samples.path,
        total_rows: share.totalRows,
        total_units: share.totalUnits,
        first_row: share.firstRow,
        rows: share.rows,
        first_unit: share.firstUnit,
        units: share.units,
        bytes_read: this.bytesRead.bytes + this.reader!.bytesRead.bytes,
      },
      explainer: { algorithm: s.algorithm, device: s.device, batches: s.batches, warnings: s.warnings, model_output: s.modelOutput, output_space: s.outputSpace },
      outputs,
      sums: { abs_shap: Array.from(s.sumAbsShap), base_value: Array.from(s.sumBaseValue) },
      model_table: {
        feature: Array.from(modelTable.getChild('feature')!.toArray() as string[]),
        importance: column('importance'),
        gain: column('gain'),
        cover: column('cover'),
        weight: column('weight'),
      },
      finished: new Date().toISOString(),
      seconds: (performance.now() - this.startedAt) / 1000,
    };
  }
}
