/**
 * Fixture access shared by tests/core, tests/jobs and tests/cli: the XGBoost /
 * LightGBM reference cases under tests/fixtures/<case>/ (model, inputs.csv,
 * expected.json made by the real libraries: XGBoost, LightGBM, CatBoost).
 *
 * Tests using these load models in the native addon: when it is not built they
 * fail loudly (run `npm run build:native` first), they are never skipped.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as arrow from 'apache-arrow';
import { featureColumns } from '../../ts/io/datasets/features.ts';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { TreeModel, type FeatureColumn } from '../../ts/native/tree_model.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const FIXTURES = join(ROOT, 'tests', 'fixtures');

/** What a fixture's expected.json holds (the parts used here). */
export interface Expected {
  model: string;
  feature_names: string[];
  num_outputs: number;
  rows: number;
  /** Row-major raw margins [row][output]. */
  raw: number[];
  /** Row-major [row][output][M features + bias]. */
  contribs: number[];
  /** Row-major [row][output][M+1][M+1] (with bias row/column), when made. */
  interactions?: number[];
  expected_value?: number[];
}

/** Every case with a model, inputs and expected values. */
export const CASES = [
  'lgb_binary',
  'lgb_multiclass_cat',
  'lgb_reg',
  'rel_cb12_multiclass',
  'rel_cb12_onehot',
  'xgb_binary_depth6',
  'xgb_binary_logitraw',
  'xgb_categorical',
  'xgb_dart',
  'xgb_multi_softmax',
  'xgb_multi_softprob',
  'xgb_reg_gamma',
  'xgb_reg_logistic',
  'xgb_reg_nan',
  'xgb_reg_tweedie',
  'xgb_ubj',
];

/** A loaded fixture case. */
export interface Fixture {
  name: string;
  dir: string;
  modelPath: string;
  inputsPath: string;
  expected: Expected;
  model: TreeModel;
  inputs: arrow.Table;
  columns: FeatureColumn[];
}

/** Loads a case (model in the native core, inputs through the io CSV reader). */
export async function fixture(name: string): Promise<Fixture> {
  const dir = join(FIXTURES, name);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  const modelPath = join(dir, expected.model);
  const inputsPath = join(dir, 'inputs.csv');
  const model = TreeModel.fromFile(modelPath);
  const inputs = await readerForPath(inputsPath).read();
  return { name, dir, modelPath, inputsPath, expected, model, inputs, columns: featureColumns(inputs, model.featureNames) };
}

/** |a − b| within `rel` relative to max(1, |b|). */
export function close(a: number, b: number, rel = 1e-5): boolean {
  return Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));
}

/** The float64 values of a table column. */
export function col(table: arrow.Table, name: string): Float64Array {
  const c = table.getChild(name);
  if (!c) throw new Error(`no column ${name} in [${table.schema.fields.map((f) => f.name).join(', ')}]`);
  return Float64Array.from(c.toArray() as ArrayLike<number>);
}

/**
 * Checks a samples explanations table against a fixture: every SHAP value and
 * base value against XGBoost/LightGBM's `contribs`, and additivity (sum of the
 * feature columns + base_value = raw prediction) on every row, within 1e-5
 * relative. Returns the first mismatch, or undefined.
 */
export function samplesMismatch(table: arrow.Table, fx: Pick<Fixture, 'expected' | 'model'>, rowOffset = 0): string | undefined {
  const { expected } = fx;
  const m = fx.model.numFeatures;
  const k = fx.model.numOutputs;
  const features = fx.model.featureNames.map((n) => col(table, n));
  const base = col(table, 'base_value');
  for (let i = 0; i < table.numRows; i++) {
    const r = rowOffset + Math.floor(i / k);
    const o = i % k;
    let sum = base[i];
    for (let j = 0; j <= m; j++) {
      const got = j < m ? features[j][i] : base[i];
      const want = expected.contribs[(r * k + o) * (m + 1) + j];
      if (!close(got, want)) return `row ${r} output ${o} column ${j}: ${got} vs ${want}`;
      if (j < m) sum += got;
    }
    if (!close(sum, expected.raw[r * k + o])) return `additivity row ${r} output ${o}: ${sum} vs raw ${expected.raw[r * k + o]}`;
  }
  return undefined;
}

/** Checks an interactions table against a fixture's `interactions` (bias row/column left out). */
export function interactionsMismatch(table: arrow.Table, fx: Pick<Fixture, 'expected' | 'model'>): string | undefined {
  const { expected } = fx;
  if (!expected.interactions) return 'the fixture has no interactions';
  const m = fx.model.numFeatures;
  const k = fx.model.numOutputs;
  const columns = fx.model.featureNames.map((n) => col(table, n));
  const feature = table.getChild('feature')!.toArray() as string[];
  for (let i = 0; i < table.numRows; i++) {
    const a = i % m;
    const ro = Math.floor(i / m);
    if (feature[i] !== fx.model.featureNames[a]) return `row ${i}: feature ${feature[i]}, expected ${fx.model.featureNames[a]}`;
    for (let b = 0; b < m; b++) {
      const got = columns[b][i];
      const want = expected.interactions[(ro * (m + 1) + a) * (m + 1) + b];
      if (!close(got, want)) return `row/output ${ro} [${a}][${b}]: ${got} vs ${want}`;
    }
  }
  void k;
  return undefined;
}
