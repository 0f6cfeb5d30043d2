/**
 * The feature values beside the SHAP values (`explainer.include_inputs`): one
 * float64 column `input.<feature>` per model feature, after `base_value`, in the
 * samples explanations table — the value the model saw (missing = NaN), repeated
 * on each output's row for multi-output models. A single-output batch's columns
 * are views of float64 input columns, not copies.
 */
import * as arrow from 'apache-arrow';
import type { FeatureColumn } from '../native/addon.ts';

/** Prefix of the feature-value columns. */
export const INPUT_COLUMN_PREFIX = 'input.';

/** The name of the feature-value column of `feature`. */
export function inputColumnName(feature: string): string {
  return `${INPUT_COLUMN_PREFIX}${feature}`;
}

/** `schema` with the `input.<feature>` columns appended. @throws when one collides with an existing column. */
export function withInputFields(schema: arrow.Schema, featureNames: readonly string[]): arrow.Schema {
  const taken = new Set(schema.fields.map((f) => f.name));
  const extra = featureNames.map((f) => {
    const name = inputColumnName(f);
    if (taken.has(name)) throw new Error(`explainer.include_inputs: column "${name}" collides with a feature named "${name}"`);
    return new arrow.Field(name, new arrow.Float64(), true);
  });
  return new arrow.Schema([...schema.fields, ...extra]);
}

/** One batch's `input.<feature>` column: the batch's feature values, each repeated `outputs` times. */
function inputData(column: FeatureColumn, outputs: number): arrow.Data<arrow.Float64> {
  let values: Float64Array;
  if (outputs === 1 && column instanceof Float64Array) {
    values = column;
  } else {
    values = new Float64Array(column.length * outputs);
    for (let r = 0; r < column.length; r++) values.fill(column[r], r * outputs, r * outputs + outputs);
  }
  return arrow.makeData({ type: new arrow.Float64(), length: values.length, data: values });
}

/** A samples record batch with the batch's feature values appended as `input.<feature>` columns. */
export function withInputColumns(batch: arrow.RecordBatch, featureNames: readonly string[], columns: readonly FeatureColumn[], outputs: number): arrow.RecordBatch {
  const schema = withInputFields(batch.schema, featureNames);
  const children = [...batch.data.children, ...columns.map((c) => inputData(c, outputs))];
  const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length: batch.numRows, nullCount: 0, children });
  return new arrow.RecordBatch(schema, data);
}
