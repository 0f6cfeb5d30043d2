/**
 * A shard's share of a Parquet dataset: the units of work are the row groups
 * of the files in name order; shard I of N takes the contiguous run of units
 * that fall in `[I·T/N, (I+1)·T/N)` (T = total rows). The split
 * depends only on the files' footers, so every shard computes the same one
 * without talking to the others, and the shards' outputs concatenated in
 * index order are the rows in input order. (Precisely: a row group belongs to
 * the shard whose range holds its middle row.)
 */
import type { ParquetFileLayout, ParquetPart } from '../io/datasets/parquet_dataset.ts';
import type { Shard } from './spec.ts';

/** What one shard reads. */
export interface ShardPlan {
  /** The row groups to read, file by file (files without a unit of this shard left out). */
  parts: ParquetPart[];
  /** Position of the shard's first row in the whole dataset (the `row` column starts there). */
  firstRow: number;
  /** Rows the shard reads. */
  rows: number;
  /** Rows of the whole dataset. */
  totalRows: number;
  /** Units (row groups) of the shard: `[firstUnit, firstUnit + units)` in dataset order. */
  firstUnit: number;
  /** Units of the shard. */
  units: number;
  /** Units of the whole dataset. */
  totalUnits: number;
}

/** The share of `shard` in a dataset of `layouts` (files in order, with their row groups' rows). */
export function planShard(layouts: readonly ParquetFileLayout[], shard: Pick<Shard, 'index' | 'count'>): ShardPlan {
  const totalRows = layouts.reduce((n, l) => n + l.rowGroupRows.reduce((a, b) => a + b, 0), 0);
  // a row group goes to the shard its middle row falls in: contiguous, monotone, balanced to within a row group
  const owner = (startRow: number, rows: number) =>
    totalRows === 0 ? 0 : Math.min(shard.count - 1, Math.floor(((2 * startRow + rows) * shard.count) / (2 * totalRows)));
  const parts: ParquetPart[] = [];
  let row = 0;
  let unit = 0;
  let firstRow = -1;
  let firstUnit = -1;
  let rows = 0;
  let units = 0;
  let later = -1; // the first unit of a later shard: where an empty shard sits
  let laterRow = totalRows;
  for (const layout of layouts) {
    const mine: number[] = [];
    layout.rowGroupRows.forEach((n, g) => {
      if (later < 0 && owner(row, n) > shard.index) {
        later = unit;
        laterRow = row;
      }
      if (owner(row, n) === shard.index) {
        if (firstUnit < 0) {
          firstUnit = unit;
          firstRow = row;
        }
        mine.push(g);
        rows += n;
        units++;
      }
      row += n;
      unit++;
    });
    if (mine.length > 0) parts.push({ path: layout.path, rowGroups: mine });
  }
  if (firstUnit < 0) {
    // No unit: the shard is empty; it sits where the next shard's rows start.
    firstUnit = later < 0 ? unit : later;
    firstRow = laterRow;
  }
  return { parts, firstRow, rows, totalRows, firstUnit, units, totalUnits: unit };
}
