/** What the file readers share: their config shape, path and row limit, and batch slicing. */
import { throwIfAborted } from '../../core/abort.ts';
import { z } from 'zod';
import * as arrow from 'apache-arrow';

/** `limit`: keep the first N rows (a positive integer). */
export const Limit = z.number().int().positive().optional();

/** The first `limit` rows of `table` (a zero-copy slice), or the table itself. */
export function limitRows(table: arrow.Table, limit?: number): arrow.Table {
  return limit === undefined || table.numRows <= limit ? table : table.slice(0, limit);
}

/** ` (first N rows)` for `describe()`, or nothing. */
export function describeLimit(limit?: number): string {
  return limit === undefined ? '' : `, limit ${limit}`;
}

/** The strict config of the file reader `kind`: `{KIND, path, limit?}` (`limit`: keep the first N rows). */
export function fileReaderConfig<K extends string>(kind: K) {
  return z.object({ KIND: z.literal(kind), path: z.string().min(1), limit: Limit }).strict();
}

/** The base of the file readers: the path, the row limit, `describe()`, and errors naming the file and format. */
export abstract class FileReader {
  /** The file read. */
  readonly path: string;
  /** Keep the first N rows. */
  readonly limit?: number;
  /** The config `KIND` (`ParquetReader`), for `describe()`. */
  protected abstract readonly kind: string;
  /** The format, for errors (`Parquet`). */
  protected abstract readonly formatName: string;

  constructor(config: { path: string; limit?: number }) {
    this.path = config.path;
    this.limit = config.limit;
  }

  /** One line for logs: kind, path and limit. */
  describe(): string {
    return `${this.kind}(${this.path}${describeLimit(this.limit)})`;
  }

  /** `cannot read PATH as FORMAT: …` */
  protected error(err: unknown): Error {
    return new Error(`cannot read ${this.path} as ${this.formatName}: ${err instanceof Error ? err.message : String(err)}`);
  }
}


/**
 * Cuts a stream of record batches into tables of at most `batchRows` rows, each
 * holding exactly one record batch (zero-copy slices of the source batches),
 * skipping empty batches and stopping once `limit` rows were given.
 */
export async function* sliceBatches(
  source: AsyncIterable<arrow.RecordBatch> | Iterable<arrow.RecordBatch>,
  batchRows: number,
  limit?: number,
  signal?: AbortSignal,
): AsyncGenerator<arrow.Table, void, undefined> {
  let left = limit ?? Infinity;
  if (left <= 0) return;
  for await (const batch of source) {
    throwIfAborted(signal);
    const n = batch.numRows;
    for (let start = 0; start < n && left > 0; ) {
      if (start > 0) throwIfAborted(signal);
      const take = Math.min(batchRows, n - start, left);
      yield new arrow.Table(start === 0 && take === n ? batch : batch.slice(start, start + take));
      start += take;
      left -= take;
    }
    if (left <= 0) return;
  }
}

/** A table with the schema and no rows, holding one empty record batch. */
export function emptyTable(schema: arrow.Schema): arrow.Table {
  // Builders give well-formed empty buffers (a utf8 column's offsets are [0]).
  const children = schema.fields.map((f) => arrow.vectorFromArray([], f.type).data[0]);
  const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length: 0, nullCount: 0, children });
  return new arrow.Table([new arrow.RecordBatch(schema, data)]);
}
