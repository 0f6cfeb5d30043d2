/**
 * The job config: `{job: ExplanationsJobConfig}`, composed from the `ts/io`
 * config unions, validated strictly (unknown keys are errors), loaded from
 * YAML or JSON with `--set path.to.key=value` overrides.
 *
 * Relative paths: every string under a key named `path` (readers, writers, the
 * local registry, the model file of a `FileRegistry`) is a filesystem path.
 * Paths written in a config file resolve against **the directory of that file**
 * (so a config and its data travel together and run from any working
 * directory); paths given with `--set` resolve against the current working
 * directory, like any path typed on a command line. Defaults (the registry's
 * `path: registry`) count as written in the file.
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { ALGORITHMS, DEFAULT_BATCH_ROWS, DEVICES } from './core/explainers.ts';
import { ReaderConfig } from './io/datasets/reader.ts';
import { WriterConfig } from './io/datasets/writer.ts';
import { LoaderConfig } from './io/registries/loaders.ts';
import { RegistryConfig as IoRegistryConfig } from './io/registries/registry.ts';
import { AlertsConfig } from './io/services/alerts.ts';
import { LoggerConfig } from './io/services/logger.ts';

/**
 * A model file used directly, without a registry (what `arrowshap explain
 * --model FILE` uses): `{KIND: FileRegistry, path: model.ubj}`. It resolves
 * any alias or version to that file.
 */
export const FileRegistryConfig = z
  .object({
    KIND: z.literal('FileRegistry'),
    /** The model file (XGBoost JSON/UBJ, LightGBM text). */
    path: z.string().min(1),
    /** Model name in logs and alerts (default: the file name). */
    name: z.string().min(1).optional(),
  })
  .strict();
/** A model file used directly, without a registry. */
export type FileRegistryConfig = z.infer<typeof FileRegistryConfig>;

/** Any registry config: the io registries plus {@link FileRegistryConfig}. */
export const RegistryConfig = z.discriminatedUnion('KIND', [...IoRegistryConfig.options, FileRegistryConfig]);
/** Any registry config. */
export type RegistryConfig = z.input<typeof RegistryConfig>;

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
    /** Also write SHAP interaction values (needs `interactions_explanations`). */
    interactions: z.boolean().default(false),
    /** `auto` (= cpu), cpu, gpu (an error in builds without a GPU backend). */
    device: z.enum(DEVICES).default('auto'),
    /** Native worker threads; 0 = all cores. */
    threads: z.number().int().nonnegative().default(0),
    /** Rows per native call: bounds memory for large inputs. */
    batch_rows: z.number().int().positive().default(DEFAULT_BATCH_ROWS),
    /** Carry this input column instead of `row` in the samples tables. */
    id_column: z.string().min(1).optional(),
  })
  .strict();
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
    /** Who is told when the job finishes. */
    alerts: AlertsConfig.default({ KIND: 'ConsoleAlerts' }),
    /** Logging. */
    logger: LoggerConfig.default(LoggerConfig.parse({})),
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

