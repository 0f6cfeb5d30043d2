/**
 * Model registries: where model versions live and how aliases map to them.
 *
 * A registry resolves an alias (`Champion`) or a version number (`2`) to a
 * {@link ModelVersion}: the version's identity plus a local directory holding
 * its files, which a loader (`loaders.ts`) turns into a model.
 */
import { z } from 'zod';
import { validate } from '../../config/errors.ts';
import { FileRegistry, FileRegistryConfig } from './file_registry.ts';
import { LocalRegistry, LocalRegistryConfig } from './local.ts';
import { ObjectRegistry } from './object_registry.ts';
import { isObjectUrl } from '../storage/url.ts';
import { MlflowRegistry, MlflowRegistryConfig } from './mlflow.ts';
import { fileStorePath, isFileStoreUri, MlflowFileStore } from './mlflow_file_store.ts';

export { FileRegistry, FileRegistryConfig, LocalRegistry, LocalRegistryConfig, MlflowFileStore, MlflowRegistry, MlflowRegistryConfig };
export { aliasUri, LATEST, parseModelUri, versionRef, versionUri, type ModelUri } from './uri.ts';

/** One resolved model version with its files on local disk. */
export interface ModelVersion {
  /** Registered model name. */
  name: string;
  /** Version number (1, 2, …). */
  version: number;
  /** `models:/NAME/VERSION` */
  uri: string;
  /** `models:/NAME@ALIAS` when the version was resolved through an alias. */
  aliasUri?: string;
  /** Absolute path of the local directory holding the version's files. */
  dir: string;
  /** The version's files, relative to `dir`, sorted (registry metadata excluded). */
  files: string[];
  /** The main model file relative to `dir`, when the registry knows it. */
  file?: string;
  /** Library of the model when known: `xgboost`, `lightgbm`. */
  flavor?: string;
  /** Free text given at registration. */
  description?: string;
  /** Registration time, ISO 8601. */
  created?: string;
}

/** Resolves aliases and versions of one registered model. */
export interface Registry {
  /**
   * The version an alias (`Champion`), a number (`2`, `"2"`), `latest`, or a URI
   * (`models:/NAME/2`, `models:/NAME@Champion`) names.
   * @throws listing the aliases and versions that exist when nothing matches.
   */
  resolve(aliasOrVersion: string | number): Promise<ModelVersion>;
  /** One line for logs. */
  describe(): string;
}

// ── Registry configs ─────────────────────────────────────────────────────────

/** Any registry config, chosen by `KIND`: a local directory, an MLflow server, or a model file used directly. */
export const RegistryConfig = z.discriminatedUnion('KIND', [LocalRegistryConfig, MlflowRegistryConfig, FileRegistryConfig]);
/** Any registry config, chosen by `KIND`, as written. */
export type RegistryConfig = z.input<typeof RegistryConfig>;
/** Any registry config, validated. */
export type ValidRegistryConfig = z.output<typeof RegistryConfig>;

/**
 * Builds the registry a config describes, validating it first (the library's
 * boundary; a job builds from its validated config with {@link registryOf}).
 * @param prefix key path of the config inside a larger one, for error messages.
 */
export function createRegistry(config: unknown, prefix = ''): Registry {
  return registryOf(validate(RegistryConfig, config, { what: 'registry config', prefix }));
}

/** The registry of a validated config. */
export function registryOf(cfg: ValidRegistryConfig): Registry {
  switch (cfg.KIND) {
    case 'LocalRegistry':
      return isObjectUrl(cfg.path) ? new ObjectRegistry({ path: cfg.path, name: cfg.name }) : new LocalRegistry(cfg);
    case 'MlflowRegistry': {
      if (cfg.path !== undefined) return new MlflowFileStore({ root: cfg.path, name: cfg.name });
      const uri = cfg.uri ?? process.env.MLFLOW_TRACKING_URI;
      return isFileStoreUri(uri) ? new MlflowFileStore({ root: fileStorePath(uri), name: cfg.name }) : new MlflowRegistry(cfg);
    }
    case 'FileRegistry':
      return new FileRegistry(cfg);
  }
}
