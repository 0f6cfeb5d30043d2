/**
 * From an Arrow table to the model's feature columns — validation plus zero-copy views.
 *
 * The native core takes one typed array per feature (column-major, missing = NaN).
 * A Float64/Float32 column held in one chunk without nulls is handed over as a view
 * of its Arrow values buffer (same `ArrayBuffer`, no copy). Any other numeric column
 * (integers, booleans, float16, nulls, several chunks) becomes one `Float64Array`
 * filled by a typed loop over the chunks' buffers, nulls as NaN — never per-row objects.
 */
import { DataType, Precision, type Data, type Table, type Vector } from 'apache-arrow';
import type { FeatureColumn } from '../../native/addon.ts';

export type { FeatureColumn };

/** Options of {@link featureColumns} and {@link idColumn}. */
export interface ColumnOptions {
  /** Where the table came from (a path), named in errors. */
  source?: string;
}

/** At most `max` names, backticked, then `… (N more)`. */
function listNames(names: readonly string[], max = 20): string {
  const shown = names.slice(0, max).map((n) => `\`${n}\``);
  return names.length > max ? `${shown.join(', ')}, … (${names.length - max} more)` : shown.join(', ');
}

function sourceOf(opts: ColumnOptions): string {
  return opts.source ?? 'the input table';
}

/** Whether one chunk can be viewed as-is (Float64/Float32, no nulls). */
function viewable(vector: Vector): boolean {
  if (vector.data.length !== 1 || vector.nullCount !== 0) return false;
  const type = vector.type;
  return DataType.isFloat(type) && (type.precision === Precision.DOUBLE || type.precision === Precision.SINGLE);
}

/** Whether a column's type converts to float64 (floats, ints, booleans). */
function numeric(type: DataType): boolean {
  return DataType.isFloat(type) || DataType.isInt(type) || DataType.isBool(type);
}

/** An IEEE 754 half-precision value (its 16 bits) as a number. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Copies one chunk's values into `out` at `at` (nulls left for the caller). */
function copyChunk(data: Data, out: Float64Array, at: number): void {
  const n = data.length;
  const type = data.type;
  if (DataType.isBool(type)) {
    const bits = data.values as Uint8Array;
    const off = data.offset;
    for (let i = 0; i < n; i++) {
      const b = off + i;
      out[at + i] = (bits[b >> 3] >> (b & 7)) & 1;
    }
  } else if (DataType.isFloat(type) && type.precision === Precision.HALF) {
    const halves = data.values as Uint16Array;
    for (let i = 0; i < n; i++) out[at + i] = halfToNumber(halves[i]);
  } else if (DataType.isInt(type) && type.bitWidth === 64) {
    const wide = data.values as BigInt64Array | BigUint64Array;
    for (let i = 0; i < n; i++) out[at + i] = Number(wide[i]);
  } else {
    // Float64/Float32/Int8..Int32/Uint8..Uint32: typed-array set converts natively.
    out.set((data.values as Float64Array).subarray(0, n), at);
  }
  if (data.nullCount > 0 && data.nullBitmap) {
    const valid = data.nullBitmap;
    const off = data.offset;
    for (let i = 0; i < n; i++) {
      const b = off + i;
      if (((valid[b >> 3] >> (b & 7)) & 1) === 0) out[at + i] = NaN;
    }
  }
}

/**
 * One column as a `Float64Array` or `Float32Array` for the native core (see the
 * module doc: a view when possible, else one float64 copy with nulls as NaN).
 */
export function numericColumn(vector: Vector): FeatureColumn {
  if (viewable(vector)) {
    const data = vector.data[0];
    return (data.values as Float64Array | Float32Array).subarray(0, data.length);
  }
  const out = new Float64Array(vector.length);
  let at = 0;
  for (const data of vector.data) {
    copyChunk(data, out, at);
    at += data.length;
  }
  return out;
}

/**
 * Throws when one of `names` is the name of two or more columns of `table`:
 * Arrow and Parquet allow it, and taking the first silently would explain the
 * wrong values.
 */
function checkUnique(table: Table, names: readonly string[], opts: ColumnOptions): void {
  const wanted = new Set(names);
  const counts = new Map<string, number>();
  for (const f of table.schema.fields) if (wanted.has(f.name)) counts.set(f.name, (counts.get(f.name) ?? 0) + 1);
  const repeated = [...counts].filter(([, n]) => n > 1);
  if (repeated.length > 0) {
    const list = repeated.map(([name, n]) => `${n} columns named \`${name}\``).join(', ');
    throw new Error(`${sourceOf(opts)} has ${list}: the columns a run reads must have unique names`);
  }
}

/**
 * The model's feature columns from `table`, in `featureNames` order.
 *
 * Every feature must be present by name and numeric (float, int or boolean);
 * extra columns are ignored. Float64/Float32 columns in one chunk without nulls
 * are returned as views of the Arrow buffers (no copy).
 * @throws listing every missing feature, naming a repeated column name, or a non-numeric column and its type
 *   (``column `bmi` in data/x.csv is Utf8, expected a number``), with `opts.source`.
 */
export function featureColumns(table: Table, featureNames: readonly string[], opts: ColumnOptions = {}): FeatureColumn[] {
  const present = new Set(table.schema.fields.map((f) => f.name));
  const missing = featureNames.filter((name) => !present.has(name));
  if (missing.length > 0) {
    const columns = table.schema.fields.map((f) => f.name);
    throw new Error(
      `${sourceOf(opts)} lacks ${missing.length === 1 ? 'model feature' : `${missing.length} model features`} ` +
        `${listNames(missing)} (the model has ${featureNames.length} feature${featureNames.length === 1 ? '' : 's'}; the data has columns ` +
        `${columns.length > 0 ? listNames(columns) : '(none)'})`,
    );
  }
  checkUnique(table, featureNames, opts);
  const wrong: string[] = [];
  for (const name of featureNames) {
    const type = table.getChild(name)!.type;
    if (!numeric(type)) wrong.push(`column \`${name}\` in ${sourceOf(opts)} is ${String(type)}, expected a number`);
  }
  if (wrong.length > 0) throw new Error(wrong.join('; '));
  return featureNames.map((name) => numericColumn(table.getChild(name)!));
}

/**
 * The column carried as the row id in the explanations tables.
 * @throws naming the column, the source and the columns present when it is absent.
 */
export function idColumn(table: Table, name: string, opts: ColumnOptions = {}): Vector {
  const column = table.getChild(name);
  if (!column) {
    const columns = table.schema.fields.map((f) => f.name);
    throw new Error(`id column \`${name}\` not found in ${sourceOf(opts)}; columns: ${listNames(columns) || '(none)'}`);
  }
  checkUnique(table, [name], opts);
  return column;
}
