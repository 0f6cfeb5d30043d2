/** The file readers whose decoding runs in a worker thread (Parquet, Arrow IPC): one implementation of whole and streamed reads. */
import type { Table } from 'apache-arrow';
import { checkBatchRows } from '../../core/batches.ts';
import type { DecodeTask } from './decode_protocol.ts';
import { checkInputFile } from './formats.ts';
import { decodeTimeoutMs, IsolatedDecoder } from './isolated_decoder.ts';
import { emptyTable, FileReader } from './limit.ts';
import type { ReadBatchesOptions, Reader } from './reader.ts';

/**
 * A file reader that decodes in a worker thread (see `isolated_decoder.ts`): a
 * corrupt file — even one that makes the decoding library trap or loop — ends in
 * one error naming the file, and an abort stops the worker at once.
 * Subclasses name the format; everything else is shared.
 */
export abstract class IsolatedFileReader extends FileReader implements Reader {
  /** The decoder's format. */
  protected abstract readonly format: DecodeTask['format'];

  /** The whole file (or its first `limit` rows) as one table, decoded in the worker. */
  async read(): Promise<Table> {
    const size = await checkInputFile(this.path, { whole: true });
    const decoder = await this.decoder();
    try {
      return (await decoder.table({ op: 'read', task: this.task() }, decodeTimeoutMs(size)))!;
    } finally {
      await decoder.close();
    }
  }

  /** The file streamed as tables of at most `batchRows` rows (one empty table with the schema for an empty file). */
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

  /** Rows (after `limit`) when the file's metadata tells them without decoding. */
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
    return { path: this.path, format: this.format, limit: this.limit };
  }

  private decoder(signal?: AbortSignal): Promise<IsolatedDecoder> {
    return IsolatedDecoder.start(this.task(), this.formatName, signal);
  }
}
