/**
 * The explainers on real XGBoost / LightGBM models (native addon required: these
 * tests fail, not skip, when it is not built).
 */
import test from 'ava';
import * as arrow from 'apache-arrow';
import { explainModel, explainSamples, resolveAlgorithm, resolveDevice } from '../../ts/core/explainers.ts';
import { gpuInfo } from '../../ts/native/addon.ts';
import { CASES, close, col, fixture, interactionsMismatch, samplesMismatch } from './_fixtures.ts';

for (const name of CASES) {
  test(`${name}: samples table matches the library's contribs, and is additive on every row`, async (t) => {
    const fx = await fixture(name);
    const s = await explainSamples(fx.model, fx.columns);
    t.is(s.algorithm, 'tree-path-dependent');
    t.is(s.device, 'cpu');
    t.is(s.rows, fx.expected.rows);
    t.is(s.outputs, fx.expected.num_outputs);
    t.is(s.table.numRows, fx.expected.rows * fx.expected.num_outputs);
    const fields = s.table.schema.fields.map((f) => f.name);
    t.deepEqual(fields, [
      'row',
      ...(fx.expected.num_outputs > 1 ? ['output'] : []),
      ...fx.expected.feature_names,
      'base_value',
    ]);
    t.is(samplesMismatch(s.table, fx), undefined);
  });
}

for (const name of ['xgb_multi_softprob', 'xgb_binary_depth6', 'xgb_reg_nan']) {
  test(`${name}: interactions table matches XGBoost's pred_interactions; symmetric; row sums give the SHAP values`, async (t) => {
    const fx = await fixture(name);
    const s = await explainSamples(fx.model, fx.columns, { interactions: true });
    const inter = s.interactions!;
    const m = fx.model.numFeatures;
    t.is(inter.numRows, s.table.numRows * m);
    t.is(interactionsMismatch(inter, fx), undefined);
    const cols = fx.model.featureNames.map((n) => col(inter, n));
    const shap = fx.model.featureNames.map((n) => col(s.table, n));
    for (let ro = 0; ro < s.table.numRows; ro++) {
      for (let a = 0; a < m; a++) {
        let sum = 0;
        for (let b = 0; b < m; b++) {
          sum += cols[b][ro * m + a];
          if (!close(cols[b][ro * m + a], cols[a][ro * m + b], 1e-9)) return t.fail(`asymmetric at ${ro} [${a}][${b}]`);
        }
        if (!close(sum, shap[a][ro], 1e-7)) return t.fail(`row sum ${ro} feature ${a}: ${sum} vs ${shap[a][ro]}`);
      }
    }
    t.pass();
  });
}

test('batches: any batch_rows gives the same table, one record batch per batch, rows numbered across batches', async (t) => {
  const fx = await fixture('xgb_multi_softprob');
  const whole = await explainSamples(fx.model, fx.columns);
  const batched = await explainSamples(fx.model, fx.columns, { batchRows: 7, interactions: true });
  t.is(batched.table.batches.length, Math.ceil(fx.expected.rows / 7));
  t.is(batched.interactions!.batches.length, Math.ceil(fx.expected.rows / 7));
  t.is(samplesMismatch(batched.table, fx), undefined);
  t.is(interactionsMismatch(batched.interactions!, fx), undefined);
  t.deepEqual([...batched.table.getChild('row')!.toArray()], [...whole.table.getChild('row')!.toArray()]);
  t.deepEqual([...batched.meanAbsShap], [...whole.meanAbsShap].map((v, i) => (close(v, batched.meanAbsShap[i], 1e-12) ? batched.meanAbsShap[i] : v)));
});

