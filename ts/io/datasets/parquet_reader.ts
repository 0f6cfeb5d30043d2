/** Reads Parquet files (parquet-wasm, in a worker thread) into Arrow tables, whole or streamed. */
import type { Table } from 'apache-arrow';
import { z } from 'zod';
import { checkInputFile } from './formats.ts';
import { checkBatchRows } from '../../core/batches.ts';
import type { DecodeTask } from './decode_protocol.ts';
import { decodeTimeoutMs, IsolatedDecoder } from './isolated_decoder.ts';
import { emptyTable, FileReader, fileReaderConfig } from './limit.ts';
import type { ReadBatchesOptions, Reader } from './reader.ts';

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
export class ParquetReader extends FileReader implements Reader {
  protected readonly kind = 'ParquetReader';
  protected readonly formatName = 'Parquet';

  async read(): Promise<Table> {
    const size = await checkInputFile(this.path, { whole: true });
    const decoder = await this.decoder();
    try {
      return (await decoder.table({ op: 'read', task: this.task() }, decodeTimeoutMs(size)))!;
    } finally {
      await decoder.close();
    }
  }

  async *batches(options: ReadBatchesOptions = {}): AsyncGenerator<Table, void, undefined> {
    const batchRows = checkBatchRows(options.batchRows);
    await checkInputFile(this.path);
    const decoder = await this.decoder(options.signal);
    try {
      const { schema } = (await decoder.table({ op: 'open', task: this.task(), batchRows: Math.min(batchRows, 2 ** 31 - 1) }))!;
      let given = false;
      for await (const table of decoder.tables(this.limit ?? Infinity, options.signal)) {
        given = true;
        yield table;
      }
      if (!given) yield emptyTable(schema);
    } finally {
      await decoder.close();
    }
  }

  async countRows(): Promise<number | undefined> {
    await checkInputFile(this.path);
    const decoder = await this.decoder();
    try {
      return await decoder.count();
    } finally {
      await decoder.close();
    }
  }

  private task(): DecodeTask {
    return { path: this.path, format: 'parquet', limit: this.limit };
  }

  private decoder(signal?: AbortSignal): Promise<IsolatedDecoder> {
    return IsolatedDecoder.start(this.task(), this.formatName, signal);
  }
}
