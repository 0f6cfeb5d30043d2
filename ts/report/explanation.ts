/**
 * `Explanation`: SHAP values of a set of rows shaped like shap's `shap.Explanation`
 * — `values` (rows × features, or rows × features × outputs), `baseValues`,
 * `data` (the feature values), `featureNames`, `outputNames` — convertible to and
 * from the samples explanations table (and the inputs), and to and from shap's
 * nested-array form (`values[i][j][k]`, as `Explanation.values.tolist()` gives).
 *
 * ```ts
 * const e = Explanation.fromTables(samplesTable, { inputs: featureColumns });
 * e.shape;                 // [rows, features] or [rows, features, outputs]
 * e.value(0, 'age');       // φ of row 0, feature age (output 0)
 * const cls1 = e.output(1); // one output's single-output Explanation
 * const table = e.toSamplesTable(); // the samples table back
 * ```
 *
 * Storage follows the tables: one Float64Array per feature over (row, output)
 * pairs, row-major in the pair (`index = row * outputs + output`), so an
 * Explanation built from a one-chunk table holds views of its columns, not copies.
 */
import * as arrow from 'apache-arrow';
import { inputColumnName } from '../core/input_columns.ts';
import { BASE_VALUE_COLUMN, OUTPUT_COLUMN, ROW_COLUMN } from '../core/schemas.ts';

export { INPUT_COLUMN_PREFIX, inputColumnName } from '../core/input_columns.ts';

/** What an {@link Explanation} is built from (column-major, as in the tables). */
export interface ExplanationInit {
  /** Feature names, model order. */
  featureNames: readonly string[];
  /** Number of outputs (classes); 1 for a single-output model. */
  outputs: number;
  /** One array per feature of rows × outputs SHAP values, index `row * outputs + output`. */
  values: readonly Float64Array[];
  /** rows × outputs base values, index `row * outputs + output`. */
  baseValues: Float64Array;
  /** One array per feature of the rows' feature values (missing = NaN), when known. */
  data?: readonly (Float64Array | Float32Array)[];
  /** Output names (default `output 0`, `output 1`, … for multi-output, `output` for one). */
  outputNames?: readonly string[];
  /** Row labels: positions in the input or the id column's values (default 0..rows−1). */
  rowIds?: readonly (number | bigint | string)[];
  /** Name of the row label column (`row`, or the id column). */
  rowIdName?: string;
}

/** shap's `Explanation` as nested arrays (e.g. `json.dumps` of its fields' `.tolist()`). */
export interface ShapLike {
  /** rows × features, or rows × features × outputs. */
  values: number[][] | number[][][];
  /** rows, or rows × outputs (a scalar is accepted and broadcast). */
  base_values: number | number[] | number[][];
  /** rows × features feature values, when known (null for a missing value). */
  data?: (number | null)[][] | null;
  /** Feature names. */
  feature_names: string[];
  /** Output names (multi-output only). */
  output_names?: string[] | null;
}

/** Options of {@link Explanation.fromTables}. */
export interface FromTablesOptions {
  /**
   * The rows' feature values: feature columns in model order (what `featureColumns`
   * gives), or the inputs table (its columns named as the features). Without it, the
   * samples table's `input.<feature>` columns are used when present.
   */
  inputs?: readonly (Float64Array | Float32Array)[] | arrow.Table;
  /** Output names (e.g. class labels). */
  outputNames?: readonly string[];
}

/** A float64 view of an Arrow column (no copy for a one-chunk float64 column without nulls). */
function floatColumn(table: arrow.Table, name: string): Float64Array {
  const col = table.getChild(name);
  if (!col) throw new Error(`samples table: no column "${name}"`);
  if (col.type.typeId !== arrow.Type.Float && col.type.typeId !== arrow.Type.Int) {
    throw new Error(`samples table: column "${name}" is ${col.type}, expected a number`);
  }
  if (col.data.length === 1 && col.nullCount === 0 && col.data[0].values instanceof Float64Array) {
    const d = col.data[0];
    return (d.values as Float64Array).subarray(0, d.length); // a sliced Data's values start at its first row
  }
  const out = new Float64Array(col.length);
  for (let i = 0; i < col.length; i++) {
    const v = col.get(i);
    out[i] = v === null ? NaN : Number(v);
  }
  return out;
}

