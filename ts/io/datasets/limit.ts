/** Row limits and batch sizes shared by the readers. */
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

/**
 * Throws when `signal` is aborted: an `Error` named `AbortError` carrying the
 * reason's message (what the native calls reject with), not the bare reason.
 */
export function throwIfAborted(signal?: AbortSignal): void {
  if (!signal?.aborted) return;
  const reason = signal.reason;
  const err = new Error(reason instanceof Error ? reason.message : 'the operation was aborted');
  err.name = 'AbortError';
  throw err;
}

/** Rows per streamed batch when none is asked for (the explainer's default `batch_rows`). */
export const DEFAULT_STREAM_BATCH_ROWS = 65536;

/**
 * `batchRows` checked: a positive integer, or `Infinity` (one batch).
 * @throws naming the value otherwise.
 */
export function checkBatchRows(batchRows: number = DEFAULT_STREAM_BATCH_ROWS): number {
  if (batchRows === Infinity || (Number.isInteger(batchRows) && batchRows > 0)) return batchRows;
  throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
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
