/** Reads Arrow IPC files (`.arrow`, `.feather` v2) and streams (`.arrows`), whole or streamed. */
import { open, readFile, stat } from 'node:fs/promises';
import { RecordBatchReader, Schema, tableFromIPC, type RecordBatch, type Table } from 'apache-arrow';
import { z } from 'zod';
import { ensureExists } from './formats.ts';
import './ipc_codecs.ts';
import { checkBatchRows } from '../../core/batches.ts';
import { emptyTable, FileReader, fileReaderConfig, limitRows, sliceBatches } from './limit.ts';
import type { ReadBatchesOptions, Reader } from './reader.ts';

/** `{KIND: ArrowReader, path, limit?}` */
export const ArrowReaderConfig = fileReaderConfig('ArrowReader');
/** `{KIND: ArrowReader, path, limit?}` */
export type ArrowReaderConfig = z.infer<typeof ArrowReaderConfig>;

/**
 * Reads an Arrow IPC file or stream (the layout is detected from the content, so a
 * stream saved as `.arrow` still reads). LZ4- and ZSTD-compressed bodies (pyarrow's
 * feather default) are decoded (a copy). Feather v1 is not supported.
 *
 * - {@link ArrowReader.read}: the whole file; columns are views over the file's
 *   bytes (no decoding, no copy).
 * - {@link ArrowReader.batches}: one record batch at a time from disk (an IPC
 *   file by random access through its footer, a stream front to back), cut into
 *   tables of at most `batchRows` rows (zero-copy slices).
 */
export class ArrowReader extends FileReader implements Reader {
  protected readonly kind = 'ArrowReader';
  protected readonly formatName = 'Arrow IPC';

  async read(): Promise<Table> {
    await ensureExists(this.path);
    const bytes = await readFile(this.path);
    let table: Table;
    try {
      table = tableFromIPC(bytes);
    } catch (err) {
      throw this.error(err);
    }
    if (table.schema.fields.length === 0 && bytes.length > 0) throw this.noSchema();
    return limitRows(table, this.limit);
  }

  async *batches(options: ReadBatchesOptions = {}): AsyncGenerator<Table, void, undefined> {
    const batchRows = checkBatchRows(options.batchRows);
    await ensureExists(this.path);
    const size = (await stat(this.path)).size;
    const handle = await open(this.path, 'r');
    try {
      let reader: RecordBatchReader;
      try {
        reader = await (await RecordBatchReader.from(handle)).open();
      } catch (err) {
        throw this.error(err);
      }
      const schema = reader.schema;
      if (!schema || schema.fields.length === 0) {
        if (size > 0) throw this.noSchema();
      }
      const source = this.guarded(reader as AsyncIterable<RecordBatch>);
      let given = false;
      for await (const table of sliceBatches(source, batchRows, this.limit, options.signal)) {
        given = true;
        yield table;
      }
      if (!given) yield emptyTable(schema ?? new Schema([]));
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** The reader's batches, with read errors naming the file. */
  private async *guarded(reader: AsyncIterable<RecordBatch>): AsyncGenerator<RecordBatch> {
    const it = reader[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<RecordBatch>;
        try {
          next = await it.next();
        } catch (err) {
          throw this.error(err);
        }
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await it.return?.().catch(() => undefined);
    }
  }

  async countRows(): Promise<number | undefined> {
    return undefined;
  }


  private noSchema(): Error {
    return new Error(`cannot read ${this.path} as Arrow IPC: no schema found (not an Arrow IPC file or stream?)`);
  }

}
