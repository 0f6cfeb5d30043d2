import test, { type ExecutionContext } from 'ava';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chooseFlavor } from '../../ts/io/registries/builtin_loader.ts';
import { BuiltinLoader, createLoader, CustomLoader } from '../../ts/io/registries/loaders.ts';
import { LocalRegistry, type ModelVersion } from '../../ts/io/registries/registry.ts';
import type { TreeModel } from '../../ts/native/tree_model.ts';
import { hasNativeAddon } from '../helpers/native.ts';
import { tempDir } from '../helpers/tmp.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
/** Tests that load models in the native core run once `npm run build:native` has built it. */
const nativeTest = hasNativeAddon ? test : test.skip;

function mv(dir: string, files: string[], extra: Partial<ModelVersion> = {}): ModelVersion {
  return { name: 'bikes', version: 1, uri: 'models:/bikes/1', dir, files, ...extra };
}

/** An MLflow-style model directory with an MLmodel and the given files. */
async function mlflowDir(dir: string, mlmodel: string, files: Record<string, string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'MLmodel'), mlmodel);
  for (const [name, from] of Object.entries(files)) await copyFile(join(FIXTURES, from), join(dir, name));
  return dir;
}

test('CustomLoader picks the recorded file, else the only model-looking file', (t) => {
  const loader = new CustomLoader();
  t.is(loader.modelFile(mv('/m', ['a.json', 'model.ubj'], { file: 'model.ubj' })), 'model.ubj');
  t.is(loader.modelFile(mv('/m', ['MLmodel', 'model.xgb', 'requirements.txt', 'conda.yaml'])), 'model.xgb');
  t.throws(() => loader.modelFile(mv('/m', ['README.md'])), {
    message: 'models:/bikes/1: no model file (.json, .ubj, .xgb, .bst, .txt, .lgb, .cb, .onnx, .model) in /m; files: README.md',
  });
  t.throws(() => loader.modelFile(mv('/m', ['a.json', 'b.txt'])), {
    message: 'models:/bikes/1: several model files in /m (a.json, b.txt); cannot tell which to load',
  });
});

test('CustomLoader: a recorded file missing from the version is named', async (t) => {
  await t.throwsAsync(new CustomLoader().load(mv('/m', ['other.json'], { file: 'model.json' })), {
    message: 'models:/bikes/1: model file `model.json` not found in /m; files: other.json',
  });
});

test('chooseFlavor: xgboost data, lightgbm default, preference order', (t) => {
  t.deepEqual(chooseFlavor({ flavors: { python_function: {}, xgboost: { data: 'model.ubj', model_format: 'ubj' } } }, 'MLmodel'), {
    flavor: 'xgboost',
    file: 'model.ubj',
    modelFormat: 'ubj',
  });
  t.deepEqual(chooseFlavor({ flavors: { lightgbm: { lgb_version: '4.7.0' } } }, 'MLmodel'), { flavor: 'lightgbm', file: 'model.lgb' });
  t.is(chooseFlavor({ flavors: { lightgbm: { data: 'model.lgb' }, xgboost: { data: 'model.xgb' } } }, 'MLmodel').flavor, 'xgboost');
});

test('chooseFlavor errors: other flavors listed, pickles refused, data missing', (t) => {
  t.throws(() => chooseFlavor({ flavors: { python_function: {}, sklearn: { pickled_model: 'model.pkl' } } }, '/v/MLmodel'), {
    message: /^\/v\/MLmodel: flavor `sklearn` holds a cloudpickle file \(model\.pkl\), which arrowshap never loads .*serialization_format="skops"/,
  });
  t.throws(() => chooseFlavor({ flavors: { lightgbm: { data: 'model.pkl', model_class: 'lightgbm.sklearn.LGBMRegressor' } } }, 'M'), {
    message: /^M: flavor `lightgbm` holds a pickled scikit-learn estimator \(model\.pkl\)/,
  });
  t.throws(() => chooseFlavor({ flavors: { xgboost: { model_format: 'json' } } }, 'M'), {
    message: 'M: flavor `xgboost` has no `data` naming the model file',
  });
  t.throws(() => chooseFlavor({ artifact_path: 'model' }, 'M'), { message: 'M has no `flavors` mapping' });
  t.throws(() => chooseFlavor({ flavors: {} }, 'M'), { message: 'M has flavors (none); BuiltinLoader loads xgboost or lightgbm or catboost or sklearn or onnx' });
  t.deepEqual(chooseFlavor({ flavors: { sklearn: { pickled_model: 'model.skops', serialization_format: 'skops' } } }, 'M'), {
    flavor: 'sklearn',
    file: 'model.skops',
  });
});

