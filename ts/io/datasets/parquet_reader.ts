/** Reads Parquet files (parquet-wasm) into Arrow tables. */
import { readFile } from 'node:fs/promises';
import { tableFromIPC, type Table } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { z } from 'zod';
import { ensureExists } from './formats.ts';
import { describeLimit, Limit } from './limit.ts';
import type { Reader } from './reader.ts';

/** `{KIND: ParquetReader, path, limit?}` */
export const ParquetReaderConfig = z
  .object({
    KIND: z.literal('ParquetReader'),
    /** The `.parquet` file. */
    path: z.string().min(1),
    /** Keep the first N rows. */
    limit: Limit,
  })
  .strict();
/** `{KIND: ParquetReader, path, limit?}` */
export type ParquetReaderConfig = z.infer<typeof ParquetReaderConfig>;

/** Largest batch asked of the Parquet decoder: it clamps to the rows in the file. */
const ONE_BATCH = 2 ** 31 - 1;

/**
 * Reads a Parquet file into one Arrow table with a single record batch, so each
 * numeric column arrives as one contiguous values buffer (viewable without a copy).
 * With `limit`, only the first rows are decoded.
 */
export class ParquetReader implements Reader {
  readonly path: string;
  readonly limit?: number;

  constructor(config: { path: string; limit?: number }) {
    this.path = config.path;
    this.limit = config.limit;
  }

  async read(): Promise<Table> {
    await ensureExists(this.path);
    const bytes = await readFile(this.path);
    let ipc: Uint8Array;
    try {
      const options = this.limit === undefined ? { batchSize: ONE_BATCH } : { batchSize: ONE_BATCH, limit: this.limit };
      ipc = readParquet(bytes, options).intoIPCStream();
    } catch (err) {
      throw new Error(`cannot read ${this.path} as Parquet: ${err instanceof Error ? err.message : String(err)}`);
    }
    return tableFromIPC(ipc);
  }

  describe(): string {
    return `ParquetReader(${this.path}${describeLimit(this.limit)})`;
  }
}
