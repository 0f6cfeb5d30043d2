/**
 * Builders of the three output tables (see the contracts in ARCHITECTURE.md):
 *
 * - samples explanations: `row` int64 (or the id column under its own name),
 *   `output` int32 (multi-output models only), one float64 column per model
 *   feature in model order, `base_value` float64;
 * - interaction values: `row`, [`output`], `feature` utf8, one float64 column
 *   per feature;
 * - model explanations: `feature`, `importance`, `gain`, `cover`, `weight`,
 *   [`mean_abs_shap`].
 *
 * SHAP values are never copied or looped over in JS: every float64 column is
 * an Arrow `Data` over a `subarray` view of the native result buffer. The key
 * columns (`row`, `output`) are generated natively; `feature` names here.
 */
import * as arrow from 'apache-arrow';
import { native, type ShapResult } from '../native/addon.ts';

/** Name of the row-position column when no id column is carried. */
export const ROW_COLUMN = 'row';
/** Name of the output (class) column of multi-output models. */
export const OUTPUT_COLUMN = 'output';
/** Name of the base value column. */
export const BASE_VALUE_COLUMN = 'base_value';
/** Name of the feature column of the interactions and model tables. */
export const FEATURE_COLUMN = 'feature';

/**
 * An id column carried into the explanation tables instead of `row`.
 * `vector` is the whole input column (all rows, in input order).
 */
export interface IdColumn {
  /** Column name (kept in the output). */
  name: string;
  /** The input column. */
  vector: arrow.Vector;
}

/** Options shared by the per-sample table builders. */
export interface SampleTableOptions {
  /** Position of the first row of this result in the whole input (default 0). */
  rowOffset?: number;
  /** Carry this column instead of `row`. */
  ids?: IdColumn;
  /**
   * Position in `ids.vector` of this result's first row (default `rowOffset`: the
   * vector is the whole input column). A streamed batch passes its own column and 0.
   */
  idOffset?: number;
}

function f64(values: Float64Array): arrow.Data<arrow.Float64> {
  return arrow.makeData({ type: new arrow.Float64(), length: values.length, data: values });
}

function structBatch(schema: arrow.Schema, length: number, children: arrow.Data[]): arrow.RecordBatch {
  const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length, nullCount: 0, children });
  return new arrow.RecordBatch(schema, data);
}

function checkNames(featureNames: readonly string[], reserved: string[]): void {
  const seen = new Set<string>();
  for (const name of featureNames) {
    if (reserved.includes(name)) {
      throw new Error(`feature name "${name}" collides with the "${name}" column of the explanations table`);
    }
    if (seen.has(name)) throw new Error(`duplicate feature name "${name}" in the model`);
    seen.add(name);
  }
}

/** The key field(s) (`row` or the id, then `output` when multi-output). */
function keyFields(outputs: number, ids?: IdColumn): arrow.Field[] {
  const fields = [
    ids ? new arrow.Field(ids.name, ids.vector.type, true) : new arrow.Field(ROW_COLUMN, new arrow.Int64(), false),
  ];
  if (outputs > 1) fields.push(new arrow.Field(OUTPUT_COLUMN, new arrow.Int32(), false));
  return fields;
}

/**
 * Key columns for `rows` input rows starting at `rowOffset`, each repeated
 * `repeat` times (outputs, or outputs × features), plus `output` when
 * `outputs > 1` (each output repeated `repeat / outputs` times).
 */
function keyData(rowOffset: number, rows: number, outputs: number, repeat: number, ids?: IdColumn, idOffset = rowOffset): arrow.Data[] {
  const n = rows * repeat;
  let key: arrow.Data;
  if (ids) {
    key = idData(ids, idOffset, rows, repeat);
  } else {
    key = arrow.makeData({ type: new arrow.Int64(), length: n, data: native().rowKeys(rowOffset, rows, repeat) });
  }
  if (outputs <= 1) return [key];
  const out = native().outputKeys(rows, outputs, repeat / outputs);
  return [key, arrow.makeData({ type: new arrow.Int32(), length: n, data: out })];
}

/** The id values of rows [offset, offset+rows), each repeated `repeat` times, as one Data. */
function idData(ids: IdColumn, offset: number, rows: number, repeat: number): arrow.Data {
  const { vector } = ids;
  if (offset + rows > vector.length) {
    throw new Error(`id column "${ids.name}" has ${vector.length} values, fewer than the ${offset + rows} rows explained`);
  }
  if (repeat === 1) {
    const slice = vector.slice(offset, offset + rows);
    if (slice.data.length === 1) return slice.data[0];
    return arrow.vectorFromArray([...slice], vector.type).data[0];
  }
  const values: unknown[] = new Array(rows * repeat);
  for (let r = 0, i = 0; r < rows; r++) {
    const v = vector.get(offset + r);
    for (let j = 0; j < repeat; j++) values[i++] = v;
  }
  return arrow.vectorFromArray(values, vector.type).data[0];
}

