/** Row limits shared by the readers. */
import { z } from 'zod';
import type * as arrow from 'apache-arrow';

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