test('mean |SHAP| per feature is over rows and outputs; model table gets mean_abs_shap and importance sums to 1', async (t) => {
  const fx = await fixture('xgb_multi_softprob');
  const s = await explainSamples(fx.model, fx.columns);
  const m = fx.model.numFeatures;
  const k = fx.model.numOutputs;
  for (let j = 0; j < m; j++) {
    let sum = 0;
    for (let i = 0; i < fx.expected.rows * k; i++) sum += Math.abs(fx.expected.contribs[i * (m + 1) + j]);
    t.true(close(s.meanAbsShap[j], sum / (fx.expected.rows * k)), fx.model.featureNames[j]);
  }
  const table = explainModel(fx.model, s.meanAbsShap);
  t.deepEqual(table.schema.fields.map((f) => f.name), ['feature', 'importance', 'gain', 'cover', 'weight', 'mean_abs_shap']);
  t.deepEqual([...table.getChild('feature')!], fx.model.featureNames);
  const importance = col(table, 'importance');
  t.true(Math.abs(importance.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  const gain = col(table, 'gain');
  const total = gain.reduce((a, b) => a + b, 0);
  gain.forEach((g, i) => t.true(close(importance[i], g / total, 1e-12)));
  t.true(col(table, 'weight').every((w) => Number.isInteger(w) && w >= 0));
  t.is(explainModel(fx.model).getChild('mean_abs_shap'), null);
});

test('tree-interventional: additive against the raw prediction, base value per background', async (t) => {
  const fx = await fixture('xgb_reg_nan');
  const background = fx.columns.map((c) => c.slice(0, 20));
  const s = await explainSamples(fx.model, fx.columns, { algorithm: 'tree-interventional', background, batchRows: 16 });
  t.is(s.algorithm, 'tree-interventional');
  const raw = await fx.model.predictRaw(fx.columns);
  const features = fx.model.featureNames.map((n) => col(s.table, n));
  const base = col(s.table, 'base_value');
  for (let i = 0; i < s.table.numRows; i++) {
    const sum = features.reduce((acc, f) => acc + f[i], base[i]);
    if (!close(sum, raw[i], 1e-6)) return t.fail(`row ${i}: ${sum} vs ${raw[i]}`);
  }
  t.pass();
});

test('kernel: with every coalition enumerated (nsamples ≥ 2^M − 2) it equals interventional TreeSHAP, over batches', async (t) => {
  const fx = await fixture('xgb_multi_softprob');
  const background = fx.columns.map((c) => c.slice(0, 10));
  const tree = await explainSamples(fx.model, fx.columns, { algorithm: 'tree-interventional', background });
  const kernel = await explainSamples(fx.model, fx.columns, { algorithm: 'kernel', background, nsamples: 64, batchRows: 16 });
  t.is(kernel.algorithm, 'kernel');
  t.is(kernel.table.batches.length, 4);
  t.deepEqual(kernel.table.schema.fields.map((f) => f.name), tree.table.schema.fields.map((f) => f.name));
  for (const name of [...fx.model.featureNames, 'base_value']) {
    const a = col(kernel.table, name);
    const b = col(tree.table, name);
    for (let i = 0; i < a.length; i++) if (!close(a[i], b[i], 1e-6)) return t.fail(`${name}[${i}]: ${a[i]} vs ${b[i]}`);
  }
  t.deepEqual(kernel.warnings, []);
});

test('id column is carried through the batches', async (t) => {
  const fx = await fixture('xgb_multi_softprob');
  const ids = { name: 'key', vector: arrow.vectorFromArray(Array.from({ length: fx.expected.rows }, (_, i) => `s${i}`)) };
  const s = await explainSamples(fx.model, fx.columns, { ids, batchRows: 8, interactions: true });
  t.is(s.table.schema.fields[0].name, 'key');
  t.deepEqual([...s.table.getChild('key')!].slice(0, 7), ['s0', 's0', 's0', 's1', 's1', 's1', 's2']);
  t.is(s.table.getChild('key')!.get(s.table.numRows - 1), `s${fx.expected.rows - 1}`);
  t.is(s.interactions!.getChild('key')!.get(15), 's1');
});

test('progress: reported over all batches up to the total; abort rejects with AbortError', async (t) => {
  const fx = await fixture('xgb_reg_nan');
  const seen: [number, number][] = [];
  await explainSamples(fx.model, fx.columns, { batchRows: 10, onProgress: (d, n) => seen.push([d, n]) });
  t.true(seen.length >= 6);
  t.deepEqual(seen[seen.length - 1], [fx.expected.rows, fx.expected.rows]);
  t.true(seen.every(([d, n], i) => n === fx.expected.rows && d <= n && (i === 0 || d >= seen[i - 1][0])));

  const controller = new AbortController();
  controller.abort();
  await t.throwsAsync(explainSamples(fx.model, fx.columns, { signal: controller.signal }), { name: 'AbortError' });
});

test('no rows: empty tables with the full schema', async (t) => {
  const fx = await fixture('xgb_multi_softprob');
  const s = await explainSamples(fx.model, fx.columns.map((c) => c.subarray(0, 0)), { interactions: true });
  t.is(s.table.numRows, 0);
  t.deepEqual(s.table.schema.fields.map((f) => f.name), ['row', 'output', ...fx.model.featureNames, 'base_value']);
  t.is(s.interactions!.numRows, 0);
  t.deepEqual([...s.meanAbsShap], fx.model.featureNames.map(() => 0));
});

test('algorithm and device choices: auto → path-dependent (on the GPU only when one is usable); clear errors otherwise', async (t) => {
  t.is(resolveAlgorithm('auto'), 'tree-path-dependent');
  const gpu = gpuInfo().available;
  t.is(resolveDevice('auto'), gpu ? 'gpu' : 'cpu');
  t.is(resolveDevice('auto', 'kernel'), 'cpu');
  t.is(resolveDevice('cpu'), 'cpu');
  t.is(resolveAlgorithm('kernel', { background: [] }), 'kernel');
  t.throws(() => resolveAlgorithm('kernel'), { message: 'explainer.algorithm "kernel" needs a background sample (explainer.background)' });
  t.throws(() => resolveAlgorithm('tree-interventional'), { message: /"tree-interventional" needs a background sample/ });
  t.is(resolveAlgorithm('tree-interventional', { background: [], interactions: true }), 'tree-interventional');
  t.throws(() => resolveAlgorithm('kernel', { background: [], interactions: true }), { message: /interactions/ });
  t.throws(() => resolveAlgorithm('auto', { values: 'banzhaf' }), { message: /"banzhaf" is only available with tree-interventional/ });
  if (!gpu) t.throws(() => resolveDevice('gpu'), { message: /"gpu" requested but no GPU is usable: / });
  t.throws(() => resolveDevice('gpu', 'tree-interventional'), { message: /the GPU runs tree-path-dependent values and interactions, not tree-interventional/ });
  const fx = await fixture('xgb_reg_nan');
  await t.throwsAsync(explainSamples(fx.model, fx.columns.slice(1)), { message: /the model has 6 features, got 5 columns/ });
  await t.throwsAsync(explainSamples(fx.model, fx.columns, { batchRows: 0 }), { message: /batchRows/ });
});
