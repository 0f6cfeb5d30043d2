/**
 * ONNX tree ensembles through the explainers (fixtures from tests/fixtures/make_onnx_fixtures.py:
 * skl2onnx / onnxmltools conversions, reference values from the source library's SHAP; `onnx5_*`
 * the same trees in the opset-5 `TreeEnsemble` form, from tests/fixtures/make_onnx5_fixtures.py,
 * with the same reference values).
 * Path-dependent SHAP counts the node covers over the background (ONNX stores none) and is
 * refused without one; interventional needs no covers.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { explainSamples } from '../../ts/core/explainers.ts';
import { featureColumns } from '../../ts/io/datasets/features.ts';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { TreeModel } from '../../ts/native/tree_model.ts';
import { FIXTURES, samplesMismatch } from './_fixtures.ts';

async function onnxCase(name: string) {
  const dir = join(FIXTURES, name);
  const model = TreeModel.fromFile(join(dir, 'model.onnx'));
  const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
  const columns = featureColumns(await readerForPath(join(dir, 'inputs.csv')).read(), model.featureNames);
  const background = featureColumns(await readerForPath(join(dir, 'background.csv')).read(), model.featureNames);
  return { model, columns, background, expected: { ...reference, feature_names: model.featureNames, model: 'model.onnx' } };
}

for (const name of [
  'onnx_skl_rf_reg',
  'onnx_skl_gb_bin',
  'onnx_skl_rf_cls3',
  'onnx5_skl_rf_reg',
  'onnx5_skl_gb_bin',
  'onnx5_skl_rf_cls3',
]) {
  test(`${name}: path-dependent SHAP with covers from the training rows equals shap's`, async (t) => {
    const { model, columns, background, expected } = await onnxCase(name);
    t.is(model.source, 'onnx');
    t.true(model.needsCovers());
    const err = await t.throwsAsync(explainSamples(model, columns));
    t.regex(err!.message, /ONNX model stores no node covers.*explainer\.background/);
    const s = await explainSamples(model, columns, { background });
    t.is(s.algorithm, 'tree-path-dependent');
    t.is(samplesMismatch(s.table, { expected, model }), undefined);
  });
}

for (const name of ['onnx_xgb_reg', 'onnx_lgb_bin', 'onnx5_xgb_reg', 'onnx5_lgb_bin']) {
  test(`${name}: interventional SHAP equals shap's, no covers needed`, async (t) => {
    const { model, columns, background, expected } = await onnxCase(name);
    const s = await explainSamples(model, columns, { algorithm: 'tree-interventional', background });
    t.is(samplesMismatch(s.table, { expected, model }), undefined);
  });
}
