/**
 * MlflowRegistry and its REST client without an MLflow server: config, URI and
 * auth from the environment, retries, error decoding, artifact URIs, the cache
 * layout, MLflow 3 `models:/m-…` download URIs — against a small fake server on
 * loopback — and BuiltinLoader's handling of MLflow's xgboost `model_format`s.
 */
import test from 'ava';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../ts/config/load.ts';
import { BuiltinLoader } from '../../ts/io/registries/loaders.ts';
import { defaultCacheDir, MlflowRegistry } from '../../ts/io/registries/mlflow.ts';
import { MlflowClient, MlflowHttpError } from '../../ts/io/registries/mlflow_client.ts';
import { createRegistry, MlflowFileStore, type ModelVersion } from '../../ts/io/registries/registry.ts';
import { hasNativeAddon } from '../helpers/native.ts';
import { tempDir } from '../helpers/tmp.ts';

const nativeTest = hasNativeAddon ? test : test.skip;
const FIXTURES = join(import.meta.dirname, '..', 'io', 'fixtures');

type Handler = (req: IncomingMessage, url: URL, res: ServerResponse) => void;

/** A loopback HTTP server answering with `handler`; records each request's path and headers. */
async function fakeServer(t: { teardown(fn: () => unknown): void }, handler: Handler) {
  const requests: { path: string; headers: IncomingMessage['headers'] }[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ path: `${url.pathname}${url.search}`, headers: req.headers });
    handler(req, url, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => server.close(r)));
  return { uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

test('config: strict keys, http(s) or file: URIs or an mlruns path, in the job config too', (t) => {
  t.true(createRegistry({ KIND: 'MlflowRegistry', uri: 'http://mlflow:5000', name: 'bikes' }) instanceof MlflowRegistry);
  t.true(createRegistry({ KIND: 'MlflowRegistry', uri: 'file:///srv/mlruns', name: 'bikes' }) instanceof MlflowFileStore);
  t.true(createRegistry({ KIND: 'MlflowRegistry', path: '/srv/mlruns', name: 'bikes' }) instanceof MlflowFileStore);
  t.throws(() => createRegistry({ KIND: 'MlflowRegistry', uri: 'http://m', name: 'b', path: 'x' }, 'job.registry'), {
    message: 'invalid registry config: job.registry.path: give either uri (a server or file: URI) or path (an mlruns folder), not both',
  });
  t.throws(() => createRegistry({ KIND: 'MlflowRegistry', uri: 'http://m', name: 'b', store: 'x' }, 'job.registry'), {
    message: 'invalid registry config: unknown key `job.registry.store`',
  });
  t.throws(() => createRegistry({ KIND: 'MlflowRegistry', uri: 'mlruns', name: 'b' }, 'job.registry'), {
    message:
      'invalid registry config: job.registry.uri: expected an http(s):// URI of an MLflow tracking server or a file: URI of an MLflow file store (mlruns folder)',
  });
  const cfg = parseConfig({
    job: {
      KIND: 'ExplanationsJob',
      inputs_samples: { KIND: 'CsvReader', path: 'in.csv' },
      samples_explanations: { KIND: 'CsvWriter', path: 'out.csv' },
      loader: { KIND: 'BuiltinLoader' },
      registry: { KIND: 'MlflowRegistry', name: 'bikes' },
    },
  });
  t.deepEqual(cfg.job.registry, { KIND: 'MlflowRegistry', name: 'bikes' });
});

test('the URI: config, else MLFLOW_TRACKING_URI, else a clear error; only http(s) servers', (t) => {
  const env = { MLFLOW_TRACKING_URI: 'http://from-env:5000' };
  t.is(new MlflowRegistry({ name: 'm' }, { env }).client.uri, 'http://from-env:5000');
  t.is(new MlflowRegistry({ name: 'm', uri: 'https://cfg/mlflow/' }, { env }).client.uri, 'https://cfg/mlflow');
  t.throws(() => new MlflowRegistry({ name: 'm' }, { env: {} }), {
    message: 'no MLflow tracking URI: set `uri` in the MlflowRegistry config or the MLFLOW_TRACKING_URI environment variable',
  });
  t.throws(() => new MlflowRegistry({ name: 'm' }, { env: { MLFLOW_TRACKING_URI: 'databricks' } }), {
    message: /^invalid MLflow tracking URI "databricks": expected http\(s\):\/\/host\[:port\]$/,
  });
  // a file store is read by MlflowFileStore (registryOf picks it from the config or MLFLOW_TRACKING_URI)
  t.throws(() => new MlflowRegistry({ name: 'm' }, { env: { MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' } }), {
    message: 'file:///tmp/mlruns is an MLflow file store, not a server: read it with MlflowFileStore (registryOf does)',
  });
});

test('cache layout: <cache>/mlflow/<host>_<port>[_<path>]/<name>, ARROWSHAP_CACHE_DIR or ~/.cache/arrowshap', (t) => {
  t.is(defaultCacheDir({}), join(homedir(), '.cache', 'arrowshap'));
  t.is(defaultCacheDir({ ARROWSHAP_CACHE_DIR: '/var/cache/x' }), '/var/cache/x');
  const env = { ARROWSHAP_CACHE_DIR: '/c' };
  t.is(new MlflowRegistry({ uri: 'http://127.0.0.1:5000', name: 'bikes' }, { env }).cacheDir, '/c/mlflow/127.0.0.1_5000/bikes');
  t.is(new MlflowRegistry({ uri: 'https://mlflow.example.com/team/', name: 'a b' }, { env }).cacheDir, '/c/mlflow/mlflow.example.com_team/a b');
  t.is(new MlflowRegistry({ uri: 'http://h', name: 'x/../y' }, { env }).cacheDir, '/c/mlflow/h/x%2F..%2Fy');
  t.is(new MlflowRegistry({ uri: 'http://h', name: '..' }, { env }).cacheDir, '/c/mlflow/h/%2E%2E');
  t.is(new MlflowRegistry({ uri: 'http://h', name: 'm' }, { env, cacheDir: '/d' }).cacheDir, '/d/mlflow/h/m');
});

test('auth: MLFLOW_TRACKING_TOKEN (bearer), USERNAME/PASSWORD or URI credentials (basic), never shown', async (t) => {
  const server = await fakeServer(t, (_req, _url, res) => json(res, 200, { model_version: { name: 'm', version: '1' } }));
  const port = new URL(server.uri).port;
  await MlflowClient.fromEnv(server.uri, { MLFLOW_TRACKING_TOKEN: 's3cret' }).getModelVersion('m', 1);
  await MlflowClient.fromEnv(server.uri, { MLFLOW_TRACKING_USERNAME: 'ann', MLFLOW_TRACKING_PASSWORD: 'pw' }).getModelVersion('m', 1);
  const inUri = MlflowClient.fromEnv(`http://bob:p%40ss@127.0.0.1:${port}`, {});
  await inUri.getModelVersion('m', 1);
  await MlflowClient.fromEnv(server.uri, {}).getModelVersion('m', 1);
  t.deepEqual(
    server.requests.map((r) => r.headers.authorization),
    ['Bearer s3cret', `Basic ${Buffer.from('ann:pw').toString('base64')}`, `Basic ${Buffer.from('bob:p@ss').toString('base64')}`, undefined],
  );
  t.is(inUri.uri, `http://127.0.0.1:${port}`);
  const reg = new MlflowRegistry({ uri: `http://bob:p%40ss@127.0.0.1:${port}`, name: 'm' }, { env: {} });
  t.is(reg.describe(), `MlflowRegistry(http://127.0.0.1:${port}, m)`);
});

test('401/403 say which variables hold the credentials', async (t) => {
  const server = await fakeServer(t, (_req, _url, res) => json(res, 401, { error_code: 'UNAUTHENTICATED', message: 'You are not authenticated.' }));
  const err = await t.throwsAsync(MlflowClient.fromEnv(server.uri, { MLFLOW_TRACKING_TOKEN: 'bad' }).getRegisteredModel('m'), {
    instanceOf: MlflowHttpError,
  });
  t.is(
    err?.message,
    `MLflow server ${server.uri}: GET /api/2.0/mlflow/registered-models/get?name=m failed: HTTP 401 UNAUTHENTICATED: You are not authenticated. ` +
      '(check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD)',
  );
  t.false(err!.message.includes('bad'));
  t.is(server.requests.length, 1, '4xx are not retried');
});

test('503 and 429 are retried with backoff; a server that keeps failing is reported once; non-JSON bodies are shown', async (t) => {
  let calls = 0;
  const flaky = await fakeServer(t, (_req, _url, res) => {
    calls++;
    if (calls === 1) return json(res, 503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'busy' });
    if (calls === 2) return json(res, 429, { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' });
    json(res, 200, { registered_model: { name: 'm' } });
  });
  const client = new MlflowClient({ uri: flaky.uri, retries: 3, backoffMs: 5 });
  t.is((await client.getRegisteredModel('m')).name, 'm');
  t.is(calls, 3);

  const down = await fakeServer(t, (_req, _url, res) => {
    res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
  });
  await t.throwsAsync(new MlflowClient({ uri: down.uri, retries: 2, backoffMs: 5 }).getRegisteredModel('m'), {
    message: new RegExp(
      `^MLflow server ${down.uri}: GET /api/2\\.0/mlflow/registered-models/get\\?name=m failed: HTTP 502: 502 Bad Gateway \\(3 attempts in \\d+\\.\\ds\\)$`,
    ),
  });
  t.is(down.requests.length, 3);

  const notMlflow = await fakeServer(t, (_req, _url, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>login page</html>');
  });
  await t.throwsAsync(new MlflowClient({ uri: notMlflow.uri }).getRegisteredModel('m'), {
    message: `MLflow server ${notMlflow.uri}: GET /api/2.0/mlflow/registered-models/get answered with something other than JSON: login page`,
  });
});

test('artifact URIs served through the proxy: mlflow-artifacts:/, mlflow-artifacts://host, http(s)://…/mlflow-artifacts/artifacts', (t) => {
  const c = new MlflowClient({ uri: 'https://mlflow.example.com/prefix' });
  t.deepEqual(c.proxiedArtifacts('mlflow-artifacts:/1/models/m-abc/artifacts'), {
    server: 'https://mlflow.example.com/prefix',
    path: '1/models/m-abc/artifacts',
  });
  t.deepEqual(c.proxiedArtifacts('mlflow-artifacts://other:5001/0/run/artifacts/model/'), { server: 'https://other:5001', path: '0/run/artifacts/model' });
  t.deepEqual(c.proxiedArtifacts('http://h:5000/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/model'), {
    server: 'http://h:5000',
    path: '0/r/artifacts/model',
  });
  t.is(c.proxiedArtifacts('s3://bucket/0/r/artifacts/model'), undefined);
  t.is(c.proxiedArtifacts('/var/mlruns/0/r/artifacts/model'), undefined);
});

/**
 * A fake MLflow 3 registry: model `m`, version 1 aliased `Champion`, whose
 * download URI is `models:/m-abc` (resolved through logged-models), with a
 * nested artifact folder.
 */
async function fakeRegistry(t: { teardown(fn: () => unknown): void }, artifacts: Record<string, Buffer | string>, source = 'models:/m-abc') {
  const state = { source, created: 1000 };
  const server = await fakeServer(t, (_req, url, res) => {
    const p = url.pathname;
    const q = url.searchParams;
    const mv = { name: 'm', version: '1', source: state.source, creation_timestamp: state.created, status: 'READY', aliases: ['Champion'] };
    if (p === '/api/2.0/mlflow/registered-models/alias') {
      return q.get('alias') === 'Champion'
        ? json(res, 200, { model_version: mv })
        : json(res, 400, { error_code: 'INVALID_PARAMETER_VALUE', message: `Registered model alias ${q.get('alias')} not found.` });
    }
    if (p === '/api/2.0/mlflow/model-versions/get') return json(res, 200, { model_version: mv });
    if (p === '/api/2.0/mlflow/model-versions/get-download-uri') return json(res, 200, { artifact_uri: 'models:/m-abc' });
    if (p === '/api/2.0/mlflow/logged-models/m-abc') {
      return json(res, 200, { model: { info: { model_id: 'm-abc', artifact_uri: 'mlflow-artifacts:/1/models/m-abc/artifacts' } } });
    }
    const root = '1/models/m-abc/artifacts';
    if (p === '/api/2.0/mlflow-artifacts/artifacts') {
      const dir = (q.get('path') ?? '').slice(root.length).replace(/^\//, '');
      const files = new Map<string, { path: string; is_dir: boolean; file_size?: number }>();
      for (const [name, body] of Object.entries(artifacts)) {
        if (dir && !name.startsWith(`${dir}/`)) continue;
        const rest = dir ? name.slice(dir.length + 1) : name;
        const [head, ...tail] = rest.split('/');
        files.set(head, tail.length ? { path: head, is_dir: true } : { path: head, is_dir: false, file_size: Buffer.byteLength(body) });
      }
      return json(res, 200, files.size ? { files: [...files.values()] } : {});
    }
    const prefix = `/api/2.0/mlflow-artifacts/artifacts/${root}/`;
    if (p.startsWith(prefix) && decodeURIComponent(p.slice(prefix.length)) in artifacts) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(artifacts[decodeURIComponent(p.slice(prefix.length))]);
    }
    json(res, 404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `no route ${p}` });
  });
  return { ...server, state };
}

test('MLflow 3 `models:/m-…` download URIs resolve through logged-models; nested folders are downloaded; cache reused', async (t) => {
  const cacheDir = await tempDir(t);
  const server = await fakeRegistry(t, { MLmodel: 'flavors: {}\n', 'sub/deeper/file name.txt': 'x', 'model.json': '{}' });
  const reg = new MlflowRegistry({ uri: server.uri, name: 'm' }, { env: {}, cacheDir });
  const mv = await reg.resolve('Champion');
  t.deepEqual(mv.files, ['MLmodel', 'model.json', 'sub/deeper/file name.txt']);
  t.is(mv.dir, join(cacheDir, 'mlflow', `127.0.0.1_${new URL(server.uri).port}`, 'm', '1', 'artifacts'));
  t.is(await readFile(join(mv.dir, 'sub', 'deeper', 'file name.txt'), 'utf8'), 'x');
  t.deepEqual(reg.lastFetch, { from: 'download', files: 3, bytes: 15 });
  const meta = JSON.parse(await readFile(join(reg.cacheDir, '1', 'meta.json'), 'utf8'));
  t.like(meta, { name: 'm', version: 1, source: 'models:/m-abc', creation_timestamp: 1000, artifact_uri: 'mlflow-artifacts:/1/models/m-abc/artifacts' });
  t.true(server.requests.some((r) => r.path === '/api/2.0/mlflow/logged-models/m-abc'));

  server.requests.length = 0;
  await reg.resolve('Champion');
  t.is(reg.lastFetch?.from, 'cache');
  t.deepEqual(
    server.requests.map((r) => r.path),
    ['/api/2.0/mlflow/registered-models/alias?name=m&alias=Champion'],
  );
  server.requests.length = 0;
  await reg.resolve(1);
  t.deepEqual(server.requests, [], 'a cached version number needs no server');
});

test('an alias whose version changed on the server (a recreated registry) is downloaded again', async (t) => {
  const cacheDir = await tempDir(t);
  const server = await fakeRegistry(t, { MLmodel: 'flavors: {}\n', 'model.json': '{}' });
  const reg = new MlflowRegistry({ uri: server.uri, name: 'm' }, { env: {}, cacheDir });
  await reg.resolve('Champion');
  server.state.created = 2000;
  server.state.source = 'models:/m-def';
  await reg.resolve('Champion');
  t.is(reg.lastFetch?.from, 'download');
  t.deepEqual(await readdir(reg.cacheDir), ['1']);
  t.like(JSON.parse(await readFile(join(reg.cacheDir, '1', 'meta.json'), 'utf8')), { source: 'models:/m-def', creation_timestamp: 2000 });
});

test('a cached version with a file removed by hand is downloaded again', async (t) => {
  const cacheDir = await tempDir(t);
  const server = await fakeRegistry(t, { MLmodel: 'flavors: {}\n', 'model.json': '{}' });
  const reg = new MlflowRegistry({ uri: server.uri, name: 'm' }, { env: {}, cacheDir });
  const mv = await reg.resolve(1);
  const { rm } = await import('node:fs/promises');
  await rm(join(mv.dir, 'model.json'));
  await reg.resolve(1);
  t.is(reg.lastFetch?.from, 'download');
  t.is(await readFile(join(mv.dir, 'model.json'), 'utf8'), '{}');
});

test('artifacts the server does not proxy: a clear error', async (t) => {
  const server = await fakeServer(t, (_req, url, res) => {
    if (url.pathname.endsWith('/model-versions/get')) return json(res, 200, { model_version: { name: 'm', version: '3', status: 'READY' } });
    json(res, 200, { artifact_uri: 's3://bucket/0/abc/artifacts/model' });
  });
  await t.throwsAsync(new MlflowRegistry({ uri: server.uri, name: 'm' }, { env: {}, cacheDir: await tempDir(t) }).resolve(3), {
    message:
      "models:/m/3: its artifacts are at s3://bucket/0/abc/artifacts/model, which arrowshap cannot download; arrowshap downloads through the tracking server's artifact proxy: " +
      'run `mlflow server --serve-artifacts` with an `mlflow-artifacts:/` artifact root (the default with --serve-artifacts)',
  });
});

test('a version that is not READY is refused', async (t) => {
  const server = await fakeServer(t, (_req, _url, res) =>
    json(res, 200, { model_version: { name: 'm', version: '2', status: 'FAILED_REGISTRATION', status_message: 'copy failed' } }),
  );
  await t.throwsAsync(new MlflowRegistry({ uri: server.uri, name: 'm' }, { env: {}, cacheDir: await tempDir(t) }).resolve(2), {
    message: `models:/m/2 on MLflow server ${server.uri} is FAILED_REGISTRATION: copy failed; only READY versions can be loaded`,
  });
});

test('a port fetch refuses (a Fetch "bad port") is said at once, not retried', async (t) => {
  await t.throwsAsync(new MlflowRegistry({ uri: 'http://127.0.0.1:6000', name: 'm' }, { env: {}, cacheDir: await tempDir(t) }).resolve('Champion'), {
    message: 'cannot reach the MLflow server at http://127.0.0.1:6000: fetch refuses port 6000 (one of the Fetch standard\'s blocked "bad ports"); run the server on another port',
  });
});

test('a models:/ URI of another model is refused', async (t) => {
  const reg = new MlflowRegistry({ uri: 'http://127.0.0.1:9', name: 'm' }, { env: {} });
  await t.throwsAsync(reg.resolve('models:/other/1'), {
    message: 'models:/other/1 names model `other`, but this registry is set up for model `m`',
  });
});

// ── BuiltinLoader and MLflow's xgboost model_format ─────────────────────────

function version(dir: string, files: string[]): ModelVersion {
  return { name: 'm', version: 1, uri: 'models:/m/1', dir, files };
}

async function xgbFlavorDir(dir: string, modelFormat: string, content: Buffer | string): Promise<ModelVersion> {
  await mkdir(dir, { recursive: true });
  const data = `model.${modelFormat}`;
  await writeFile(join(dir, 'MLmodel'), `flavors:\n  xgboost: {data: ${data}, model_class: xgboost.core.Booster, model_format: ${modelFormat}}\n`);
  if (Buffer.isBuffer(content)) await writeFile(join(dir, data), content);
  else await copyFile(content, join(dir, data));
  return version(dir, ['MLmodel', data]);
}

test('BuiltinLoader: a legacy binary xgboost flavor (model_format xgb / deprecated) says how to log it instead', async (t) => {
  const dir = await tempDir(t);
  const legacy = Buffer.concat([Buffer.from([0, 0, 0, 0x3f, 6, 0, 0, 0]), Buffer.alloc(120)]);
  for (const format of ['xgb', 'deprecated']) {
    await t.throwsAsync(new BuiltinLoader().load(await xgbFlavorDir(join(dir, format), format, legacy)), {
      message:
        `models:/m/1: the xgboost flavor's model.${format} (model_format: ${format}) is in XGBoost's legacy binary format, which arrowshap ` +
        'cannot read; log the model with mlflow.xgboost.log_model(..., model_format="ubj") (MLflow\'s default) or model_format="json"',
    });
  }
});

nativeTest('BuiltinLoader: model_format json, ubj, and xgb written as UBJSON by XGBoost ≥ 2.1 all load', async (t) => {
  const dir = await tempDir(t);
  for (const [format, file] of [
    ['json', 'xgb.json'],
    ['ubj', 'xgb.ubj'],
    ['xgb', 'xgb.ubj'],
  ] as const) {
    const model = await new BuiltinLoader().load(await xgbFlavorDir(join(dir, format), format, join(FIXTURES, file)));
    t.is(model.numTrees, 3, format);
  }
});

test('BuiltinLoader: a LightGBM scikit-learn estimator saved with skops is refused like a pickle', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'MLmodel'), 'flavors:\n  lightgbm: {data: model.skops, model_class: lightgbm.sklearn.LGBMRegressor}\n');
  await writeFile(join(dir, 'model.skops'), 'x');
  await t.throwsAsync(new BuiltinLoader().load(version(dir, ['MLmodel', 'model.skops'])), {
    message: /flavor `lightgbm` holds a pickled scikit-learn estimator \(model\.skops\), which cannot be loaded; log the Booster/,
  });
});
