/**
 * The roll-up of a scikit-learn pipeline's SHAP values to its raw input columns
 * (`explainer.raw_columns`): one float64 column `raw.<column>` per input column the
 * pipeline reads, appended to the samples explanations table, holding the sum of
 * the SHAP values of the model features computed from that column (e.g. the
 * one-hot columns `categoricals__season_spring`, `…_summer`, … of `season`).
 *
 * Shapley values are additive over features, so the sum is the attribution of the
 * group — the common practice for one-hot encoded inputs (it is not the Shapley
 * value of a game played over raw columns, which would need the pipeline's
 * interactions between groups; the README says so).
 */
import * as arrow from 'apache-arrow';

/** Prefix of the roll-up columns. */
export const RAW_COLUMN_PREFIX = 'raw.';

/** One raw input column and the model features (positions, model order) computed from it. */
export interface RawColumnGroup {
  /** The raw input column's name. */
  name: string;
  /** Positions of its model features. */
  features: number[];
}

/** `schema` with the `raw.<column>` fields appended. @throws when one collides with an existing column. */
export function withRawFields(schema: arrow.Schema, groups: readonly RawColumnGroup[]): arrow.Schema {
  const taken = new Set(schema.fields.map((f) => f.name));
  const extra = groups.map((g) => {
    const name = `${RAW_COLUMN_PREFIX}${g.name}`;
    if (taken.has(name)) throw new Error(`explainer.raw_columns: column "${name}" collides with a feature named "${name}"`);
    taken.add(name);
    return new arrow.Field(name, new arrow.Float64(), false);
  });
  return new arrow.Schema([...schema.fields, ...extra]);
}

/**
 * The roll-up of one result: `values` holds `features + 1` columns of `n` values
 * each (SHAP values in model order, then the base value), column after column.
 */
export function rawColumnSums(values: Float64Array, n: number, groups: readonly RawColumnGroup[]): Float64Array[] {
  return groups.map((g) => {
    const sum = new Float64Array(n);
    for (const j of g.features) {
      const column = values.subarray(j * n, (j + 1) * n);
      for (let i = 0; i < n; i++) sum[i] += column[i];
    }
    return sum;
  });
}

/** A samples record batch with the roll-up columns of `values` (its SHAP result, `n` rows × outputs) appended. */
export function withRawColumns(batch: arrow.RecordBatch, values: Float64Array, groups: readonly RawColumnGroup[]): arrow.RecordBatch {
  const schema = withRawFields(batch.schema, groups);
  const sums = rawColumnSums(values, batch.numRows, groups);
  const children = [...batch.data.children, ...sums.map((s) => arrow.makeData({ type: new arrow.Float64(), length: s.length, data: s }))];
  const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length: batch.numRows, nullCount: 0, children });
  return new arrow.RecordBatch(schema, data);
}
