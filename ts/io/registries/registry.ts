/**
 * Model registries: where model versions live and how aliases map to them.
 *
 * A registry resolves an alias (`Champion`) or a version number (`2`) to a
 * {@link ModelVersion}: the version's identity plus a local directory holding
 * its files, which a loader (`loaders.ts`) turns into a model.
 */
import { z } from 'zod';
import { parseConfig } from '../config.ts';
import { LocalRegistry, LocalRegistryConfig } from './local.ts';
import { MlflowRegistry, MlflowRegistryConfig } from './mlflow.ts';

export { LocalRegistry, LocalRegistryConfig, MlflowRegistry, MlflowRegistryConfig };
export { aliasUri, parseModelUri, versionUri, type ModelUri } from './uri.ts';

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
  /** Connects / prepares (called by the job before use). */
  start?(): void | Promise<void>;
  /** Releases resources (called by the job after use, also on failure). */
  stop?(): void | Promise<void>;
  /**
   * The version an alias (`Champion`), a number (`2`, `"2"`), `latest`, or a URI
   * (`models:/NAME/2`, `models:/NAME@Champion`) names.
   * @throws listing the aliases and versions that exist when nothing matches.
   */
  resolve(aliasOrVersion: string | number): Promise<ModelVersion>;
  /** One line for logs. */
  describe?(): string;
}

// ── Registry configs ─────────────────────────────────────────────────────────

/** Any registry config, chosen by `KIND`. */
export const RegistryConfig = z.discriminatedUnion('KIND', [LocalRegistryConfig, MlflowRegistryConfig]);
/** Any registry config, chosen by `KIND`. */
export type RegistryConfig = z.input<typeof RegistryConfig>;

/**
 * Builds the registry a config describes (validating it first).
 * @param prefix key path of the config inside a larger one, for error messages.
 */
export function createRegistry(config: unknown, prefix = ''): Registry {
  const cfg = parseConfig(RegistryConfig, config, 'registry config', prefix);
  switch (cfg.KIND) {
    case 'LocalRegistry':
      return new LocalRegistry(cfg);
    case 'MlflowRegistry':
      return new MlflowRegistry(cfg);
  }
}
