/**
 * A model registry in a local directory — no server, plain files, atomic updates.
 *
 * Layout (`path` defaults to `registry`):
 * ```
 * <path>/
 *   <name>/                      one registered model (name: letters, digits, . _ -)
 *     aliases.json               {"Champion": 2, "Staging": 1}   (absent = no aliases)
 *     versions/
 *       1/
 *         meta.json              {name, version, file, created, description?, flavor?, source}
 *         model.ubj              the registered model file, renamed model<ext>
 *       2/
 *         meta.json
 *         MLmodel, model.xgb, …  or the files of a registered directory (MLflow layout)
 * ```
 * A version directory is filled under `versions/.tmp-*` and renamed to its number,
 * so it appears complete or not at all; two concurrent registrations cannot take
 * the same number (the losing rename fails and retries with the next number).
 * `aliases.json` is replaced atomically (temp file + rename), and each change
 * reads and rewrites it under a lock file (`aliases.json.lock`, see `io/lock.ts`),
 * so concurrent alias changes from any number of processes are all kept.
 * Version directories are never modified after creation.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { extname, join, resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { writeFileAtomic } from '../atomic.ts';
import { isObjectUrl } from '../storage/url.ts';
import { withFileLock } from '../lock.ts';
import { validate } from '../../config/errors.ts';
import type { ModelVersion, Registry } from './registry.ts';
import { flavorOfExtension, isMissing, listFiles, modelFileCandidates } from './model_files.ts';
import { aliasUri, LATEST, versionRef, versionUri } from './uri.ts';

/** Model names: start with a letter or digit; then letters, digits, `.`, `_`, `-`. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Alias names: start with a letter; then letters, digits, `_`, `-` (never all digits). */
const ALIAS_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** `{KIND: LocalRegistry, path?, name}` */
export const LocalRegistryConfig = z
  .object({
    KIND: z.literal('LocalRegistry'),
    /** The registry root directory (default `registry`). */
    path: z.string().min(1).default('registry'),
    /** Registered model name. */
    name: z.string().regex(MODEL_NAME, 'a model name is letters, digits, `.`, `_`, `-`, not starting with `.`, `_` or `-`'),
  })
  .strict();
/** `{KIND: LocalRegistry, path?, name}` */
export type LocalRegistryConfig = z.input<typeof LocalRegistryConfig>;

/** What `meta.json` holds for each version. */
interface VersionMeta {
  name: string;
  version: number;
  /** The main model file, relative to the version dir; null for a registered directory without one. */
  file: string | null;
  created: string;
  description?: string;
  flavor?: string;
  /** The path registered from (for provenance). */
  source: string;
}

/** One version in {@link LocalRegistry.list}. */
export interface LocalVersionInfo {
  version: number;
  /** Main model file relative to the version dir, or null. */
  file: string | null;
  created: string;
  /** Aliases pointing at this version, sorted. */
  aliases: string[];
  description?: string;
  flavor?: string;
}

/** What {@link LocalRegistry.list} returns. */
export interface LocalListing {
  /** Versions in ascending order. */
  versions: LocalVersionInfo[];
  /** Alias → version. */
  aliases: Record<string, number>;
}

/** Options of {@link LocalRegistry.register}. */
export interface RegisterOptions {
  /** Point this alias at the new version. */
  alias?: string;
  /** Free text kept in `meta.json`. */
  description?: string;
}

/** The library named in an MLflow `MLmodel` file's flavors, when it has xgboost, lightgbm, catboost or onnx. */
function flavorOfMLmodel(text: string): string | undefined {
  const flavors = Object.keys((parseYaml(text) as { flavors?: object } | null)?.flavors ?? {});
  return flavors.find((f) => f === 'xgboost' || f === 'lightgbm' || f === 'catboost' || f === 'onnx');
}

/**
 * One registered model in a local registry directory (layout in the module doc).
 *
 * ```ts
 * const reg = new LocalRegistry({ path: 'registry', name: 'bikes' });
 * const mv = await reg.register('model.ubj', { alias: 'Champion' });
 * (await reg.resolve('Champion')).dir  // …/registry/bikes/versions/1
 * ```
 */
export class LocalRegistry implements Registry {
  /** Registry root directory. */
  readonly path: string;
  /** Registered model name. */
  readonly name: string;

  constructor(config: { path?: string; name: string }) {
    const cfg = validate(LocalRegistryConfig, { KIND: 'LocalRegistry', ...config }, { what: 'registry config' });
    if (isObjectUrl(cfg.path)) {
      throw new Error(`registry ${cfg.path}: a registry in object storage is read-only here (jobs resolve from it); register and alias in a local directory, then copy it there (aws s3 sync DIR ${cfg.path})`);
    }
    this.path = cfg.path;
    this.name = cfg.name;
  }

