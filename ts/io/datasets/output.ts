/**
 * Streaming table outputs: open → write(batch) many times → close, all or nothing.
 *
 * An output writes to a temporary file beside its target (`.NAME.PID.RANDOM.tmp`,
 * same directory so the final rename is atomic) and moves it into place only
 * when it is complete:
 *
 * - `finish()` completes the temporary file (Parquet footer, IPC footer), syncs
 *   and closes it — the target is not touched yet;
 * - `commit()` renames the finished temporary over the target;
 * - `close()` = `finish()` then `commit()`;
 * - `abort()` removes the temporary (at any point before `commit()`; idempotent).
 *
 * Splitting `finish` from `commit` lets a job finish several outputs and only
 * then rename them all, so that a failure leaves none of them.
 * Errors name the target path, never the temporary.
 */
import * as arrow from 'apache-arrow';
import { StagedFile } from '../atomic.ts';

/** Options of {@link Writer.open}. */
export interface OpenOptions {
  /**
   * Parquet only: most rows per row group (default 1,048,576). The writer keeps
   * one row group in memory; a job passes its batch size so each batch is one
   * row group.
   */
  rowGroupRows?: number;
}

/** An output being written (see the module doc). */
export interface TableOutput {
  /** The target path. */
  readonly path: string;
  /** The schema every batch must have (field names and types). */
  readonly schema: arrow.Schema;
  /** Rows written so far. */
  readonly rows: number;
  /** Appends the rows of a table or record batch (its schema must match). */
  write(data: arrow.Table | arrow.RecordBatch): Promise<void>;
  /** Completes the temporary file (footer, sync); the target is not touched. */
  finish(): Promise<void>;
  /** Renames the finished temporary over the target (finishing it first if needed). */
  commit(): Promise<void>;
  /** `finish()` then `commit()`. */
  close(): Promise<void>;
  /** Removes the temporary; the target is left as it was. Safe to call more than once. */
  abort(): Promise<void>;
}

type State = 'open' | 'finished' | 'committed' | 'aborted';

/** Field names and types of two schemas agree (nullability and metadata aside). */
export function sameColumns(a: arrow.Schema, b: arrow.Schema): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every((f, i) => f.name === b.fields[i].name && String(f.type) === String(b.fields[i].type))
  );
}

/**
 * The base of every format's output: the temporary file, the state machine,
 * schema checks and error messages. A format implements `begin`, `writeBatch`
 * and `end` over {@link StagedOutput.writeBytes}.
 */
export abstract class StagedOutput implements TableOutput {
  readonly path: string;
  readonly schema: arrow.Schema;
  rows = 0;
  private file?: StagedFile;
  private state: State = 'open';

  protected constructor(path: string, schema: arrow.Schema) {
    this.path = path;
    this.schema = schema;
  }

  /** The temporary file being written (once started). */
  get tempPath(): string | undefined {
    return this.file?.tempPath;
  }

  /** What kind of file, for errors (`Parquet`, `CSV`, `Arrow IPC`). */
  protected abstract readonly formatName: string;
  /** Writes what comes before the batches (a header, a schema). */
  protected abstract begin(): Promise<void>;
  /** Writes one record batch (its schema is {@link StagedOutput.schema}). */
  protected abstract writeBatch(batch: arrow.RecordBatch): Promise<void>;
  /** Writes what comes after the batches (a footer). */
  protected abstract end(): Promise<void>;
  /** Releases format resources after an abort (optional). */
  protected async release(): Promise<void> {}

  /** Creates the directory and the temporary file, then writes the beginning. */
  async start(): Promise<this> {
    try {
      await this.guard(async () => {
        this.file = await StagedFile.create(this.path);
        await this.begin();
      });
    } catch (err) {
      await this.abort();
      throw err;
    }
    return this;
  }

  async write(data: arrow.Table | arrow.RecordBatch): Promise<void> {
    this.expect('open', 'write to');
    const batches = data instanceof arrow.RecordBatch ? [data] : data.batches;
    if (!sameColumns(data.schema, this.schema)) {
      throw new Error(
        `cannot write to ${this.path}: the batch has columns ${describeSchema(data.schema)}, the output has ${describeSchema(this.schema)}`,
      );
    }
    await this.guard(async () => {
      for (const batch of batches) {
        if (batch.numRows === 0) continue;
        await this.writeBatch(this.conform(batch));
        this.rows += batch.numRows;
      }
    });
  }

  async finish(): Promise<void> {
    if (this.state === 'finished' || this.state === 'committed') return;
    this.expect('open', 'finish');
    await this.guard(async () => {
      await this.end();
      await this.file!.finish();
    });
    this.state = 'finished';
  }

  async commit(): Promise<void> {
    if (this.state === 'committed') return;
    await this.finish();
    await this.guard(() => this.file!.commit());
    this.state = 'committed';
  }

  async close(): Promise<void> {
    await this.commit();
  }

  async abort(): Promise<void> {
    if (this.state === 'committed' || this.state === 'aborted') return;
    this.state = 'aborted';
    await this.release().catch(() => undefined);
    await this.file?.abort();
  }

  /** Writes all of `bytes` at the end of the temporary file. */
  protected async writeBytes(bytes: Uint8Array): Promise<void> {
    if (!this.file) throw new Error(`${this.path} is not open for writing`);
    await this.file.write(bytes);
  }

  /** The batch with this output's schema object (same columns, checked by `write`). */
  private conform(batch: arrow.RecordBatch): arrow.RecordBatch {
    if (batch.schema === this.schema) return batch;
    const data = arrow.makeData({
      type: new arrow.Struct(this.schema.fields),
      length: batch.numRows,
      nullCount: 0,
      children: batch.data.children,
    });
    return new arrow.RecordBatch(this.schema, data);
  }

  private expect(state: State, doing: string): void {
    if (this.state !== state) throw new Error(`cannot ${doing} ${this.path}: the output is ${this.state}`);
  }

  /** Runs `fn`; on failure the error names the target (not the temporary) and the format. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (this.file) e.message = e.message.split(this.file.tempPath).join(this.path);
      if (!e.message.includes(this.path)) e.message = `cannot write ${this.path} as ${this.formatName}: ${e.message}`;
      throw e;
    }
  }
}

function describeSchema(schema: arrow.Schema): string {
  const shown = schema.fields.slice(0, 8).map((f) => `${f.name}: ${f.type}`);
  return `(${shown.join(', ')}${schema.fields.length > 8 ? `, … ${schema.fields.length - 8} more` : ''})`;
}
