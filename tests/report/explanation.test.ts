import test from 'ava';
import * as arrow from 'apache-arrow';
import { Explanation, inputColumnName } from '../../ts/report/explanation.ts';
import { DIABETES, explainFile, SOFTPROB } from './_report.ts';
import { fixture } from '../core/_fixtures.ts';

test('Explanation from the samples table matches the table, shap-shaped, and meanAbs equals the explainer', async (t) => {
  const run = await explainFile(DIABETES.model, DIABETES.inputs);
  const e = Explanation.fromTables(run.samples, { inputs: run.columns });
  t.deepEqual(e.shape, [442, 10]);
  t.deepEqual(e.featureNames, run.model.featureNames);
  const bmi = run.samples.getChild('bmi')!;
  for (const r of [0, 17, 441]) {
    t.is(e.value(r, 'bmi'), bmi.get(r));
    t.is(e.dataValue(r, 'bmi'), run.columns[run.model.featureNames.indexOf('bmi')][r]);
    t.is(e.rowIds[r], r);
  }
  const mean = e.meanAbs();
  run.meanAbsShap.forEach((v, j) => t.true(Math.abs(mean[j] - v) <= 1e-9 * Math.max(1, v), `feature ${j}`));
  // values are views of the table's columns, not copies
  t.is(e.values[0].buffer, (run.samples.getChild(run.model.featureNames[0])!.data[0].values as Float64Array).buffer);
});

test('samples table → Explanation → samples table is the identity (single and multi-output, with inputs)', async (t) => {
  for (const spec of [DIABETES, SOFTPROB]) {
    const run = await explainFile(spec.model, spec.inputs);
    const e = Explanation.fromTables(run.samples, { inputs: run.columns });
    const back = e.toSamplesTable();
    t.deepEqual(
      back.schema.fields.map((f) => [f.name, String(f.type)]),
      run.samples.schema.fields.map((f) => [f.name, String(f.type)]),
    );
    for (const f of run.samples.schema.fields) {
      t.deepEqual([...back.getChild(f.name)!.toArray()], [...run.samples.getChild(f.name)!.toArray()], `${spec.model} ${f.name}`);
    }
    // with the feature values: input.<feature> columns, read back as the data
    const withInputs = e.toSamplesTable({ includeInputs: true });
    const again = Explanation.fromTables(withInputs);
    t.truthy(again.data);
    for (let j = 0; j < e.featureNames.length; j++) {
      t.deepEqual([...again.data![j]], [...run.columns[j]].map(Number), `${spec.model} data ${j}`);
      t.is(withInputs.getChild(inputColumnName(e.featureNames[j]))!.length, run.samples.numRows);
    }
  }
});

test('multi-output: shape, output() views and additivity against the library outputs', async (t) => {
  const fx = await fixture('xgb_multi_softprob');
  const run = await explainFile(SOFTPROB.model, SOFTPROB.inputs);
  const e = Explanation.fromTables(run.samples, { inputs: run.columns, outputNames: ['a', 'b', 'c'] });
  t.deepEqual(e.shape, [fx.expected.rows, fx.model.numFeatures, 3]);
  const one = e.output(2);
  t.deepEqual(one.shape, [fx.expected.rows, fx.model.numFeatures]);
  t.deepEqual(one.outputNames, ['c']);
  for (let r = 0; r < e.rows; r++) {
    for (let o = 0; o < 3; o++) {
      const want = fx.expected.raw[r * 3 + o];
      t.true(Math.abs(e.prediction(r, o) - want) <= 1e-5 * Math.max(1, Math.abs(want)), `row ${r} output ${o}`);
    }
    t.is(one.prediction(r), e.prediction(r, 2));
  }
});

test("shap's nested form round trip: toShap → fromShap keeps every value, and fromShap reads shap's layouts", (t) => {
  const e = new Explanation({
    featureNames: ['x', 'y'],
    outputs: 2,
    values: [Float64Array.from([1, 2, 3, 4]), Float64Array.from([5, 6, 7, 8])],
    baseValues: Float64Array.from([0.5, -0.5, 0.5, -0.5]),
    data: [Float64Array.from([10, NaN]), Float64Array.from([30, 40])],
    outputNames: ['no', 'yes'],
  });
  const shap = e.toShap();
  t.deepEqual(shap.values, [
    [
      [1, 2],
      [5, 6],
    ],
    [
      [3, 4],
      [7, 8],
    ],
  ]);
  t.deepEqual(shap.base_values, [
    [0.5, -0.5],
    [0.5, -0.5],
  ]);
  t.deepEqual(shap.data, [
    [10, 30],
    [null, 40],
  ]);
  const back = Explanation.fromShap(JSON.parse(JSON.stringify(shap)));
  t.deepEqual(back.toShap(), shap);
  t.deepEqual(back.outputNames, ['no', 'yes']);
  // single output, scalar base value (shap's TreeExplainer.expected_value)
  const single = Explanation.fromShap({ values: [[1, -2]], base_values: 3, feature_names: ['a', 'b'] });
  t.deepEqual(single.shape, [1, 2]);
  t.is(single.prediction(0), 2);
  t.throws(() => Explanation.fromShap({ values: [[1]], base_values: [0], feature_names: ['a', 'b'] }), { message: /row 0 has 1 features, expected 2/ });
});

test('an id column is carried as the row labels and back', (t) => {
  const samples = new arrow.Table({
    id: arrow.vectorFromArray(['u1', 'u2']),
    a: arrow.makeVector(Float64Array.from([1, 2])),
    base_value: arrow.makeVector(Float64Array.from([0, 0])),
  });
  const e = Explanation.fromTables(samples);
  t.deepEqual(e.rowIds, ['u1', 'u2']);
  t.is(e.rowIdName, 'id');
  const back = e.toSamplesTable();
  t.deepEqual(back.schema.fields.map((f) => f.name), ['id', 'a', 'base_value']);
  t.deepEqual([...back.getChild('id')!], ['u1', 'u2']);
  t.throws(() => e.select([2]), { message: /row 2 out of range/ });
  t.throws(() => e.value(0, 'nope'), { message: /unknown feature "nope"/ });
});
