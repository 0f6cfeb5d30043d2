/** The tree-model flavor an MLflow model folder declares in its `MLmodel` file. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * `xgboost`, `lightgbm`, `catboost` or `onnx` when the folder's `MLmodel` lists that flavor, else undefined
 * (no `MLmodel`, another flavor, or an unreadable file — which the loader reports).
 * @param files the folder's files, relative to `dir`.
 */
export async function mlmodelFlavor(dir: string, files: readonly string[]): Promise<string | undefined> {
  if (!files.includes('MLmodel')) return undefined;
  try {
    const doc = parseYaml(await readFile(join(dir, 'MLmodel'), 'utf8')) as { flavors?: object } | null;
    return Object.keys(doc?.flavors ?? {}).find((f) => f === 'xgboost' || f === 'lightgbm' || f === 'catboost' || f === 'onnx');
  } catch {
    return undefined;
  }
}
