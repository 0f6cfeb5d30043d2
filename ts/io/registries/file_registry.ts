/**
 * `FileRegistry`: a model file (or model directory) used directly, without a
 * registry — what `arrowshap explain --model FILE` runs on. It resolves every
 * alias or version to that one model, as version 0 with the URI `file:PATH`,
 * so the loaders (CustomLoader for a file, BuiltinLoader for an MLflow model
 * directory) load it like any registered version.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { listFiles } from './model_files.ts';
import type { ModelVersion, Registry } from './registry.ts';

/** `{KIND: FileRegistry, path, name?}`: a model file used directly, without a registry. */
export const FileRegistryConfig = z
  .object({
    KIND: z.literal('FileRegistry'),
    /** The model file (XGBoost JSON/UBJ, LightGBM text) or MLflow model directory. */
    path: z.string().min(1),
    /** Model name in logs and alerts (default: the file name). */
    name: z.string().min(1).optional(),
  })
  .strict();
/** `{KIND: FileRegistry, path, name?}` */
export type FileRegistryConfig = z.input<typeof FileRegistryConfig>;

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
    if (info.isDirectory()) return { name: this.name, version: 0, uri, dir: this.path, files: await listFiles(this.path) };
    const file = basename(this.path);
    return { name: this.name, version: 0, uri, dir: dirname(this.path), files: [file], file };
  }
}
