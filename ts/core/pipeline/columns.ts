/** A model's input columns from a table: the pipeline's transform for scikit-learn models, else the feature columns by name. */
import type { Table } from 'apache-arrow';
import { featureColumns, type ColumnOptions } from '../../io/datasets/features.ts';
import type { FeatureColumn } from '../../native/addon.ts';
import type { TreeModel } from '../../native/tree_model.ts';
import { matchColumns } from '../lightgbm_names.ts';
import type { RawColumnGroup } from '../raw_columns.ts';
import { rawColumnGroups, transformTable } from './program.ts';

/**
 * The columns `model` explains for the rows of `table`: for a scikit-learn pipeline
 * (`model.sklearn`), its preprocessing run over the raw input columns; otherwise the
 * columns named by `model.featureNames` ({@link featureColumns}, zero-copy where it can),
 * a LightGBM model's stored names matched to the table's columns the way LightGBM
 * mangles them ({@link matchColumns}: exact names first).
 * @throws as {@link featureColumns}, or when two columns both become one LightGBM name.
 */
export function modelColumns(model: TreeModel, table: Table, opts: ColumnOptions = {}): FeatureColumn[] {
  const sk = model.sklearn;
  if (sk) return transformTable(sk.program, table, opts);
  const { columns } = matchColumns(model, table.schema.fields.map((f) => f.name), opts.source);
  return featureColumns(table, columns, opts);
}

/**
 * The raw input columns of a scikit-learn pipeline and the model features computed
 * from each (`explainer.raw_columns`). @throws for a model without a pipeline: its
 * features are its raw columns, there is nothing to roll up.
 */
export function rawColumnsOf(model: TreeModel): RawColumnGroup[] {
  const sk = model.sklearn;
  if (!sk) {
    throw new Error(
      `explainer.raw_columns: the model (${model.source}) reads its input columns as they are, without a scikit-learn ` +
        'preprocessing pipeline, so its SHAP columns already are one per raw column; remove explainer.raw_columns',
    );
  }
  return rawColumnGroups(sk.program);
}
