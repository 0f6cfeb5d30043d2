/** Reads Parquet files (parquet-wasm) into Arrow tables, whole or streamed. */
import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tableFromIPC, type Table } from 'apache-arrow';
import { ParquetFile, readParquet, type RecordBatch as WasmRecordBatch } from 'parquet-wasm';
import { z } from 'zod';
import { ensureExists } from './formats.ts';
import { throwIfAborted } from '../../core/abort.ts';
import { checkBatchRows } from '../../core/batches.ts';
import { emptyTable, FileReader, fileReaderConfig } from './limit.ts';
import type { ReadBatchesOptions, Reader } from './reader.ts';

/** `{KIND: ParquetReader, path, limit?}` */
export const ParquetReaderConfig = fileReaderConfig('ParquetReader');
/** `{KIND: ParquetReader, path, limit?}` */
export type ParquetReaderConfig = z.infer<typeof ParquetReaderConfig>;

/** Largest batch asked of the Parquet decoder: it clamps to the rows in the file. */
const ONE_BATCH = 2 ** 31 - 1;

/**
 * Reads a Parquet file.
 *
 * - {@link ParquetReader.read}: the whole file into one Arrow table with a single
 *   record batch, so each numeric column arrives as one contiguous values buffer
 *   (viewable without a copy). With `limit`, only the first rows are decoded.
 * - {@link ParquetReader.batches}: the file streamed from disk (only the footer
 *   and the row group being decoded are in memory), as tables of at most
 *   `batchRows` rows; a batch never spans two row groups. Each batch is one
 *   record batch copied out of WebAssembly memory, so its float columns are again
 *   viewable without a further copy.
 */
export class ParquetReader extends FileReader implements Reader {
  protected readonly kind = 'ParquetReader';
  protected readonly formatName = 'Parquet';

  async read(): Promise<Table> {
    await ensureExists(this.path);
    const bytes = await readFile(this.path);
    let ipc: Uint8Array;
    try {
      const options = this.limit === undefined ? { batchSize: ONE_BATCH } : { batchSize: ONE_BATCH, limit: this.limit };
      ipc = readParquet(bytes, options).intoIPCStream();
    } catch (err) {
      throw this.error(err);
    }
    return tableFromIPC(ipc);
  }

  async *batches(options: ReadBatchesOptions = {}): AsyncGenerator<Table, void, undefined> {
    const batchRows = checkBatchRows(options.batchRows);
    const file = await this.open();
    try {
      const batchSize = Math.min(batchRows, ONE_BATCH);
      let stream: ReadableStream<WasmRecordBatch>;
      try {
        stream = await file.stream(this.limit === undefined ? { batchSize } : { batchSize, limit: this.limit });
      } catch (err) {
        throw this.error(err);
      }
      const reader = stream.getReader();
      let left = this.limit ?? Infinity;
      let given = false;
      try {
        while (left > 0) {
          throwIfAborted(options.signal);
          let next: ReadableStreamReadResult<WasmRecordBatch>;
          try {
            next = await reader.read();
          } catch (err) {
            throw this.error(err);
          }
          if (next.done) break;
          let table = tableFromIPC(next.value.intoIPCStream());
          if (table.numRows === 0) continue;
          if (table.numRows > left) table = table.slice(0, left);
          left -= table.numRows;
          given = true;
          yield table;
        }
      } finally {
        await reader.cancel().catch(() => undefined);
      }
      if (!given) yield emptyTable(tableFromIPC(file.schema().intoIPCStream()).schema);
    } finally {
      file.free();
    }
  }

  async countRows(): Promise<number | undefined> {
    const file = await this.open();
    try {
      const rows = file.metadata().fileMetadata().numRows();
      return this.limit === undefined ? rows : Math.min(rows, this.limit);
    } finally {
      file.free();
    }
  }

  /** The file opened for random access: only its footer is read here. */
  private async open(): Promise<ParquetFile> {
    await ensureExists(this.path);
    try {
      return await ParquetFile.fromFile(await openAsBlob(this.path));
    } catch (err) {
      throw this.error(err);
    }
  }


}
