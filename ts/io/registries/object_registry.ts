/**
 * A local-registry layout (see `local.ts`) kept in object storage:
 * `LocalRegistry` with `path: s3://bucket/prefix`. Resolving reads
 * `<name>/aliases.json` and lists `<name>/versions/`, then brings the version's
 * files into the model cache (`ARROWSHAP_CACHE_DIR`, default
 * `~/.cache/arrowshap`, under `s3/<bucket>/<prefix>/<name>/<version>/`),
 * filled in a temporary folder and renamed, so the cache never holds a partial
 * version; a version already cached with the same `meta.json` is not
 * downloaded again (versions are immutable). A version counts only once its
 * `meta.json` is there (upload it last when publishing a registry).
 *
 * Read-only: register and alias in a local directory, then copy it over
 * (`aws s3 sync registry/ s3://bucket/registry/`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { getObject, listObjects } from '../storage/s3.ts';
import { parseObjectUrl } from '../storage/url.ts';
import type { ModelVersion, Registry } from './registry.ts';
import { aliasUri, LATEST, versionRef, versionUri } from './uri.ts';

/** What a version's `meta.json` holds (the fields read here). */
interface VersionMeta {
  file: string | null;
  created?: string;
  flavor?: string;
  description?: string;
}

/** One registered model of a local-registry layout in object storage (see the module doc). */
export class ObjectRegistry implements Registry {
  /** `s3://bucket/prefix` of the registry. */
  readonly path: string;
  /** Registered model name. */
  readonly name: string;
  /** Local cache folder of this model's versions. */
  readonly cacheDir: string;

  constructor(config: { path: string; name: string; cacheDir?: string }) {
    this.path = config.path.replace(/\/+$/, '');
    this.name = config.name;
    const { bucket, key } = parseObjectUrl(this.path);
    const root = config.cacheDir ?? process.env.ARROWSHAP_CACHE_DIR ?? join(homedir(), '.cache', 'arrowshap');
    this.cacheDir = resolvePath(root, 's3', bucket, ...key.split('/').filter(Boolean), this.name);
  }

  describe(): string {
    return `LocalRegistry(${this.path}, ${this.name})`;
  }

  private get modelUrl(): string {
    return `${this.path}/${this.name}`;
  }

  async resolve(aliasOrVersion: string | number): Promise<ModelVersion> {
    const ref = versionRef(aliasOrVersion, this.name);
    const listing = await listObjects(`${this.modelUrl}/versions/`);
    const files = new Map<number, string[]>();
    const prefix = `${this.modelUrl}/versions/`;
    for (const url of listing) {
      const m = /^([1-9]\d*)\/(.+)$/.exec(url.slice(prefix.length));
      if (m) files.set(Number(m[1]), [...(files.get(Number(m[1])) ?? []), m[2]]);
    }
    const versions = [...files].filter(([, f]) => f.includes('meta.json')).map(([v]) => v).sort((a, b) => a - b);
    const aliases = await this.aliases();
    const notFound = (what: string) =>
      new Error(
        `${what} not found for model \`${this.name}\` in ${this.path}; aliases: ${
          Object.entries(aliases).map(([a, v]) => `${a}→${v}`).join(', ') || '(none)'
        }; versions: ${versions.join(', ') || '(none)'}`,
      );
    let version: number;
    if (typeof ref === 'number') version = ref;
    else if (ref === LATEST) {
      if (versions.length === 0) throw notFound('latest version');
      version = versions[versions.length - 1];
    } else {
      if (aliases[ref] === undefined) throw notFound(`alias \`${ref}\``);
      version = aliases[ref];
    }
    if (!versions.includes(version)) throw notFound(`version ${version}`);
    const mv = await this.fetch(version, files.get(version)!);
    return typeof ref === 'string' && ref !== LATEST ? { ...mv, aliasUri: aliasUri(this.name, ref) } : mv;
  }

  private async aliases(): Promise<Record<string, number>> {
    const url = `${this.modelUrl}/aliases.json`;
    let text: string;
    try {
      text = Buffer.from(await getObject(url)).toString('utf8');
    } catch (err) {
      if (/object not found/.test(String(err))) return {};
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
      return parsed as Record<string, number>;
    } catch (err) {
      throw new Error(`cannot read ${url}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The version's files in the cache (downloaded unless a complete copy with the same meta.json is there). */
  private async fetch(version: number, names: string[]): Promise<ModelVersion> {
    const base = `${this.modelUrl}/versions/${version}`;
    const metaText = Buffer.from(await getObject(`${base}/meta.json`)).toString('utf8');
    let meta: VersionMeta;
    try {
      meta = JSON.parse(metaText) as VersionMeta;
    } catch (err) {
      throw new Error(`cannot read ${base}/meta.json: ${err instanceof Error ? err.message : String(err)}`);
    }
    const dir = join(this.cacheDir, String(version));
    const cached = await readFile(join(dir, 'meta.json'), 'utf8').catch(() => undefined);
    if (cached !== metaText) {
      const temp = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        for (const name of names) {
          if (name.split('/').some((s) => s === '..' || s === '.' || s === '')) throw new Error(`${base}/${name}: unsafe file name`);
          await mkdir(dirname(join(temp, name)), { recursive: true });
          await writeFile(join(temp, name), await getObject(`${base}/${name}`));
        }
        await rm(dir, { recursive: true, force: true });
        await mkdir(dirname(dir), { recursive: true });
        await rename(temp, dir);
      } catch (err) {
        await rm(temp, { recursive: true, force: true });
        throw err;
      }
    }
    return {
      name: this.name,
      version,
      uri: versionUri(this.name, version),
      dir,
      files: names.filter((n) => n !== 'meta.json').sort(),
      ...(meta.file !== null && meta.file !== undefined ? { file: meta.file } : {}),
      ...(meta.flavor !== undefined ? { flavor: meta.flavor } : {}),
      ...(meta.description !== undefined ? { description: meta.description } : {}),
      ...(meta.created !== undefined ? { created: meta.created } : {}),
    };
  }
}
