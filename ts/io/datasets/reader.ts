/**
 * Dataset readers: one interface, one small class per format, one config union.
 *
 * ```ts
 * const reader = createReader({ KIND: 'ParquetReader', path: 'data/inputs.parquet', limit: 100 });
 * const table = await reader.read();
 * ```
 */
import type * as arrow from 'apache-arrow';
import { z } from 'zod';
import { parseConfig } from '../config.ts';
import { ArrowReader, ArrowReaderConfig } from './arrow_reader.ts';
import { CsvReader, CsvReaderConfig } from './csv_reader.ts';
import { formatForPath } from './formats.ts';
import { ParquetReader, ParquetReaderConfig } from './parquet_reader.ts';

export { ArrowReader, ArrowReaderConfig, CsvReader, CsvReaderConfig, ParquetReader, ParquetReaderConfig };

/** Reads one table file into memory. */
export interface Reader {
  /** Reads the file (the first `limit` rows when set). Errors name the file. */
  read(): Promise<arrow.Table>;
  /** One line for logs: kind, path and limit. */
  describe(): string;
}

/** Any reader config, chosen by `KIND`. */
export const ReaderConfig = z.discriminatedUnion('KIND', [ParquetReaderConfig, CsvReaderConfig, ArrowReaderConfig]);
/** Any reader config, chosen by `KIND`. */
export type ReaderConfig = z.input<typeof ReaderConfig>;

/**
 * Builds the reader a config describes (validating it first).
 * @param prefix key path of the config inside a larger one, for error messages.
 */
export function createReader(config: unknown, prefix = ''): Reader {
  const cfg = parseConfig(ReaderConfig, config, 'reader config', prefix);
  switch (cfg.KIND) {
    case 'ParquetReader':
      return new ParquetReader(cfg);
    case 'CsvReader':
      return new CsvReader(cfg);
    case 'ArrowReader':
      return new ArrowReader(cfg);
  }
}

/**
 * The reader config for a path, chosen by extension: `.parquet`, `.csv`,
 * `.arrow`/`.feather` (IPC file), `.arrows` (IPC stream).
 * @throws naming the path when the extension is unknown.
 */
export function readerConfigForPath(path: string, limit?: number): ReaderConfig {
  const format = formatForPath(path);
  const KIND = format === 'parquet' ? 'ParquetReader' : format === 'csv' ? 'CsvReader' : 'ArrowReader';
  return parseConfig(ReaderConfig, limit === undefined ? { KIND, path } : { KIND, path, limit }, 'reader config');
}

/** The reader for a path, chosen by extension (see {@link readerConfigForPath}). */
export function readerForPath(path: string, limit?: number): Reader {
  return createReader(readerConfigForPath(path, limit));
}
