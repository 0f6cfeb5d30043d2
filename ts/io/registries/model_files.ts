/** The files of a version directory: listing them, and which can be model files. */
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';

/** Whether a file-system error says the path does not exist. */
export function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** Files under `dir`, recursively, relative to it, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** Extensions of model files the native core reads (format sniffed from content), with the library they suggest. */
export const MODEL_EXTENSIONS: Readonly<Record<string, string | undefined>> = {
  '.json': 'xgboost',
  '.ubj': 'xgboost',
  '.xgb': 'xgboost',
  '.bst': 'xgboost',
  '.txt': 'lightgbm',
  '.lgb': 'lightgbm',
  '.cb': 'catboost',
  '.onnx': 'onnx',
  '.model': undefined,
};

/** Files MLflow (and the registry) put beside a model that are never the model. */
export const NOT_MODEL_FILES = new Set([
  'meta.json',
  'MLmodel',
  'requirements.txt',
  'conda.yaml',
  'python_env.yaml',
  'input_example.json',
  'serving_input_example.json',
  'registered_model_meta',
]);

/** The files (relative paths) that may hold a model, by extension. */
export function modelFileCandidates(files: readonly string[]): string[] {
  return files.filter((f) => !NOT_MODEL_FILES.has(basename(f)) && extname(f).toLowerCase() in MODEL_EXTENSIONS);
}

/** The library a model file's extension suggests, if any. */
export function flavorOfExtension(file: string): string | undefined {
  return MODEL_EXTENSIONS[extname(file).toLowerCase()];
}
