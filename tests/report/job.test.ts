/**
 * The report, the feature values and the alert through the job and the CLI:
 * `report: {KIND: HtmlReport, path}`, `explainer.include_inputs`, `arrowshap explain --report`.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { ExplanationsJob } from '../../ts/jobs/explanations.ts';
import { Explanation } from '../../ts/report/explanation.ts';
import { ROOT } from '../core/_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { DIABETES, RecordingAlerts } from './_report.ts';

test('job: streamed run writes the report with the tables, include_inputs adds the feature values, the alert ranks by mean |SHAP| and links the report', async (t) => {
  const dir = await tempDir(t);
  const alerts = new RecordingAlerts();
  const out = await new ExplanationsJob(
    {
      KIND: 'ExplanationsJob',
      inputs_samples: { KIND: 'ParquetReader', path: join(ROOT, DIABETES.inputs) },
      samples_explanations: { KIND: 'ParquetWriter', path: join(dir, 'samples.parquet') },
      models_explanations: { KIND: 'ParquetWriter', path: join(dir, 'models.parquet') },
      registry: { KIND: 'FileRegistry', path: join(ROOT, DIABETES.model) },
      explainer: { batch_rows: 100, include_inputs: true, threads: 2 },
      report: { KIND: 'HtmlReport', path: join(dir, 'report.html'), sample_rows: 150, rows: [3, 441] },
      logger: { level: 'error' },
    },
    { alerts },
  ).execute();
  t.is(out.rows.batches, 5);
  t.is(out.outputs.report, join(dir, 'report.html'));
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  t.regex(html, /150 of 442 rows \(uniform reservoir sample\)/);
  t.regex(html, /row 3/);
  t.regex(html, /row 441/);
  t.regex(html, new RegExp(out.modelUri.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));

  // the samples table carries input.<feature> columns equal to the inputs, read back as an Explanation's data
  const samples = await readerForPath(join(dir, 'samples.parquet')).read();
  const inputs = await readerForPath(join(ROOT, DIABETES.inputs)).read();
  const names = out.model.featureNames;
  t.deepEqual(samples.schema.fields.slice(-names.length).map((f) => f.name), names.map((n) => `input.${n}`));
  const e = Explanation.fromTables(samples);
  for (const [j, n] of names.entries()) {
    const want = inputs.getChild(n)!.toArray() as ArrayLike<number>;
    t.deepEqual([...e.data![j]], Array.from(want, Number), n);
  }

  // the alert: top features by the model table's mean_abs_shap, and a file:// link to the report
  const models = out.modelsExplanations;
  const mean = models.getChild('mean_abs_shap')!.toArray() as Float64Array;
  const top = [...mean.keys()].sort((a, b) => mean[b] - mean[a]).slice(0, 5);
  const [alert] = alerts.sent;
  t.is(String(alert.fields.top_features), top.map((j) => `${names[j]} (${Number(mean[j].toPrecision(4))})`).join(', '));
  t.is(alert.fields.ranked_by, 'mean |SHAP|');
  t.is(alert.fields.report, `file://${join(dir, 'report.html')}`);
});

test('job: a failed run writes no report', async (t) => {
  const dir = await tempDir(t);
  await t.throwsAsync(
    new ExplanationsJob({
      KIND: 'ExplanationsJob',
      inputs_samples: { KIND: 'CsvReader', path: join(ROOT, 'tests/fixtures/drift/inputs.csv') },
      samples_explanations: { KIND: 'ParquetWriter', path: join(dir, 'samples.parquet') },
      registry: { KIND: 'FileRegistry', path: join(ROOT, DIABETES.model) },
      report: { KIND: 'HtmlReport', path: join(dir, 'report.html') },
      logger: { level: 'error' },
    }).execute(),
    { message: /age/ },
  );
  t.false(existsSync(join(dir, 'report.html')));
});

test('cli: arrowshap explain --report writes the report', async (t) => {
  const dir = await tempDir(t);
  const report = join(dir, 'r.html');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [
      join(ROOT, 'bin', 'arrowshap.js'),
      'explain',
      '--model', join(ROOT, 'tests/fixtures/drift/champion.json'),
      '--inputs', join(ROOT, 'tests/fixtures/drift/inputs.csv'),
      '--samples-out', join(dir, 's.csv'),
      '--include-inputs',
      '--report', report,
    ], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', resolve);
  });
  t.is(code, 0);
  const html = readFileSync(report, 'utf8');
  t.regex(html, /all 300 rows/);
  t.regex(html, /id="beeswarm"/);
  t.regex(readFileSync(join(dir, 's.csv'), 'utf8').split('\n')[0], /base_value,input\.f0,/);
});
