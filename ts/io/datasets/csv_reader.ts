/**
 * Reads CSV files into Arrow tables, inferring each column's type.
 *
 * Rules (the CLI contract): the first row is the header; an empty cell is a
 * missing value (null); a column is Float64 when every non-empty cell is a number
 * (`1`, `-2.5e3`, `.5`, `nan`, `inf`, `-Infinity`, any case), Float64 1/0 when
 * every non-empty cell is `true`/`false` (any case), otherwise Utf8. A column of
 * empty cells only is Float64, all null. Float64 nulls also hold NaN in the values
 * buffer, so a copy of the buffer already reads as "missing" to the model.
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { Field, Float64, makeData, makeVector, RecordBatch, Schema, Struct, Table, Utf8, type Vector } from 'apache-arrow';
import { z } from 'zod';
import { checkInputFile } from './formats.ts';
import { throwIfAborted } from '../../core/abort.ts';
import { checkBatchRows } from '../../core/batches.ts';
import { FileReader, fileReaderConfig } from './limit.ts';
import type { ReadBatchesOptions, Reader } from './reader.ts';

/** `{KIND: CsvReader, path, limit?}` */
export const CsvReaderConfig = fileReaderConfig('CsvReader');
/** `{KIND: CsvReader, path, limit?}` */
export type CsvReaderConfig = z.infer<typeof CsvReaderConfig>;

/**
 * Most characters of one CSV line (or field): a file without line breaks is
 * refused at this size instead of growing one string until memory runs out.
 */
export const MAX_CSV_RECORD_CHARS = 2 ** 26;

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL = /^([+-]?)(nan|inf|infinity)$/i;
const BOOLEAN = /^(?:true|false)$/i;

/** The number a CSV cell spells, or `undefined` when it is not a number. */
export function parseNumberCell(text: string): number | undefined {
  if (NUMBER.test(text)) return Number(text);
  const m = SPECIAL.exec(text);
  if (!m) return undefined;
  if (m[2].toLowerCase() === 'nan') return NaN;
  return m[1] === '-' ? -Infinity : Infinity;
}

/**
 * Float64 vector from cells via `toNumber`; empty cells are null (and NaN in the
 * values). `toNumber` returns `undefined` for a cell it does not accept: `reject(i, text)`
 * is then thrown.
 */
function float64Column(
  cells: string[],
  toNumber: (text: string) => number | undefined,
  reject: (row: number, text: string) => Error = (_, text) => new Error(`not a number: ${text}`),
): Vector<Float64> {
  const n = cells.length;
  const values = new Float64Array(n);
  const validity = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    const text = cells[i].trim();
    if (text === '') {
      values[i] = NaN;
      nullCount++;
    } else {
      const v = toNumber(text);
      if (v === undefined) throw reject(i, text);
      values[i] = v;
      validity[i >> 3] |= 1 << (i & 7);
    }
  }
  const data = makeData({
    type: new Float64(),
    length: n,
    nullCount,
    nullBitmap: nullCount > 0 ? validity : undefined,
    data: values,
  });
  return makeVector(data);
}

/** How a CSV column is read: numbers, `true`/`false` as 1/0, or text. */
export type CsvColumnKind = 'number' | 'boolean' | 'text';

/** The kind of a column from its cells (see the module doc). */
export function inferKind(cells: string[]): CsvColumnKind {
  let numeric = true;
  let boolean = true;
  for (const cell of cells) {
    const text = cell.trim();
    if (text === '') continue;
    if (numeric && parseNumberCell(text) === undefined) numeric = false;
    if (boolean && !BOOLEAN.test(text)) boolean = false;
    if (!numeric && !boolean) break;
  }
  return numeric ? 'number' : boolean ? 'boolean' : 'text';
}

/** The boolean a CSV cell spells (1/0), or `undefined`. */
function parseBooleanCell(text: string): number | undefined {
  return BOOLEAN.test(text) ? (text.toLowerCase() === 'true' ? 1 : 0) : undefined;
}

/**
 * Builds a column of `kind` from its cells; a cell that does not fit the kind
 * throws `reject(row, text)`.
 */
export function buildColumn(cells: string[], kind: CsvColumnKind, reject?: (row: number, text: string) => Error): Vector {
  if (kind === 'number') return float64Column(cells, parseNumberCell, reject);
  if (kind === 'boolean') return float64Column(cells, parseBooleanCell, reject);
  return utf8Column(cells);
}

/** Infers a column's type from its cells (see the module doc) and builds it. */
export function inferColumn(cells: string[]): Vector {
  return buildColumn(cells, inferKind(cells));
}

