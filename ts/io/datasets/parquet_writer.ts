/** Writes Arrow tables as Parquet files (parquet-wasm), whole or streamed. */
import { openAsBlob } from 'node:fs';
import { DataType, Table, tableToIPC, type RecordBatch, type Schema } from 'apache-arrow';
import {
  Compression,
  ParquetFile,
  transformParquetStream,
  Table as WasmTable,
  writeParquet,
  WriterPropertiesBuilder,
  type RecordBatch as WasmRecordBatch,
  type WriterProperties,
} from 'parquet-wasm';
import { z } from 'zod';
import { writeFileAtomic } from '../atomic.ts';
import { emptyTable } from './limit.ts';
import { StagedOutput, type OpenOptions, type TableOutput } from './output.ts';
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

/** Default most rows per row group of a streamed output (the Rust `parquet` crate's default). */
export const DEFAULT_ROW_GROUP_ROWS = 1024 * 1024;

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
 * Writer properties: the codec; dictionary encoding only for text columns (and
 * columns already dictionary-encoded). The SHAP values are distinct floats: a
 * dictionary only fills up and falls back to plain pages, and trying costs ten
 * times the plain encoding.
 */
function properties(compression: ParquetCompression, schema: Schema, rowGroupRows?: number): WriterProperties {
  let builder = new WriterPropertiesBuilder().setCompression(CODECS[compression]).setDictionaryEnabled(false);
  for (const field of schema.fields) {
    if (DataType.isUtf8(field.type) || DataType.isLargeUtf8(field.type) || DataType.isBinary(field.type) || DataType.isDictionary(field.type)) {
      builder = builder.setColumnDictionaryEnabled(field.name, true);
    }
  }
  if (rowGroupRows !== undefined) builder = builder.setMaxRowGroupSize(rowGroupRows);
  return builder.build();
}

/**
 * Serializes a table to Parquet bytes (via an Arrow IPC stream into parquet-wasm).
 * @throws naming `path` when the table cannot be represented in Parquet.
 */
export function tableToParquet(table: Table, compression: ParquetCompression = 'snappy', path = 'the table'): Uint8Array {
  try {
    const wasmTable = WasmTable.fromIPCStream(tableToIPC(table, 'stream'));
    return writeParquet(wasmTable, properties(compression, table.schema));
  } catch (err) {
    throw new Error(`cannot write ${path} as Parquet: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Writes a table to one Parquet file, atomically; or streams batches into one (see {@link ParquetWriter.open}). */
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

  /**
   * Opens a streamed Parquet output: each `write` is encoded into the current row
   * group (at most `rowGroupRows` rows; a full one is written out), so memory holds
   * one row group whatever the file size.
   */
  async open(schema: Schema, options: OpenOptions = {}): Promise<TableOutput> {
    return new ParquetOutput(this.path, schema, this.compression, options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS).start();
  }

  describe(): string {
    return `ParquetWriter(${this.path})`;
  }
}

/**
 * A streamed Parquet file: record batches go through parquet-wasm's
 * `transformParquetStream` (the Rust `AsyncArrowWriter`), whose byte stream is
 * written to the temporary file as it comes.
 *
 * That transform reports no error (it drops a batch it cannot write), so the
 * schema is checked up front by writing an empty file with it, and the footer's
 * row count is checked against the rows given at the end.
 */
class ParquetOutput extends StagedOutput {
  protected readonly formatName = 'Parquet';
  private readonly props: WriterProperties;
  private controller?: ReadableStreamDefaultController<WasmRecordBatch>;
  private output?: ReadableStreamDefaultReader<Uint8Array>;
  private pump?: Promise<void>;
  private pumpError?: unknown;
  private demanded = false;
  private wake?: () => void;
  private pushed = 0;

  constructor(path: string, schema: Schema, compression: ParquetCompression, rowGroupRows: number) {
    super(path, schema);
    if (!Number.isInteger(rowGroupRows) || rowGroupRows <= 0) {
      throw new Error(`rowGroupRows must be a positive integer, got ${rowGroupRows}`);
    }
    this.compression = compression;
    this.props = properties(compression, schema, rowGroupRows);
  }

  private readonly compression: ParquetCompression;

  protected async begin(): Promise<void> {
    // Fails here, with the reason, for a schema Parquet cannot hold.
    tableToParquet(emptyTable(this.schema), this.compression, this.path);
  }

  protected async writeBatch(batch: RecordBatch): Promise<void> {
    const wasm = WasmTable.fromIPCStream(tableToIPC(new Table([batch]), 'stream'));
    const batches = wasm.recordBatches();
    wasm.free();
    for (const b of batches) await this.push(b);
  }

  /** Hands one batch to the transform, once it asks for one (one batch in flight at most). */
  private async push(batch: WasmRecordBatch): Promise<void> {
    if (!this.controller) {
      const input = new ReadableStream<WasmRecordBatch>(
        {
          start: (c) => {
            this.controller = c;
          },
          pull: () => {
            this.demanded = true;
            this.wake?.();
          },
        },
        { highWaterMark: 0 },
      );
      // The transform reads the first batch (for the schema) before it resolves.
      this.controller!.enqueue(batch);
      this.pushed++;
      this.pump = this.drain(transformParquetStream(input, this.props));
      this.pump.catch(() => undefined); // awaited by end(); after an abort nobody waits for it
      return;
    }
    await this.demand();
    this.demanded = false;
    this.controller.enqueue(batch);
    this.pushed++;
  }

  private async demand(): Promise<void> {
    while (!this.demanded) {
      if (this.pumpError !== undefined) throw this.pumpError;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  /** Writes the transform's bytes to the temporary file as they come. */
  private async drain(stream: Promise<ReadableStream<Uint8Array>>): Promise<void> {
    try {
      this.output = (await stream).getReader();
      for (;;) {
        const { done, value } = await this.output.read();
        if (done) return;
        await this.writeBytes(value);
      }
    } catch (err) {
      this.pumpError = err;
      this.wake?.();
      throw err;
    }
  }

  protected async end(): Promise<void> {
    // An empty output still gets a schema: one empty batch.
    if (this.pushed === 0) await this.writeBatch(emptyTable(this.schema).batches[0]);
    await this.demand();
    this.controller!.close();
    await this.pump;
    const written = await footerRows(this.tempPath!);
    if (written !== this.rows) {
      throw new Error(`the Parquet writer wrote ${written} rows of ${this.rows}`);
    }
  }

  protected async release(): Promise<void> {
    // Let the transform finish into a cancelled output, so it frees its row group.
    await this.output?.cancel().catch(() => undefined);
    try {
      this.controller?.close();
    } catch {
      // already closed
    }
  }
}

/** The row count in a Parquet file's footer. */
async function footerRows(path: string): Promise<number> {
  const file = await ParquetFile.fromFile(await openAsBlob(path));
  try {
    return file.metadata().fileMetadata().numRows();
  } finally {
    file.free();
  }
}
