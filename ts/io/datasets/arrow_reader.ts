/** Reads Arrow IPC files (`.arrow`, `.feather` v2) and streams (`.arrows`), whole or streamed. */
import type { Table } from 'apache-arrow';
import { z } from 'zod';
import { checkInputFile } from './formats.ts';
import { checkBatchRows } from '../../core/batches.ts';
import type { DecodeTask } from './decode_protocol.ts';
import { decodeTimeoutMs, IsolatedDecoder } from './isolated_decoder.ts';
import { emptyTable, FileReader, fileReaderConfig } from './limit.ts';
import type { ReadBatchesOptions, Reader } from './reader.ts';

/** `{KIND: ArrowReader, path, limit?}` */
export const ArrowReaderConfig = fileReaderConfig('ArrowReader');
/** `{KIND: ArrowReader, path, limit?}` */
export type ArrowReaderConfig = z.infer<typeof ArrowReaderConfig>;

/**
 * Reads an Arrow IPC file or stream (the layout is detected from the content, so a
 * stream saved as `.arrow` still reads). LZ4- and ZSTD-compressed bodies (pyarrow's
 * feather default) are decoded. Feather v1 is not supported.
 *
 * The file is decoded in a worker thread (see `isolated_decoder.ts`) — Arrow JS's
 * reader can loop forever on a corrupt message — and handed over written again
 * as IPC (one copy); a corrupt file ends in one error naming it.
 *
 * - {@link ArrowReader.read}: the whole file.
 * - {@link ArrowReader.batches}: one record batch at a time from disk (an IPC
 *   file by random access through its footer, a stream front to back), cut into
 *   tables of at most `batchRows` rows.
 */
export class ArrowReader extends FileReader implements Reader {
  protected readonly kind = 'ArrowReader';
  protected readonly formatName = 'Arrow IPC';

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
      for await (const table of decoder.tables(Infinity, options.signal)) {
        given = true;
        yield table;
      }
      if (!given) yield emptyTable(schema);
    } finally {
      await decoder.close();
    }
  }

  async countRows(): Promise<number | undefined> {
    return undefined;
  }

  private task(): DecodeTask {
    return { path: this.path, format: 'arrow', limit: this.limit };
  }

  private decoder(signal?: AbortSignal): Promise<IsolatedDecoder> {
    return IsolatedDecoder.start(this.task(), this.formatName, signal);
  }
}
