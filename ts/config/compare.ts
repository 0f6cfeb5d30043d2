/**
 * The compare job config: `{job: CompareJobConfig}` — two model versions
 * (`champion`, `challenger`) explained on the same samples, and the explanation
 * drift between them (see `ts/jobs/compare.ts`).
 *
 * ```yaml
 * job:
 *   KIND: CompareJob
 *   inputs_samples: {KIND: ParquetReader, path: data/inputs.parquet}
 *   registry: {KIND: LocalRegistry, path: registry, name: bikes}
 *   champion: Champion                 # alias or version, or {alias_or_version, registry?, label?}
 *   challenger: Challenger
 *   drift_explanations: {KIND: ParquetWriter, path: outputs/drift.parquet}
 *   report: {KIND: HtmlReport, path: outputs/drift.html}
 *   thresholds: {share_shift: 0.05, js_divergence: 0.1}
 * ```
 */
import { z } from 'zod';
import { ReaderConfig } from '../io/datasets/reader.ts';
import { WriterConfig } from '../io/datasets/writer.ts';
import { LoaderConfig } from '../io/registries/loaders.ts';
import { RegistryConfig } from '../io/registries/registry.ts';
import { AlertsConfig } from '../io/services/alerts.ts';
import { LoggerConfig } from '../io/services/logger.ts';
import { DEFAULT_DRIFT_SAMPLE_ROWS, DEFAULT_DRIFT_THRESHOLDS } from '../report/drift.ts';
import { checkModelOutputKey, DEFAULT_REGISTRY, ExplainerConfig } from './job.ts';

const AliasOrVersion = z.union([z.string().min(1), z.number().int().nonnegative()]);

/** One side of the comparison: an alias or version of `job.registry`, or a version of its own registry. */
export const ModelRefConfig = z.union([
  AliasOrVersion,
  z
    .object({
      /** Alias or version in the registry. */
      alias_or_version: AliasOrVersion,
      /** Its registry (default: `job.registry`). */
      registry: RegistryConfig.optional(),
      /** Its name in tables, reports and alerts (default: the alias or `v<version>`). */
      label: z.string().min(1).optional(),
    })
    .strict(),
]);
/** One side of the comparison. */
export type ModelRefConfig = z.output<typeof ModelRefConfig>;

/** `job.report` of a compare job: the drift report page. */
export const CompareReportConfig = z
  .object({
    KIND: z.literal('HtmlReport'),
    /** The HTML file written. */
    path: z.string().min(1),
    /** Rows kept (the same rows under both models) for the beeswarms. */
    sample_rows: z.number().int().positive().default(500),
    /** Features in the charts. */
    max_display: z.number().int().positive().default(10),
    /** Seed of the sample. */
    seed: z.number().int().nonnegative().default(0),
    /** Page title (default `Explanation drift: <champion> vs <challenger>`). */
    title: z.string().min(1).optional(),
  })
  .strict();

/** `job.thresholds`: when a feature's drift is alerted (any one suffices). */
export const DriftThresholdsConfig = z
  .object({
    /** |share of mean |SHAP| under challenger − under champion| at or above this. */
    share_shift: z.number().nonnegative().default(DEFAULT_DRIFT_THRESHOLDS.shareShift),
    /** |rank shift| at or above this, for features in either model's top `top_ranks`. */
    rank_shift: z.number().int().positive().default(DEFAULT_DRIFT_THRESHOLDS.rankShift),
    /** Ranks considered by `rank_shift`. */
    top_ranks: z.number().int().positive().default(DEFAULT_DRIFT_THRESHOLDS.topRanks),
    /** Jensen–Shannon divergence (0–1) at or above this. */
    js_divergence: z.number().min(0).max(1).default(DEFAULT_DRIFT_THRESHOLDS.jsDivergence),
    /** Share of rows whose SHAP value changes sign, at or above this. */
    sign_flip_share: z.number().min(0).max(1).default(DEFAULT_DRIFT_THRESHOLDS.signFlipShare),
    /** Rows (reservoir sample) the divergence is computed on. */
    divergence_rows: z.number().int().positive().default(DEFAULT_DRIFT_SAMPLE_ROWS),
  })
  .strict();

/** `job` of kind `CompareJob`. */
export const CompareJobConfig = z
  .object({
    KIND: z.literal('CompareJob'),
    /** The samples both versions explain. */
    inputs_samples: ReaderConfig,
    /** The version compared against (A). */
    champion: ModelRefConfig.default('Champion'),
    /** The candidate version (B). */
    challenger: ModelRefConfig.default('Challenger'),
    /** The registry of both (unless a side names its own). */
    registry: RegistryConfig.default({ ...DEFAULT_REGISTRY }),
    /** How a registered model is loaded. */
    loader: LoaderConfig.default({ KIND: 'CustomLoader' }),
    /** How samples are explained (the same for both; no interactions). */
    explainer: ExplainerConfig.default(ExplainerConfig.parse({})),
    /** Where the per-feature drift table goes. */
    drift_explanations: WriterConfig,
    /** The drift report page. */
    report: CompareReportConfig.optional(),
    /** Alert thresholds. */
    thresholds: DriftThresholdsConfig.default(DriftThresholdsConfig.parse({})),
    /** Who is told (a drift alert when a threshold is passed). */
    alerts: AlertsConfig.default({ KIND: 'ConsoleAlerts' }),
    /** Logging. */
    logger: LoggerConfig.default(LoggerConfig.parse({})),
  })
  .strict()
  .superRefine((job, ctx) => {
    if (job.explainer.interactions) ctx.addIssue({ code: 'custom', path: ['explainer', 'interactions'], message: 'not available in a CompareJob' });
    if (job.explainer.include_inputs) ctx.addIssue({ code: 'custom', path: ['explainer', 'include_inputs'], message: 'not available in a CompareJob' });
    if (job.explainer.raw_columns) ctx.addIssue({ code: 'custom', path: ['explainer', 'raw_columns'], message: 'not available in a CompareJob' });
    checkModelOutputKey(job.explainer, ctx);
  });
/** `job` (CompareJob) as written. */
export type CompareJobConfigInput = z.input<typeof CompareJobConfig>;
/** `job` (CompareJob) with defaults. */
export type CompareJobConfig = z.output<typeof CompareJobConfig>;

/** A compare config file: `{job: CompareJobConfig}`. */
export const CompareConfig = z.object({ job: CompareJobConfig }).strict();
/** A compare config with defaults applied. */
export type CompareConfig = z.output<typeof CompareConfig>;
