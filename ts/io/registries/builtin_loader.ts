/** Loads MLflow-packaged models: the `xgboost`, `lightgbm`, `catboost` (JSON), `sklearn` (skops) or `onnx` (tree ensembles) flavor of an `MLmodel` file. */
import { open, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { TreeModel } from '../../native/tree_model.ts';
import { loadTreeModel, versionFile } from './load_file.ts';
import type { Loader } from './loaders.ts';
import type { ModelVersion } from './registry.ts';

/** `{KIND: BuiltinLoader}` */
export const BuiltinLoaderConfig = z.object({ KIND: z.literal('BuiltinLoader') }).strict();
/** `{KIND: BuiltinLoader}` */
export type BuiltinLoaderConfig = z.input<typeof BuiltinLoaderConfig>;

/** The flavors BuiltinLoader loads, in order of preference. */
export const SUPPORTED_FLAVORS = ['xgboost', 'lightgbm', 'catboost', 'sklearn', 'onnx'] as const;

/** What BuiltinLoader will load: the flavor and the model file relative to the version dir. */
export interface FlavorChoice {
  flavor: (typeof SUPPORTED_FLAVORS)[number];
  file: string;
  /** The xgboost flavor's `model_format` (`ubj`, `json`, `xgb`, `deprecated`), when given. */
  modelFormat?: string;
}

/** `model_format`s of MLflow's xgboost flavor that meant XGBoost's legacy binary format. */
const LEGACY_XGBOOST_FORMATS = new Set(['xgb', 'deprecated', 'bst', 'bin']);

/** Whether a file starts like XGBoost JSON or UBJSON (`{` after a BOM, whitespace or UBJSON no-ops). */
async function looksLikeJsonOrUbj(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
    while (i < bytesRead && (head[i] === 0x4e /* N */ || head[i] === 0x20 || (head[i] >= 0x09 && head[i] <= 0x0d))) i++;
    return i < bytesRead && head[i] === 0x7b;
  } finally {
    await handle.close();
  }
}

/**
 * Picks the model file from an `MLmodel` document.
 *
 * - `xgboost`: `data` names the file (MLflow writes `model.<model_format>`:
 *   `ubj` (MLflow's default), `json`, or `xgb`; the native core sniffs the content,
 *   so an `xgb` file that XGBoost ≥ 2.1 wrote as UBJSON loads; the legacy binary
 *   format is refused by {@link BuiltinLoader.load} with a hint to re-log).
 *   Boosters and scikit-learn wrappers (`XGBRegressor`, `XGBClassifier`) alike.
 * - `lightgbm`: `data` (default `model.lgb`), a LightGBM text model (a Booster);
 *   a scikit-learn estimator, which MLflow pickles (`model.pkl`) or saves with
 *   skops (`model.skops`), cannot be loaded.
 * - `catboost`: `data` (default `model.cb`) written by CatBoost's `save_model` in the
 *   flavor's `save_format`: `json` is read; CatBoost's binary `cbm` (MLflow's default) is
 *   refused with the way to re-log it (`mlflow.catboost.log_model(model, ..., format="json")`).
 * - `onnx`: `data` (default `model.onnx`), an ONNX graph with one ai.onnx.ml tree-ensemble
 *   operator (path-dependent SHAP then needs `explainer.background` to count node covers).
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
    if (flavor === 'sklearn') return sklearnFlavor(spec, where);
    if (flavor === 'catboost') return catboostFlavor(spec, where);
    const data = spec.data ?? (flavor === 'lightgbm' ? 'model.lgb' : flavor === 'onnx' ? 'model.onnx' : undefined);
    if (typeof data !== 'string' || data === '') {
      throw new Error(`${where}: flavor \`${flavor}\` has no \`data\` naming the model file`);
    }
    if (flavor === 'lightgbm' && /\.(pkl|pickle|skops)$/i.test(data)) {
      throw new Error(
        `${where}: flavor \`lightgbm\` holds a pickled scikit-learn estimator (${data}), which cannot be loaded; ` +
          'log the Booster (estimator.booster_) with mlflow.lightgbm instead',
      );
    }
    const modelFormat = flavor === 'xgboost' && typeof spec.model_format === 'string' ? spec.model_format : undefined;
    return { flavor, file: data, ...(modelFormat !== undefined ? { modelFormat } : {}) };
  }
  const found = Object.keys(table);
  throw new Error(
    `${where} has flavors ${found.length ? found.join(', ') : '(none)'}; BuiltinLoader loads ${SUPPORTED_FLAVORS.join(' or ')}`,
  );
}

/**
 * MLflow's `sklearn` flavor: `pickled_model` names the file, `serialization_format` says
 * how it was written. Only `skops` (MLflow 3's default) is read; a pickle is refused,
 * since unpickling runs code.
 */
function sklearnFlavor(spec: Record<string, unknown>, where: string): FlavorChoice {
  const file = spec.pickled_model;
  const format = typeof spec.serialization_format === 'string' ? spec.serialization_format : 'cloudpickle';
  if (typeof file !== 'string' || file === '') {
    throw new Error(`${where}: flavor \`sklearn\` has no \`pickled_model\` naming the model file`);
  }
  if (format !== 'skops') {
    throw new Error(
      `${where}: flavor \`sklearn\` holds a ${format} file (${file}), which arrowshap never loads (unpickling runs code); ` +
        'log the model with mlflow.sklearn.log_model(..., serialization_format="skops") (MLflow 3\'s default)',
    );
  }
  return { flavor: 'sklearn', file };
}

/**
 * MLflow's `catboost` flavor: `data` (default `model.cb`) in `save_format` (default `cbm`,
 * CatBoost's binary format, which arrowshap does not read; `json` is CatBoost's JSON export).
 */
function catboostFlavor(spec: Record<string, unknown>, where: string): FlavorChoice {
  const file = spec.data ?? 'model.cb';
  const format = typeof spec.save_format === 'string' ? spec.save_format : 'cbm';
  if (typeof file !== 'string' || file === '') {
    throw new Error(`${where}: flavor \`catboost\` has no \`data\` naming the model file`);
  }
  if (format !== 'json') {
    throw new Error(
      `${where}: flavor \`catboost\` holds a CatBoost ${format} file (${file}); arrowshap reads CatBoost's JSON export: ` +
        'log the model with mlflow.catboost.log_model(model, ..., format="json")',
    );
  }
  return { flavor: 'catboost', file };
}

/** Loads a version packaged by MLflow (`MLmodel` + model file) through its xgboost, lightgbm, catboost, sklearn or onnx flavor. */
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
    const { flavor, file, modelFormat } = await this.choose(mv);
    const path = versionFile(mv, file, `${flavor} flavor data`);
    if (flavor === 'xgboost') {
      const legacy = LEGACY_XGBOOST_FORMATS.has((modelFormat ?? extname(file).slice(1)).toLowerCase());
      if (legacy && !(await looksLikeJsonOrUbj(path))) {
        throw new Error(
          `${mv.uri}: the xgboost flavor's ${file} (model_format: ${modelFormat ?? extname(file).slice(1)}) is in XGBoost's legacy ` +
            'binary format, which arrowshap cannot read; log the model with mlflow.xgboost.log_model(..., ' +
            'model_format="ubj") (MLflow\'s default) or model_format="json"',
        );
      }
    }
    return loadTreeModel(mv, path);
  }

  describe(): string {
    return 'BuiltinLoader';
  }
}
