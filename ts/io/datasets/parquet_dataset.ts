/**
 * A Parquet dataset: one file, a directory of `.parquet` files, or an `s3://`
 * object or prefix, read through parquet-wasm's async reader over ranged reads
 * (only the footers and the row groups asked for are fetched), optionally
 * restricted to some row groups of some files (a shard's share). The decoding
 * runs in a worker thread (`isolated_decoder.ts`) that asks this thread for the
 * byte ranges it needs: a corrupt file is one error naming it, never a crash.
 */
import { Table } from 'apache-arrow';
import { checkBatchRows } from '../../core/batches.ts';
import { isDirectoryPath, listFiles, openBlob, type ByteCounter } from '../storage/files.ts';
import { isObjectUrl } from '../storage/url.ts';
import type { DecodeTask } from './decode_protocol.ts';
import { checkInputFile } from './formats.ts';
import { IsolatedDecoder } from './isolated_decoder.ts';
import { describeLimit, emptyTable } from './limit.ts';
import { sameColumns } from './output.ts';
import type { ReadBatchesOptions, Reader } from './reader.ts';

/** Largest batch asked of the Parquet decoder: it clamps to the rows in the file. */
const ONE_BATCH = 2 ** 31 - 1;

/** Some row groups of one file (all of them when `rowGroups` is absent). */
export interface ParquetPart {
  /** The file (local path or `s3://` URL). */
  path: string;
  /** Row group indexes to read, ascending. */
  rowGroups?: number[];
}

/** One file's row groups, from its footer. */
export interface ParquetFileLayout {
  /** The file. */
  path: string;
  /** Rows of each row group. */
  rowGroupRows: number[];
}

/** Options of {@link ParquetDatasetReader}. */
export interface ParquetDatasetOptions {
  /** The file, directory or `s3://` object/prefix. */
  path: string;
  /** Keep the first N rows of the dataset. */
  limit?: number;
  /** Read only these parts (a shard's share), in this order; default every row group of every file. */
  parts?: ParquetPart[];
  /** The rows the parts hold, when the caller knows them (from the footers it read): {@link ParquetDatasetReader.countRows} gives it. */
  rows?: number;
}

/**
 * A decoder (a worker thread, see `isolated_decoder.ts`) for the Parquet file
 * `path` (local or `s3://`, optionally only some row groups, the first `limit`
 * rows), whose bytes this thread reads for it (ranged reads through
 * {@link openBlob}, counted in `counter`). Errors name the file.
 */
async function openParquet(
  path: string,
  options: { counter?: ByteCounter; rowGroups?: number[]; limit?: number; signal?: AbortSignal } = {},
): Promise<IsolatedDecoder> {
  if (!isObjectUrl(path)) await checkInputFile(path);
  const blob = await openBlob(path, options.counter);
  const task: DecodeTask = { path, format: 'parquet', served: { size: blob.size } };
  if (options.rowGroups) task.rowGroups = options.rowGroups;
  if (options.limit !== undefined && Number.isFinite(options.limit)) task.limit = options.limit;
  return IsolatedDecoder.start(task, 'Parquet', options.signal, blob);
}

/** The files of a dataset path: the `.parquet` files of a directory/prefix (sorted by name), or the one file. */
export async function parquetFiles(path: string): Promise<string[]> {
  if (!isDirectoryPath(path)) return [path];
  const files = await listFiles(path, '.parquet');
  if (files.length === 0) throw new Error(`no .parquet file in ${path}`);
  return files;
}

/** The row groups of each file of the dataset at `path`, from the footers only (bytes read go to `counter`). */
export async function parquetLayout(path: string, counter?: ByteCounter): Promise<ParquetFileLayout[]> {
  const layouts: ParquetFileLayout[] = [];
  for (const file of await parquetFiles(path)) {
    const decoder = await openParquet(file, { counter });
    try {
      layouts.push({ path: file, rowGroupRows: await decoder.layout() });
    } finally {
      await decoder.close();
    }
  }
  return layouts;
}