/** Utf8 vector (one chunk) from cells; empty cells are null. */
function utf8Column(cells: string[]): Vector<Utf8> {
  const n = cells.length;
  const offsets = new Int32Array(n + 1);
  const validity = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    if (cells[i] === '') nullCount++;
    else validity[i >> 3] |= 1 << (i & 7);
    bytes += Buffer.byteLength(cells[i]);
    if (bytes > 0x7fffffff) throw new Error('a CSV text column holds more than 2 GiB');
    offsets[i + 1] = bytes;
  }
  const text = Buffer.from(cells.join(''), 'utf8');
  const data = makeData({
    type: new Utf8(),
    length: n,
    nullCount,
    nullBitmap: nullCount > 0 ? validity : undefined,
    valueOffsets: offsets,
    data: new Uint8Array(text.buffer, text.byteOffset, text.byteLength),
  });
  return makeVector(data);
}

/** One parsed CSV record with csv-parse's position info. */
interface CsvRecord {
  record: string[];
  info: { lines: number };
}

/** Cells of one batch, column by column, with the line each row ended on. */
interface PendingBatch {
  columns: string[][];
  lines: number[];
}

/**
 * Reads a CSV file (header row, comma separator, `"` quotes, UTF-8 with or
 * without BOM); see the module doc for types. Blank lines are skipped (for a
 * one-column file a blank line is a missing value). The file is parsed as a
 * stream: `batches()` holds one batch of cells at a time.
 */
export class CsvReader extends FileReader implements Reader {
  protected readonly kind = 'CsvReader';
  protected readonly formatName = 'CSV';

  /** The whole file (types inferred from every row) as one record batch. */
  async read(): Promise<Table> {
    await checkInputFile(this.path, { whole: true });
    for await (const table of this.batches({ batchRows: Infinity })) return table;
    throw new Error(`${this.path}: no rows read`); // unreachable: batches() gives at least one table
  }

  async *batches(options: ReadBatchesOptions = {}): AsyncGenerator<Table, void, undefined> {
    const batchRows = checkBatchRows(options.batchRows);
    await checkInputFile(this.path);
    const source = createReadStream(this.path);
    const parser = parse({ bom: true, relax_column_count: true, info: true, skip_empty_lines: false, max_record_size: MAX_CSV_RECORD_CHARS });
    source.on('error', (err) => parser.destroy(err));
    source.pipe(parser);
    let header: string[] | undefined;
    let kinds: CsvColumnKind[] | undefined;
    let schema: Schema | undefined;
    let pending: PendingBatch = { columns: [], lines: [] };
    let rows = 0;
    let given = 0;
    const build = (batch: PendingBatch): Table => {
      const first = kinds === undefined;
      kinds ??= batch.columns.map((cells) => inferKind(cells));
      const n = batch.lines.length;
      const children = header!.map((name, j) => {
        const reject = (row: number, text: string) =>
          new Error(
            `${this.path} line ${batch.lines[row]}: column \`${name}\` holds ${JSON.stringify(text)}, ` +
              `not ${kinds![j] === 'number' ? 'a number' : 'true or false'} (its type was inferred from the first ${given} rows)`,
          );
        const vector = buildColumn(batch.columns[j], kinds![j], first ? undefined : reject);
        batch.columns[j] = []; // let the strings go as soon as the column is built
        return vector;
      });
      schema ??= new Schema(header!.map((name, j) => new Field(name, children[j].type, true)));
      const struct = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: children.map((v) => v.data[0]) });
      if (first) given = n;
      return new Table([new RecordBatch(schema, struct)]);
    };
    let yielded = false;
    try {
      for await (const { record, info } of parser as AsyncIterable<CsvRecord>) {
        if (header === undefined) {
          header = this.checkHeader(record);
          pending = { columns: header.map(() => []), lines: [] };
          continue;
        }
        if (record.length !== header.length) {
          if (record.length === 1 && record[0] === '') continue; // blank line
          throw new Error(`${this.path} line ${info.lines}: ${record.length} fields, the header has ${header.length}`);
        }
        for (let j = 0; j < record.length; j++) pending.columns[j].push(record[j]);
        pending.lines.push(info.lines);
        rows++;
        if (pending.lines.length >= batchRows) {
          throwIfAborted(options.signal);
          const table = build(pending);
          pending = { columns: header.map(() => []), lines: [] };
          yielded = true;
          yield table;
        }
        if (this.limit !== undefined && rows >= this.limit) break;
      }
      if (header === undefined) throw new Error(`${this.path} is empty: a CSV file needs a header row`);
      if (pending.lines.length > 0 || !yielded) yield build(pending);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (err instanceof Error && (err.name === 'AbortError' || msg.includes(this.path))) throw err;
      throw new Error(`cannot read ${this.path} as CSV: ${msg}`);
    } finally {
      source.unpipe(parser);
      source.destroy();
      parser.destroy();
    }
  }

  async countRows(): Promise<number | undefined> {
    return undefined;
  }

  private checkHeader(header: string[]): string[] {
    const seen = new Set<string>();
    for (const name of header) {
      if (seen.has(name)) throw new Error(`${this.path}: column \`${name}\` appears twice in the header`);
      seen.add(name);
    }
    return header;
  }

}
