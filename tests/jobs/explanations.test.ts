/**
 * The explanations job end to end, one test per user story, on real fixture
 * models in a temporary LocalRegistry (native addon required: these tests fail,
 * not skip, when it is not built).
 */
import test, { type ExecutionContext } from 'ava';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ExplanationsJobConfigInput } from '../../ts/config/job.ts';
import { ConfigError } from '../../ts/config/errors.ts';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { LocalRegistry } from '../../ts/io/registries/registry.ts';
import type { Service } from '../../ts/jobs/base.ts';
import { ALERT_TITLE, ExplanationsJob } from '../../ts/jobs/explanations.ts';
import { gpuInfo } from '../../ts/native/addon.ts';
import { prepareBackgroundTables } from '../../ts/background/index.ts';
import { col, FIXTURES, fixture, interactionsMismatch, samplesMismatch } from '../core/_fixtures.ts';
import { RecordingAlerts } from '../helpers/alerts.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A temp dir with a registry holding the case's model as versions 1 (Champion) and 2. */
async function setup(t: ExecutionContext, name: string) {
  const dir = await tempDir(t);
  const fx = await fixture(name);
  const registry = new LocalRegistry({ path: join(dir, 'registry'), name: 'm' });
  await registry.register(fx.modelPath, { alias: 'Champion' });
  await registry.register(fx.modelPath);
  const logs = new PassThrough();
  let logText = '';
  logs.on('data', (b: Buffer) => (logText += b.toString()));
  const config = (extra: Partial<ExplanationsJobConfigInput> = {}): ExplanationsJobConfigInput => ({
    KIND: 'ExplanationsJob',
    inputs_samples: { KIND: 'CsvReader', path: fx.inputsPath },
    models_explanations: { KIND: 'ParquetWriter', path: join(dir, 'out', 'models.parquet') },
    samples_explanations: { KIND: 'ParquetWriter', path: join(dir, 'out', 'samples.parquet') },
    registry: { KIND: 'LocalRegistry', path: join(dir, 'registry'), name: 'm' },
    logger: { level: 'debug' },
    ...extra,
  });
  return { dir, fx, registry, config, logs, logText: () => logText };
}

async function outputsIn(dir: string): Promise<string[]> {
  return existsSync(join(dir, 'out')) ? (await readdir(join(dir, 'out'))).sort() : [];
}

test('end to end by alias: both tables match XGBoost, files written, every intermediate value returned', async (t) => {
  const { dir, fx, config, logs, logText } = await setup(t, 'xgb_multi_softprob');
  const alerts = new RecordingAlerts();
  const job = new ExplanationsJob(config(), { alerts, loggerOptions: { stream: logs } });
  const out = await job.execute();

  t.is(out.inputs!.numRows, fx.expected.rows);
  t.is(out.modelVersion.version, 1);
  t.is(out.modelVersion.name, 'm');
  t.is(out.modelUri, 'models:/m@Champion');
  t.deepEqual(out.model.featureNames, fx.expected.feature_names);
  t.is(out.featureColumns!.length, fx.expected.feature_names.length);
  t.is(out.samples.algorithm, 'tree-path-dependent');
  t.is(samplesMismatch(out.samplesExplanations!, fx), undefined);
  t.deepEqual(
    out.modelsExplanations.schema.fields.map((f) => f.name),
    ['feature', 'importance', 'gain', 'cover', 'weight', 'mean_abs_shap'],
  );
  t.true(Math.abs(col(out.modelsExplanations, 'importance').reduce((a, b) => a + b, 0) - 1) < 1e-12);
  t.is(out.interactions, undefined);
  t.deepEqual(Object.keys(out.timings).sort(), ['explainModel', 'explainSamples', 'load', 'notify', 'read', 'total', 'validate', 'write']);
  t.deepEqual(out.outputs, {
    models_explanations: join(dir, 'out', 'models.parquet'),
    samples_explanations: join(dir, 'out', 'samples.parquet'),
  });
  t.deepEqual(await outputsIn(dir), ['models.parquet', 'samples.parquet']);

  // the files hold the tables
  const samples = await readerForPath(join(dir, 'out', 'samples.parquet')).read();
  t.is(samplesMismatch(samples, fx), undefined);
  t.deepEqual(samples.schema.fields.map((f) => [f.name, String(f.type)]), out.samplesExplanations!.schema.fields.map((f) => [f.name, String(f.type)]));
  const models = await readerForPath(join(dir, 'out', 'models.parquet')).read();
  t.deepEqual([...models.getChild('feature')!], fx.expected.feature_names);
  t.deepEqual([...col(models, 'mean_abs_shap')], [...col(out.modelsExplanations, 'mean_abs_shap')]);

  // the alert, after the outputs
  t.is(alerts.sent.length, 1);
  t.true(out.alertSent);
  const [alert] = alerts.sent;
  t.is(alert.title, ALERT_TITLE);
  t.is(alert.fields.samples, fx.expected.rows);
  t.is(alert.fields.features, 5);
  t.is(alert.fields.outputs, 3);
  t.regex(String(alert.fields.top_features), /^sepal \(0\.\d+\), petal/);
  t.is(String(alert.fields.top_features).split(', ').length, 5);
  t.is(typeof alert.fields.wall_time_s, 'number');

  // logs: each step at info, shapes at debug
  for (let i = 1; i <= 7; i++) t.regex(logText(), new RegExp(`info  \\[${i}/7\\]`));
  t.regex(logText(), /debug inputs: 50 rows × 5 columns/);
  t.regex(logText(), /debug samples explanations: 150 rows × 8 columns/);
  t.false(job.started);
});