  /** `<path>/<name>` */
  get modelDir(): string {
    return join(this.path, this.name);
  }

  private get versionsDir(): string {
    return join(this.modelDir, 'versions');
  }

  private get aliasesPath(): string {
    return join(this.modelDir, 'aliases.json');
  }

  describe(): string {
    return `LocalRegistry(${this.path}, ${this.name})`;
  }

  /**
   * Copies a model file (saved as `model<ext>`) or a model directory (copied as
   * is, e.g. an MLflow model with its `MLmodel`) in as the next version.
   * @returns the new version, resolved (with `aliasUri` when `alias` was given).
   */
  async register(source: string, opts: RegisterOptions = {}): Promise<ModelVersion> {
    if (opts.alias !== undefined) this.checkAlias(opts.alias);
    let info;
    try {
      info = await stat(source);
    } catch {
      throw new Error(`model file not found: ${source}`);
    }
    await mkdir(this.versionsDir, { recursive: true });
    const temp = join(this.versionsDir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    let version = 0;
    try {
      await mkdir(temp);
      let file: string | null;
      let flavor: string | undefined;
      if (info.isDirectory()) {
        await cp(source, temp, { recursive: true });
        const files = await listFiles(temp);
        if (files.includes('meta.json')) {
          throw new Error(`cannot register ${source}: it holds a meta.json, a name the registry keeps for itself`);
        }
        const mlmodel = files.includes('MLmodel') ? await readFile(join(temp, 'MLmodel'), 'utf8') : undefined;
        flavor = mlmodel === undefined ? undefined : flavorOfMLmodel(mlmodel);
        const models = modelFileCandidates(files);
        file = models.length === 1 ? models[0] : null;
        if (flavor === undefined && file !== null) flavor = flavorOfExtension(file);
      } else {
        const ext = extname(source).toLowerCase();
        file = `model${ext}`;
        flavor = flavorOfExtension(file);
        await cp(source, join(temp, file));
      }
      for (let attempt = 0; ; attempt++) {
        version = (await this.versionNumbers()).reduce((a, b) => Math.max(a, b), 0) + 1;
        const meta: VersionMeta = {
          name: this.name,
          version,
          file,
          created: new Date().toISOString(),
          ...(opts.description !== undefined ? { description: opts.description } : {}),
          ...(flavor !== undefined ? { flavor } : {}),
          source: resolvePath(source),
        };
        await writeFileAtomic(join(temp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
        try {
          await rename(temp, join(this.versionsDir, String(version)));
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 100) throw err;
        }
      }
    } catch (err) {
      await rm(temp, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
    if (opts.alias !== undefined) await this.setAlias(opts.alias, version);
    return this.resolve(opts.alias ?? version);
  }

  /** Points `alias` at `version` (replacing where it pointed before). */
  async setAlias(alias: string, version: number): Promise<void> {
    this.checkAlias(alias);
    const versions = await this.versionNumbers(true);
    if (!versions.includes(version)) throw new Error(await this.notFound(`version ${version}`));
    await withFileLock(this.aliasesPath, async () => {
      const aliases = await this.aliases();
      aliases[alias] = version;
      await this.writeAliases(aliases);
    });
  }

  /** Removes `alias`. @throws listing the aliases when it does not exist. */
  async deleteAlias(alias: string): Promise<void> {
    await this.versionNumbers(true);
    await withFileLock(this.aliasesPath, async () => {
      const aliases = await this.aliases();
      if (!(alias in aliases)) throw new Error(await this.notFound(`alias \`${alias}\``));
      delete aliases[alias];
      await this.writeAliases(aliases);
    });
  }

  /** The model's versions (ascending, with their aliases) and aliases. */
  async list(): Promise<LocalListing> {
    const numbers = await this.versionNumbers(true);
    const aliases = await this.aliases();
    const versions: LocalVersionInfo[] = [];
    for (const version of numbers) {
      const meta = await this.meta(version);
      versions.push({
        version,
        file: meta.file,
        created: meta.created,
        aliases: Object.keys(aliases)
          .filter((a) => aliases[a] === version)
          .sort(),
        ...(meta.description !== undefined ? { description: meta.description } : {}),
        ...(meta.flavor !== undefined ? { flavor: meta.flavor } : {}),
      });
    }
    return { versions, aliases };
  }

  /**
   * Resolves an alias, a version number (`2` or `"2"`), `latest`, or a URI
   * (`models:/NAME/2`, `models:/NAME@ALIAS`) of this model.
   * @throws naming the model and listing its aliases and versions when nothing matches.
   */
  async resolve(aliasOrVersion: string | number): Promise<ModelVersion> {
    const ref = versionRef(aliasOrVersion, this.name);
    const versions = await this.versionNumbers(true);
    if (typeof ref === 'number') {
      if (!versions.includes(ref)) throw new Error(await this.notFound(`version ${ref}`));
      return this.modelVersion(ref);
    }
    if (ref === LATEST) {
      if (versions.length === 0) throw new Error(await this.notFound('latest version'));
      return this.modelVersion(versions[versions.length - 1]);
    }
    const version = (await this.aliases())[ref];
    if (version === undefined) throw new Error(await this.notFound(`alias \`${ref}\``));
    if (!versions.includes(version)) {
      throw new Error(`alias \`${ref}\` of model \`${this.name}\` points at version ${version}, which does not exist in ${this.versionsDir}`);
    }
    return { ...(await this.modelVersion(version)), aliasUri: aliasUri(this.name, ref) };
  }

  private async modelVersion(version: number): Promise<ModelVersion> {
    const dir = resolvePath(this.versionsDir, String(version));
    const meta = await this.meta(version);
    const files = (await listFiles(dir)).filter((f) => f !== 'meta.json');
    return {
      name: this.name,
      version,
      uri: versionUri(this.name, version),
      dir,
      files,
      ...(meta.file !== null ? { file: meta.file } : {}),
      ...(meta.flavor !== undefined ? { flavor: meta.flavor } : {}),
      ...(meta.description !== undefined ? { description: meta.description } : {}),
      created: meta.created,
    };
  }

  private async meta(version: number): Promise<VersionMeta> {
    const path = join(this.versionsDir, String(version), 'meta.json');
    try {
      return JSON.parse(await readFile(path, 'utf8')) as VersionMeta;
    } catch (err) {
      throw new Error(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * Version numbers, ascending.
   * @param mustExist throw (listing the models there) when the model does not exist.
   */
  private async versionNumbers(mustExist = false): Promise<number[]> {
    let entries: string[];
    try {
      entries = await readdir(this.versionsDir);
    } catch (err) {
      if (!isMissing(err)) throw err;
      if (mustExist) throw new Error(await this.modelNotFound());
      return [];
    }
    return entries
      .filter((e) => /^[1-9]\d*$/.test(e))
      .map(Number)
      .sort((a, b) => a - b);
  }

  private async aliases(): Promise<Record<string, number>> {
    try {
      const parsed = JSON.parse(await readFile(this.aliasesPath, 'utf8')) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
      return parsed as Record<string, number>;
    } catch (err) {
      if (isMissing(err)) return {};
      throw new Error(`cannot read ${this.aliasesPath}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async writeAliases(aliases: Record<string, number>): Promise<void> {
    const sorted = Object.fromEntries(Object.entries(aliases).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    await writeFileAtomic(this.aliasesPath, `${JSON.stringify(sorted, null, 2)}\n`);
  }

  private checkAlias(alias: string): void {
    if (!ALIAS_NAME.test(alias) || alias === LATEST) {
      throw new Error(
        `invalid alias \`${alias}\`: an alias starts with a letter, then letters, digits, \`_\` or \`-\`, and is not \`${LATEST}\``,
      );
    }
  }

  /** `WHAT not found for model `NAME`; aliases: A→1; versions: 1, 2` */
  private async notFound(what: string): Promise<string> {
    const versions = await this.versionNumbers();
    const aliases = await this.aliases();
    const shown = Object.entries(aliases)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([a, v]) => `${a}→${v}`);
    return (
      `${what} not found for model \`${this.name}\`; aliases: ${shown.length ? shown.join(', ') : '(none)'}; ` +
      `versions: ${versions.length ? versions.join(', ') : '(none)'}`
    );
  }

  /** `model `NAME` not found in registry PATH; models: a, b` */
  private async modelNotFound(): Promise<string> {
    let models: string[];
    try {
      models = (await readdir(this.path, { withFileTypes: true }))
        .filter((e) => e.isDirectory() && MODEL_NAME.test(e.name))
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if (!isMissing(err)) throw err;
      return `model \`${this.name}\` not found: registry ${this.path} does not exist`;
    }
    return `model \`${this.name}\` not found in registry ${this.path}; models: ${models.length ? models.join(', ') : '(none)'}`;
  }
}

