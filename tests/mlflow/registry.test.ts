/**
 * MlflowRegistry against a real MLflow server (MLFLOW_TEST_URI) seeded by
 * seed_registry.py: models logged with MLflow's own xgboost / lightgbm / sklearn
 * flavors, loaded by the explanations job and checked against the libraries'
 * own contribs; the cache; and every registry error, produced for real.
 */
import type { ExecutionContext } from 'ava';
import { mkdtempSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { ExplanationsJobConfigInput } from '../../ts/config/job.ts';
import { MlflowRegistry } from '../../ts/io/registries/mlflow.ts';
import { MlflowHttpError } from '../../ts/io/registries/mlflow_client.ts';
import type { Alerts } from '../../ts/io/services/alerts.ts';
import { ExplanationsJob, type ExplanationsJobOutput } from '../../ts/jobs/explanations.ts';
import { close, col } from '../core/_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { closedPort, countingProxy, MLFLOW_URI, seeded, serverSpecs, type Seed, type SeededModel } from './_mlflow.ts';

const { it } = serverSpecs('tests/mlflow/registry.test.ts');

// Every job in this file caches under its own folder (MlflowRegistry reads ARROWSHAP_CACHE_DIR).
let CACHE = '';
if (MLFLOW_URI) {
  test.before(() => {
    CACHE = mkdtempSync(join(tmpdir(), 'arrowshap-mlflow-cache-'));
    process.env.ARROWSHAP_CACHE_DIR = CACHE;
  });
  test.after.always(() => rm(CACHE, { recursive: true, force: true }));
}

let seedPromise: Promise<Seed> | undefined;
/** The seed (made once per server, shared by the spec files). */
const seed = () => (seedPromise ??= seeded());

class SilentAlerts implements Alerts {
  async notify() {}
  describe() {
    return 'SilentAlerts';
  }
}

/** Runs the explanations job on a seeded model. */
async function runJob(
  t: ExecutionContext,
  name: string,
  aliasOrVersion: string | number,
  opts: { loader?: 'BuiltinLoader' | 'CustomLoader'; uri?: string; inputs?: string } = {},
): Promise<ExplanationsJobOutput> {
  const s = await seed();
  const dir = await tempDir(t);
  const config: ExplanationsJobConfigInput = {
    KIND: 'ExplanationsJob',
    inputs_samples: { KIND: 'ParquetReader', path: opts.inputs ?? s.inputs },
    samples_explanations: { KIND: 'ParquetWriter', path: join(dir, 'samples.parquet') },
    models_explanations: { KIND: 'ParquetWriter', path: join(dir, 'models.parquet') },
    alias_or_version: aliasOrVersion,
    loader: { KIND: opts.loader ?? 'BuiltinLoader' },
    registry: { KIND: 'MlflowRegistry', uri: opts.uri ?? MLFLOW_URI, name },
    logger: { level: 'error' },
  };
  return new ExplanationsJob(config, { alerts: new SilentAlerts() }).execute();
}

/** The job's SHAP values and base values equal the library's contribs (1e-5 relative), and add up to its raw margins. */
function checkContribs(t: ExecutionContext, out: ExplanationsJobOutput, model: SeededModel, version: number, features: string[]): void {
  const { contribs, raw } = model.versions[String(version)];
  t.truthy(contribs, `no contribs for ${model.name} v${version}`);
  t.deepEqual(out.model.featureNames, features);
  t.truthy(out.samplesExplanations, 'the job returns the samples table of a small run');
  const table = out.samplesExplanations!;
  t.is(table.numRows, contribs!.length);
  const columns = features.map((f) => col(table, f));
  const base = col(table, 'base_value');
  let bad: string | undefined;
  for (let i = 0; i < table.numRows && !bad; i++) {
    let sum = base[i];
    for (let j = 0; j <= features.length; j++) {
      const got = j < features.length ? columns[j][i] : base[i];
      const want = contribs![i][j];
      if (!close(got, want)) bad = `row ${i} ${j < features.length ? features[j] : 'base_value'}: ${got} vs ${want}`;
      if (j < features.length) sum += got;
    }
    if (!bad && raw && !close(sum, raw[i])) bad = `additivity row ${i}: ${sum} vs raw ${raw[i]}`;
  }
  t.is(bad, undefined);
}

it('job by alias: XGBoost logged with mlflow.xgboost (default ubj) explains like pred_contribs', async (t) => {
  const s = await seed();
  const out = await runJob(t, s.models.xgb.name, 'Champion');
  t.is(out.modelVersion.version, 2);
  t.is(out.modelUri, `models:/${s.models.xgb.name}@Champion`);
  t.is(out.modelVersion.uri, `models:/${s.models.xgb.name}/2`);
  t.is(out.modelVersion.flavor, 'xgboost');
  t.true(out.modelVersion.files.includes('MLmodel') && out.modelVersion.files.includes('model.ubj'));
  t.is(out.model.numTrees, s.models.xgb.versions['2'].rounds!);
  checkContribs(t, out, s.models.xgb, 2, s.features);
});

it('job by version (1, "models:/NAME/1", the other alias) loads that version', async (t) => {
  const s = await seed();
  const byNumber = await runJob(t, s.models.xgb.name, 1);
  t.is(byNumber.modelVersion.version, 1);
  t.is(byNumber.modelUri, `models:/${s.models.xgb.name}/1`);
  t.is(byNumber.model.numTrees, s.models.xgb.versions['1'].rounds!);
  checkContribs(t, byNumber, s.models.xgb, 1, s.features);
  const byUri = await runJob(t, s.models.xgb.name, `models:/${s.models.xgb.name}/1`);
  t.is(byUri.modelVersion.version, 1);
  const byAlias = await runJob(t, s.models.xgb.name, `models:/${s.models.xgb.name}@Challenger`);
  t.is(byAlias.modelVersion.version, 1);
  t.is(byAlias.modelUri, `models:/${s.models.xgb.name}@Challenger`);
  const latest = await runJob(t, s.models.xgb.name, 'latest');
  t.is(latest.modelVersion.version, 2);
});

it('job: LightGBM logged with mlflow.lightgbm explains like pred_contrib', async (t) => {
  const s = await seed();
  const out = await runJob(t, s.models.lgb.name, 'Champion');
  t.is(out.modelVersion.flavor, 'lightgbm');
  t.true(out.modelVersion.files.includes('model.lgb'));
  checkContribs(t, out, s.models.lgb, s.models.lgb.aliases.Champion, s.features);
});

it('job: XGBClassifier logged with model_format="json" explains like pred_contribs', async (t) => {
  const s = await seed();
  const out = await runJob(t, s.models.xgbcls.name, 'Champion');
  t.true(out.modelVersion.files.includes('model.json'));
  checkContribs(t, out, s.models.xgbcls, s.models.xgbcls.aliases.Champion, s.features);
});

it('CustomLoader: arrowshap packaging (a bare model file) and an MLflow directory, from the MLflow registry', async (t) => {
  const s = await seed();
  const raw = await runJob(t, s.models.raw.name, 'Champion', { loader: 'CustomLoader' });
  t.deepEqual(raw.modelVersion.files, ['model.json']);
  checkContribs(t, raw, s.models.raw, 1, s.features);
  const lgb = await runJob(t, s.models.lgb.name, 'Champion', { loader: 'CustomLoader' });
  checkContribs(t, lgb, s.models.lgb, 1, s.features);
  // BuiltinLoader needs MLflow's packaging, and says so
  await t.throwsAsync(runJob(t, s.models.raw.name, 'Champion'), {
    message: /^models:\/s[0-9a-f]+-raw\/1: no MLmodel file in .* \(files: model\.json\); BuiltinLoader loads MLflow-packaged models, CustomLoader loads a bare model file$/,
  });
});

it('cache: a second run downloads nothing; a cached version loads with the server gone; an alias still asks the server', async (t) => {
  const s = await seed();
  const proxy = await countingProxy(MLFLOW_URI!);
  t.teardown(() => proxy.close());
  const name = s.models.lgb.name;
  const artifactRequests = () => proxy.requests.filter((r) => r.includes('/mlflow-artifacts/'));

  const first = await runJob(t, name, 'Champion', { uri: proxy.uri });
  t.true(artifactRequests().length >= first.modelVersion.files.length, proxy.requests.join('\n'));
  t.true(first.modelVersion.dir.startsWith(join(CACHE, 'mlflow', `127.0.0.1_${new URL(proxy.uri).port}`, name, '1')));
  const modelFile = join(first.modelVersion.dir, 'model.lgb');
  const mtime = (await stat(modelFile)).mtimeMs;

  proxy.requests.length = 0;
  const second = await runJob(t, name, 'Champion', { uri: proxy.uri });
  t.deepEqual(proxy.requests, [`GET /api/2.0/mlflow/registered-models/alias?name=${encodeURIComponent(name)}&alias=Champion`]);
  t.is(second.modelVersion.dir, first.modelVersion.dir);
  t.is((await stat(modelFile)).mtimeMs, mtime);
  checkContribs(t, second, s.models.lgb, 1, s.features);

  await proxy.close();
  proxy.requests.length = 0;
  const offline = await runJob(t, name, 1, { uri: proxy.uri });
  t.deepEqual(proxy.requests, []);
  checkContribs(t, offline, s.models.lgb, 1, s.features);
  await t.throwsAsync(runJob(t, name, 'Champion', { uri: proxy.uri }), { message: /^cannot reach the MLflow server at / });

  const leftovers = (await readdir(join(CACHE, 'mlflow', `127.0.0.1_${new URL(proxy.uri).port}`, name))).filter((e) => e.startsWith('.'));
  t.deepEqual(leftovers, []);
});

it('a download that fails leaves nothing in the cache; the next run downloads the version whole', async (t) => {
  const s = await seed();
  const proxy = await countingProxy(MLFLOW_URI!);
  t.teardown(() => proxy.close());
  const cacheDir = await tempDir(t);
  const name = s.models.xgb.name;
  proxy.fail = (path) => (path.includes('/mlflow-artifacts/artifacts/') && path.endsWith('/model.ubj') ? 503 : undefined);
  const registry = new MlflowRegistry({ uri: proxy.uri, name }, { cacheDir, retries: 1, backoffMs: 10 });
  await t.throwsAsync(registry.resolve(1), {
    message: new RegExp(
      `^MLflow server ${proxy.uri}: GET /api/2\\.0/mlflow-artifacts/artifacts/.*/model\\.ubj failed: ` +
        'HTTP 503 INTERNAL_ERROR: injected by the test proxy \\(2 attempts in \\d+\\.\\ds\\)$',
    ),
  });
  t.deepEqual(await readdir(registry.cacheDir), []);
  proxy.fail = undefined;
  const mv = await registry.resolve(1);
  t.deepEqual(registry.lastFetch?.from, 'download');
  t.deepEqual(await readdir(registry.cacheDir), ['1']);
  t.deepEqual(mv.files, ['MLmodel', 'conda.yaml', 'model.ubj', 'python_env.yaml', 'requirements.txt']);
  await registry.resolve(1);
  t.is(registry.lastFetch?.from, 'cache');
});

it('the URI comes from MLFLOW_TRACKING_URI when the config has none', async (t) => {
  const s = await seed();
  const registry = new MlflowRegistry({ name: s.models.xgb.name }, { env: { MLFLOW_TRACKING_URI: MLFLOW_URI }, cacheDir: await tempDir(t) });
  t.is(registry.describe(), `MlflowRegistry(${MLFLOW_URI}, ${s.models.xgb.name})`);
  t.is((await registry.resolve('Challenger')).version, 1);
});

// ── errors, for real ─────────────────────────────────────────────────────────

it('a stopped server: retried with backoff, then one message naming the URI', async (t) => {
  const s = await seed();
  const port = await closedPort();
  const started = Date.now();
  const err = await t.throwsAsync(runJob(t, s.models.xgb.name, 'Champion', { uri: `http://127.0.0.1:${port}` }));
  const elapsed = Date.now() - started;
  t.is(
    err?.message.replace(/in \d+\.\ds/, 'in Ns'),
    `cannot reach the MLflow server at http://127.0.0.1:${port} (GET /api/2.0/mlflow/registered-models/alias?name=${encodeURIComponent(s.models.xgb.name)}&alias=Champion: ` +
      `connect ECONNREFUSED 127.0.0.1:${port}; 4 attempts in Ns); check registry.uri / MLFLOW_TRACKING_URI and that the server is running`,
  );
  t.false(err?.message.includes('\n'));
  t.true(elapsed >= 3400, `backoff 0.5 + 1 + 2 s, took ${elapsed} ms`);
});

it('a wrong alias lists the aliases and versions', async (t) => {
  const s = await seed();
  await t.throwsAsync(runJob(t, s.models.xgb.name, 'Staging'), {
    message: `alias \`Staging\` not found for model \`${s.models.xgb.name}\` on MLflow server ${MLFLOW_URI}; aliases: Challenger→1, Champion→2; versions: 1, 2`,
  });
});

it('a wrong version lists the aliases and versions', async (t) => {
  const s = await seed();
  await t.throwsAsync(runJob(t, s.models.xgb.name, 7), {
    message: `version 7 not found for model \`${s.models.xgb.name}\` on MLflow server ${MLFLOW_URI}; aliases: Challenger→1, Champion→2; versions: 1, 2`,
  });
});

it('an unknown model lists the registered models', async (t) => {
  const s = await seed();
  const err = await t.throwsAsync(runJob(t, `${s.prefix}-nope`, 'Champion'));
  t.regex(err!.message, new RegExp(`^model \`${s.prefix}-nope\` not found on MLflow server ${MLFLOW_URI!.replace(/\./g, '\\.')}; registered models: `));
  for (const m of Object.values(s.models)) t.true(err!.message.includes(m.name), m.name);
});

it('a model logged with the sklearn flavor (skops) that is not a tree model: the refused type is named', async (t) => {
  const s = await seed();
  await t.throwsAsync(runJob(t, s.models.sklearn.name, 'Champion'), {
    message: /sklearn\.linear_model\._base\.LinearRegression/,
  });
});

it('the seed pipeline logged with mlflow.sklearn.log_model (default skops) → Champion → the job: SHAP values equal shap.TreeExplainer\'s', async (t) => {
  const s = await seed();
  const m = s.models.pipeline;
  const v = m.versions['1'];
  const out = await runJob(t, m.name, 'Champion', { inputs: join(s.dir, v.inputs!) });
  t.is(out.modelVersion.version, 1);
  t.true(out.modelVersion.files.includes('model.skops'), out.modelVersion.files.join(', '));
  t.is(out.model.sklearn?.estimator, 'RandomForestRegressor');
  checkContribs(t, out, m, 1, v.feature_names!);
});

it('an xgboost flavor in the legacy binary format: log it with model_format="ubj" or "json"', async (t) => {
  const s = await seed();
  await t.throwsAsync(runJob(t, s.models.legacy.name, 'Champion'), {
    message:
      `models:/${s.models.legacy.name}/1: the xgboost flavor's model.xgb (model_format: xgb) is in XGBoost's legacy binary format, ` +
      'which arrowshap cannot read; log the model with mlflow.xgboost.log_model(..., model_format="ubj") (MLflow\'s default) or model_format="json"',
  });
});

it('HTTP errors carry MLflow\'s error_code and message', async (t) => {
  const s = await seed();
  const registry = new MlflowRegistry({ uri: MLFLOW_URI, name: s.models.xgb.name }, { cacheDir: await tempDir(t) });
  const err = await t.throwsAsync(registry.client.getModelVersion(s.models.xgb.name, 'abc'), { instanceOf: MlflowHttpError });
  t.is(err?.status, 400);
  t.is(err?.errorCode, 'INVALID_PARAMETER_VALUE');
  t.is(
    err?.message,
    `MLflow server ${MLFLOW_URI}: GET /api/2.0/mlflow/model-versions/get?name=${encodeURIComponent(s.models.xgb.name)}&version=abc failed: ` +
      "HTTP 400 INVALID_PARAMETER_VALUE: Parameter 'version' must be an integer, got 'abc'.",
  );
});
