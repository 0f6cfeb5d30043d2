/**
 * `MlflowRegistry` over MLflow's file store: the `mlruns` folder MLflow writes when no
 * server runs (`mlflow.set_tracking_uri("file:///…/mlruns")`, or the default `./mlruns`
 * of MLflow < 3), read directly — no server, no download, no cache.
 *
 * ```yaml
 * registry: {KIND: MlflowRegistry, path: mlruns, name: bikes}        # relative to the config file
 * registry: {KIND: MlflowRegistry, uri: file:///home/me/project/mlruns, name: bikes}
 * ```
 * (`MLFLOW_TRACKING_URI=file:///…/mlruns` works too, as for MLflow itself.)
 *
 * Layout read (MLflow 2.x and 3.x):
 * ```
 * <mlruns>/models/<name>/
 *   meta.yaml                  name, aliases {Champion: '2'} (MLflow 3)
 *   aliases/<alias>            the version number (MLflow 2.9+ and 3)
 *   version-<N>/meta.yaml      version, status, source, run_id, model_id?, storage_location?
 * <mlruns>/<experiment>/models/m-<id>/artifacts/      a logged model (MLflow 3)
 * <mlruns>/<experiment>/<run_id>/artifacts/<path>/    a run's artifacts (MLflow 2: runs:/<run_id>/<path>)
 * ```
 * A version's files are where `storage_location` (else `source`) points; when the folder
 * was moved since MLflow wrote those absolute paths, they are found again under this
 * `mlruns` by the logged model's id or the run id. Versions are read, never written.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { ModelVersion, Registry } from './registry.ts';
import { isMissing, listFiles } from './model_files.ts';
import { mlmodelFlavor } from './mlflow_flavor.ts';
import { aliasUri, LATEST, versionRef, versionUri } from './uri.ts';

/** Whether an MLflow tracking URI names a file store (`file:…`) rather than a server. */
export function isFileStoreUri(uri: string | undefined): uri is string {
  return uri !== undefined && /^file:/i.test(uri);
}