test('chooseFlavor: catboost JSON read, its binary cbm refused with the way to re-log', (t) => {
  t.deepEqual(chooseFlavor({ flavors: { catboost: { data: 'model.cb', save_format: 'json', model_type: 'CatBoostRegressor' } } }, 'M'), {
    flavor: 'catboost',
    file: 'model.cb',
  });
  t.throws(() => chooseFlavor({ flavors: { catboost: { data: 'model.cb', save_format: 'cbm' } } }, 'M'), {
    message: /^M: flavor `catboost` holds a CatBoost cbm file \(model\.cb\); .*format="json"/,
  });
  t.throws(() => chooseFlavor({ flavors: { catboost: { model_type: 'CatBoostClassifier' } } }, 'M'), {
    message: /^M: flavor `catboost` holds a CatBoost cbm file/,
  });
});

nativeTest('BuiltinLoader loads the catboost flavor (JSON export)', async (t) => {
  const dir = await tempDir(t);
  const reg = new LocalRegistry({ path: join(dir, 'registry'), name: 'bikes' });
  const cbDir = await mlflowDir(
    join(dir, 'cb'),
    'flavors:\n  python_function: {loader_module: mlflow.catboost, data: model.cb}\n  catboost: {data: model.cb, save_format: json, model_type: CatBoostClassifier}\n',
    { 'model.cb': '../../fixtures/rel_cb12_logloss/model.json' },
  );
  const version = await reg.register(cbDir);
  t.is(version.flavor, 'catboost');
  const model = await new BuiltinLoader().load(version);
  t.is(model.source, 'catboost-json');
  t.is(model.objective, 'Logloss');
  t.is(model.link, 'logit');
  t.deepEqual(model.featureNames, ['amount', 'rate', 'span', 'level', 'score']);
});

nativeTest('BuiltinLoader loads the onnx flavor (a tree ensemble)', async (t) => {
  const dir = await tempDir(t);
  const reg = new LocalRegistry({ path: join(dir, 'registry'), name: 'bikes' });
  const onnxDir = await mlflowDir(
    join(dir, 'onnx'),
    'flavors:\n  python_function: {loader_module: mlflow.onnx, data: model.onnx}\n  onnx: {onnx_version: 1.23.2, data: model.onnx, providers: [CPUExecutionProvider]}\n',
    { 'model.onnx': '../../fixtures/onnx_skl_gb_bin/model.onnx' },
  );
  t.deepEqual(chooseFlavor({ flavors: { onnx: {} } }, 'M'), { flavor: 'onnx', file: 'model.onnx' });
  const version = await reg.register(onnxDir);
  t.is(version.flavor, 'onnx');
  const model = await new BuiltinLoader().load(version);
  t.is(model.source, 'onnx');
  t.is(model.link, 'logit');
  t.true(model.needsCovers());
});

test('BuiltinLoader errors name the version: no MLmodel, wrong flavor, data not in the version, escaping path', async (t) => {
  const dir = await tempDir(t);
  const loader = new BuiltinLoader();
  await t.throwsAsync(loader.load(mv(dir, ['model.json'])), {
    message: `models:/bikes/1: no MLmodel file in ${dir} (files: model.json); BuiltinLoader loads MLflow-packaged models, CustomLoader loads a bare model file`,
  });
  const sk = await mlflowDir(join(dir, 'sk'), 'flavors:\n  python_function: {}\n  sklearn: {pickled_model: model.pkl}\n', {});
  await t.throwsAsync(loader.load(mv(sk, ['MLmodel', 'model.pkl'])), {
    message: new RegExp(`^${join(sk, 'MLmodel')}: flavor \`sklearn\` holds a cloudpickle file`),
  });
  const gone = await mlflowDir(join(dir, 'gone'), 'flavors:\n  xgboost: {data: model.xgb, model_format: xgb}\n', {});
  await t.throwsAsync(loader.load(mv(gone, ['MLmodel'])), {
    message: `models:/bikes/1: xgboost flavor data \`model.xgb\` not found in ${gone}; files: MLmodel`,
  });
  const esc = await mlflowDir(join(dir, 'esc'), 'flavors:\n  xgboost: {data: ../../etc/passwd}\n', {});
  await t.throwsAsync(loader.load(mv(esc, ['MLmodel'])), { message: /points outside the version directory/ });
  const bad = await mlflowDir(join(dir, 'bad'), 'flavors: [unclosed\n', {});
  await t.throwsAsync(loader.load(mv(bad, ['MLmodel'])), { message: new RegExp(`^cannot parse ${join(bad, 'MLmodel')}`) });
});

