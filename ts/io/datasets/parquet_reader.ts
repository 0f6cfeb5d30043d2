/** Reads Parquet files (parquet-wasm, in a worker thread) into Arrow tables, whole or streamed. */
import { z } from 'zod';
import { IsolatedFileReader } from './isolated_reader.ts';
import { fileReaderConfig } from './limit.ts';

/** `{KIND: ParquetReader, path, limit?}` */
export const ParquetReaderConfig = fileReaderConfig('ParquetReader');
/** `{KIND: ParquetReader, path, limit?}` */
export type ParquetReaderConfig = z.infer<typeof ParquetReaderConfig>;

/**
 * Reads a Parquet file. The decoding runs in a worker thread (see
 * `isolated_decoder.ts`): a corrupt file — even one that makes the decoder trap or
 * loop — ends in one error naming the file, and an abort stops it at once.
 *
 * - {@link ParquetReader.read}: the whole file into one Arrow table with a single
 *   record batch, so each numeric column arrives as one contiguous values buffer
 *   (viewable without a copy). With `limit`, only the first rows are decoded.
 * - {@link ParquetReader.batches}: the file streamed from disk (only the footer
 *   and the row group being decoded are in memory), as tables of at most
 *   `batchRows` rows; a batch never spans two row groups. Each batch is one
 *   record batch, so its float columns are again viewable without a copy.
 */
export class ParquetReader extends IsolatedFileReader {
  protected readonly kind = 'ParquetReader';
  protected readonly formatName = 'Parquet';
  protected readonly format = 'parquet';
}
