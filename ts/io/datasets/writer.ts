/**
 * Dataset writers: one interface, one small class per format, one config union.
 *
 * Every writer creates the output directory and writes atomically (a temporary
 * file in the same directory, renamed over the target), so a failure never
 * leaves a partial file behind. A table is written whole with `write`, or
 * streamed batch by batch through `open` (see `output.ts`):
 *
 * ```ts
 * const out = await writerForPath('samples.parquet').open(schema, { rowGroupRows: 65536 });
 * try {
 *   for await (const batch of batches) await out.write(batch);
 *   await out.close();   // footer, then rename into place
 * } catch (err) {
 *   await out.abort();   // the target is untouched, the temporary removed
 *   throw err;
 * }
 * ```
 */
import type * as arrow from 'apache-arrow';
import { z } from 'zod';
import { validate } from '../../config/errors.ts';
import { ArrowWriter, ArrowWriterConfig } from './arrow_writer.ts';
import { CsvWriter, CsvWriterConfig } from './csv_writer.ts';
import { formatForPath } from './formats.ts';
import { ParquetWriter, ParquetWriterConfig } from './parquet_writer.ts';
import type { OpenOptions, TableOutput } from './output.ts';

export type { OpenOptions, TableOutput };

export { ArrowWriter, ArrowWriterConfig, CsvWriter, CsvWriterConfig, ParquetWriter, ParquetWriterConfig };

/** Writes one table to one file, whole or streamed. */
export interface Writer {
  /** Writes `table` (replacing any previous file). Errors name the file. */
  write(table: arrow.Table): Promise<void>;
  /**
   * Opens the file for streaming: batches of `schema` are written to a temporary
   * file as they come; `close()` puts it in place, `abort()` removes it.
   */
  open(schema: arrow.Schema, options?: OpenOptions): Promise<TableOutput>;
  /** One line for logs: kind and path. */
  describe(): string;
}

/** Any writer config, chosen by `KIND`. */
export const WriterConfig = z.discriminatedUnion('KIND', [ParquetWriterConfig, CsvWriterConfig, ArrowWriterConfig]);
/** Any writer config, chosen by `KIND`, as written. */
export type WriterConfig = z.input<typeof WriterConfig>;
/** Any writer config, validated. */
export type ValidWriterConfig = z.output<typeof WriterConfig>;

/**
 * Builds the writer a config describes, validating it first (the library's
 * boundary; a job builds from its validated config with {@link writerOf}).
 * @param prefix key path of the config inside a larger one, for error messages.
 */
export function createWriter(config: unknown, prefix = ''): Writer {
  return writerOf(validate(WriterConfig, config, { what: 'writer config', prefix }));
}

/** The writer of a validated config. */
export function writerOf(cfg: ValidWriterConfig): Writer {
  switch (cfg.KIND) {
    case 'ParquetWriter':
      return new ParquetWriter(cfg);
    case 'CsvWriter':
      return new CsvWriter(cfg);
    case 'ArrowWriter':
      return new ArrowWriter(cfg);
  }
}

/**
 * The writer config for a path, chosen by extension: `.parquet`, `.csv`,
 * `.arrow`/`.feather` (IPC file), `.arrows` (IPC stream).
 * @throws naming the path when the extension is unknown.
 */
export function writerConfigForPath(path: string): WriterConfig {
  const format = formatForPath(path);
  if (format === 'parquet') return { KIND: 'ParquetWriter', path };
  if (format === 'csv') return { KIND: 'CsvWriter', path };
  return { KIND: 'ArrowWriter', path };
}

/** The writer for a path, chosen by extension (see {@link writerConfigForPath}). */
export function writerForPath(path: string): Writer {
  return createWriter(writerConfigForPath(path));
}
