/**
 * Loading the job config: YAML or JSON text, `--set path.to.key=value`
 * overrides, validation (once) into a typed, path-resolved {@link Config}.
 *
 * Relative paths: every string under a key named `path` (readers, writers, the
 * local registry, the model file of a `FileRegistry`) is a filesystem path.
 * Paths written in a config file resolve against **the directory of that file**
 * (so a config and its data travel together and run from any working
 * directory); paths given with `--set` resolve against the current working
 * directory, like any path typed on a command line. Defaults (the registry's
 * `path: registry`) count as written in the file. After loading, every path is
 * absolute: nothing downstream resolves a path again.
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute as isAbsolutePath, resolve } from 'node:path';
import { isObjectUrl } from '../io/storage/url.ts';

/** A local absolute path or an object storage URL (`s3://…`): neither is resolved against a directory. */
const isAbsolute = (p: string) => isAbsolutePath(p) || isObjectUrl(p);
import YAML from 'yaml';
import { z } from 'zod';
import { validate } from './errors.ts';
import { CompareConfig, CompareJobConfig } from './compare.ts';
import { Config, ExplanationsJobConfig } from './job.ts';
import { findUnsafeKey, UNSAFE_KEYS } from './unsafe_keys.ts';

/** Job configs that came out of {@link parseConfig} / {@link parseJobConfig}: not validated again. */
const validated = new WeakSet<object>();

/**
 * Validates a config object (`{job: …}`), applies defaults and resolves every
 * relative path against `baseDir` (default: the current directory).
 * @throws {ConfigError} with one line per issue.
 */
export function parseConfig(value: unknown, opts: { baseDir?: string; source?: string } = {}): Config {
  const config = resolvePaths(validate(Config, value, { source: opts.source }), opts.baseDir ?? process.cwd());
  validated.add(config.job);
  return config;
}

/**
 * The `job` value validated (issue paths start with `job.`), relative paths
 * resolved against the current directory. A config that already came out of
 * {@link parseConfig} or this function is returned as it is.
 * @throws {ConfigError} with one line per issue.
 */
export function parseJobConfig(value: unknown): ExplanationsJobConfig {
  if (typeof value === 'object' && value !== null && validated.has(value)) return value as ExplanationsJobConfig;
  const job = resolvePaths(validate(ExplanationsJobConfig, value, { prefix: 'job' }), process.cwd());
  validated.add(job);
  return job;
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
 * path relative to `cwd` (made absolute here).
 * @throws when the assignment is malformed or descends into a non-object.
 */
export function applySet(target: Record<string, unknown>, assignment: string, cwd = process.cwd()): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new Error(`--set ${assignment}: expected KEY.PATH=VALUE`);
  const keyPath = assignment.slice(0, eq).trim();
  const raw = assignment.slice(eq + 1);
  const keys = keyPath.split('.');
  if (keys.some((k) => k === '')) throw new Error(`--set ${assignment}: empty key in ${JSON.stringify(keyPath)}`);
  const unsafeKey = keys.find((k) => UNSAFE_KEYS.has(k));
  if (unsafeKey !== undefined) throw new Error(`--set ${keyPath}: the key ${JSON.stringify(unsafeKey)} is not allowed in a config`);
  let value: unknown;
  try {
    value = raw === '' ? '' : YAML.parse(raw);
  } catch (err) {
    throw new Error(`--set ${keyPath}: cannot parse value ${JSON.stringify(raw)}: ${(err as Error).message.split('\n')[0]}`);
  }
  const unsafeValueKey = findUnsafeKey(value, keyPath);
  if (unsafeValueKey !== undefined) throw new Error(`--set ${unsafeValueKey}: this key name is not allowed in a config`);
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
  const raw = await readRawConfig(file, sets);
  return parseConfig(raw, { baseDir: dirname(resolve(file)), source: file });
}

/**
 * Loads a config file of any job kind: an `ExplanationsJob` config as
 * {@link loadConfig}, or a `CompareJob` config (`job.KIND: CompareJob`).
 * @throws {ConfigError} with one line per issue, or an Error naming the file.
 */
export async function loadAnyConfig(file: string, sets: readonly string[] = []): Promise<Config | CompareConfig> {
  const raw = await readRawConfig(file, sets);
  const kind = (raw.job as { KIND?: unknown } | undefined)?.KIND;
  if (kind !== 'CompareJob') return parseConfig(raw, { baseDir: dirname(resolve(file)), source: file });
  return resolvePaths(validate(CompareConfig, raw, { source: file }), dirname(resolve(file)));
}

/** A config file's mapping with the `--set` overrides applied (paths they set made absolute against the cwd). */
async function readRawConfig(file: string, sets: readonly string[]): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `config file not found: ${file}` : `cannot read config ${file}: ${(err as Error).message}`);
  }
  const raw = parseConfigText(text, file) ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`config ${file}: expected a mapping with a \`job\` key`);
  // --set paths are made absolute (against the cwd) as they are set; every other
  // relative path, written in the file or a default, resolves against the file's directory.
  const withSets = raw as Record<string, unknown>;
  for (const s of sets) applySet(withSets, s);
  return withSets;
}

/**
 * The JSON Schema of a config file (`arrowshap run --schema`): `job` is one of the job kinds
 * `arrowshap run` accepts, told apart by `job.KIND` — an `ExplanationsJob` or a `CompareJob`.
 */
export function configJsonSchema(): Record<string, unknown> {
  const AnyConfig = z.object({ job: z.discriminatedUnion('KIND', [ExplanationsJobConfig, CompareJobConfig]) }).strict();
  return z.toJSONSchema(AnyConfig, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
