/** Row batching: the one default batch size, shared by the readers, the explainers and the job. */

/** Rows per batch when none is asked for: the rows of one native call, one streamed input batch, one row group. */
export const DEFAULT_BATCH_ROWS = 65536;

/**
 * `batchRows` checked: a positive integer, or `Infinity` (one batch).
 * @throws naming the value otherwise.
 */
export function checkBatchRows(batchRows: number = DEFAULT_BATCH_ROWS): number {
  if (batchRows === Infinity || (Number.isInteger(batchRows) && batchRows > 0)) return batchRows;
  throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
}
