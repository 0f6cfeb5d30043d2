/**
 * `ts/io`: datasets (readers, writers, feature columns), registries and loaders,
 * services (logger, alerts). Each family: one interface, small classes, a strict
 * zod config union on `KIND`, and a `create*` factory.
 */
export { ConfigError, formatIssues, formatPath, parseConfig } from './config.ts';
export { atomicOutput, writeFileAtomic } from './atomic.ts';

export { formatForPath, KNOWN_EXTENSIONS, type Format } from './datasets/formats.ts';
export {
  ArrowReader,
  ArrowReaderConfig,
  createReader,
  CsvReader,
  CsvReaderConfig,
  ParquetReader,
  ParquetReaderConfig,
  ReaderConfig,
  readerConfigForPath,
  readAllBatches,
  readerForPath,
  type ReadBatchesOptions,
  type Reader,
} from './datasets/reader.ts';
export {
  ArrowWriter,
  ArrowWriterConfig,
  createWriter,
  CsvWriter,
  CsvWriterConfig,
  ParquetWriter,
  ParquetWriterConfig,
  WriterConfig,
  writerConfigForPath,
  writerForPath,
  type OpenOptions,
  type TableOutput,
  type Writer,
} from './datasets/writer.ts';
export { tableToParquet, type ParquetCompression } from './datasets/parquet_writer.ts';
export { featureColumns, idColumn, numericColumn, type ColumnOptions, type FeatureColumn } from './datasets/features.ts';

export {
  aliasUri,
  createRegistry,
  LocalRegistry,
  LocalRegistryConfig,
  MlflowRegistry,
  MlflowRegistryConfig,
  parseModelUri,
  RegistryConfig,
  versionUri,
  type ModelUri,
  type ModelVersion,
  type Registry,
} from './registries/registry.ts';
export type { LocalListing, LocalVersionInfo, RegisterOptions } from './registries/local.ts';
export { defaultCacheDir, type MlflowCacheMeta, type MlflowFetchInfo, type MlflowRegistryOptions } from './registries/mlflow.ts';
export {
  MlflowClient,
  MlflowHttpError,
  MlflowUnreachableError,
  type MlflowClientOptions,
  type MlflowModelVersion,
  type MlflowRegisteredModel,
} from './registries/mlflow_client.ts';
export {
  BuiltinLoader,
  BuiltinLoaderConfig,
  createLoader,
  CustomLoader,
  CustomLoaderConfig,
  LoaderConfig,
  type Loader,
} from './registries/loaders.ts';

export { createLogger, LOG_LEVELS, LoggerConfig, type LoggerOptions } from './services/logger.ts';
export {
  AlertsConfig,
  ConsoleAlerts,
  ConsoleAlertsConfig,
  createAlerts,
  WebhookAlerts,
  WebhookAlertsConfig,
  type AlertFields,
  type Alerts,
} from './services/alerts.ts';