/** SHAP values of a set of rows (see the module doc). */
export class Explanation {
  /** Feature names, model order. */
  readonly featureNames: readonly string[];
  /** Output names, one per output. */
  readonly outputNames: readonly string[];
  /** Number of outputs. */
  readonly outputs: number;
  /** Number of rows. */
  readonly rows: number;
  /** One array per feature of rows × outputs SHAP values (`row * outputs + output`). */
  readonly values: readonly Float64Array[];
  /** rows × outputs base values. */
  readonly baseValues: Float64Array;
  /** One array per feature of the rows' feature values, when known. */
  readonly data?: readonly (Float64Array | Float32Array)[];
  /** Row labels (input positions or id values). */
  readonly rowIds: readonly (number | bigint | string)[];
  /** Name of the row label column. */
  readonly rowIdName: string;

  constructor(init: ExplanationInit) {
    const m = init.featureNames.length;
    const k = init.outputs;
    if (!Number.isInteger(k) || k < 1) throw new Error(`Explanation: outputs must be a positive integer, got ${k}`);
    if (init.values.length !== m) throw new Error(`Explanation: ${init.values.length} value columns for ${m} features`);
    if (init.baseValues.length % k !== 0) {
      throw new Error(`Explanation: ${init.baseValues.length} base values is not a multiple of ${k} outputs`);
    }
    const rows = init.baseValues.length / k;
    init.values.forEach((v, j) => {
      if (v.length !== rows * k) {
        throw new Error(`Explanation: feature ${init.featureNames[j]} has ${v.length} values, expected ${rows * k}`);
      }
    });
    if (init.data) {
      if (init.data.length !== m) throw new Error(`Explanation: ${init.data.length} data columns for ${m} features`);
      init.data.forEach((d, j) => {
        if (d.length !== rows) throw new Error(`Explanation: feature ${init.featureNames[j]} has ${d.length} data values, expected ${rows}`);
      });
    }
    const outputNames = init.outputNames ?? (k === 1 ? ['output'] : [...Array(k).keys()].map((i) => `output ${i}`));
    if (outputNames.length !== k) throw new Error(`Explanation: ${outputNames.length} output names for ${k} outputs`);
    if (init.rowIds && init.rowIds.length !== rows) {
      throw new Error(`Explanation: ${init.rowIds.length} row ids for ${rows} rows`);
    }
    this.featureNames = [...init.featureNames];
    this.outputNames = [...outputNames];
    this.outputs = k;
    this.rows = rows;
    this.values = init.values;
    this.baseValues = init.baseValues;
    this.data = init.data;
    this.rowIds = init.rowIds ?? [...Array(rows).keys()];
    this.rowIdName = init.rowIdName ?? ROW_COLUMN;
  }

  /** shap's `.shape`: `[rows, features]`, or `[rows, features, outputs]` for multi-output. */
  get shape(): number[] {
    const m = this.featureNames.length;
    return this.outputs === 1 ? [this.rows, m] : [this.rows, m, this.outputs];
  }

  /** Position of a feature (by name or index). @throws naming the feature when unknown. */
  featureIndex(feature: string | number): number {
    const j = typeof feature === 'number' ? feature : this.featureNames.indexOf(feature);
    if (!(j >= 0 && j < this.featureNames.length)) {
      throw new Error(`Explanation: unknown feature ${JSON.stringify(feature)} (features: ${this.featureNames.join(', ')})`);
    }
    return j;
  }

  /** The SHAP value of `row`, `feature`, `output`. */
  value(row: number, feature: string | number, output = 0): number {
    return this.values[this.featureIndex(feature)][row * this.outputs + output];
  }

  /** The base value of `row` for `output`. */
  baseValue(row: number, output = 0): number {
    return this.baseValues[row * this.outputs + output];
  }

  /** The model's raw prediction for `row`, `output`: base value + the sum of the SHAP values. */
  prediction(row: number, output = 0): number {
    const i = row * this.outputs + output;
    let s = this.baseValues[i];
    for (const v of this.values) s += v[i];
    return s;
  }

  /** The feature value of `row` (NaN when missing or when the data is not known). */
  dataValue(row: number, feature: string | number): number {
    return this.data ? this.data[this.featureIndex(feature)][row] : NaN;
  }

  /** Mean |SHAP| per feature for one output, or over all outputs (as the model table's `mean_abs_shap`). */
  meanAbs(output?: number): Float64Array {
    const k = this.outputs;
    const out = new Float64Array(this.featureNames.length);
    const n = output === undefined ? this.rows * k : this.rows;
    if (n === 0) return out;
    this.values.forEach((v, j) => {
      let s = 0;
      if (output === undefined) for (let i = 0; i < v.length; i++) s += Math.abs(v[i]);
      else for (let r = 0; r < this.rows; r++) s += Math.abs(v[r * k + output]);
      out[j] = s / n;
    });
    return out;
  }