test('by version: alias_or_version 2 loads version 2', async (t) => {
  const { fx, config } = await setup(t, 'xgb_reg_nan');
  const out = await new ExplanationsJob(config({ alias_or_version: 2, logger: { level: 'error' } }), {
    alerts: new RecordingAlerts(),
  }).execute();
  t.is(out.modelVersion.version, 2);
  t.is(out.modelUri, 'models:/m/2');
  t.is(samplesMismatch(out.samplesExplanations!, fx), undefined);
});

test('an unknown alias fails naming the alias and the ones that exist; nothing written', async (t) => {
  const { dir, config } = await setup(t, 'xgb_reg_nan');
  const job = new ExplanationsJob(config({ alias_or_version: 'Challenger', logger: { level: 'error' } }), {
    alerts: new RecordingAlerts(),
  });
  await t.throwsAsync(job.execute(), { message: /alias `Challenger` not found for model `m`; aliases: Champion→1; versions: 1, 2/ });
  t.deepEqual(await outputsIn(dir), []);
});

for (const ext of ['parquet', 'csv', 'arrow', 'arrows']) {
  test(`writes each format: .${ext} outputs read back with the same values`, async (t) => {
    const { dir, fx, config } = await setup(t, 'xgb_multi_softprob');
    const kind = ext === 'parquet' ? 'ParquetWriter' : ext === 'csv' ? 'CsvWriter' : 'ArrowWriter';
    const writer = (name: string) => ({ KIND: kind, path: join(dir, 'out', `${name}.${ext}`) }) as ExplanationsJobConfigInput['samples_explanations'];
    const out = await new ExplanationsJob(
      config({
        models_explanations: writer('models'),
        samples_explanations: writer('samples'),
        interactions_explanations: writer('interactions'),
        explainer: { interactions: true, batch_rows: 16 },
        logger: { level: 'error' },
      }),
      { alerts: new RecordingAlerts() },
    ).execute();
    t.deepEqual(await outputsIn(dir), [`interactions.${ext}`, `models.${ext}`, `samples.${ext}`]);
    // the layout the extension names: .arrow is an IPC file (magic ARROW1), .arrows an IPC stream
    const head = readFileSync(join(dir, 'out', `samples.${ext}`)).subarray(0, 6).toString('latin1');
    if (ext === 'arrow') t.is(head, 'ARROW1');
    if (ext === 'arrows') t.not(head, 'ARROW1');
    if (ext === 'parquet') t.is(head.slice(0, 4), 'PAR1');
    const samples = await readerForPath(join(dir, 'out', `samples.${ext}`)).read();
    t.deepEqual(samples.schema.fields.map((f) => f.name), out.samplesExplanations!.schema.fields.map((f) => f.name));
    t.is(samplesMismatch(samples, fx), undefined);
    t.deepEqual([...samples.getChild('output')!].map(Number), [...out.samplesExplanations!.getChild('output')!].map(Number));
    const interactions = await readerForPath(join(dir, 'out', `interactions.${ext}`)).read();
    t.is(interactionsMismatch(interactions, fx), undefined);
    const models = await readerForPath(join(dir, 'out', `models.${ext}`)).read();
    t.deepEqual([...col(models, 'importance')], [...col(out.modelsExplanations, 'importance')]);
  });
}

