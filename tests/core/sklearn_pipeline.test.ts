/**
 * scikit-learn models read from skops (`tests/fixtures/sklearn_*`, made by
 * `tests/fixtures/make_sklearn_fixtures.py`): the pipeline's preprocessing evaluated over the
 * raw CSV inputs equals scikit-learn's own transform, feature names are
 * `get_feature_names_out()`, SHAP values equal `shap.TreeExplainer`'s (1e-6) and add up to
 * the pipeline's prediction; the CLI explains a skops pipeline end to end and refuses bad
 * inputs with one line and no output.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { transformTable, rawColumnGroups } from '../../ts/core/pipeline/program.ts';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { TreeModel } from '../../ts/native/tree_model.ts';
import { FIXTURES, ROOT } from './_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

interface Reference {
  feature_names: string[];
  transformed: (string | null)[][];
  prediction: number[][];
  contribs: number[][][];
  estimator: string;
}

const CASES = readdirSync(FIXTURES).filter((d) => d.startsWith('sklearn_') && existsSync(join(FIXTURES, d, 'reference.json')));

function reference(c: string): Reference {
  return JSON.parse(readFileSync(join(FIXTURES, c, 'reference.json'), 'utf8')) as Reference;
}

const close = (a: number, b: number, tol: number) => (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('sklearn fixtures exist', (t) => {
  t.true(CASES.length >= 8, CASES.join(', '));
});

for (const c of CASES) {
  test(`${c}: preprocessing, names and SHAP values match scikit-learn and shap`, async (t) => {
    const ref = reference(c);
    const model = TreeModel.fromFile(join(FIXTURES, c, 'model.skops'));
    const sk = model.sklearn!;
    t.truthy(sk);
    t.is(sk.estimator, ref.estimator);
    t.deepEqual(model.featureNames, ref.feature_names);
    const table = await readerForPath(join(FIXTURES, c, 'inputs.csv')).read();
    const cols = transformTable(sk.program, table, { source: 'inputs.csv' });
    t.is(cols.length, ref.feature_names.length);
    for (let j = 0; j < cols.length; j++) {
      // HistGradientBoosting's own categorical remapping runs after the pipeline's steps
      const ownEncoding = sk.estimator.startsWith('HistGradientBoosting') && sk.program.columns[j].ops.some((o) => o.op === 'code');
      for (let r = 0; r < table.numRows && !ownEncoding; r++) {
        const want = ref.transformed[r][j] === null ? NaN : Number(ref.transformed[r][j]);
        if (!close(cols[j][r], want, 1e-12)) {
          t.fail(`${c}: transformed[${r}][${ref.feature_names[j]}] = ${cols[j][r]}, scikit-learn ${want}`);
          return;
        }
      }
    }
    const res = await model.shapPathDependent(cols);
    const R = table.numRows;
    const K = model.numOutputs;
    const M = model.numFeatures;
    let worst = 0;
    for (let r = 0; r < R; r++) {
      for (let k = 0; k < K; k++) {
        let sum = 0;
        for (let j = 0; j <= M; j++) {
          const got = res.values[j * R * K + r * K + k];
          const want = ref.contribs[r][k][j];
          worst = Math.max(worst, Math.abs(got - want) / Math.max(1, Math.abs(want)));
          sum += got;
        }
        t.true(close(sum, ref.prediction[r][k], 1e-9), `${c}: row ${r} output ${k}: ${sum} vs prediction ${ref.prediction[r][k]}`);
      }
    }
    t.true(worst <= 1e-6, `${c}: max relative error ${worst}`);
    // the roll-up groups cover every feature once
    const groups = rawColumnGroups(sk.program);
    t.deepEqual(groups.flatMap((g) => g.features).sort((a, b) => a - b), [...Array(M).keys()]);
  });
}

test('the seed pipeline: one-hot + passthrough names, unseen categories encode as zeros, output space is said', (t) => {
  const model = TreeModel.fromFile(join(FIXTURES, 'sklearn_seed_rf', 'model.skops'));
  const sk = model.sklearn!;
  t.is(sk.estimator, 'RandomForestRegressor');
  t.deepEqual(sk.steps, ['transformer']);
  t.regex(sk.output_space, /^prediction/);
  t.true(model.featureNames.includes('categoricals__season_summer'));
  t.true(model.featureNames.includes('numericals__temp'));
  t.deepEqual(
    rawColumnGroups(sk.program).map((g) => g.name),
    ['season', 'weathersit', 'hr', 'workingday', 'temp', 'hum', 'windspeed'],
  );
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'arrowshap.js'), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('arrowshap explain: a skops pipeline over raw CSV inputs writes the reference SHAP table', async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'samples.csv');
  const model = join(dir, 'model.csv');
  const seed = join(FIXTURES, 'sklearn_seed_rf');
  const r = await cli(['explain', '--model', join(seed, 'model.skops'), '--inputs', join(seed, 'inputs.csv'), '--samples-out', out, '--model-out', model]);
  t.is(r.code, 0, r.stderr);
  const ref = reference('sklearn_seed_rf');
  const samples = await readerForPath(out).read();
  for (const [j, name] of ref.feature_names.entries()) {
    const col = samples.getChild(name)!;
    t.truthy(col, name);
    for (let row = 0; row < samples.numRows; row++) t.true(close(Number(col.get(row)), ref.contribs[row][0][j], 1e-6), `${name}[${row}]`);
  }
  const imp = await readerForPath(model).read();
  const feat = imp.getChild('feature')!.toArray() as string[];
  const importance = imp.getChild('importance')!;
  const want = JSON.parse(readFileSync(join(seed, 'reference.json'), 'utf8')).importances as number[];
  for (const [i, f] of feat.entries()) t.true(close(Number(importance.get(i)), want[ref.feature_names.indexOf(f)], 1e-9), f);
});

test('arrowshap explain: a category OneHotEncoder(handle_unknown="error") never saw fails with one line and no output', async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'samples.csv');
  // sklearn_et_ordinal uses handle_unknown="use_encoded_value"; sklearn_gb_binary infrequent_if_exist: use a numeric column of strings
  const inputs = join(dir, 'inputs.csv');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(inputs, 'sepal,petal,stem,leaf\nx,1,2,3\n');
  const r = await cli(['explain', '--model', join(FIXTURES, 'sklearn_rf_cls3', 'model.skops'), '--inputs', inputs, '--samples-out', out]);
  t.is(r.code, 1, r.stderr);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.regex(r.stderr, /`sepal`/);
  t.false(existsSync(out));
});

test('transformTable: a category an encoder with handle_unknown="error" never saw is one clear error naming column, row and value', async (t) => {
  const { tableFromArrays } = await import('apache-arrow');
  const table = tableFromArrays({ season: ['spring', 'monsoon'], temp: Float64Array.from([0.5, 0.7]) });
  const program = {
    inputs: ['season', 'temp'],
    columns: [
      { source: 0, name: 'oh__season_spring', ops: [{ op: 'code' as const, encoding: 0 }, { op: 'eq' as const, value: 0 }] },
      { source: 1, name: 'temp', ops: [] },
    ],
    encodings: [{ who: 'OneHotEncoder over `season`', categories: ['spring', 'summer'], codes: [0, 1], unknown: { error: "OneHotEncoder(handle_unknown='error') over `season`" } }],
  };
  const e = t.throws(() => transformTable(program, table, { source: 'in.csv' }));
  t.regex(e!.message, /^in\.csv: input column `season` row 1 holds "monsoon", a category not seen when the pipeline was trained \(OneHotEncoder\(handle_unknown='error'\)/);
  // a missing input column is named too
  const e2 = t.throws(() => transformTable(program, tableFromArrays({ temp: Float64Array.from([1]) }), { source: 'in.csv' }));
  t.regex(e2!.message, /reads column `season`/);
});

test('explainer.raw_columns: one raw.<column> per raw input column, the sum of its encoded features\' SHAP values', async (t) => {
  const { ExplanationsJob } = await import('../../ts/jobs/explanations.ts');
  const dir = await tempDir(t);
  const seed = join(FIXTURES, 'sklearn_seed_rf');
  const ref = reference('sklearn_seed_rf');
  const out = await new ExplanationsJob({
    KIND: 'ExplanationsJob',
    inputs_samples: { KIND: 'CsvReader', path: join(seed, 'inputs.csv') },
    samples_explanations: { KIND: 'ParquetWriter', path: join(dir, 'samples.parquet') },
    registry: { KIND: 'FileRegistry', path: join(seed, 'model.skops') },
    explainer: { raw_columns: true, include_inputs: true, batch_rows: 17 },
    logger: { level: 'error' },
  }, { alerts: { async notify() {}, describe: () => 'silent' } }).execute();
  const written = await readerForPath(join(dir, 'samples.parquet')).read();
  const raw = ['season', 'weathersit', 'hr', 'workingday', 'temp', 'hum', 'windspeed'];
  const names = written.schema.fields.map((f) => f.name);
  // after base_value and the input.<feature> columns, in the pipeline's input order
  t.deepEqual(names.slice(-raw.length), raw.map((c) => `raw.${c}`));
  t.is(names.indexOf('raw.season'), names.indexOf('base_value') + ref.feature_names.length + 1);
  t.is(written.numRows, ref.contribs.length);
  const prefix: Record<string, string> = { season: 'categoricals__season_', weathersit: 'categoricals__weathersit_' };
  for (let r = 0; r < written.numRows; r++) {
    let total = Number(written.getChild('base_value')!.get(r));
    for (const c of raw) {
      const members = ref.feature_names.flatMap((f, j) => (prefix[c] ? f.startsWith(prefix[c]) : f === `numericals__${c}`) ? [j] : []);
      t.true(members.length >= 1, c);
      const want = members.reduce((s, j) => s + ref.contribs[r][0][j], 0);
      const got = Number(written.getChild(`raw.${c}`)!.get(r));
      t.true(close(got, want, 1e-6), `raw.${c}[${r}] = ${got}, Σ shap = ${want}`);
      total += got;
    }
    t.true(close(total, ref.prediction[r][0], 1e-9), `row ${r}: Σ raw + base = ${total}, prediction ${ref.prediction[r][0]}`);
  }
  t.is(out.samplesExplanations?.schema.fields.at(-1)?.name, 'raw.windspeed');
});

test('explainer.raw_columns on a model without a pipeline: one clear error, no output', async (t) => {
  const { ExplanationsJob } = await import('../../ts/jobs/explanations.ts');
  const dir = await tempDir(t);
  const out = join(dir, 'samples.parquet');
  const job = new ExplanationsJob({
    KIND: 'ExplanationsJob',
    inputs_samples: { KIND: 'ParquetReader', path: join(ROOT, 'examples', 'data', 'diabetes.parquet'), limit: 5 },
    samples_explanations: { KIND: 'ParquetWriter', path: out },
    registry: { KIND: 'FileRegistry', path: join(ROOT, 'examples', 'models', 'diabetes.ubj') },
    explainer: { raw_columns: true },
    logger: { level: 'error' },
  });
  await t.throwsAsync(job.execute(), { message: /^explainer\.raw_columns: the model \(.*\) reads its input columns as they are/ });
  t.false(existsSync(out));
});
