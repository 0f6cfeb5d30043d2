/** Shared by the loaders: load one file of a version into the native core. */
import { isAbsolute, relative, resolve } from 'node:path';
import { TreeModel } from '../../native/tree_model.ts';
import type { ModelVersion } from './registry.ts';

/**
 * The absolute path of `file` (relative to `mv.dir`).
 * @throws when it escapes the version directory or is not among the version's files.
 */
export function versionFile(mv: ModelVersion, file: string, what: string): string {
  const path = resolve(mv.dir, file);
  const rel = relative(mv.dir, path);
  if (isAbsolute(file) || rel.startsWith('..') || isAbsolute(rel)) {
    throw new Error(`${mv.uri}: ${what} \`${file}\` points outside the version directory ${mv.dir}`);
  }
  if (!mv.files.includes(rel)) {
    throw new Error(`${mv.uri}: ${what} \`${file}\` not found in ${mv.dir}; files: ${mv.files.join(', ') || '(none)'}`);
  }
  return path;
}

/** Loads `path` into the native core; errors name the version URI (the native error names the file). */
export async function loadTreeModel(mv: ModelVersion, path: string): Promise<TreeModel> {
  try {
    return TreeModel.fromFile(path);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const e = new Error(`cannot load ${mv.uri} from ${path}: ${msg}`);
    (e as { cause?: unknown }).cause = err;
    throw e;
  }
}

