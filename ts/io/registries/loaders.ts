/**
 * Model loaders: turn a resolved {@link ModelVersion} (a local directory of files)
 * into a native {@link TreeModel}.
 *
 * - `CustomLoader` — arrowshap's own packaging: one model file (XGBoost `.json` /
 *   `.ubj`, LightGBM `.txt`) in the version directory.
 * - `BuiltinLoader` — MLflow's packaging: an `MLmodel` YAML whose `xgboost` or
 *   `lightgbm` flavor names the model file.
 */
import { z } from 'zod';
import type { TreeModel } from '../../native/tree_model.ts';
import { validate } from '../../config/errors.ts';
import { BuiltinLoader, BuiltinLoaderConfig } from './builtin_loader.ts';
import { CustomLoader, CustomLoaderConfig } from './custom_loader.ts';
import type { ModelVersion } from './registry.ts';

export { BuiltinLoader, BuiltinLoaderConfig, CustomLoader, CustomLoaderConfig };

/** Loads a model version into the native core. */
export interface Loader {
  /** Loads `mv`. Errors name the version URI and the file at fault. */
  load(mv: ModelVersion): Promise<TreeModel>;
  /** One line for logs. */
  describe(): string;
}

/** Any loader config, chosen by `KIND`. */
export const LoaderConfig = z.discriminatedUnion('KIND', [CustomLoaderConfig, BuiltinLoaderConfig]);
/** Any loader config, chosen by `KIND`, as written. */
export type LoaderConfig = z.input<typeof LoaderConfig>;
/** Any loader config, validated. */
export type ValidLoaderConfig = z.output<typeof LoaderConfig>;

/**
 * Builds the loader a config describes, validating it first (the library's
 * boundary; a job builds from its validated config with {@link loaderOf}).
 * @param prefix key path of the config inside a larger one, for error messages.
 */
export function createLoader(config: unknown, prefix = ''): Loader {
  return loaderOf(validate(LoaderConfig, config, { what: 'loader config', prefix }));
}

/** The loader of a validated config. */
export function loaderOf(cfg: ValidLoaderConfig): Loader {
  switch (cfg.KIND) {
    case 'CustomLoader':
      return new CustomLoader();
    case 'BuiltinLoader':
      return new BuiltinLoader();
  }
}
