/**
 * `FileRegistry`: a model file (or model directory) used directly, without a
 * registry — what `arrowshap explain --model FILE` runs on. It resolves every
 * alias or version to that one model, as version 0 with the URI `file:PATH`,
 * so the io loaders (CustomLoader for a file, BuiltinLoader for an MLflow
 * model directory) load it like any registered version.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRegistry, type ModelVersion, type Registry } from '../io/registries/registry.ts';
import type { FileRegistryConfig, RegistryConfig } from '../config.ts';

/** A model file or directory as a one-version registry. */
export class FileRegistry implements Registry {
  /** Absolute path of the model file or directory. */
  readonly path: string;
  /** Model name (default: the file name without extension). */
  readonly name: string;

  constructor(config: Omit<FileRegistryConfig, 'KIND'> & { KIND?: 'FileRegistry' }) {
    this.path = resolve(config.path);
    this.name = config.name ?? basename(this.path, extname(this.path));
  }

  describe(): string {
    return `FileRegistry(${this.path})`;
  }

  /** The model itself, whatever `aliasOrVersion` says (it is not used). */
  async resolve(_aliasOrVersion?: string | number): Promise<ModelVersion> {
    let info;
    try {
      info = await stat(this.path);
    } catch {
      throw new Error(`model file not found: ${this.path}`);
    }
    const uri = pathToFileURL(this.path).href;
    if (info.isDirectory()) {
      const entries = await readdir(this.path, { recursive: true, withFileTypes: true });
      const files = entries
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name).slice(this.path.length + 1))
        .sort();
      return { name: this.name, version: 0, uri, dir: this.path, files };
    }
    const file = basename(this.path);
    return { name: this.name, version: 0, uri, dir: dirname(this.path), files: [file], file };
  }
}

/**
 * The registry a (validated) job config names: a {@link FileRegistry} or one
 * of the io registries.
 */
export function createJobRegistry(config: RegistryConfig): Registry {
  if (config.KIND === 'FileRegistry') return new FileRegistry(config);
  return createRegistry(config, 'job.registry');
}
