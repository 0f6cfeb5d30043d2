/**
 * The seed's scenario, examples/bikes: a scikit-learn pipeline logged by MLflow (skops) into
 * an MLflow file store (`examples/bikes/mlruns`, written by examples/bikes/train_pipeline.py),
 * explained through `MlflowRegistry {path: mlruns}` + BuiltinLoader by alias Champion. SHAP
 * values equal shap.TreeExplainer's (1e-6), importances equal `feature_importances_`, the
 * raw-column roll-up adds up to the pipeline's prediction. Also the file store's errors.
 */
import test from 'ava';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../ts/config/load.ts';
import { MlflowFileStore } from '../../ts/io/registries/mlflow_file_store.ts';
import { registryOf } from '../../ts/io/registries/registry.ts';
import { ExplanationsJob } from '../../ts/jobs/explanations.ts';
import { ROOT } from '../core/_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const BIKES = join(ROOT, 'examples', 'bikes');

interface Reference {
  feature_names: string[];
  rows: number[];
  shap_values: number[][];
  expected_value: number;
  prediction: number[];
  feature_importances: number[];
}

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('examples/bikes/explanations.yaml: the seed pipeline from an MLflow file store equals shap and feature_importances_', async (t) => {
  const ref = JSON.parse(await readFile(join(BIKES, 'reference.json'), 'utf8')) as Reference;
  const dir = await tempDir(t);
  const { job } = await loadConfig(join(BIKES, 'explanations.yaml'), [
    `job.models_explanations.path=${join(dir, 'models.parquet')}`,
    `job.samples_explanations.path=${join(dir, 'samples.parquet')}`,
    'job.logger.level=error',
  ]);
  const alerts = { sent: 0, async notify() { this.sent++; }, describe: () => 'test' };
  const out = await new ExplanationsJob(job, { alerts }).execute();
  t.is(alerts.sent, 1);
  t.is(out.modelUri, 'models:/bikes@Champion');
  t.is(out.modelVersion.uri, 'models:/bikes/1');
  t.deepEqual(out.model.featureNames, ref.feature_names);
  const samples = out.samplesExplanations!;
  t.is(samples.numRows, 500);
  t.is(samples.schema.fields[0].name, 'instant');
  const ids = samples.getChild('instant')!;
  const base = samples.getChild('base_value')!;
  for (const [r, id] of ref.rows.entries()) {
    t.is(Number(ids.get(r)), id);
    t.true(close(Number(base.get(r)), ref.expected_value, 1e-9), `base_value[${r}]`);
    let rawSum = Number(base.get(r));
    for (const [j, name] of ref.feature_names.entries()) {
      const got = Number(samples.getChild(name)!.get(r));
      t.true(close(got, ref.shap_values[r][j], 1e-6), `${name}[${r}]: ${got} vs shap ${ref.shap_values[r][j]}`);
    }
    for (const f of samples.schema.fields) if (f.name.startsWith('raw.')) rawSum += Number(samples.getChild(f.name)!.get(r));
    t.true(close(rawSum, ref.prediction[r], 1e-9), `row ${r}: Σ raw.* + base = ${rawSum}, prediction ${ref.prediction[r]}`);
  }
  t.deepEqual(
    samples.schema.fields.filter((f) => f.name.startsWith('raw.')).map((f) => f.name),
    ['raw.season', 'raw.weathersit', 'raw.hr', 'raw.workingday', 'raw.temp', 'raw.hum', 'raw.windspeed'],
  );
  const models = out.modelsExplanations!;
  const feature = models.getChild('feature')!;
  const importance = models.getChild('importance')!;
  for (let i = 0; i < models.numRows; i++) {
    const j = ref.feature_names.indexOf(String(feature.get(i)));
    t.true(close(Number(importance.get(i)), ref.feature_importances[j], 1e-9), String(feature.get(i)));
  }
});

test('MLflow file store: versions, latest, aliases from MLflow\'s files; a moved mlruns folder still resolves', async (t) => {
  const dir = await tempDir(t);
  // copied elsewhere: the absolute storage_location MLflow wrote no longer exists there… but it still
  // does in the repository, so break it to force the lookup by the logged model's id
  const root = join(dir, 'mlruns');
  await cp(join(BIKES, 'mlruns'), root, { recursive: true });
  const metaPath = join(root, 'models', 'bikes', 'version-1', 'meta.yaml');
  const meta = await readFile(metaPath, 'utf8');
  await writeFile(metaPath, meta.replace(/^storage_location: .*$/m, 'storage_location: file:///nowhere/mlruns/1/models/m-0/artifacts'));
  const store = registryOf({ KIND: 'MlflowRegistry', path: root, name: 'bikes' });
  t.true(store instanceof MlflowFileStore);
  for (const ref of ['Champion', 1, 'latest', 'models:/bikes@Champion', 'models:/bikes/1']) {
    const mv = await store.resolve(ref);
    t.is(mv.version, 1);
    t.true(mv.dir.startsWith(root), mv.dir);
    t.true(mv.files.includes('MLmodel') && mv.files.includes('model.skops'), mv.files.join(','));
  }
  t.is((await store.resolve('Champion')).aliasUri, 'models:/bikes@Champion');
  // a file: URI (as MLFLOW_TRACKING_URI would give) reads the same store
  const byUri = registryOf({ KIND: 'MlflowRegistry', uri: `file://${root}`, name: 'bikes' });
  t.is((await byUri.resolve(1)).dir, (await store.resolve(1)).dir);
});

test('MLflow file store errors name the store, the model, its aliases and versions', async (t) => {
  const dir = await tempDir(t);
  const root = join(dir, 'mlruns');
  await cp(join(BIKES, 'mlruns'), root, { recursive: true });
  const store = (name: string) => registryOf({ KIND: 'MlflowRegistry', path: root, name });
  await t.throwsAsync(store('bikes').resolve('Staging'), {
    message: `alias \`Staging\` not found for model \`bikes\` in MLflow file store ${root}; aliases: Champion→1; versions: 1`,
  });
  await t.throwsAsync(store('bikes').resolve(3), { message: /^version 3 not found for model `bikes` .*; versions: 1$/ });
  await t.throwsAsync(store('cars').resolve('Champion'), { message: `model \`cars\` not found in MLflow file store ${root}; registered models: bikes` });
  await t.throwsAsync(registryOf({ KIND: 'MlflowRegistry', path: join(dir, 'nope'), name: 'bikes' }).resolve(1), {
    message: `MLflow file store ${join(dir, 'nope')}: no such folder`,
  });
  // files gone from where the version says and from the store
  const metaPath = join(root, 'models', 'bikes', 'version-1', 'meta.yaml');
  await writeFile(metaPath, (await readFile(metaPath, 'utf8')).replace(/^storage_location: .*$/m, 'storage_location: file:///nowhere'));
  const found = (await store('bikes').resolve(1)).dir;
  t.true(found.startsWith(root), found);
  await rm(found, { recursive: true });
  await t.throwsAsync(store('bikes').resolve(1), { message: new RegExp(`^${metaPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: the version's files are not at file:///nowhere`) });
});
