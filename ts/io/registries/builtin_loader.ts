/** Loads MLflow-packaged models: the `xgboost` or `lightgbm` flavor of an `MLmodel` file. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { TreeModel } from '../../native.ts';
import { loadTreeModel, versionFile } from './load_file.ts';
import type { Loader } from './loaders.ts';
import type { ModelVersion } from './registry.ts';

/** `{KIND: BuiltinLoader}` */
export const BuiltinLoaderConfig = z.object({ KIND: z.literal('BuiltinLoader') }).strict();
/** `{KIND: BuiltinLoader}` */
export type BuiltinLoaderConfig = z.input<typeof BuiltinLoaderConfig>;

/** The flavors BuiltinLoader loads, in order of preference. */
export const SUPPORTED_FLAVORS = ['xgboost', 'lightgbm'] as const;

/** What BuiltinLoader will load: the flavor and the model file relative to the version dir. */
export interface FlavorChoice {
  flavor: (typeof SUPPORTED_FLAVORS)[number];
  file: string;
}

/**
 * Picks the model file from an `MLmodel` document.
 *
 * - `xgboost`: `data` names the file (MLflow writes `model.<model_format>`:
 *   `xgb`, `json` or `ubj`; the native core sniffs the content).
 * - `lightgbm`: `data` (default `model.lgb`), a LightGBM text model; a pickled
 *   scikit-learn estimator (`model.pkl`) cannot be loaded.
 * @param where the MLmodel path, for messages.
 * @throws listing the flavors found when neither is present.
 */
export function chooseFlavor(mlmodel: unknown, where: string): FlavorChoice {
  const flavors = (mlmodel as { flavors?: unknown } | null)?.flavors;
  if (flavors === null || typeof flavors !== 'object' || Array.isArray(flavors)) {
    throw new Error(`${where} has no \`flavors\` mapping`);
  }
  const table = flavors as Record<string, Record<string, unknown> | null>;
  for (const flavor of SUPPORTED_FLAVORS) {
    if (!(flavor in table)) continue;
    const spec = table[flavor] ?? {};
    const data = spec.data ?? (flavor === 'lightgbm' ? 'model.lgb' : undefined);
    if (typeof data !== 'string' || data === '') {
      throw new Error(`${where}: flavor \`${flavor}\` has no \`data\` naming the model file`);
    }
    if (flavor === 'lightgbm' && /\.(pkl|pickle)$/i.test(data)) {
      throw new Error(
        `${where}: flavor \`lightgbm\` holds a pickled scikit-learn estimator (${data}), which cannot be loaded; ` +
          'log the Booster (estimator.booster_) with mlflow.lightgbm instead',
      );
    }
    return { flavor, file: data };
  }
  const found = Object.keys(table);
  throw new Error(
    `${where} has flavors ${found.length ? found.join(', ') : '(none)'}; BuiltinLoader loads ${SUPPORTED_FLAVORS.join(' or ')}`,
  );
}

/** Loads a version packaged by MLflow (`MLmodel` + model file) through its xgboost or lightgbm flavor. */
export class BuiltinLoader implements Loader {
  /** Reads `MLmodel` in `mv.dir` and picks the flavor and file to load. */
  async choose(mv: ModelVersion): Promise<FlavorChoice> {
    const where = join(mv.dir, 'MLmodel');
    let text: string;
    try {
      text = await readFile(where, 'utf8');
    } catch {
      throw new Error(
        `${mv.uri}: no MLmodel file in ${mv.dir} (files: ${mv.files.join(', ') || '(none)'}); ` +
          'BuiltinLoader loads MLflow-packaged models, CustomLoader loads a bare model file',
      );
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new Error(`cannot parse ${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return chooseFlavor(doc, where);
  }

  async load(mv: ModelVersion): Promise<TreeModel> {
    const { flavor, file } = await this.choose(mv);
    return loadTreeModel(mv, versionFile(mv, file, `${flavor} flavor data`));
  }

  describe(): string {
    return 'BuiltinLoader';
  }
}
