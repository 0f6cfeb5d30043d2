/** Writes Arrow tables as Parquet files (parquet-wasm). */
import { tableToIPC, type Table } from 'apache-arrow';
import { Compression, Table as WasmTable, writeParquet, WriterPropertiesBuilder } from 'parquet-wasm';
import { z } from 'zod';
import { writeFileAtomic } from '../atomic.ts';
import type { Writer } from './writer.ts';

const CODECS = {
  uncompressed: Compression.UNCOMPRESSED,
  snappy: Compression.SNAPPY,
  zstd: Compression.ZSTD,
  gzip: Compression.GZIP,
  brotli: Compression.BROTLI,
  lz4_raw: Compression.LZ4_RAW,
} as const;

/** A Parquet compression codec name. */
export type ParquetCompression = keyof typeof CODECS;

/** `{KIND: ParquetWriter, path, compression?}` */
export const ParquetWriterConfig = z
  .object({
    KIND: z.literal('ParquetWriter'),
    /** The `.parquet` file to write. */
    path: z.string().min(1),
    /** Page compression (default `snappy`). */
    compression: z.enum(Object.keys(CODECS) as [ParquetCompression, ...ParquetCompression[]]).default('snappy'),
  })
  .strict();
/** `{KIND: ParquetWriter, path, compression?}` */
export type ParquetWriterConfig = z.input<typeof ParquetWriterConfig>;

/**
 * Serializes a table to Parquet bytes (via an Arrow IPC stream into parquet-wasm).
 * @throws naming `path` when the table cannot be represented in Parquet.
 */
export function tableToParquet(table: Table, compression: ParquetCompression = 'snappy', path = 'the table'): Uint8Array {
  try {
    const wasmTable = WasmTable.fromIPCStream(tableToIPC(table, 'stream'));
    const props = new WriterPropertiesBuilder().setCompression(CODECS[compression]).build();
    return writeParquet(wasmTable, props);
  } catch (err) {
    throw new Error(`cannot write ${path} as Parquet: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Writes a table to one Parquet file, atomically. */
export class ParquetWriter implements Writer {
  readonly path: string;
  readonly compression: ParquetCompression;

  constructor(config: { path: string; compression?: ParquetCompression }) {
    this.path = config.path;
    this.compression = config.compression ?? 'snappy';
  }

  async write(table: Table): Promise<void> {
    await writeFileAtomic(this.path, tableToParquet(table, this.compression, this.path));
  }

  describe(): string {
    return `ParquetWriter(${this.path})`;
  }
}
