/** Reads Arrow IPC files (`.arrow`, `.feather` v2) and streams (`.arrows`). */
import { readFile } from 'node:fs/promises';
import { tableFromIPC, type Table } from 'apache-arrow';
import { z } from 'zod';
import { ensureExists } from './formats.ts';
import './ipc_codecs.ts';
import { describeLimit, Limit, limitRows } from './limit.ts';
import type { Reader } from './reader.ts';

/** `{KIND: ArrowReader, path, limit?}` */
export const ArrowReaderConfig = z
  .object({
    KIND: z.literal('ArrowReader'),
    /** The `.arrow` / `.feather` (IPC file) or `.arrows` (IPC stream) file. */
    path: z.string().min(1),
    /** Keep the first N rows. */
    limit: Limit,
  })
  .strict();
/** `{KIND: ArrowReader, path, limit?}` */
export type ArrowReaderConfig = z.infer<typeof ArrowReaderConfig>;

/**
 * Reads an Arrow IPC file or stream (the layout is detected from the content, so a
 * stream saved as `.arrow` still reads). Columns are views over the file's bytes:
 * no decoding, no copy. LZ4- and ZSTD-compressed bodies (pyarrow's feather default)
 * are decoded (a copy). Feather v1 is not supported.
 */
export class ArrowReader implements Reader {
  readonly path: string;
  readonly limit?: number;

  constructor(config: { path: string; limit?: number }) {
    this.path = config.path;
    this.limit = config.limit;
  }

  async read(): Promise<Table> {
    await ensureExists(this.path);
    const bytes = await readFile(this.path);
    let table: Table;
    try {
      table = tableFromIPC(bytes);
    } catch (err) {
      throw new Error(`cannot read ${this.path} as Arrow IPC: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (table.schema.fields.length === 0 && bytes.length > 0) {
      throw new Error(`cannot read ${this.path} as Arrow IPC: no schema found (not an Arrow IPC file or stream?)`);
    }
    return limitRows(table, this.limit);
  }

  describe(): string {
    return `ArrowReader(${this.path}${describeLimit(this.limit)})`;
  }
}