/**
 * Schema of the samples explanations table.
 * @param featureNames model features, in model order.
 * @param outputs model outputs (the `output` column exists only when > 1).
 * @param ids carried id column, replacing `row`.
 */
export function samplesSchema(featureNames: readonly string[], outputs: number, ids?: IdColumn): arrow.Schema {
  checkNames(featureNames, [ids?.name ?? ROW_COLUMN, OUTPUT_COLUMN, BASE_VALUE_COLUMN]);
  return new arrow.Schema([
    ...keyFields(outputs, ids),
    ...featureNames.map((name) => new arrow.Field(name, new arrow.Float64(), false)),
    new arrow.Field(BASE_VALUE_COLUMN, new arrow.Float64(), false),
  ]);
}

/**
 * One record batch of the samples explanations table from a native
 * path-dependent or interventional result (column-major, M+1 columns of R·K
 * values, column M the base value). The float columns are views of
 * `result.values`, not copies.
 */
export function samplesBatch(
  result: ShapResult,
  featureNames: readonly string[],
  opts: SampleTableOptions = {},
): arrow.RecordBatch {
  const { rows, outputs, features, values } = result;
  if (features !== featureNames.length) {
    throw new Error(`the SHAP result has ${features} features, the model names ${featureNames.length}`);
  }
  const n = rows * outputs;
  if (values.length !== n * (features + 1)) {
    throw new Error(`the SHAP result has ${values.length} values, expected ${n * (features + 1)}`);
  }
  const schema = samplesSchema(featureNames, outputs, opts.ids);
  const children = keyData(opts.rowOffset ?? 0, rows, outputs, outputs, opts.ids, opts.idOffset);
  for (let j = 0; j <= features; j++) children.push(f64(values.subarray(j * n, (j + 1) * n)));
  return structBatch(schema, n, children);
}

/** The samples explanations table of one native result (see {@link samplesBatch}). */
export function samplesTable(
  result: ShapResult,
  featureNames: readonly string[],
  opts: SampleTableOptions = {},
): arrow.Table {
  return new arrow.Table([samplesBatch(result, featureNames, opts)]);
}

/** Schema of the interaction values table. */
export function interactionsSchema(featureNames: readonly string[], outputs: number, ids?: IdColumn): arrow.Schema {
  checkNames(featureNames, [ids?.name ?? ROW_COLUMN, OUTPUT_COLUMN, FEATURE_COLUMN]);
  return new arrow.Schema([
    ...keyFields(outputs, ids),
    new arrow.Field(FEATURE_COLUMN, new arrow.Utf8(), false),
    ...featureNames.map((name) => new arrow.Field(name, new arrow.Float64(), false)),
  ]);
}

/** `count` repetitions of the names as one utf8 column (built from bytes, not strings). */
function repeatedNames(names: readonly string[], count: number): arrow.Data<arrow.Utf8> {
  const encoder = new TextEncoder();
  const encoded = names.map((s) => encoder.encode(s));
  const blockBytes = encoded.reduce((a, b) => a + b.length, 0);
  const m = names.length;
  const data = new Uint8Array(blockBytes * count);
  const offsets = new Int32Array(m * count + 1);
  // one block, then doubling copies
  let pos = 0;
  for (let i = 0; i < m; i++) {
    data.set(encoded[i], pos);
    pos += encoded[i].length;
    offsets[i + 1] = pos;
  }
  for (let done = 1; done < count; ) {
    const take = Math.min(done, count - done);
    data.copyWithin(done * blockBytes, 0, take * blockBytes);
    for (let i = 1; i <= take * m; i++) offsets[done * m + i] = offsets[i] + done * blockBytes;
    done += take;
  }
  if (data.length > 0x7fffffff) throw new Error('interactions table too large for one batch: lower explainer.batch_rows');
  return arrow.makeData({ type: new arrow.Utf8(), length: m * count, valueOffsets: offsets, data });
}

/**
 * One record batch of the interaction values table from a native
 * `shapInteractions` result (M columns of R·K·M values ordered (row, output,
 * feature i); column j holds φ[i][j]). Float columns are views, not copies.
 */