test('loader configs are strict', (t) => {
  t.true(createLoader({ KIND: 'CustomLoader' }) instanceof CustomLoader);
  t.true(createLoader({ KIND: 'BuiltinLoader' }) instanceof BuiltinLoader);
  t.throws(() => createLoader({ KIND: 'CustomLoader', path: 'x' }, 'job.loader'), {
    message: 'invalid loader config: unknown key `job.loader.path`',
  });
  t.throws(() => createLoader({ KIND: 'PickleLoader' }, 'job.loader'), { message: /^invalid loader config: job\.loader\.KIND: / });
});

// ── with the native addon ────────────────────────────────────────────────────

interface Expected {
  features: string[];
  columns: (number | null)[][];
  xgb_raw: number[];
  lgb_raw: number[];
}

async function expected(): Promise<Expected> {
  return JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as Expected;
}

async function checkModel(t: ExecutionContext, model: TreeModel, raw: number[]): Promise<void> {
  const exp = await expected();
  t.deepEqual(model.featureNames, exp.features);
  t.is(model.numFeatures, 3);
  t.is(model.numTrees, 3);
  const columns = exp.columns.map((c) => Float64Array.from(c, (v) => (v === null ? NaN : v)));
  const got = await model.predictRaw(columns);
  for (let i = 0; i < raw.length; i++) t.true(Math.abs(got[i] - raw[i]) < 1e-5, `row ${i}: ${got[i]} vs ${raw[i]}`);
}

nativeTest('CustomLoader loads XGBoost JSON/UBJ and LightGBM text registered in a LocalRegistry', async (t) => {
  const dir = await tempDir(t);
  const reg = new LocalRegistry({ path: join(dir, 'registry'), name: 'bikes' });
  const exp = await expected();
  for (const [file, raw] of [
    ['xgb.json', exp.xgb_raw],
    ['xgb.ubj', exp.xgb_raw],
    ['lgb.txt', exp.lgb_raw],
  ] as const) {
    const version = await reg.register(join(FIXTURES, file), { alias: 'Champion' });
    const model = await createLoader({ KIND: 'CustomLoader' }).load(await reg.resolve('Champion'));
    t.is(version.file, `model.${file.split('.')[1]}`);
    await checkModel(t, model, raw);
  }
});

nativeTest('BuiltinLoader loads the xgboost and lightgbm flavors of MLflow model directories', async (t) => {
  const dir = await tempDir(t);
  const exp = await expected();
  const reg = new LocalRegistry({ path: join(dir, 'registry'), name: 'bikes' });
  const xgbDir = await mlflowDir(
    join(dir, 'xgb'),
    'artifact_path: model\nflavors:\n  python_function: {loader_module: mlflow.xgboost, data: model.xgb}\n  xgboost: {data: model.xgb, model_format: xgb, xgb_version: 3.2.0}\n',
    { 'model.xgb': 'xgb.ubj' },
  );
  await checkModel(t, await new BuiltinLoader().load(await reg.register(xgbDir)), exp.xgb_raw);
  const lgbDir = await mlflowDir(join(dir, 'lgb'), 'flavors:\n  lightgbm: {data: model.lgb, lgb_version: 4.7.0}\n', { 'model.lgb': 'lgb.txt' });
  await checkModel(t, await new BuiltinLoader().load(await reg.register(lgbDir)), exp.lgb_raw);
});

nativeTest('a corrupt model file: the error names the version and the file', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'model.json'), '{"learner": ');
  const err = await t.throwsAsync(new CustomLoader().load(mv(dir, ['model.json'])));
  t.true(err!.message.startsWith(`cannot load models:/bikes/1 from ${join(dir, 'model.json')}: `), err!.message);
});