test('interactions: returned and written, matching XGBoost; id_column carried in both tables', async (t) => {
  const { dir, fx, config } = await setup(t, 'xgb_reg_nan');
  // inputs with an id column in front
  const csv = (await import('node:fs')).readFileSync(fx.inputsPath, 'utf8').trimEnd().split('\n');
  const withIds = [`key,${csv[0]}`, ...csv.slice(1).map((l, i) => `k${i},${l}`)].join('\n');
  await writeFile(join(dir, 'inputs.csv'), withIds);
  const out = await new ExplanationsJob(
    config({
      inputs_samples: { KIND: 'CsvReader', path: join(dir, 'inputs.csv') },
      interactions_explanations: { KIND: 'ParquetWriter', path: join(dir, 'out', 'interactions.parquet') },
      explainer: { interactions: true, id_column: 'key', batch_rows: 7 },
      logger: { level: 'error' },
    }),
    { alerts: new RecordingAlerts() },
  ).execute();
  t.is(out.ids!.name, 'key');
  t.is(out.samplesExplanations!.schema.fields[0].name, 'key');
  t.deepEqual([...out.samplesExplanations!.getChild('key')!].slice(0, 3), ['k0', 'k1', 'k2']);
  t.is(samplesMismatch(out.samplesExplanations!, fx), undefined);
  t.is(interactionsMismatch(out.interactions!, fx), undefined);
  const written = await readerForPath(join(dir, 'out', 'interactions.parquet')).read();
  t.is(written.getChild('key')!.get(fx.model.numFeatures), 'k1');
  t.deepEqual(await outputsIn(dir), ['interactions.parquet', 'models.parquet', 'samples.parquet']);
});

test('tree-interventional with a background reader', async (t) => {
  const { fx, config } = await setup(t, 'xgb_reg_nan');
  const out = await new ExplanationsJob(
    config({
      explainer: { algorithm: 'tree-interventional', background: { KIND: 'CsvReader', path: fx.inputsPath, limit: 25 } },
      logger: { level: 'error' },
    }),
    { alerts: new RecordingAlerts() },
  ).execute();
  t.is(out.samples.algorithm, 'tree-interventional');
  t.is(out.background!.numRows, 25);
  const raw = await fx.model.predictRaw(fx.columns);
  const features = fx.model.featureNames.map((n) => col(out.samplesExplanations!, n));
  const base = col(out.samplesExplanations!, 'base_value');
  for (let i = 0; i < raw.length; i++) {
    const sum = features.reduce((a, f) => a + f[i], base[i]);
    if (Math.abs(sum - raw[i]) > 1e-6 * Math.max(1, Math.abs(raw[i]))) return t.fail(`row ${i}`);
  }
  t.pass();
});

test('values: banzhaf with interactions against the background: the tables equal the prepared background\'s, in batches', async (t) => {
  const { dir, fx, config } = await setup(t, 'xgb_reg_nan');
  const out = await new ExplanationsJob(
    config({
      interactions_explanations: { KIND: 'ParquetWriter', path: join(dir, 'out', 'interactions.parquet') },
      explainer: {
        algorithm: 'tree-interventional',
        values: 'banzhaf',
        interactions: true,
        batch_rows: 7,
        background: { KIND: 'CsvReader', path: fx.inputsPath, limit: 25 },
      },
      logger: { level: 'error' },
    }),
    { alerts: new RecordingAlerts() },
  ).execute();
  const bg = fx.columns.map((c) => c.subarray(0, 25));
  const tables = await prepareBackgroundTables(fx.model, bg, { values: 'banzhaf', interactions: true });
  const [values, pairs] = [await tables.explain(fx.columns), await tables.interactions(fx.columns)];
  const R = fx.columns[0].length, M = fx.model.numFeatures;
  fx.model.featureNames.forEach((n, j) => t.deepEqual([...col(out.samplesExplanations!, n)], [...values.values.subarray(j * R, (j + 1) * R)], n));
  t.deepEqual([...col(out.samplesExplanations!, 'base_value')], [...values.values.subarray(M * R, (M + 1) * R)]);
  fx.model.featureNames.forEach((n, j) => t.deepEqual([...col(out.interactions!, n)], [...pairs.values.subarray(j * R * M, (j + 1) * R * M)], n));
  t.deepEqual(await outputsIn(dir), ['interactions.parquet', 'models.parquet', 'samples.parquet']);
});

