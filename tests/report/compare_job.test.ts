/**
 * The CompareJob (config `KIND: CompareJob`, `arrowshap run`) and `arrowshap compare`
 * on a model and its retrained version without f2.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAnyConfig } from '../../ts/config/load.ts';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { LocalRegistry } from '../../ts/io/registries/registry.ts';
import { CompareJob, DRIFT_ALERT_TITLE } from '../../ts/jobs/compare.ts';
import { compareExplanations, DRIFT_COLUMNS } from '../../ts/report/drift.ts';
import { Explanation } from '../../ts/report/explanation.ts';
import { ROOT } from '../core/_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { explainFile, RecordingAlerts } from './_report.ts';

const CHAMPION = 'tests/fixtures/drift/champion.json';
const CHALLENGER = 'tests/fixtures/drift/challenger.json';
const INPUTS = 'tests/fixtures/drift/inputs.csv';

test('CompareJob from a YAML config: Champion vs Challenger of a local registry, streamed; table = compareExplanations, report, drift alert', async (t) => {
  const dir = await tempDir(t);
  const registry = new LocalRegistry({ path: join(dir, 'registry'), name: 'drift' });
  await registry.register(join(ROOT, CHAMPION), { alias: 'Champion' });
  await registry.register(join(ROOT, CHALLENGER), { alias: 'Challenger' });
  await writeFile(
    join(dir, 'compare.yaml'),
    [
      'job:',
      '  KIND: CompareJob',
      `  inputs_samples: {KIND: CsvReader, path: ${join(ROOT, INPUTS)}}`,
      '  registry: {KIND: LocalRegistry, path: registry, name: drift}',
      '  drift_explanations: {KIND: ParquetWriter, path: out/drift.parquet}',
      '  report: {KIND: HtmlReport, path: out/drift.html, sample_rows: 120}',
      '  explainer: {batch_rows: 64, threads: 2}',
      '  logger: {level: error}',
    ].join('\n'),
  );
  const config = await loadAnyConfig(join(dir, 'compare.yaml'));
  t.is(config.job.KIND, 'CompareJob');
  const alerts = new RecordingAlerts();
  const out = await new CompareJob(config.job as never, { alerts }).execute();
  t.is(out.rows, 300);
  t.deepEqual(out.models.map((m) => m.label), ['Champion', 'Challenger']);

  // the table equals the one-shot comparison of the two models' own explanations
  const table = await readerForPath(join(dir, 'out', 'drift.parquet')).read();
  t.deepEqual(table.schema.fields.map((f) => f.name), [...DRIFT_COLUMNS]);
  const a = await explainFile(CHAMPION, INPUTS);
  const b = await explainFile(CHALLENGER, INPUTS);
  const want = compareExplanations(Explanation.fromTables(a.samples), Explanation.fromTables(b.samples), { labels: ['Champion', 'Challenger'] });
  t.deepEqual([...table.getChild('feature')!], want.features.map((d) => d.feature));
  for (const name of ['mean_abs_shap_a', 'mean_abs_shap_b', 'sign_flip_share', 'js_divergence', 'share_shift'] as const) {
    const got = [...table.getChild(name)!] as number[];
    const exp = [...want.table.getChild(name)!] as number[];
    got.forEach((g, i) => t.true(Math.abs(g - exp[i]) < 1e-12, `${name}[${i}]: ${g} vs ${exp[i]}`));
  }
  t.is(table.getChild('in_b')!.get(0), false);

  // the alert names f2 and links the report
  t.is(alerts.sent.length, 1);
  t.is(alerts.sent[0].title, DRIFT_ALERT_TITLE);
  t.regex(String(alerts.sent[0].fields.alerts), /f2: absent from Challenger/);
  t.is(alerts.sent[0].fields.report, `file://${join(dir, 'out', 'drift.html')}`);
  const html = readFileSync(join(dir, 'out', 'drift.html'), 'utf8');
  t.regex(html, /Explanation drift: Champion vs Challenger/);
  t.regex(html, /120 sampled rows, the same under both/);
});

test('arrowshap compare: two model files, drift CSV and report; a bad model file leaves no output', async (t) => {
  const dir = await tempDir(t);
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'arrowshap.js'), 'compare', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
  const ok = await run([
    '--champion', join(ROOT, CHAMPION),
    '--challenger', join(ROOT, CHALLENGER),
    '--inputs', join(ROOT, INPUTS),
    '--out', join(dir, 'drift.csv'),
    '--report', join(dir, 'drift.html'),
    '--labels', 'v1,v2',
  ]);
  t.is(ok.code, 0, ok.stderr);
  const csv = readFileSync(join(dir, 'drift.csv'), 'utf8').trim().split('\n');
  t.is(csv[0], DRIFT_COLUMNS.join(','));
  t.is(csv.length, 7);
  t.regex(csv[1], /^f2,true,false,/);
  t.regex(ok.stderr, /Explanation Drift/);
  t.regex(readFileSync(join(dir, 'drift.html'), 'utf8'), /v1 vs v2/);

  const bad = await run(['--champion', join(ROOT, CHAMPION), '--challenger', join(ROOT, INPUTS), '--inputs', join(ROOT, INPUTS), '--out', join(dir, 'bad.csv')]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^arrowshap: .*inputs\.csv/m);
  t.false(existsSync(join(dir, 'bad.csv')));
});