  /** One output's single-output Explanation (copies the strided values; the data is shared). */
  output(output: number): Explanation {
    const k = this.outputs;
    if (!(Number.isInteger(output) && output >= 0 && output < k)) {
      throw new Error(`Explanation: output ${output} out of range (${k} outputs)`);
    }
    if (k === 1) return this;
    const pick = (v: Float64Array) => {
      const out = new Float64Array(this.rows);
      for (let r = 0; r < this.rows; r++) out[r] = v[r * k + output];
      return out;
    };
    return new Explanation({
      featureNames: this.featureNames,
      outputs: 1,
      values: this.values.map(pick),
      baseValues: pick(this.baseValues),
      data: this.data,
      outputNames: [this.outputNames[output]],
      rowIds: this.rowIds,
      rowIdName: this.rowIdName,
    });
  }

  /** The Explanation of some rows (by position), in the order given. */
  select(rows: readonly number[]): Explanation {
    const k = this.outputs;
    for (const r of rows) {
      if (!(Number.isInteger(r) && r >= 0 && r < this.rows)) throw new Error(`Explanation: row ${r} out of range (${this.rows} rows)`);
    }
    const pickK = (v: Float64Array) => {
      const out = new Float64Array(rows.length * k);
      rows.forEach((r, i) => out.set(v.subarray(r * k, r * k + k), i * k));
      return out;
    };
    const pick1 = (v: Float64Array | Float32Array) => Float64Array.from(rows, (r) => v[r]);
    return new Explanation({
      featureNames: this.featureNames,
      outputs: k,
      values: this.values.map(pickK),
      baseValues: pickK(this.baseValues),
      data: this.data?.map(pick1),
      outputNames: this.outputNames,
      rowIds: rows.map((r) => this.rowIds[r]),
      rowIdName: this.rowIdName,
    });
  }

  /**
   * The samples explanations table: the row label column (`row` int64, or the id
   * column), `output` (int32, multi-output only), one float64 column per feature,
   * `base_value`, and with `includeInputs` the `input.<feature>` value columns.
   */
  toSamplesTable(opts: { includeInputs?: boolean } = {}): arrow.Table {
    const k = this.outputs;
    const n = this.rows * k;
    const columns: Record<string, arrow.Vector> = {};
    const label = new Array(n);
    for (let r = 0; r < this.rows; r++) for (let o = 0; o < k; o++) label[r * k + o] = this.rowIds[r];
    if (this.rowIdName === ROW_COLUMN && this.rowIds.every((v) => typeof v !== 'string')) {
      columns[ROW_COLUMN] = arrow.makeVector(BigInt64Array.from(label, (v) => BigInt(v as number | bigint)));
    } else {
      columns[this.rowIdName] = arrow.vectorFromArray(label.map((v) => (typeof v === 'bigint' ? v : String(v))));
    }
    if (k > 1) columns[OUTPUT_COLUMN] = arrow.makeVector(Int32Array.from({ length: n }, (_, i) => i % k));
    this.featureNames.forEach((name, j) => (columns[name] = arrow.makeVector(this.values[j])));
    columns[BASE_VALUE_COLUMN] = arrow.makeVector(this.baseValues);
    if (opts.includeInputs) {
      if (!this.data) throw new Error('Explanation: includeInputs needs the feature values (data)');
      this.featureNames.forEach((name, j) => {
        const d = this.data![j];
        const out = new Float64Array(n);
        for (let r = 0; r < this.rows; r++) out.fill(d[r], r * k, r * k + k);
        columns[inputColumnName(name)] = arrow.makeVector(out);
      });
    }
    return new arrow.Table(columns);
  }