/**
 * Reads a Parquet dataset (see the module doc) as the {@link Reader} interface
 * says; files are read in name order and must all have the same columns. The
 * bytes fetched (footers and column chunks) add up in {@link bytesRead}.
 */
export class ParquetDatasetReader implements Reader {
  /** The dataset path. */
  readonly path: string;
  /** Keep the first N rows. */
  readonly limit?: number;
  /** The parts read (undefined: every file whole). */
  readonly parts?: ParquetPart[];
  /** Bytes and requests fetched so far by this reader. */
  readonly bytesRead: ByteCounter = { bytes: 0, requests: 0 };

  constructor(options: ParquetDatasetOptions) {
    this.path = options.path;
    this.limit = options.limit;
    this.parts = options.parts;
    this.rows = options.rows;
  }

  private readonly rows?: number;

  describe(): string {
    const share = this.parts ? `, ${this.parts.reduce((n, p) => n + (p.rowGroups?.length ?? 0), 0)} row groups of ${this.parts.length} files` : '';
    return `ParquetReader(${this.path}${describeLimit(this.limit)}${share})`;
  }

  async read(): Promise<Table> {
    const batches = [];
    let schema;
    for await (const t of this.batches({ batchRows: Infinity })) {
      schema ??= t.schema;
      if (t.numRows > 0) batches.push(...t.batches);
    }
    return batches.length > 0 ? new Table(batches) : emptyTable(schema!);
  }

  async *batches(options: ReadBatchesOptions = {}): AsyncGenerator<Table, void, undefined> {
    const batchSize = Math.min(checkBatchRows(options.batchRows), ONE_BATCH);
    const parts: ParquetPart[] = this.parts ?? (await parquetFiles(this.path)).map((path) => ({ path }));
    let left = this.limit ?? Infinity;
    let given = false;
    let schemaTable: Table | undefined;
    for (const part of parts) {
      if (left <= 0) break;
      if (part.rowGroups?.length === 0) continue;
      const decoder = await openParquet(part.path, { counter: this.bytesRead, rowGroups: part.rowGroups, limit: left, signal: options.signal });
      try {
        const fileSchema = (await decoder.table({ op: 'open', task: decoder.task, batchRows: batchSize }))!;
        if (schemaTable && !sameColumns(schemaTable.schema, fileSchema.schema)) {
          throw new Error(`${part.path} does not have the columns of ${parts[0].path}: every file of ${this.path} must have the same columns`);
        }
        schemaTable ??= fileSchema;
        for await (const table of decoder.tables(left, options.signal)) {
          left -= table.numRows;
          given = true;
          yield table;
        }
      } finally {
        await decoder.close();
      }
    }
    if (!given) {
      if (!schemaTable) {
        // A share without row groups still has the dataset's columns: read the first file's footer.
        const first = parts[0]?.path ?? (await parquetFiles(this.path))[0];
        const decoder = await openParquet(first, { counter: this.bytesRead, signal: options.signal });
        try {
          schemaTable = (await decoder.table({ op: 'schema', task: decoder.task }))!;
        } finally {
          await decoder.close();
        }
      }
      yield emptyTable(schemaTable.schema);
    }
  }

  async countRows(): Promise<number | undefined> {
    let rows = this.rows;
    if (rows === undefined) {
      const layouts = this.parts ? (await Promise.all(this.parts.map((p) => parquetLayout(p.path, this.bytesRead)))).flat() : await parquetLayout(this.path, this.bytesRead);
      rows = layouts.reduce((n, l, i) => {
        const groups = this.parts?.[i]?.rowGroups ?? l.rowGroupRows.map((_, g) => g);
        return n + groups.reduce((m, g) => m + l.rowGroupRows[g], 0);
      }, 0);
    }
    return this.limit === undefined ? rows : Math.min(rows, this.limit);
  }
}
