/** Writes Arrow tables as Arrow IPC files (`.arrow`, `.feather`) or streams (`.arrows`), whole or streamed. */
import { extname } from 'node:path';
import {
  DataType,
  Field,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchStreamWriter,
  Schema as ArrowSchema,
  Struct,
  tableToIPC,
  vectorFromArray,
  type Schema,
  type Table,
} from 'apache-arrow';
import { z } from 'zod';
import { writeFileAtomic } from '../atomic.ts';
import { StagedOutput, type OpenOptions, type TableOutput } from './output.ts';
import type { Writer } from './writer.ts';

/** `{KIND: ArrowWriter, path, format?}` */
export const ArrowWriterConfig = z
  .object({
    KIND: z.literal('ArrowWriter'),
    /** The file to write. */
    path: z.string().min(1),
    /** IPC layout; by default `stream` for `.arrows`, else `file`. */
    format: z.enum(['file', 'stream']).optional(),
  })
  .strict();
/** `{KIND: ArrowWriter, path, format?}` */
export type ArrowWriterConfig = z.input<typeof ArrowWriterConfig>;

/** Writes a table to one Arrow IPC file or stream, atomically; or streams batches into one. */
export class ArrowWriter implements Writer {
  readonly path: string;
  readonly format: 'file' | 'stream';

  constructor(config: { path: string; format?: 'file' | 'stream' }) {
    this.path = config.path;
    this.format = config.format ?? (extname(config.path).toLowerCase() === '.arrows' ? 'stream' : 'file');
  }

  async write(table: Table): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = tableToIPC(table, this.format);
    } catch (err) {
      throw new Error(`cannot write ${this.path} as Arrow IPC: ${err instanceof Error ? err.message : String(err)}`);
    }
    await writeFileAtomic(this.path, bytes);
  }

  /** Opens a streamed IPC output: each batch is written out as it comes (the file footer at the end). */
  async open(schema: Schema, _options: OpenOptions = {}): Promise<TableOutput> {
    return new ArrowOutput(this.path, schema, this.format).start();
  }

  describe(): string {
    return `ArrowWriter(${this.path}, ${this.format})`;
  }
}

/** Marks "nothing more is queued" in {@link ArrowOutput.flush}. */
const IDLE = Symbol('idle');

/**
 * A streamed IPC file or stream (Arrow JS `RecordBatchWriter`). The writer queues
 * the bytes of each batch synchronously (views of the batch's buffers); `flush`
 * moves everything queued to the file before the next batch is taken.
 *
 * An IPC file cannot replace a dictionary between batches, and streamed batches
 * (from Parquet, say) each bring their own: in a streamed IPC *file*, dictionary
 * columns are written decoded, as their value type. An IPC stream keeps them.
 */
class ArrowOutput extends StagedOutput {
  protected readonly formatName = 'Arrow IPC';
  private readonly writer: RecordBatchFileWriter | RecordBatchStreamWriter;
  private readonly chunks: AsyncIterator<Uint8Array>;
  private next?: Promise<IteratorResult<Uint8Array>>;
  /** The schema written: dictionaries decoded in an IPC file. */
  private readonly written: Schema;

  constructor(path: string, schema: Schema, format: 'file' | 'stream') {
    super(path, schema);
    this.writer = format === 'file' ? new RecordBatchFileWriter() : new RecordBatchStreamWriter();
    this.chunks = this.writer[Symbol.asyncIterator]();
    const decode = format === 'file' && schema.fields.some((f) => DataType.isDictionary(f.type));
    this.written = decode
      ? new ArrowSchema(
          schema.fields.map((f) => (DataType.isDictionary(f.type) ? new Field(f.name, f.type.dictionary, f.nullable, f.metadata) : f)),
          schema.metadata,
        )
      : schema;
  }

  protected async begin(): Promise<void> {
    this.writer.reset(undefined, this.written); // writes the schema (and an IPC file's magic)
    await this.flush(false);
  }

  protected async writeBatch(batch: RecordBatch): Promise<void> {
    this.writer.write(this.written === this.schema ? batch : decodeDictionaries(batch, this.written));
    await this.flush(false);
  }

  protected async end(): Promise<void> {
    this.writer.close(); // the end-of-stream marker, and an IPC file's footer
    await this.flush(true);
  }

  protected async release(): Promise<void> {
    this.writer.abort();
  }

  /**
   * Writes the queued chunks to the file: all of them until the writer is closed
   * (`untilDone`), or those already queued (a queued chunk is delivered before the
   * next macrotask; an empty queue leaves the read pending for the next flush).
   */
  private async flush(untilDone: boolean): Promise<void> {
    for (;;) {
      this.next ??= this.chunks.next();
      const result = untilDone
        ? await this.next
        : await Promise.race([this.next, new Promise<typeof IDLE>((resolve) => setImmediate(resolve, IDLE))]);
      if (result === IDLE) return;
      this.next = undefined;
      if (result.done) return;
      await this.writeBytes(result.value);
    }
  }
}

/** `batch` with its dictionary columns decoded to their value type (`schema`'s). */
function decodeDictionaries(batch: RecordBatch, schema: Schema): RecordBatch {
  const children = schema.fields.map((field, j) => {
    const column = batch.getChildAt(j)!;
    return DataType.isDictionary(column.type) ? vectorFromArray([...column], field.type).data[0] : column.data[0];
  });
  const data = makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children });
  return new RecordBatch(schema, data);
}