/** An invalid config: `message` has one line per issue, each starting with its key path. */
export class ConfigError extends Error {
  /** One entry per issue (`job.inputs_samples.limit: expected integer, received string`). */
  readonly lines: string[];
  constructor(lines: string[], source?: string) {
    super(`${source ? `invalid config ${source}` : 'invalid config'}:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.lines = lines;
  }
}

/** `a.b.c`, with `[i]` for array indices. */
function joinPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out || '(root)';
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return kindOf(value);
}

/* eslint-disable @typescript-eslint/no-explicit-any */
/** Per-parse zod error map: short messages (`expected integer, received string`). */
function errorMap(iss: any): string | undefined {
  const input = iss.input;
  switch (iss.code) {
    case 'invalid_type': {
      const expected = iss.expected === 'int' || iss.inst?.isInt ? 'integer' : String(iss.expected);
      if (input === undefined) return `required (expected ${expected})`;
      return `expected ${expected}, received ${typeof input === 'number' ? String(input) : kindOf(input)}`;
    }
    case 'invalid_union': {
      if (iss.discriminator) {
        const options = (iss.options ?? []).map(String).join(' | ');
        if (input === undefined) return `required (expected one of ${options})`;
        if (input === null || typeof input !== 'object' || Array.isArray(input)) {
          return `expected a mapping with ${iss.discriminator}: ${options}, received ${shown(input)}`;
        }
        const kind = (input as Record<string, unknown>)[iss.discriminator];
        return kind === undefined ? `required (expected one of ${options})` : `expected one of ${options}, received ${shown(kind)}`;
      }
      const alternatives = (iss.errors ?? [])
        .map((errs: any[]) => errs[0])
        .filter((e: any) => e?.code === 'invalid_type')
        .map((e: any) => (e.expected === 'int' || e.expected === 'number' ? 'integer' : String(e.expected)));
      if (alternatives.length > 0) return `expected ${[...new Set(alternatives)].join(' or ')}, received ${shown(input)}`;
      return undefined;
    }
    case 'invalid_value': {
      const values = (iss.values ?? []).map((v: unknown) => JSON.stringify(v)).join(' | ');
      return `expected ${(iss.values ?? []).length === 1 ? values : `one of ${values}`}, received ${shown(input)}`;
    }
    case 'too_small':
    case 'too_big': {
      const op = iss.code === 'too_small' ? (iss.inclusive ? '>=' : '>') : iss.inclusive ? '<=' : '<';
      const bound = iss.code === 'too_small' ? iss.minimum : iss.maximum;
      if (iss.origin === 'string') return `expected a string of length ${op} ${bound}, received ${shown(input)}`;
      if (iss.origin === 'number') return `expected a number ${op} ${bound}, received ${shown(input)}`;
      return undefined;
    }
    case 'invalid_format':
      return `expected ${iss.format === 'url' ? 'a URL' : `a ${iss.format}`}, received ${shown(input)}`;
    case 'unrecognized_keys': {
      const shape = iss.inst?._zod?.def?.shape ?? iss.inst?.shape;
      return shape ? `allowed keys: ${Object.keys(shape).join(', ')}` : '';
    }
    default:
      return undefined;
  }
}

/** One line per zod issue, each starting with the key path at fault. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const allowed = issue.message.startsWith('allowed keys: ') ? ` (${issue.message})` : '';
        lines.push(`${joinPath([...issue.path, key])}: unknown key${allowed}`);
      }
    } else {
      lines.push(`${joinPath(issue.path)}: ${issue.message.replace(/^Invalid input: /, '')}`);
    }
  }
  return lines;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * Validates a config object (`{job: …}`) and applies defaults. Relative paths
 * resolve against `baseDir` (default: the current directory).
 * @throws {ConfigError} with one line per issue.
 */
export function parseConfig(value: unknown, opts: { baseDir?: string; source?: string } = {}): Config {
  const result = Config.safeParse(value, { error: errorMap });
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues), opts.source);
  return resolvePaths(result.data, opts.baseDir ?? process.cwd());
}

/**
 * Validates the `job` value alone (as `ExplanationsJob` does); issue paths start with `job.`.
 * Paths are left as given (relative ones are relative to the current directory).
 * @throws {ConfigError} with one line per issue.
 */
export function parseJobConfig(value: unknown): ExplanationsJobConfig {
  const result = ExplanationsJobConfig.safeParse(value, { error: errorMap });
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues).map((l) => `job.${l}`));
  return result.data;
}

/** A copy of `value` with every relative string under a `path` key resolved against `baseDir`. */
export function resolvePaths<T>(value: T, baseDir: string): T {
  if (Array.isArray(value)) return value.map((v) => resolvePaths(v, baseDir)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === 'path' && typeof v === 'string' && !isAbsolute(v) ? resolve(baseDir, v) : resolvePaths(v, baseDir);
  }
  return out as T;
}

/**
 * Applies one `a.b.c=value` override to a raw config object (in place). The
 * value is parsed as a YAML scalar or flow collection (`3` → 3, `true` → true,
 * `{KIND: CsvReader}` → object, `"3"` → "3"). A value set on a `path` key is a
 * path relative to the current directory.
 * @throws when the assignment is malformed or descends into a non-object.
 */
export function applySet(target: Record<string, unknown>, assignment: string, cwd = process.cwd()): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new Error(`--set ${assignment}: expected KEY.PATH=VALUE`);
  const keyPath = assignment.slice(0, eq).trim();
  const raw = assignment.slice(eq + 1);
  const keys = keyPath.split('.');
  if (keys.some((k) => k === '')) throw new Error(`--set ${assignment}: empty key in ${JSON.stringify(keyPath)}`);
  let value: unknown;
  try {
    value = raw === '' ? '' : YAML.parse(raw);
  } catch (err) {
    throw new Error(`--set ${keyPath}: cannot parse value ${JSON.stringify(raw)}: ${(err as Error).message.split('\n')[0]}`);
  }
  const last = keys[keys.length - 1];
  if (last === 'path' && typeof value === 'string') value = isAbsolute(value) ? value : resolve(cwd, value);
  else value = resolvePaths(value, cwd);
  let node: Record<string, unknown> = target;
  for (let i = 0; i < keys.length - 1; i++) {
    const next = node[keys[i]];
    if (next === undefined || next === null) {
      node[keys[i]] = {};
    } else if (typeof next !== 'object' || Array.isArray(next)) {
      throw new Error(`--set ${keyPath}: ${keys.slice(0, i + 1).join('.')} is not a mapping`);
    }
    node = node[keys[i]] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

/** Parses config text as YAML or JSON (by the file's extension; YAML otherwise). */
export function parseConfigText(text: string, file: string): unknown {
  const ext = extname(file).toLowerCase();
  try {
    if (ext === '.json') return JSON.parse(text);
    return YAML.parse(text);
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    throw new Error(`cannot parse config ${file} as ${ext === '.json' ? 'JSON' : 'YAML'}: ${first}`);
  }
}

/**
 * Loads a config file (YAML, or JSON for `.json`), applies `--set` overrides,
 * validates it and resolves paths (file paths against the file's directory,
 * `--set` paths against the current directory).
 * @throws {ConfigError} with one line per issue, or an Error naming the file.
 */
export async function loadConfig(file: string, sets: readonly string[] = []): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `config file not found: ${file}` : `cannot read config ${file}: ${(err as Error).message}`);
  }
  const raw = parseConfigText(text, file) ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`config ${file}: expected a mapping with a \`job\` key`);
  const cwd = process.cwd();
  const baseDir = dirname(resolve(file));
  // Paths from the file (and defaults) resolve against baseDir; --set paths are made absolute here.
  const withFilePaths = resolvePaths(raw as Record<string, unknown>, baseDir);
  for (const s of sets) applySet(withFilePaths, s, cwd);
  return parseConfig(withFilePaths, { baseDir, source: file });
}

/** The JSON Schema of the config file (`arrowshap run --schema`). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(Config, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
