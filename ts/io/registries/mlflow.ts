/**
 * `MlflowRegistry`: model versions and aliases from an MLflow Model Registry,
 * the versions' artifacts downloaded through the tracking server's artifact
 * proxy into a local cache.
 *
 * ```yaml
 * registry: {KIND: MlflowRegistry, uri: http://mlflow:5000, name: bikes}   # uri: else MLFLOW_TRACKING_URI
 * alias_or_version: Champion
 * loader: {KIND: BuiltinLoader}     # MLflow's xgboost / lightgbm flavors
 * ```
 *
 * Cache layout (`ARROWSHAP_CACHE_DIR`, default `~/.cache/arrowshap`):
 * ```
 * <cache>/mlflow/<host>[_<port>][_<path>]/<name>/<version>/
 *   meta.json        {name, version, source, run_id, creation_timestamp, artifact_uri, files, bytes, downloaded}
 *   artifacts/       the version's artifacts as MLflow stores them (MLmodel, model.ubj, …)
 * ```
 * A version is downloaded into `<name>/.tmp-*` and renamed to `<version>` once
 * complete, so the cache never holds a partial version. MLflow model versions
 * are immutable, so a cached version number is used without asking the server
 * (it works offline); an alias is always resolved by the server (aliases move),
 * and the cached copy is used when its source and creation time match, else it
 * is downloaded again.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { validate } from '../../config/errors.ts';
import {
  MlflowClient,
  MlflowHttpError,
  redact,
  type MlflowClientOptions,
  type MlflowEnv,
  type MlflowModelVersion,
  type ProxiedArtifacts,
} from './mlflow_client.ts';
import { isFileStoreUri } from './mlflow_file_store.ts';
import { mlmodelFlavor } from './mlflow_flavor.ts';
import type { ModelVersion, Registry } from './registry.ts';
import { isMissing, listFiles } from './model_files.ts';
import { aliasUri, LATEST, versionRef, versionUri } from './uri.ts';

/** Files downloaded at once. */
const DOWNLOAD_CONCURRENCY = 4;

/** `{KIND: MlflowRegistry, uri? | path?, name}` */
export const MlflowRegistryConfig = z
  .object({
    KIND: z.literal('MlflowRegistry'),
    /**
     * Tracking server URI, `http(s)://host[:port]`, or an MLflow file store, `file:///…/mlruns`
     * (read directly, see `mlflow_file_store.ts`). Default: `MLFLOW_TRACKING_URI`.
     */
    uri: z
      .string()
      .regex(/^(https?:\/\/[^/]|file:.)/i, 'expected an http(s):// URI of an MLflow tracking server or a file: URI of an MLflow file store (mlruns folder)')
      .optional(),
    /** An MLflow file store (`mlruns` folder) on disk, relative to the config file; instead of `uri`. */
    path: z.string().min(1).optional(),
    /** Registered model name. */
    name: z.string().min(1),
  })
  .strict()
  .refine((c) => c.uri === undefined || c.path === undefined, { message: 'give either uri (a server or file: URI) or path (an mlruns folder), not both', path: ['path'] });
/** `{KIND: MlflowRegistry, uri? | path?, name}` */
export type MlflowRegistryConfig = z.input<typeof MlflowRegistryConfig>;

/** Options of {@link MlflowRegistry} beyond its config (library use and tests). */
export interface MlflowRegistryOptions extends Partial<Omit<MlflowClientOptions, 'uri'>> {
  /** Cache root (default `ARROWSHAP_CACHE_DIR`, else `~/.cache/arrowshap`); versions go under `<cacheDir>/mlflow/…`. */
  cacheDir?: string;
  /** Environment to read `MLFLOW_TRACKING_*` and `ARROWSHAP_CACHE_DIR` from (default `process.env`). */
  env?: MlflowEnv & { ARROWSHAP_CACHE_DIR?: string };
  /** Aborts requests and downloads. */
  signal?: AbortSignal;
}