test('kernel with a background reader and nsamples', async (t) => {
  const { fx, config } = await setup(t, 'xgb_reg_nan');
  const out = await new ExplanationsJob(
    config({
      explainer: { algorithm: 'kernel', nsamples: 200, background: { KIND: 'CsvReader', path: fx.inputsPath, limit: 8 } },
      logger: { level: 'error' },
    }),
    { alerts: new RecordingAlerts() },
  ).execute();
  t.is(out.samples.algorithm, 'kernel');
  const raw = await fx.model.predictRaw(fx.columns);
  const features = fx.model.featureNames.map((n) => col(out.samplesExplanations!, n));
  const base = col(out.samplesExplanations!, 'base_value');
  for (let i = 0; i < raw.length; i++) {
    const sum = features.reduce((a, f) => a + f[i], base[i]);
    if (Math.abs(sum - raw[i]) > 1e-6 * Math.max(1, Math.abs(raw[i]))) return t.fail(`row ${i}: ${sum} vs ${raw[i]}`);
  }
  t.pass();
});

test('a real webhook gets "Explanations Job Finished" with the key figures', async (t) => {
  const { config } = await setup(t, 'xgb_reg_nan');
  const bodies: unknown[] = [];
  const server = await listen((req, body) => {
    bodies.push({ method: req.method, url: req.url, body: JSON.parse(body) });
    return 200;
  });
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/abc`;
  const out = await new ExplanationsJob(config({ alerts: { KIND: 'WebhookAlerts', url }, logger: { level: 'error' } })).execute();
  t.true(out.alertSent);
  t.is(bodies.length, 1);
  const { method, url: path, body } = bodies[0] as { method: string; url: string; body: { text: string; blocks: unknown[] } };
  t.is(method, 'POST');
  t.is(path, '/hooks/abc');
  t.true(body.text.startsWith('Explanations Job Finished: models:/m@Champion: 60 samples × 6 features'));
  const text = JSON.stringify(body.blocks);
  for (const field of ['samples', 'features', 'outputs', 'top_features', 'wall_time_s']) t.true(text.includes(`*${field}*`), field);
});

for (const failure of ['HTTP 500', 'unreachable'] as const) {
  test(`an alert failure (${failure}) is a warning: outputs are written and returned`, async (t) => {
    const { dir, config, logs, logText } = await setup(t, 'xgb_reg_nan');
    const server = await listen(() => 500);
    const port = (server.address() as AddressInfo).port;
    if (failure === 'unreachable') await new Promise((r) => server.close(r));
    else t.teardown(() => server.close());
    const out = await new ExplanationsJob(
      config({ alerts: { KIND: 'WebhookAlerts', url: `http://127.0.0.1:${port}/hook`, timeout_ms: 2000 }, logger: { level: 'warn' } }),
      { loggerOptions: { stream: logs } },
    ).execute();
    t.false(out.alertSent);
    t.is(out.samplesExplanations!.numRows, 60);
    t.deepEqual(await outputsIn(dir), ['models.parquet', 'samples.parquet']);
    t.regex(logText(), /warn  alert not sent \(outputs are written\): webhook alert to http:\/\/127\.0\.0\.1:\d+\/hook failed: /);
    if (failure === 'HTTP 500') t.regex(logText(), /HTTP 500/);
  });
}

test('services are stopped after a failure, and nothing is written (missing feature column)', async (t) => {
  const { dir, config } = await setup(t, 'xgb_reg_nan');
  await writeFile(join(dir, 'bad.csv'), 'a,b\n1,2\n');
  const calls: string[] = [];
  class SpyJob extends ExplanationsJob {
    protected override createServices(): Service[] {
      return [...super.createServices(), { start: () => calls.push('start'), stop: () => calls.push('stop') }];
    }
  }
  const job = new SpyJob(config({ inputs_samples: { KIND: 'CsvReader', path: join(dir, 'bad.csv') }, logger: { level: 'error' } }), {
    alerts: new RecordingAlerts(),
  });
  await t.throwsAsync(job.execute(), { message: new RegExp(`${join(dir, 'bad.csv')} lacks 6 model features`) });
  t.deepEqual(calls, ['start', 'stop']);
  t.false(job.started);
  t.deepEqual(await outputsIn(dir), []);
});

