import test from 'ava';
import * as arrow from 'apache-arrow';
import {
  importances,
  interactionsTable,
  modelTable,
  samplesTable,
  samplesSchema,
} from '../../ts/core/schemas.ts';
import type { ShapResult } from '../../ts/native/tree_model.ts';

/** A synthetic column-major result: value = 1000·column + position. */
function result(rows: number, outputs: number, features: number): ShapResult {
  const cols = features + 1;
  const n = rows * outputs;
  const values = new Float64Array(n * cols);
  for (let j = 0; j < cols; j++) for (let i = 0; i < n; i++) values[j * n + i] = 1000 * j + i;
  return { rows, outputs, features, values };
}

/** A synthetic interactions result: M columns of R·K·M values, value = 1000·column + position. */
function interResult(rows: number, outputs: number, features: number): ShapResult {
  const t = rows * outputs * features;
  const values = new Float64Array(t * features);
  for (let j = 0; j < features; j++) for (let i = 0; i < t; i++) values[j * t + i] = 1000 * j + i;
  return { rows, outputs, features, values };
}

const names = ['a', 'b', 'c'];

test('samples table: row int64, one float64 column per feature in model order, base_value; no output column for one output', (t) => {
  const table = samplesTable(result(4, 1, 3), names);
  t.deepEqual(
    table.schema.fields.map((f) => [f.name, String(f.type)]),
    [
      ['row', 'Int64'],
      ['a', 'Float64'],
      ['b', 'Float64'],
      ['c', 'Float64'],
      ['base_value', 'Float64'],
    ],
  );
  t.is(table.numRows, 4);
  t.deepEqual([...table.getChild('row')!.toArray()], [0n, 1n, 2n, 3n]);
  t.deepEqual([...table.getChild('b')!.toArray()], [1000, 1001, 1002, 1003]);
  t.deepEqual([...table.getChild('base_value')!.toArray()], [3000, 3001, 3002, 3003]);
});

test('samples table: float columns are views of the native buffer (no copy)', (t) => {
  const r = result(5, 2, 3);
  const table = samplesTable(r, names);
  for (const name of [...names, 'base_value']) {
    const data = table.getChild(name)!.data;
    t.is(data.length, 1);
    t.is((data[0].values as Float64Array).buffer, r.values.buffer);
  }
});

test('samples table: multi-output adds output int32, rows ordered by row then output, row offset honoured', (t) => {
  const table = samplesTable(result(2, 3, 3), names, { rowOffset: 10 });
  t.deepEqual(
    table.schema.fields.map((f) => [f.name, String(f.type)]),
    [
      ['row', 'Int64'],
      ['output', 'Int32'],
      ['a', 'Float64'],
      ['b', 'Float64'],
      ['c', 'Float64'],
      ['base_value', 'Float64'],
    ],
  );
  t.deepEqual([...table.getChild('row')!.toArray()], [10n, 10n, 10n, 11n, 11n, 11n]);
  t.deepEqual([...table.getChild('output')!.toArray()], [0, 1, 2, 0, 1, 2]);
  t.deepEqual([...table.getChild('a')!.toArray()], [0, 1, 2, 3, 4, 5]);
});

test('samples table: the id column is carried under its own name and type instead of row', (t) => {
  const ids = { name: 'customer', vector: arrow.vectorFromArray(['x', 'y', 'z', 'w'], new arrow.Utf8()) };
  const single = samplesTable(result(2, 1, 3), names, { ids, rowOffset: 1 });
  t.deepEqual(single.schema.fields.map((f) => f.name), ['customer', 'a', 'b', 'c', 'base_value']);
  t.is(String(single.schema.fields[0].type), 'Utf8');
  t.deepEqual([...single.getChild('customer')!], ['y', 'z']);
  t.is(single.getChild('row'), null);

  const intIds = { name: 'id', vector: arrow.vectorFromArray(new BigInt64Array([7n, 8n])) };
  const multi = samplesTable(result(2, 2, 3), names, { ids: intIds });
  t.deepEqual(multi.schema.fields.map((f) => f.name), ['id', 'output', 'a', 'b', 'c', 'base_value']);
  t.deepEqual([...multi.getChild('id')!.toArray()], [7n, 7n, 8n, 8n]);
});