export function interactionsBatch(
  result: ShapResult,
  featureNames: readonly string[],
  opts: SampleTableOptions = {},
): arrow.RecordBatch {
  const { rows, outputs, features, values } = result;
  if (features !== featureNames.length) {
    throw new Error(`the interactions result has ${features} features, the model names ${featureNames.length}`);
  }
  const t = rows * outputs * features;
  if (values.length !== t * features) {
    throw new Error(`the interactions result has ${values.length} values, expected ${t * features}`);
  }
  const schema = interactionsSchema(featureNames, outputs, opts.ids);
  const children = keyData(opts.rowOffset ?? 0, rows, outputs, outputs * features, opts.ids, opts.idOffset);
  children.push(repeatedNames(featureNames, rows * outputs));
  for (let j = 0; j < features; j++) children.push(f64(values.subarray(j * t, (j + 1) * t)));
  return structBatch(schema, t, children);
}

/** The interaction values table of one native result (see {@link interactionsBatch}). */
export function interactionsTable(
  result: ShapResult,
  featureNames: readonly string[],
  opts: SampleTableOptions = {},
): arrow.Table {
  return new arrow.Table([interactionsBatch(result, featureNames, opts)]);
}

/** Per-feature model facts the model explanations table is built from. */
export interface ModelTableInput {
  /** Feature names in model order. */
  featureNames: readonly string[];
  /** Total split gain per feature. */
  gain: Float64Array;
  /** Total split cover per feature. */
  cover: Float64Array;
  /** Split count per feature. */
  weight: Float64Array;
  /** Mean |SHAP| per feature over rows and outputs, when samples were explained. */
  meanAbsShap?: Float64Array;
}

/**
 * Normalizes gains to importances summing to 1 (all zeros when the model has
 * no split, e.g. a stump-only model).
 */
export function importances(gain: Float64Array): Float64Array {
  let total = 0;
  for (const g of gain) total += g;
  const out = new Float64Array(gain.length);
  if (total > 0 && Number.isFinite(total)) for (let i = 0; i < gain.length; i++) out[i] = gain[i] / total;
  return out;
}

/** The model table's float columns, in order. */
const MODEL_COLUMNS = ['importance', 'gain', 'cover', 'weight'] as const;
/** The model table's column of mean |SHAP| over the samples explained in the same run. */
export const MEAN_ABS_SHAP_COLUMN = 'mean_abs_shap';

/** Schema of the model explanations table, with or without `mean_abs_shap`. */
export function modelSchema(meanAbsShap: boolean): arrow.Schema {
  const names = meanAbsShap ? [...MODEL_COLUMNS, MEAN_ABS_SHAP_COLUMN] : MODEL_COLUMNS;
  return new arrow.Schema([
    new arrow.Field(FEATURE_COLUMN, new arrow.Utf8(), false),
    ...names.map((name) => new arrow.Field(name, new arrow.Float64(), false)),
  ]);
}

function checkLength(name: string, values: Float64Array, m: number): void {
  if (values.length !== m) throw new Error(`model table: ${name} has ${values.length} values for ${m} features`);
}

/** The model explanations table: `feature`, `importance`, `gain`, `cover`, `weight`, [`mean_abs_shap`]. */
export function modelTable(input: ModelTableInput): arrow.Table {
  const m = input.featureNames.length;
  const columns = [importances(input.gain), input.gain, input.cover, input.weight];
  columns.forEach((v, i) => checkLength(MODEL_COLUMNS[i], v, m));
  const table = new arrow.Table([structBatch(modelSchema(false), m, [repeatedNames(input.featureNames, 1), ...columns.map(f64)])]);
  return input.meanAbsShap ? withMeanAbsShap(table, input.meanAbsShap) : table;
}

/** A model table (without `mean_abs_shap`) with that column added; the other columns are shared, not rebuilt. */
export function withMeanAbsShap(table: arrow.Table, meanAbsShap: Float64Array): arrow.Table {
  const m = table.numRows;
  checkLength(MEAN_ABS_SHAP_COLUMN, meanAbsShap, m);
  if (table.batches.length !== 1) throw new Error('model table: expected one record batch (a table from modelTable)');
  return new arrow.Table([structBatch(modelSchema(true), m, [...table.batches[0].data.children, f64(meanAbsShap)])]);
}

/** Concatenates record batches of one schema into a table (an empty table of `schema` when none). */
export function tableOf(schema: arrow.Schema, batches: arrow.RecordBatch[]): arrow.Table {
  return batches.length > 0 ? new arrow.Table(batches) : new arrow.Table(schema);
}
