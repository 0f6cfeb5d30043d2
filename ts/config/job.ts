/**
 * The job config schema: `{job: ExplanationsJobConfig}`, composed from the
 * `ts/io` config unions (each family's schema lives beside its classes), strict
 * (unknown keys are errors). Loading, `--set` overrides and path resolution are
 * in `load.ts`; messages in `errors.ts`.
 */
import { z } from 'zod';
import { DEFAULT_BATCH_ROWS } from '../core/batches.ts';
import { ALGORITHMS, DEVICES, MODEL_OUTPUTS, VALUES } from '../core/explainers.ts';
import { ReaderConfig } from '../io/datasets/reader.ts';
import { WriterConfig } from '../io/datasets/writer.ts';
import { LoaderConfig } from '../io/registries/loaders.ts';
import { RegistryConfig } from '../io/registries/registry.ts';
import { AlertsConfig } from '../io/services/alerts.ts';
import { LoggerConfig } from '../io/services/logger.ts';
import { ReportConfig } from '../report/config.ts';
import { StorageConfig } from '../io/storage/config.ts';
import { ShardConfig } from '../shard/spec.ts';

/** The default registry: `registry/` beside the config file, model name `model`. */
export const DEFAULT_REGISTRY = { KIND: 'LocalRegistry', path: 'registry', name: 'model' } as const;

/** `job.explainer`: how samples are explained. */
export const ExplainerConfig = z
  .object({
    /** `auto` (= tree-path-dependent), tree-path-dependent, tree-interventional, kernel (KernelSHAP). */
    algorithm: z.enum(ALGORITHMS).default('auto'),
    /** Background sample, required by tree-interventional and kernel. */
    background: ReaderConfig.optional(),
    /** Coalitions sampled per row by kernel (default shap's 2M + 2048; exact at 2^M − 2 or more). */
    nsamples: z.number().int().positive().optional(),
    /** Also write interaction values (needs `interactions_explanations`; tree-path-dependent or tree-interventional). */
    interactions: z.boolean().default(false),
    /** `shapley` (default) or `banzhaf` (tree-interventional only; Banzhaf values do not add up to the prediction). */
    values: z.enum(VALUES).default('shapley'),
    /**
     * `raw` (default: the model margin) or `probability` (tree-interventional only: shap's
     * `model_output="probability"`, values that add up to the predicted probability).
     */
    model_output: z.enum(MODEL_OUTPUTS).default('raw'),
    /** `auto` (= cpu), cpu, gpu (an error in builds without a GPU backend). */
    device: z.enum(DEVICES).default('auto'),
    /** Native worker threads; 0 = all cores. */
    threads: z.number().int().nonnegative().default(0),
    /** Rows per native call: bounds memory for large inputs. */
    batch_rows: z.number().int().positive().default(DEFAULT_BATCH_ROWS),
    /** Carry this input column instead of `row` in the samples tables. */
    id_column: z.string().min(1).optional(),
    /** Add each feature's value beside its SHAP value: `input.<feature>` float64 columns after `base_value`. */
    include_inputs: z.boolean().default(false),
    /**
     * scikit-learn pipelines: also write one `raw.<column>` column per raw input column, the sum of the
     * SHAP values of the features computed from it (e.g. its one-hot columns).
     */
    raw_columns: z.boolean().default(false),
    /** Run one shard of a sharded run: `I/N` (0-based), or `auto` from the scheduler's environment (`ts/shard/spec.ts`). */
    shard: ShardConfig.optional(),
  })
  .strict();
/**
 * Adds an issue at `explainer.model_output` when `probability` is combined with what it does not
 * support: another algorithm than tree-interventional, Banzhaf values, interactions.
 */
export function checkModelOutputKey(explainer: z.output<typeof ExplainerConfig>, ctx: z.RefinementCtx): void {
  const { model_output, algorithm, values, interactions } = explainer;
  if (model_output !== 'probability') return;
  const why =
    algorithm !== 'tree-interventional'
      ? `needs algorithm tree-interventional (shap's per-background-row rescaling), not ${algorithm}`
      : values !== 'shapley'
        ? 'needs values shapley (Banzhaf values do not add up)'
        : interactions
          ? 'is not available with interactions'
          : undefined;
  if (why) ctx.addIssue({ code: 'custom', path: ['explainer', 'model_output'], message: `"probability" ${why}` });
}

/** `job.explainer` as written. */
export type ExplainerConfigInput = z.input<typeof ExplainerConfig>;
/** `job.explainer` with defaults. */
export type ExplainerConfig = z.output<typeof ExplainerConfig>;

/** `job`: the explanations job. */
export const ExplanationsJobConfig = z
  .object({
    KIND: z.literal('ExplanationsJob'),
    /** The samples to explain. */
    inputs_samples: ReaderConfig,
    /** Where the model explanations table goes (omit to skip it, as `arrowshap explain` without `--model-out`). */
    models_explanations: WriterConfig.optional(),
    /** Where the samples explanations table goes. */
    samples_explanations: WriterConfig,
    /** Where the interaction values table goes (with `explainer.interactions`). */
    interactions_explanations: WriterConfig.optional(),
    /** Registry alias (string) or version (integer). */
    alias_or_version: z.union([z.string().min(1), z.number().int().nonnegative()]).default('Champion'),
    /** How a registered model is loaded. */
    loader: LoaderConfig.default({ KIND: 'CustomLoader' }),
    /** Where the model comes from. */
    registry: RegistryConfig.default({ ...DEFAULT_REGISTRY }),
    /** How samples are explained. */
    explainer: ExplainerConfig.default(ExplainerConfig.parse({})),
    /** An HTML report of the run (`{KIND: HtmlReport, path}`), written with the tables. */
    report: ReportConfig.optional(),
    /** Who is told when the job finishes. */
    alerts: AlertsConfig.default({ KIND: 'ConsoleAlerts' }),
    /** Logging. */
    logger: LoggerConfig.default(LoggerConfig.parse({})),
    /** Object storage client settings for `s3://` paths (endpoint, region; credentials come from the standard chain). */
    storage: StorageConfig.optional(),
  })
  .strict()
  .superRefine((job, ctx) => {
    if (job.explainer.interactions && !job.interactions_explanations) {
      ctx.addIssue({
        code: 'custom',
        path: ['interactions_explanations'],
        message: 'required when explainer.interactions is true',
      });
    }
    checkModelOutputKey(job.explainer, ctx);
  });
/** `job` as written. */
export type ExplanationsJobConfigInput = z.input<typeof ExplanationsJobConfig>;
/** `job` with defaults applied. */
export type ExplanationsJobConfig = z.output<typeof ExplanationsJobConfig>;

/** The whole config file: `{job: …}`. */
export const Config = z.object({ job: ExplanationsJobConfig }).strict();
/** The config file as written. */
export type ConfigInput = z.input<typeof Config>;
/** The config with defaults applied. */
export type Config = z.output<typeof Config>;