/** The local folder of a `file:` URI: `file:///abs/mlruns`, `file:/abs/mlruns`, or `file:relative/mlruns` (against the current directory). */
export function fileStorePath(uri: string): string {
  if (/^file:\/\//i.test(uri)) return fileURLToPath(uri);
  return resolvePath(decodeURIComponent(uri.slice('file:'.length)));
}

/** What MLflow writes in `version-<N>/meta.yaml` (the fields read here). */
interface VersionMeta {
  version?: number | string;
  status?: string;
  status_message?: string | null;
  source?: string;
  storage_location?: string | null;
  run_id?: string | null;
  model_id?: string | null;
  description?: string | null;
  creation_timestamp?: number;
}

/** One registered model of an MLflow file store (see the module doc). */
export class MlflowFileStore implements Registry {
  /** Registered model name. */
  readonly name: string;
  /** The `mlruns` folder. */
  readonly root: string;

  /** @param config `root`: the `mlruns` folder (a `file:` URI becomes one with {@link fileStorePath}). */
  constructor(config: { root: string; name: string }) {
    this.name = config.name;
    this.root = resolvePath(config.root);
    if (this.name.includes('/') || this.name.includes('\\') || this.name === '.' || this.name === '..') {
      throw new Error(`MLflow file store ${this.root}: \`${this.name}\` is not a registered model name`);
    }
  }

  describe(): string {
    return `MlflowRegistry(file store ${this.root}, ${this.name})`;
  }

  /** The model's folder `<mlruns>/models/<name>`. */
  private get modelDir(): string {
    return join(this.root, 'models', this.name);
  }

  /**
   * Resolves an alias, a version number, `latest` or a `models:/` URI of this model.
   * @throws listing the aliases and versions (or the store's models) when nothing matches.
   */
  async resolve(aliasOrVersion: string | number): Promise<ModelVersion> {
    const ref = versionRef(aliasOrVersion, this.name);
    await this.checkStore();
    if (typeof ref === 'number') return this.version(ref);
    if (ref === LATEST) {
      const versions = await this.versionNumbers();
      if (versions.length === 0) throw new Error(await this.notFound('latest version'));
      return this.version(versions[versions.length - 1]);
    }
    const aliases = await this.aliases();
    const version = aliases.get(ref);
    if (version === undefined) throw new Error(await this.notFound(`alias \`${ref}\``));
    return { ...(await this.version(version)), aliasUri: aliasUri(this.name, ref) };
  }

  /** A clear error when the folder is not an MLflow file store, or lacks the model. */
  private async checkStore(): Promise<void> {
    const isDir = (p: string) => stat(p).then((s) => s.isDirectory(), () => false);
    if (!(await isDir(this.root))) throw new Error(`MLflow file store ${this.root}: no such folder`);
    if (!(await isDir(this.modelDir))) throw new Error(await this.notFound(''));
  }

  /** alias → version, from `aliases/<alias>` files and `meta.yaml`'s `aliases`. */
  private async aliases(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const meta = (await this.readYaml(join(this.modelDir, 'meta.yaml'))) as { aliases?: Record<string, unknown> } | undefined;
    for (const [alias, v] of Object.entries(meta?.aliases ?? {})) {
      const n = Number(v);
      if (Number.isSafeInteger(n)) out.set(alias, n);
    }
    for (const alias of await readdir(join(this.modelDir, 'aliases')).catch(() => [] as string[])) {
      const n = Number((await readFile(join(this.modelDir, 'aliases', alias), 'utf8').catch(() => '')).trim());
      if (Number.isSafeInteger(n) && n > 0) out.set(alias, n);
    }
    return out;
  }

  /** The model's version numbers, ascending. */
  private async versionNumbers(): Promise<number[]> {
    const entries = await readdir(this.modelDir).catch(() => [] as string[]);
    return entries
      .map((e) => /^version-([0-9]+)$/.exec(e))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  private async readYaml(path: string): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      return parseYaml(text);
    } catch (err) {
      throw new Error(`MLflow file store: ${path} is not valid YAML: ${(err as Error).message}`);
    }
  }

  /** One version: its meta and its files where MLflow stored them. */
  private async version(version: number): Promise<ModelVersion> {
    const metaPath = join(this.modelDir, `version-${version}`, 'meta.yaml');
    const meta = (await this.readYaml(metaPath)) as VersionMeta | undefined;
    if (!meta || typeof meta !== 'object') throw new Error(await this.notFound(`version ${version}`));
    if (meta.status && meta.status !== 'READY') {
      throw new Error(
        `${versionUri(this.name, version)} in MLflow file store ${this.root} is ${meta.status}` +
          `${meta.status_message ? `: ${meta.status_message}` : ''}; only READY versions can be loaded`,
      );
    }
    const dir = await this.artifactDir(meta, metaPath);
    const files = await listFiles(dir);
    if (files.length === 0) throw new Error(`${versionUri(this.name, version)}: no files in ${dir} (${metaPath})`);
    const flavor = await mlmodelFlavor(dir, files);
    return {
      name: this.name,
      version,
      uri: versionUri(this.name, version),
      dir,
      files,
      ...(flavor !== undefined ? { flavor } : {}),
      ...(meta.description ? { description: meta.description } : {}),
      ...(typeof meta.creation_timestamp === 'number' ? { created: new Date(meta.creation_timestamp).toISOString() } : {}),
    };
  }

  /** The folder holding a version's files: its recorded location if present, else found again under this store. */
  private async artifactDir(meta: VersionMeta, metaPath: string): Promise<string> {
    const isDir = (p: string) => stat(p).then((s) => s.isDirectory(), () => false);
    for (const location of [meta.storage_location, meta.source]) {
      if (typeof location !== 'string') continue;
      const dir = isFileStoreUri(location) ? fileStorePath(location) : isAbsolute(location) ? location : undefined;
      if (dir !== undefined && (await isDir(dir))) return dir;
    }
    // A moved mlruns folder (or a runs:/ / models:/ source): the same ids under this root.
    const modelId = meta.model_id ?? /^models:\/(m-[0-9a-f]+)\/?$/i.exec(meta.source ?? '')?.[1];
    const run = /^runs:\/([^/]+)\/(.*)$/.exec(meta.source ?? '');
    const runId = run?.[1] ?? meta.run_id ?? undefined;
    const inRun = run?.[2] ?? [meta.storage_location, meta.source].map((l) => (typeof l === 'string' && runId ? l.split(`/${runId}/artifacts/`)[1] : undefined)).find((p) => p !== undefined);
    for (const experiment of await readdir(this.root).catch(() => [] as string[])) {
      if (experiment === 'models' || experiment.startsWith('.')) continue;
      const found = [
        ...(modelId ? [join(this.root, experiment, 'models', modelId, 'artifacts')] : []),
        ...(runId && inRun !== undefined ? [join(this.root, experiment, runId, 'artifacts', inRun)] : []),
      ];
      for (const dir of found) {
        const inside = relative(this.root, dir);
        if (!inside.startsWith('..') && !isAbsolute(inside) && (await isDir(dir))) return dir;
      }
    }
    const where = meta.storage_location ?? meta.source ?? '(no storage_location or source)';
    throw new Error(`${metaPath}: the version's files are not at ${where}, nor under ${this.root} by its model or run id`);
  }

  /** `WHAT not found for model `NAME` in MLflow file store ROOT; aliases: …; versions: …`, or the store's models. */
  private async notFound(what: string): Promise<string> {
    const where = `MLflow file store ${this.root}`;
    const exists = await stat(this.modelDir).then((s) => s.isDirectory(), () => false);
    if (!exists) {
      const models = (await readdir(join(this.root, 'models')).catch(() => [] as string[])).filter((m) => !m.startsWith('.')).sort();
      return `model \`${this.name}\` not found in ${where}; registered models: ${models.length ? models.join(', ') : '(none)'}`;
    }
    const aliases = [...(await this.aliases()).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([a, v]) => `${a}→${v}`);
    const versions = await this.versionNumbers();
    return (
      `${what} not found for model \`${this.name}\` in ${where}; aliases: ${aliases.length ? aliases.join(', ') : '(none)'}; ` +
      `versions: ${versions.length ? versions.join(', ') : '(none)'}`
    );
  }
}