  /**
   * An Explanation from a samples explanations table (any row label column: the
   * first column that is not `output`, a feature, `base_value` or an `input.` column),
   * its feature values from `opts.inputs` or the table's `input.<feature>` columns.
   * The feature columns are the float columns between the key columns and `base_value`.
   */
  static fromTables(samples: arrow.Table, opts: FromTablesOptions = {}): Explanation {
    const names = samples.schema.fields.map((f) => f.name);
    const baseAt = names.indexOf(BASE_VALUE_COLUMN);
    if (baseAt < 0) throw new Error(`samples table: no "${BASE_VALUE_COLUMN}" column`);
    const hasOutput = names[1] === OUTPUT_COLUMN;
    const keyCount = hasOutput ? 2 : 1;
    const featureNames = names.slice(keyCount, baseAt);
    if (featureNames.length === 0) throw new Error('samples table: no feature columns before base_value');
    const rowIdName = names[0];
    const n = samples.numRows;
    let outputs = 1;
    if (hasOutput) {
      const out = samples.getChild(OUTPUT_COLUMN)!;
      let max = -1;
      for (let i = 0; i < n; i++) max = Math.max(max, Number(out.get(i)));
      outputs = max + 1;
      for (let i = 0; i < n; i++) {
        if (Number(out.get(i)) !== i % outputs) {
          throw new Error(`samples table: rows must be ordered by row then output (row ${i} has output ${out.get(i)})`);
        }
      }
      if (n % outputs !== 0) throw new Error(`samples table: ${n} rows is not a multiple of ${outputs} outputs`);
    }
    const rows = n / outputs;
    const ids = samples.getChild(rowIdName)!;
    const rowIds: (number | bigint | string)[] = new Array(rows);
    for (let r = 0; r < rows; r++) {
      const v = ids.get(r * outputs);
      rowIds[r] = typeof v === 'bigint' && rowIdName === ROW_COLUMN ? Number(v) : typeof v === 'number' || typeof v === 'bigint' ? v : String(v);
    }
    let data: (Float64Array | Float32Array)[] | undefined;
    if (opts.inputs instanceof arrow.Table) {
      const table = opts.inputs;
      data = featureNames.map((f) => floatColumn(table, f));
    } else if (opts.inputs) {
      data = [...opts.inputs];
    } else if (featureNames.every((f) => names.includes(inputColumnName(f)))) {
      data = featureNames.map((f) => {
        const all = floatColumn(samples, inputColumnName(f));
        return outputs === 1 ? all : Float64Array.from({ length: rows }, (_, r) => all[r * outputs]);
      });
    }
    return new Explanation({
      featureNames,
      outputs,
      values: featureNames.map((f) => floatColumn(samples, f)),
      baseValues: floatColumn(samples, BASE_VALUE_COLUMN),
      data,
      outputNames: opts.outputNames,
      rowIds,
      rowIdName,
    });
  }

  /** shap's nested-array form (`values[i][j]` or `values[i][j][k]`, `base_values`, `data`, names). */
  toShap(): ShapLike {
    const m = this.featureNames.length;
    const k = this.outputs;
    const values: number[][] | number[][][] = [];
    const base: number[] | number[][] = [];
    for (let r = 0; r < this.rows; r++) {
      if (k === 1) {
        (values as number[][]).push(this.values.map((v) => v[r]));
        (base as number[]).push(this.baseValues[r]);
      } else {
        (values as number[][][]).push(this.values.map((v) => Array.from(v.subarray(r * k, r * k + k))));
        (base as number[][]).push(Array.from(this.baseValues.subarray(r * k, r * k + k)));
      }
    }
    const data = this.data
      ? Array.from({ length: this.rows }, (_, r) => Array.from({ length: m }, (_, j) => (Number.isNaN(this.data![j][r]) ? null : this.data![j][r])))
      : null;
    return {
      values,
      base_values: base,
      data,
      feature_names: [...this.featureNames],
      output_names: k === 1 ? null : [...this.outputNames],
    };
  }

  /** An Explanation from shap's nested-array form (see {@link ShapLike}). */
  static fromShap(shap: ShapLike): Explanation {
    const m = shap.feature_names.length;
    const rows = shap.values.length;
    const first = shap.values[0]?.[0];
    const base0 = Array.isArray(shap.base_values) ? shap.base_values[0] : undefined;
    const k = Array.isArray(first) ? first.length : Array.isArray(base0) ? base0.length : 1;
    const values = Array.from({ length: m }, () => new Float64Array(rows * k));
    const baseValues = new Float64Array(rows * k);
    for (let r = 0; r < rows; r++) {
      const row = shap.values[r];
      if (row.length !== m) throw new Error(`shap values: row ${r} has ${row.length} features, expected ${m}`);
      for (let j = 0; j < m; j++) {
        const cell = row[j];
        if (Array.isArray(cell)) {
          if (cell.length !== k) throw new Error(`shap values: row ${r} feature ${j} has ${cell.length} outputs, expected ${k}`);
          for (let o = 0; o < k; o++) values[j][r * k + o] = cell[o];
        } else {
          if (k !== 1) throw new Error(`shap values: row ${r} feature ${j} is a number, expected ${k} outputs`);
          values[j][r] = cell;
        }
      }
      const b = typeof shap.base_values === 'number' ? shap.base_values : shap.base_values[r];
      for (let o = 0; o < k; o++) baseValues[r * k + o] = Array.isArray(b) ? b[o] : (b as number);
    }
    const data = shap.data
      ? Array.from({ length: m }, (_, j) => Float64Array.from({ length: rows }, (_, r) => shap.data![r][j] ?? NaN))
      : undefined;
    return new Explanation({
      featureNames: shap.feature_names,
      outputs: k,
      values,
      baseValues,
      data,
      outputNames: shap.output_names ?? undefined,
    });
  }
}