test('samples table: feature names that collide with key columns, or repeat, are refused', (t) => {
  t.throws(() => samplesSchema(['a', 'base_value'], 1), { message: /base_value/ });
  t.throws(() => samplesSchema(['row'], 1), { message: /row/ });
  t.throws(() => samplesSchema(['a', 'a'], 1), { message: /duplicate feature name "a"/ });
  t.notThrows(() => samplesSchema(['row'], 1, { name: 'id', vector: arrow.vectorFromArray([1]) }));
});

test('samples table: a result of the wrong size is refused', (t) => {
  t.throws(() => samplesTable({ rows: 2, outputs: 1, features: 3, values: new Float64Array(7) }, names), {
    message: /expected 8/,
  });
  t.throws(() => samplesTable(result(2, 1, 2), names), { message: /2 features, the model names 3/ });
});

test('interactions table: row, [output], feature utf8, one float64 column per feature; layout from the native result', (t) => {
  // M columns of T = R·K·M values ordered (row, output, feature i): column j holds φ[i][j].
  const r = interResult(2, 2, 3);
  const table = interactionsTable(r, names);
  t.deepEqual(
    table.schema.fields.map((f) => [f.name, String(f.type)]),
    [
      ['row', 'Int64'],
      ['output', 'Int32'],
      ['feature', 'Utf8'],
      ['a', 'Float64'],
      ['b', 'Float64'],
      ['c', 'Float64'],
    ],
  );
  t.is(table.numRows, 2 * 2 * 3);
  t.deepEqual([...table.getChild('row')!.toArray()], [0n, 0n, 0n, 0n, 0n, 0n, 1n, 1n, 1n, 1n, 1n, 1n]);
  t.deepEqual([...table.getChild('output')!.toArray()], [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]);
  t.deepEqual([...table.getChild('feature')!], ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
  t.is(table.getChild('c')!.get(4), 2004);
  t.is((table.getChild('b')!.data[0].values as Float64Array).buffer, r.values.buffer);
  const single = interactionsTable(interResult(3, 1, 3), names);
  t.deepEqual(single.schema.fields.map((f) => f.name), ['row', 'feature', 'a', 'b', 'c']);
  t.deepEqual([...single.getChild('feature')!].slice(0, 4), ['a', 'b', 'c', 'a']);
});

test('interactions table: non-ASCII feature names survive the byte-level utf8 column', (t) => {
  const table = interactionsTable(interResult(5, 1, 2), ['température', 'été']);
  t.deepEqual([...table.getChild('feature')!], Array.from({ length: 5 }, () => ['température', 'été']).flat());
});

test('model table: feature, importance (gain normalized to sum 1), gain, cover, weight; mean_abs_shap only when given', (t) => {
  const input = {
    featureNames: names,
    gain: new Float64Array([3, 1, 0]),
    cover: new Float64Array([10, 20, 30]),
    weight: new Float64Array([5, 2, 0]),
  };
  const table = modelTable(input);
  t.deepEqual(
    table.schema.fields.map((f) => [f.name, String(f.type)]),
    [
      ['feature', 'Utf8'],
      ['importance', 'Float64'],
      ['gain', 'Float64'],
      ['cover', 'Float64'],
      ['weight', 'Float64'],
    ],
  );
  t.deepEqual([...table.getChild('feature')!], names);
  t.deepEqual([...table.getChild('importance')!.toArray()], [0.75, 0.25, 0]);
  const withShap = modelTable({ ...input, meanAbsShap: new Float64Array([0.5, 0.25, 0]) });
  t.deepEqual(withShap.schema.fields.map((f) => f.name), ['feature', 'importance', 'gain', 'cover', 'weight', 'mean_abs_shap']);
  t.deepEqual([...withShap.getChild('mean_abs_shap')!.toArray()], [0.5, 0.25, 0]);
});

test('importances sum to 1, and are all zero for a model without splits', (t) => {
  const imp = importances(new Float64Array([0.1, 0.7, 0.2, 5]));
  t.true(Math.abs(imp.reduce((a, b) => a + b, 0) - 1) < 1e-15);
  t.deepEqual([...importances(new Float64Array([0, 0]))], [0, 0]);
});
