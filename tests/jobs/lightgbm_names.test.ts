/**
 * A LightGBM model trained on columns with spaces (`Marital Status`) stores them as
 * `Marital_Status` (tests/fixtures/rel_lgb47_names, LightGBM 4.7.0): the job, the CLI
 * `explain` and the compare job read the user's own columns, report the mapping, and
 * name every output column as the user does. Native addon required.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type * as arrow from 'apache-arrow';
import type { ExplanationsJobConfigInput } from '../../ts/config/job.ts';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { ExplanationsJob } from '../../ts/jobs/explanations.ts';
import { CompareJob } from '../../ts/jobs/compare.ts';
import { col, FIXTURES, ROOT, type Expected } from '../core/_fixtures.ts';
import { RecordingAlerts } from '../helpers/alerts.ts';
import { tempDir } from '../helpers/tmp.ts';

const DIR = join(FIXTURES, 'rel_lgb47_names');
const MODEL = join(DIR, 'model.txt');
const EXPECTED = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Expected & { user_columns: string[] };
const STORED = EXPECTED.feature_names;
const USER = EXPECTED.user_columns;
/** inputs.csv's rows (header = the stored names). */
const ROWS = readFileSync(join(DIR, 'inputs.csv'), 'utf8').trim().split('\n').slice(1);

/** A CSV of the fixture's rows under `header`, with `extra` columns appended (each value from `fill(row)`). */
async function csv(dir: string, name: string, header: string[], extra: { name: string; fill: (r: number) => string }[] = []): Promise<string> {
  const path = join(dir, name);
  const lines = [[...header, ...extra.map((e) => e.name)].join(','), ...ROWS.map((r, i) => [r, ...extra.map((e) => e.fill(i))].join(','))];
  await writeFile(path, lines.join('\n') + '\n');
  return path;
}

/** The job over `inputs` with the fixture's model given as a file; logs captured. */
function job(dir: string, inputs: string, explainer: ExplanationsJobConfigInput['explainer'] = {}) {
  const logs = new PassThrough();
  let text = '';
  logs.on('data', (b: Buffer) => (text += b.toString()));
  const config: ExplanationsJobConfigInput = {
    KIND: 'ExplanationsJob',
    inputs_samples: { KIND: 'CsvReader', path: inputs },
    models_explanations: { KIND: 'ParquetWriter', path: join(dir, 'out', 'models.parquet') },
    samples_explanations: { KIND: 'ParquetWriter', path: join(dir, 'out', 'samples.parquet') },
    registry: { KIND: 'FileRegistry', path: MODEL },
    explainer,
    logger: { level: 'info' },
  };
  return { run: () => new ExplanationsJob(config, { alerts: new RecordingAlerts(), loggerOptions: { stream: logs } }).execute(), logs: () => text };
}

/** The first mismatch of the table's SHAP columns `names` (model order) and `base_value` with LightGBM's contribs, within 1e-6 relative, or undefined. */
function mismatch(table: arrow.Table, names: readonly string[]): string | undefined {
  const m = names.length;
  const columns = [...names.map((n) => col(table, n)), col(table, 'base_value')];
  if (table.numRows !== EXPECTED.rows) return `${table.numRows} rows, expected ${EXPECTED.rows}`;
  for (let r = 0; r < EXPECTED.rows; r++) {
    let sum = 0;
    for (let j = 0; j <= m; j++) {
      const got = columns[j][r];
      const want = EXPECTED.contribs[r * (m + 1) + j];
      if (!(Math.abs(got - want) <= 1e-6 * Math.max(1, Math.abs(want)))) return `row ${r} column ${j}: ${got} vs ${want}`;
      sum += got;
    }
    if (!(Math.abs(sum - EXPECTED.raw[r]) <= 1e-6 * Math.max(1, Math.abs(EXPECTED.raw[r])))) return `additivity row ${r}: ${sum} vs ${EXPECTED.raw[r]}`;
  }
  return undefined;
}

const MAPPING_LINE =
  'LightGBM feature names matched to your columns (LightGBM stores spaces as `_`; the tables use your names): ' +
  '`Marital_Status` ← `Marital Status`, `Annual_Income` ← `Annual Income`, `Years_at_Job` ← `Years at Job`';

async function outputs(dir: string): Promise<string[]> {
  return existsSync(join(dir, 'out')) ? (await readdir(join(dir, 'out'))).sort() : [];
}

test('the fixture: LightGBM stored the user names with spaces as _', (t) => {
  t.deepEqual(USER, ['Marital Status', 'Annual Income', 'age', 'Years at Job']);
  t.deepEqual(STORED, ['Marital_Status', 'Annual_Income', 'age', 'Years_at_Job']);
  t.true(readFileSync(MODEL, 'utf8').includes('\nfeature_names=Marital_Status Annual_Income age Years_at_Job\n'));
});

