/**
 * Writes Arrow tables as CSV: a header row, then one line per row.
 *
 * Numbers are written in full precision (the shortest text that reads back to the
 * same float64); nulls and NaN are empty cells (read back as missing); booleans
 * are `true`/`false`; 64-bit integers are exact; dates are ISO 8601; nested values
 * are JSON. Quoting follows RFC 4180 (csv-stringify).
 */
import { DataType, type Data, type RecordBatch, type Schema, type Table } from 'apache-arrow';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { StagedOutput, type OpenOptions, type TableOutput } from './output.ts';
import type { Writer } from './writer.ts';

/** `{KIND: CsvWriter, path}` */
export const CsvWriterConfig = z
  .object({
    KIND: z.literal('CsvWriter'),
    /** The `.csv` file to write. */
    path: z.string().min(1),
  })
  .strict();
/** `{KIND: CsvWriter, path}` */
export type CsvWriterConfig = z.input<typeof CsvWriterConfig>;

/** Rows stringified and written at a time. */
const ROWS_PER_CHUNK = 8192;

/** The CSV text of one value. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  switch (typeof value) {
    case 'number':
      return Number.isNaN(value) ? '' : String(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return value;
    default:
      if (value instanceof Date) return value.toISOString();
      return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

/** A cell reader over one chunk: `(i) => text` of row i. */
function cellsOf(data: Data, get: (i: number) => unknown): (i: number) => string {
  const type = data.type;
  if (data.nullCount === 0 && DataType.isFloat(type) && type.precision !== 0) {
    const values = data.values as Float64Array | Float32Array;
    return (i) => {
      const v = values[i];
      return v !== v ? '' : String(v);
    };
  }
  return (i) => csvCell(get(i));
}

/** Writes a table to one CSV file, atomically; or streams batches into one. */
export class CsvWriter implements Writer {
  readonly path: string;

  constructor(config: { path: string }) {
    this.path = config.path;
  }

  async write(table: Table): Promise<void> {
    const output = await this.open(table.schema);
    try {
      await output.write(table);
      await output.close();
    } catch (err) {
      await output.abort();
      throw err;
    }
  }

  /** Opens a streamed CSV output: the header now, then the rows of each batch as they come. */
  async open(schema: Schema, _options: OpenOptions = {}): Promise<TableOutput> {
    return new CsvOutput(this.path, schema).start();
  }

  describe(): string {
    return `CsvWriter(${this.path})`;
  }
}

/** A streamed CSV file: rows are stringified and written 8192 at a time. */
class CsvOutput extends StagedOutput {
  protected readonly formatName = 'CSV';

  constructor(path: string, schema: Schema) {
    super(path, schema);
  }

  protected async begin(): Promise<void> {
    await this.writeText(stringify([this.schema.fields.map((f) => f.name)], { record_delimiter: '\n' }));
  }

  protected async writeBatch(batch: RecordBatch): Promise<void> {
    const cols = this.schema.fields.map((_, j) => {
      const vector = batch.getChildAt(j)!;
      return cellsOf(vector.data[0], (i) => vector.get(i));
    });
    for (let start = 0; start < batch.numRows; start += ROWS_PER_CHUNK) {
      const end = Math.min(start + ROWS_PER_CHUNK, batch.numRows);
      const records: string[][] = [];
      for (let i = start; i < end; i++) records.push(cols.map((cell) => cell(i)));
      await this.writeText(stringify(records, { record_delimiter: '\n' }));
    }
  }

  protected async end(): Promise<void> {}

  private async writeText(text: string): Promise<void> {
    await this.writeBytes(Buffer.from(text, 'utf8'));
  }
}
