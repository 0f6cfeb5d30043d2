/**
 * Dataset readers: one interface, one small class per format, one config union.
 *
 * ```ts
 * const reader = createReader({ KIND: 'ParquetReader', path: 'data/inputs.parquet', limit: 100 });
 * const table = await reader.read();                                 // everything, in memory
 * for await (const batch of reader.batches({ batchRows: 65536 })) {  // or streamed, bounded memory
 *   // batch: an Arrow table of at most 65536 rows, one record batch
 * }
 * ```
 */
import * as arrow from 'apache-arrow';
import { z } from 'zod';
import { validate } from '../../config/errors.ts';
import { ArrowReader, ArrowReaderConfig } from './arrow_reader.ts';
import { CsvReader, CsvReaderConfig } from './csv_reader.ts';
import { formatForPath } from './formats.ts';
import { ParquetReader, ParquetReaderConfig } from './parquet_reader.ts';
import { ParquetDatasetReader } from './parquet_dataset.ts';
import { isDirectoryPath } from '../storage/files.ts';
import { isObjectUrl } from '../storage/url.ts';

export { ArrowReader, ArrowReaderConfig, CsvReader, CsvReaderConfig, ParquetReader, ParquetReaderConfig };

/** Options of {@link Reader.batches}. */
export interface ReadBatchesOptions {
  /** Most rows per batch (a positive integer; default 65536; `Infinity` = one batch). */
  batchRows?: number;
  /** Stops the reading between batches (the iterator throws the abort reason). */
  signal?: AbortSignal;
}

/** Reads one table file, whole or as a stream of batches. */
export interface Reader {
  /** Reads the file (the first `limit` rows when set) into memory. Errors name the file. */
  read(): Promise<arrow.Table>;
  /**
   * Streams the file (the first `limit` rows when set) as Arrow tables of at most
   * `batchRows` rows, each holding exactly one record batch, so that memory stays
   * bounded whatever the file size. Batches may be shorter than `batchRows` (a
   * Parquet row group or an IPC record batch ends). An input without rows gives
   * one empty table with the file's schema; otherwise no batch is empty.
   * Every batch has the same schema. Errors name the file.
   */
  batches(options?: ReadBatchesOptions): AsyncGenerator<arrow.Table, void, undefined>;
  /** Rows the reader will give (after `limit`), when the format tells them cheaply (Parquet), else `undefined`. */
  countRows(): Promise<number | undefined>;
  /** One line for logs: kind, path and limit. */
  describe(): string;
}

/** Every batch of a reader as one table (its record batches in order). */
export async function readAllBatches(reader: Reader, options: ReadBatchesOptions = {}): Promise<arrow.Table> {
  const batches: arrow.RecordBatch[] = [];
  let schema: arrow.Schema | undefined;
  for await (const table of reader.batches(options)) {
    schema ??= table.schema;
    if (table.numRows > 0) batches.push(...table.batches);
  }
  return batches.length > 0 ? new arrow.Table(batches) : new arrow.Table(schema!);
}

/** Any reader config, chosen by `KIND`. */
export const ReaderConfig = z.discriminatedUnion('KIND', [ParquetReaderConfig, CsvReaderConfig, ArrowReaderConfig]);
/** Any reader config, chosen by `KIND`, as written. */
export type ReaderConfig = z.input<typeof ReaderConfig>;
/** Any reader config, validated. */
export type ValidReaderConfig = z.output<typeof ReaderConfig>;

/**
 * Builds the reader a config describes, validating it first (the library's
 * boundary; a job builds from its validated config with {@link readerOf}).
 * @param prefix key path of the config inside a larger one, for error messages.
 */
export function createReader(config: unknown, prefix = ''): Reader {
  return readerOf(validate(ReaderConfig, config, { what: 'reader config', prefix }));
}

/** The reader of a validated config. */
export function readerOf(cfg: ValidReaderConfig): Reader {
  if (isObjectUrl(cfg.path) && cfg.KIND !== 'ParquetReader') throw new Error(`${cfg.KIND}: ${cfg.path}: object storage inputs are Parquet only (ParquetReader)`);
  switch (cfg.KIND) {
    case 'ParquetReader':
      // a directory of files, or object storage: the dataset reader (ranged reads, many files)
      return isObjectUrl(cfg.path) || isDirectoryPath(cfg.path) ? new ParquetDatasetReader(cfg) : new ParquetReader(cfg);
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
  const format = isDirectoryPath(path) ? 'parquet' : formatForPath(path); // a directory or prefix: a Parquet dataset
  const KIND = format === 'parquet' ? 'ParquetReader' : format === 'csv' ? 'CsvReader' : 'ArrowReader';
  return validate(ReaderConfig, limit === undefined ? { KIND, path } : { KIND, path, limit }, { what: 'reader config' });
}

/** The reader for a path, chosen by extension (see {@link readerConfigForPath}). */
export function readerForPath(path: string, limit?: number): Reader {
  return createReader(readerConfigForPath(path, limit));
}