test('job on the user columns: SHAP equal to LightGBM (1e-6), every table named with the user names, mapping logged', async (t) => {
  const dir = await tempDir(t);
  const inputs = await csv(dir, 'inputs.csv', USER);
  const { run, logs } = job(dir, inputs, { include_inputs: true });
  const out = await run();

  t.deepEqual(out.model.featureNames, USER);
  t.deepEqual(out.model.storedFeatureNames, STORED);
  t.true(logs().includes(MAPPING_LINE), logs());
  const samples = await readerForPath(join(dir, 'out', 'samples.parquet')).read();
  t.deepEqual(
    samples.schema.fields.map((f) => f.name),
    ['row', ...USER, 'base_value', ...USER.map((u) => `input.${u}`)],
  );
  t.is(mismatch(samples, USER), undefined);
  t.is(mismatch(out.samplesExplanations!, USER), undefined);
  // the model saw the user's values
  t.deepEqual([...col(samples, 'input.Marital Status')], ROWS.map((r) => Number(r.split(',')[0])));

  const models = await readerForPath(join(dir, 'out', 'models.parquet')).read();
  t.deepEqual(models.getChild('feature')!.toArray(), USER);
  t.deepEqual(out.modelsExplanations.getChild('feature')!.toArray(), USER);
  // mean |SHAP| of each user-named column, from LightGBM's own contribs
  const m = USER.length;
  const meanAbs = USER.map((_, j) => EXPECTED.contribs.filter((_, i) => i % (m + 1) === j).reduce((s, v) => s + Math.abs(v), 0) / EXPECTED.rows);
  col(models, 'mean_abs_shap').forEach((v, j) => t.true(Math.abs(v - meanAbs[j]) <= 1e-9, `${USER[j]}: ${v} vs ${meanAbs[j]}`));
});

test('job: a background with the stored names serves a model matched to the user names (interventional, additive)', async (t) => {
  const dir = await tempDir(t);
  const inputs = await csv(dir, 'inputs.csv', USER);
  const background = await csv(dir, 'background.csv', STORED);
  const { run } = job(dir, inputs, { algorithm: 'tree-interventional', background: { KIND: 'CsvReader', path: background } });
  const out = await run();
  const samples = out.samplesExplanations!;
  t.deepEqual(samples.schema.fields.map((f) => f.name), ['row', ...USER, 'base_value']);
  const raw = await out.model.predictRaw(out.featureColumns!);
  const columns = USER.map((u) => col(samples, u));
  const base = col(samples, 'base_value');
  for (let r = 0; r < samples.numRows; r++) {
    const sum = columns.reduce((s, c) => s + c[r], base[r]);
    t.true(Math.abs(sum - EXPECTED.raw[r]) <= 1e-9 && Math.abs(raw[r] - EXPECTED.raw[r]) <= 1e-9, `row ${r}: ${sum}, ${raw[r]} vs ${EXPECTED.raw[r]}`);
  }
});

test('job: exact stored names are preferred to columns that LightGBM would mangle into them', async (t) => {
  const dir = await tempDir(t);
  // decoys with spaces holding other values: the model must read the exact columns
  const inputs = await csv(dir, 'inputs.csv', STORED, [
    { name: 'Marital Status', fill: (r) => String(100 + r) },
    { name: 'Years at Job', fill: () => '-7' },
  ]);
  const { run, logs } = job(dir, inputs);
  const out = await run();
  t.deepEqual(out.model.featureNames, STORED);
  t.false(logs().includes('matched to your columns'));
  t.deepEqual(out.samplesExplanations!.schema.fields.map((f) => f.name), ['row', ...STORED, 'base_value']);
  t.is(mismatch(out.samplesExplanations!, STORED), undefined);
});

test('job: two columns that both become one LightGBM name fail, naming both; no output left', async (t) => {
  const dir = await tempDir(t);
  const inputs = await csv(dir, 'inputs.csv', USER, [{ name: 'Years_at Job', fill: () => '0' }]);
  const { run } = job(dir, inputs);
  const err = await t.throwsAsync(run());
  t.is(
    err!.message,
    `${inputs}: columns \`Years at Job\` and \`Years_at Job\` both become LightGBM feature \`Years_at_Job\` (LightGBM stores every space ` +
      'in a feature name as `_`), so the model cannot tell which it was trained on; rename the other one, or name the column `Years_at_Job`',
  );
  t.deepEqual(await outputs(dir), []);
});

test('compare: both models read the user columns; the drift table names them as the user does', async (t) => {
  const dir = await tempDir(t);
  const inputs = await csv(dir, 'inputs.csv', USER);
  const out = await new CompareJob(
    {
      KIND: 'CompareJob',
      inputs_samples: { KIND: 'CsvReader', path: inputs },
      registry: { KIND: 'FileRegistry', path: MODEL },
      champion: 'Champion',
      challenger: 'Champion',
      drift_explanations: { KIND: 'ParquetWriter', path: join(dir, 'out', 'drift.parquet') },
      logger: { level: 'error' },
    },
    { alerts: new RecordingAlerts() },
  ).execute();
  const drift = await readerForPath(join(dir, 'out', 'drift.parquet')).read();
  t.deepEqual(drift.getChild('feature')!.toArray(), USER);
  t.deepEqual(out.models.map((m) => m.model.featureNames), [USER, USER]);
});

test('cli explain: a CSV with the user names; tables named as the user does, the mapping on stderr with --verbose', async (t) => {
  const dir = await tempDir(t);
  const inputs = await csv(dir, 'inputs.csv', USER);
  const args = ['explain', '--model', MODEL, '--inputs', inputs, '--samples-out', join(dir, 'samples.parquet'), '--model-out', join(dir, 'models.csv'), '--verbose'];
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'ts', 'cli.ts'), ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
  t.is(r.code, 0, r.stderr);
  t.true(r.stderr.includes(MAPPING_LINE), r.stderr);
  const samples = await readerForPath(join(dir, 'samples.parquet')).read();
  t.is(mismatch(samples, USER), undefined);
  t.deepEqual(readFileSync(join(dir, 'models.csv'), 'utf8').split('\n').slice(1, 5).map((l) => l.split(',')[0].replace(/^"|"$/g, '')), USER);
});