test('abort while explaining: AbortError, no output file, no temporaries', async (t) => {
  const { dir, config } = await setup(t, 'xgb_reg_nan');
  const controller = new AbortController();
  const job = new ExplanationsJob(config({ explainer: { batch_rows: 1 }, logger: { level: 'error' } }), {
    alerts: new RecordingAlerts(),
    signal: controller.signal,
    onProgress: () => controller.abort(),
  });
  await t.throwsAsync(job.execute(), { name: 'AbortError' });
  t.deepEqual(await outputsIn(dir), []);
  t.false(job.started);
});

test('a failing write leaves no output at all (outputs are committed together)', async (t) => {
  const { dir, config } = await setup(t, 'xgb_reg_nan');
  await writeFile(join(dir, 'blocker'), 'a file where a directory should be');
  const job = new ExplanationsJob(
    config({ models_explanations: { KIND: 'CsvWriter', path: join(dir, 'blocker', 'models.csv') }, logger: { level: 'error' } }),
    { alerts: new RecordingAlerts() },
  );
  await t.throwsAsync(job.execute());
  t.deepEqual(await outputsIn(dir), []);
});

test('gpu, and interventional or kernel without background, fail before any work, naming the setting', async (t) => {
  const { dir, config } = await setup(t, 'xgb_reg_nan');
  const run = (explainer: ExplanationsJobConfigInput['explainer']) =>
    new ExplanationsJob(config({ explainer, inputs_samples: { KIND: 'CsvReader', path: join(dir, 'missing.csv') }, logger: { level: 'error' } }), {
      alerts: new RecordingAlerts(),
    }).execute();
  await t.throwsAsync(run({ algorithm: 'kernel' }), { message: /explainer.algorithm "kernel" needs a background sample/ });
  if (!gpuInfo().available) {
    await t.throwsAsync(run({ device: 'gpu' }), { message: /explainer.device "gpu" requested but no GPU is usable: / });
  }
  await t.throwsAsync(run({ device: 'gpu', algorithm: 'kernel', background: { KIND: 'CsvReader', path: 'bg.csv' } }), {
    message: /explainer.device "gpu": the GPU runs tree-path-dependent values and interactions, not kernel/,
  });
  await t.throwsAsync(run({ algorithm: 'tree-interventional' }), { message: /needs a background sample/ });
  await t.throwsAsync(run({ values: 'banzhaf' }), { message: 'explainer.values "banzhaf" is only available with tree-interventional, not tree-path-dependent' });
  await t.throwsAsync(run({}), { message: `input file not found: ${join(dir, 'missing.csv')}` });
});

test('the constructor validates its config with job.* paths', (t) => {
  const err = t.throws(
    () => new ExplanationsJob({ KIND: 'ExplanationsJob', inputs_samples: { KIND: 'CsvReader', path: 'x.csv', limit: 0 } } as never),
    { instanceOf: ConfigError },
  ) as ConfigError;
  t.deepEqual(err.lines, ['job.inputs_samples.limit: expected a number > 0, received 0', 'job.samples_explanations: required (expected object)']);
});

test('FileRegistry: a model file without a registry', async (t) => {
  const { dir, fx, config } = await setup(t, 'xgb_ubj');
  const out = await new ExplanationsJob(
    config({ registry: { KIND: 'FileRegistry', path: join(FIXTURES, 'xgb_ubj', 'model.ubj') }, models_explanations: undefined, logger: { level: 'error' } }),
    { alerts: new RecordingAlerts() },
  ).execute();
  t.is(out.modelVersion.name, 'model');
  t.is(out.modelVersion.version, 0);
  t.true(out.modelUri.startsWith('file:///'));
  t.is(samplesMismatch(out.samplesExplanations!, fx), undefined);
  t.deepEqual(await outputsIn(dir), ['samples.parquet']);
});

/** A local HTTP server answering every request with the status `handle` returns. */
function listen(handle: (req: IncomingMessage, body: string) => number): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.statusCode = handle(req, body);
        res.end(res.statusCode === 200 ? 'ok' : 'boom');
      });
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