/** What `meta.json` holds for each cached version. */
export interface MlflowCacheMeta {
  name: string;
  version: number;
  source?: string;
  run_id?: string;
  creation_timestamp?: number;
  description?: string;
  artifact_uri: string;
  files: string[];
  bytes: number;
  downloaded: string;
  server: string;
}

/** How the last {@link MlflowRegistry.resolve} got its files. */
export interface MlflowFetchInfo {
  /** `cache` (nothing downloaded) or `download`. */
  from: 'cache' | 'download';
  /** Files and bytes downloaded (0 from the cache). */
  files: number;
  bytes: number;
}

/** The default cache root: `ARROWSHAP_CACHE_DIR`, else `~/.cache/arrowshap`. */
export function defaultCacheDir(env: { ARROWSHAP_CACHE_DIR?: string } = process.env): string {
  return resolvePath(env.ARROWSHAP_CACHE_DIR || join(homedir(), '.cache', 'arrowshap'));
}

/** One path segment from any text: `/`, `\`, `:` and control characters escaped; never `.` or `..`. */
function segment(text: string): string {
  const s = text.replace(/[%/\\:*?"<>|\x00-\x1f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return s === '.' || s === '..' ? s.replace(/\./g, '%2E') : s;
}

/** `127.0.0.1_5000`, `mlflow.example.com`, `host_8080_mlflow` for `http://host:8080/mlflow`. */
function serverSegment(uri: string): string {
  const url = new URL(uri);
  const parts = [url.hostname, url.port, ...url.pathname.split('/')].filter((p) => p !== '');
  return segment(parts.join('_'));
}

function errorCode(err: unknown): string | undefined {
  return err instanceof MlflowHttpError ? err.errorCode : undefined;
}

/**
 * One registered model in an MLflow Model Registry (see the module doc).
 *
 * ```ts
 * const reg = new MlflowRegistry({ uri: 'http://127.0.0.1:5000', name: 'bikes' });
 * const mv = await reg.resolve('Champion');   // downloaded once into the cache
 * await new BuiltinLoader().load(mv);
 * ```
 */
export class MlflowRegistry implements Registry {
  /** Registered model name. */
  readonly name: string;
  /** The REST client (its `uri` is the server, without credentials). */
  readonly client: MlflowClient;
  /** Cache folder of this server and model: `<cache>/mlflow/<server>/<name>`. */
  readonly cacheDir: string;
  /** How the last `resolve` got its files. */
  lastFetch?: MlflowFetchInfo;
  private readonly signal?: AbortSignal;

  /** @throws when the config is invalid or neither it nor `MLFLOW_TRACKING_URI` names a server. */
  constructor(config: { uri?: string; name: string }, options: MlflowRegistryOptions = {}) {
    const cfg = validate(MlflowRegistryConfig, { KIND: 'MlflowRegistry', ...config }, { what: 'registry config' });
    const { cacheDir, env = process.env, signal, ...clientOptions } = options;
    if (cfg.path !== undefined || isFileStoreUri(cfg.uri ?? env.MLFLOW_TRACKING_URI)) {
      throw new Error(`${cfg.path ?? cfg.uri ?? env.MLFLOW_TRACKING_URI} is an MLflow file store, not a server: read it with MlflowFileStore (registryOf does)`);
    }
    this.name = cfg.name;
    this.client = MlflowClient.fromEnv(cfg.uri, env, clientOptions);
    this.cacheDir = join(cacheDir ? resolvePath(cacheDir) : defaultCacheDir(env), 'mlflow', serverSegment(this.client.uri), segment(this.name));
    this.signal = signal;
  }

  describe(): string {
    return `MlflowRegistry(${this.client.uri}, ${this.name})`;
  }

  /**
   * Resolves an alias (`Champion`), a version (`2`, `"2"`), `latest`, or a URI
   * (`models:/NAME/2`, `models:/NAME@ALIAS`) of this model, and makes its
   * artifacts available locally (from the cache, else downloaded).
   * @throws listing the model's aliases and versions (or the server's models) when nothing matches.
   */
  async resolve(aliasOrVersion: string | number): Promise<ModelVersion> {
    const ref = versionRef(aliasOrVersion, this.name);
    if (typeof ref === 'number') {
      // Versions are immutable: a complete cached copy needs no server.
      const cached = await this.readMeta(ref);
      if (cached) return this.fromCache(cached);
      const mv = await this.fetchVersion(ref);
      return this.materialize(mv);
    }
    if (ref === LATEST) {
      const versions = await this.versionNumbers();
      if (versions.length === 0) throw new Error(await this.notFound('latest version'));
      return this.materialize(await this.fetchVersion(versions[versions.length - 1]));
    }
    const mv = await this.fetchAlias(ref);
    return { ...(await this.materialize(mv)), aliasUri: aliasUri(this.name, ref) };
  }

  // ── server lookups ──────────────────────────────────────────────────────────

  private async fetchAlias(alias: string): Promise<MlflowModelVersion> {
    try {
      return await this.client.getModelVersionByAlias(this.name, alias, this.signal);
    } catch (err) {
      const code = errorCode(err);
      if (code !== 'RESOURCE_DOES_NOT_EXIST' && code !== 'INVALID_PARAMETER_VALUE' && code !== 'NOT_FOUND') throw err;
      throw new Error(await this.notFound(`alias \`${alias}\``), { cause: err });
    }
  }

  private async fetchVersion(version: number): Promise<MlflowModelVersion> {
    try {
      return await this.client.getModelVersion(this.name, version, this.signal);
    } catch (err) {
      const code = errorCode(err);
      if (code !== 'RESOURCE_DOES_NOT_EXIST' && code !== 'NOT_FOUND') throw err;
      throw new Error(await this.notFound(`version ${version}`), { cause: err });
    }
  }

  /** The model's version numbers, ascending (searched on the server). */
  private async versionNumbers(): Promise<number[]> {
    const versions = await this.client.searchModelVersions(this.name, this.signal);
    return versions.map((v) => Number(v.version)).sort((a, b) => a - b);
  }

  /**
   * `WHAT not found for model `NAME` at URI; aliases: A→1; versions: 1, 2`, or,
   * when the model itself does not exist, the models the server has.
   */
  private async notFound(what: string): Promise<string> {
    const where = `MLflow server ${this.client.uri}`;
    let aliases: { alias: string; version: string }[];
    try {
      aliases = (await this.client.getRegisteredModel(this.name, this.signal)).aliases ?? [];
    } catch (err) {
      if (errorCode(err) !== 'RESOURCE_DOES_NOT_EXIST') throw err;
      const { names, more } = await this.client.searchRegisteredModels(100, this.signal);
      const shown = names.length ? `${names.sort().join(', ')}${more ? ', …' : ''}` : '(none)';
      return `model \`${this.name}\` not found on ${where}; registered models: ${shown}`;
    }
    const versions = await this.versionNumbers();
    const shownAliases = aliases
      .map((a) => [a.alias, a.version] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([a, v]) => `${a}→${v}`);
    return (
      `${what} not found for model \`${this.name}\` on ${where}; aliases: ${shownAliases.length ? shownAliases.join(', ') : '(none)'}; ` +
      `versions: ${versions.length ? versions.join(', ') : '(none)'}`
    );
  }

  // ── cache ───────────────────────────────────────────────────────────────────

  private versionDir(version: number): string {
    return join(this.cacheDir, String(version));
  }

  /** The cached version's meta, when the version is complete in the cache. */
  private async readMeta(version: number): Promise<MlflowCacheMeta | undefined> {
    const path = join(this.versionDir(version), 'meta.json');
    try {
      const meta = JSON.parse(await readFile(path, 'utf8')) as MlflowCacheMeta;
      if (meta.version !== version || !Array.isArray(meta.files)) return undefined;
      // A file removed from the cache by hand: download the version again.
      const present = await listFiles(join(this.versionDir(version), 'artifacts'));
      if (present.length !== meta.files.length || meta.files.some((f, i) => present[i] !== f)) return undefined;
      return meta;
    } catch (err) {
      if (isMissing(err) || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  private async fromCache(meta: MlflowCacheMeta): Promise<ModelVersion> {
    this.lastFetch = { from: 'cache', files: 0, bytes: 0 };
    return this.modelVersion(meta, join(this.versionDir(meta.version), 'artifacts'), meta.files);
  }

  private async modelVersion(meta: MlflowCacheMeta, dir: string, files: string[]): Promise<ModelVersion> {
    const flavor = await mlmodelFlavor(dir, files);
    return {
      name: this.name,
      version: meta.version,
      uri: versionUri(this.name, meta.version),
      dir,
      files,
      ...(flavor !== undefined ? { flavor } : {}),
      ...(meta.description ? { description: meta.description } : {}),
      ...(meta.creation_timestamp !== undefined ? { created: new Date(Number(meta.creation_timestamp)).toISOString() } : {}),
    };
  }

  /** The version's files from the cache when they are the same version, else downloaded. */
  private async materialize(mv: MlflowModelVersion): Promise<ModelVersion> {
    const version = Number(mv.version);
    if (mv.status && mv.status !== 'READY') {
      throw new Error(
        `${versionUri(this.name, version)} on MLflow server ${this.client.uri} is ${mv.status}` +
          `${mv.status_message ? `: ${mv.status_message}` : ''}; only READY versions can be loaded`,
      );
    }
    const cached = await this.readMeta(version);
    if (cached && cached.source === mv.source && Number(cached.creation_timestamp) === Number(mv.creation_timestamp)) {
      return this.fromCache(cached);
    }
    // A stale or damaged copy is replaced; a copy that another run completes meanwhile is kept.
    const present = await stat(this.versionDir(version)).then(
      () => true,
      () => false,
    );
    return this.download(mv, version, present);
  }

  /** Where the version's artifacts are served: MLflow 3 `models:/m-…` sources resolved. */
  private async artifactLocation(version: number): Promise<{ uri: string; at: ProxiedArtifacts }> {
    let uri = await this.client.getModelVersionDownloadUri(this.name, version, this.signal);
    const logged = /^models:\/(m-[0-9a-f]+)\/?$/i.exec(uri);
    if (logged) uri = (await this.client.getLoggedModel(logged[1], this.signal)).artifact_uri;
    const at = this.client.proxiedArtifacts(uri);
    if (!at) {
      throw new Error(
        `${versionUri(this.name, version)}: its artifacts are at ${redact(uri)}, which arrowshap cannot download; ` +
          'arrowshap downloads through the tracking server\'s artifact proxy: run `mlflow server --serve-artifacts` ' +
          'with an `mlflow-artifacts:/` artifact root (the default with --serve-artifacts)',
      );
    }
    return { uri, at };
  }

  /** Downloads the version into `<name>/.tmp-*`, then renames it to `<version>` (replacing a stale copy). */
  private async download(mv: MlflowModelVersion, version: number, replace: boolean): Promise<ModelVersion> {
    const { uri, at } = await this.artifactLocation(version);
    await mkdir(this.cacheDir, { recursive: true });
    await this.removeStaleTemps();
    const temp = join(this.cacheDir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    const artifacts = join(temp, 'artifacts');
    let bytes = 0;
    let files: string[];
    try {
      await mkdir(artifacts, { recursive: true });
      const listed = await this.listAll(at, '');
      if (listed.length === 0) {
        throw new Error(`${versionUri(this.name, version)}: no artifacts at ${uri} on MLflow server ${this.client.uri}`);
      }
      files = listed.map((f) => f.rel).sort();
      // On the first failure the other downloads are aborted, and all have ended before the temp dir is removed.
      const stop = new AbortController();
      const signal = this.signal ? AbortSignal.any([this.signal, stop.signal]) : stop.signal;
      let next = 0;
      const worker = async () => {
        while (next < listed.length && !signal.aborted) {
          const file = listed[next++];
          const dest = join(artifacts, file.rel);
          await mkdir(join(dest, '..'), { recursive: true });
          const n = await this.client.downloadArtifact({ server: at.server, path: file.path }, dest, signal);
          if (file.size !== undefined && n !== file.size) {
            throw new Error(`${versionUri(this.name, version)}: ${file.rel} downloaded ${n} bytes, the server listed ${file.size}`);
          }
          bytes += n;
        }
      };
      const results = await Promise.allSettled(
        Array.from({ length: Math.min(DOWNLOAD_CONCURRENCY, listed.length) }, () =>
          worker().catch((err: unknown) => {
            stop.abort();
            throw err;
          }),
        ),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        // The first error, not the aborts it caused in the other downloads.
        const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof Error && r.reason.name === 'AbortError' && !this.signal?.aborted));
        throw (first ?? failed).reason;
      }
      const meta: MlflowCacheMeta = {
        name: this.name,
        version,
        ...(mv.source !== undefined ? { source: mv.source } : {}),
        ...(mv.run_id ? { run_id: mv.run_id } : {}),
        ...(mv.creation_timestamp !== undefined ? { creation_timestamp: Number(mv.creation_timestamp) } : {}),
        ...(mv.description ? { description: mv.description } : {}),
        artifact_uri: uri,
        files,
        bytes,
        downloaded: new Date().toISOString(),
        server: this.client.uri,
      };
      await writeFile(join(temp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
      await this.commit(temp, version, replace);
      this.lastFetch = { from: 'download', files: files.length, bytes };
      return this.modelVersion(meta, join(this.versionDir(version), 'artifacts'), files);
    } finally {
      await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Renames the complete temp dir to `<version>`; a stale copy is moved aside first. */
  private async commit(temp: string, version: number, replace: boolean): Promise<void> {
    const final = this.versionDir(version);
    if (replace) {
      const old = join(this.cacheDir, `.old-${process.pid}-${randomBytes(4).toString('hex')}`);
      await rename(final, old).catch((err) => {
        if (!isMissing(err)) throw err;
      });
      await rm(old, { recursive: true, force: true });
    }
    try {
      await rename(temp, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another run put the same version in place meanwhile: keep theirs.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
  }

  /** Temp folders left by runs that were killed (older than an hour). */
  private async removeStaleTemps(): Promise<void> {
    const hourAgo = Date.now() - 3_600_000;
    for (const entry of await readdir(this.cacheDir).catch(() => [] as string[])) {
      if (!entry.startsWith('.tmp-') && !entry.startsWith('.old-')) continue;
      const path = join(this.cacheDir, entry);
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < hourAgo) await rm(path, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Every file under `at` (recursively): its artifact path, its path relative to the version, its listed size. */
  private async listAll(at: ProxiedArtifacts, rel: string): Promise<{ path: string; rel: string; size?: number }[]> {
    const out: { path: string; rel: string; size?: number }[] = [];
    const folder = rel ? `${at.path}/${rel}` : at.path;
    for (const entry of await this.client.listArtifacts({ server: at.server, path: folder }, this.signal)) {
      const base = entry.path.split('/').pop() ?? '';
      if (base === '' || base === '.' || base === '..' || base.includes('\\')) {
        throw new Error(`MLflow server ${this.client.uri}: unsafe artifact name ${JSON.stringify(entry.path)} under ${folder}`);
      }
      const child = rel ? `${rel}/${base}` : base;
      if (entry.is_dir) out.push(...(await this.listAll(at, child)));
      else {
        const size = entry.file_size === undefined ? undefined : Number(entry.file_size);
        out.push({ path: folder ? `${folder}/${base}` : base, rel: child, ...(size !== undefined && Number.isFinite(size) ? { size } : {}) });
      }
    }
    return out;
  }
}
