/**
 * Sharded runs in one process (the library surface): N shards of a
 * multi-file, multi-row-group Parquet input, then the merge, give the single
 * run's samples table (same rows, same order, same bits) and model table
 * (mean |SHAP| combined from the shards' sums); a shard reads only its row
 * groups; a re-run shard replaces only its own part; the merge refuses
 * incomplete or inconsistent runs. The same over S3 with separate processes:
 * s3_processes.test.ts.
 */
import test from 'ava';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type * as arrow from 'apache-arrow';
import type { ExplanationsJobConfigInput } from '../../ts/config/job.ts';
import { parseJobConfig } from '../../ts/config/load.ts';
import { ParquetFile } from 'parquet-wasm';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { openBlob } from '../../ts/io/storage/files.ts';
import { ExplanationsJob } from '../../ts/jobs/explanations.ts';
import { ShardedExplanationsJob } from '../../ts/shard/job.ts';
import { mergeShards } from '../../ts/shard/merge.ts';
import { RecordingAlerts } from '../helpers/alerts.ts';
import { tempDir } from '../helpers/tmp.ts';
import { DIABETES_MODEL, writeDataset } from './_dataset.ts';

function config(data: string, out: string, explainer: Record<string, unknown> = {}): ExplanationsJobConfigInput {
  return {
    KIND: 'ExplanationsJob',
    inputs_samples: { KIND: 'ParquetReader', path: data },
    samples_explanations: { KIND: 'ParquetWriter', path: join(out, 'samples') },
    models_explanations: { KIND: 'ParquetWriter', path: join(out, 'models.parquet') },
    registry: { KIND: 'FileRegistry', path: DIABETES_MODEL },
    explainer: { batch_rows: 700, threads: 1, ...explainer },
    logger: { level: 'error' },
  } as ExplanationsJobConfigInput;
}

/** Every column of `a` equals `b`'s, value for value (floats bit for bit: Object.is). */
function assertSameTable(t: import('ava').ExecutionContext, a: arrow.Table, b: arrow.Table): void {
  t.deepEqual(
    a.schema.fields.map((f) => `${f.name}:${f.type}`),
    b.schema.fields.map((f) => `${f.name}:${f.type}`),
  );
  t.is(a.numRows, b.numRows);
  for (const f of a.schema.fields) {
    const x = a.getChild(f.name)!.toArray();
    const y = b.getChild(f.name)!.toArray();
    const diff = Array.from(x as ArrayLike<unknown>).findIndex((v, i) => !Object.is(v, (y as ArrayLike<unknown>)[i]));
    t.is(diff, -1, `column ${f.name} differs at row ${diff}`);
  }
}

test('4 shards + merge = one run: samples bit for bit in row order, model table from the sums, one alert, row groups only', async (t) => {
  t.timeout(120_000);
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  const { files, rows } = await writeDataset(data, { files: 3, rowGroups: 3, rowsPerGroup: 1000 });
  const total = (await Promise.all(files.map((f) => stat(f)))).reduce((n, s) => n + s.size, 0);

  const single = join(dir, 'single');
  const one = config(data, single);
  (one as { samples_explanations: { path: string } }).samples_explanations.path = join(single, 'samples.parquet');
  const alerts1 = new RecordingAlerts();
  await new ExplanationsJob(one, { alerts: alerts1, keepTables: false }).execute();

  const sharded = join(dir, 'sharded');
  const shardAlerts = new RecordingAlerts();
  const N = 4;
  for (let i = 0; i < N; i++) {
    await new ShardedExplanationsJob(config(data, sharded, { shard: `${i}/${N}` }), { alerts: shardAlerts, keepTables: false }).execute();
  }
  t.is(shardAlerts.sent.length, 0, 'shards send no alert');
  const mergeAlerts = new RecordingAlerts();
  const merged = await mergeShards(parseJobConfig(config(data, sharded)), { alerts: mergeAlerts });
  t.is(mergeAlerts.sent.length, 1);
  t.is(mergeAlerts.sent[0].fields.samples, rows);
  t.is(merged.samples.rows, rows);

  // The parts, read in name order as one dataset, are the single run's table.
  const parts = await readerForPath(join(sharded, 'samples')).read();
  const whole = await readerForPath(join(single, 'samples.parquet')).read();
  assertSameTable(t, parts, whole);
  t.deepEqual(Array.from(parts.getChild('row')!.toArray() as BigInt64Array, Number), [...Array(rows).keys()]);

  // Model table: same features, importances and totals; mean |SHAP| from the sums.
  const m1 = await readerForPath(join(single, 'models.parquet')).read();
  const m2 = await readerForPath(join(sharded, 'models.parquet')).read();
  for (const c of ['feature', 'importance', 'gain', 'cover', 'weight']) t.deepEqual(Array.from(m2.getChild(c)!.toArray()), Array.from(m1.getChild(c)!.toArray()), c);
  const a = m1.getChild('mean_abs_shap')!.toArray() as Float64Array;
  const b = m2.getChild('mean_abs_shap')!.toArray() as Float64Array;
  a.forEach((v, i) => t.true(Math.abs(v - b[i]) <= 1e-13 * Math.abs(v), `mean_abs_shap[${i}] ${v} vs ${b[i]}`));
  // and they are what the samples table says
  const shap = (name: string) => Array.from(whole.getChild(name)!.toArray() as Float64Array);
  m1.getChild('feature')!.toArray().forEach((name: string, i: number) => {
    const mean = shap(name).reduce((s, v) => s + Math.abs(v), 0) / rows;
    t.true(Math.abs(mean - b[i]) <= 1e-12 * Math.abs(mean), `${name}: ${mean} vs ${b[i]}`);
  });

  // Each shard read every footer (to split), then its files' footers and its own row groups: nothing else.
  const layout = await Promise.all(
    files.map(async (f) => {
      const counter = { bytes: 0, requests: 0 };
      const pf = await ParquetFile.fromFile((await openBlob(f, counter)) as Blob);
      const groups = pf.metadata().rowGroups().map((g) => g.compressedSize());
      pf.free();
      return { file: f, footer: counter.bytes, groups };
    }),
  );
  const footers = layout.reduce((n, l) => n + l.footer, 0);
  for (const s of merged.summaries) {
    const units = layout.flatMap((l) => l.groups.map((size) => ({ l, size }))).slice(s.input.first_unit, s.input.first_unit + s.input.units);
    const ownFiles = new Set(units.map((u) => u.l));
    const expected = footers + [...ownFiles].reduce((n, l) => n + l.footer, 0) + units.reduce((n, u) => n + u.size, 0);
    t.is(s.input.bytes_read, expected, `shard ${s.shard.index}: footers + its row groups`);
    t.true(s.input.bytes_read < total * 0.5, `shard ${s.shard.index} read ${s.input.bytes_read} of ${total} bytes`);
    t.is(s.input.rows, s.input.units * 1000);
  }
  t.deepEqual(
    merged.summaries.map((s) => s.input.units),
    [2, 2, 3, 2],
  );
});

test('a re-run shard replaces only its part; the merge refuses a missing shard, another config, another shard count', async (t) => {
  t.timeout(120_000);
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  await writeDataset(data, { files: 2, rowGroups: 2, rowsPerGroup: 50 });
  const out = join(dir, 'out');
  const run = (i: number, n: number, extra: Record<string, unknown> = {}) =>
    new ShardedExplanationsJob(config(data, out, { shard: `${i}/${n}`, ...extra }), { alerts: new RecordingAlerts(), keepTables: false }).execute();
  const part = (i: number, n = 3) => join(out, 'samples', `part-0000${i}-of-0000${n}.parquet`);
  for (let i = 0; i < 3; i++) await run(i, 3);
  const before = await Promise.all([0, 1, 2].map(async (i) => (await stat(part(i))).mtimeMs));
  const bytes0 = await readFile(part(0));
  await new Promise((r) => setTimeout(r, 20));
  await run(1, 3);
  const after = await Promise.all([0, 1, 2].map(async (i) => (await stat(part(i))).mtimeMs));
  t.is(after[0], before[0]);
  t.is(after[2], before[2]);
  t.not(after[1], before[1]);
  t.deepEqual(await readFile(part(0)), bytes0);
  const cfg = () => parseJobConfig(config(data, out));
  const ok = await mergeShards(cfg(), { alerts: new RecordingAlerts() });
  t.is(ok.samples.rows, 200);

  await rm(join(out, 'samples', '_shards', 'part-00002-of-00003.json'));
  await t.throwsAsync(mergeShards(cfg(), { alerts: new RecordingAlerts() }), { message: /shards 2 of 3 are not complete .*part-00002-of-00003\.json/ });

  await run(2, 3, { algorithm: 'tree-path-dependent', batch_rows: 33 });
  await t.throwsAsync(mergeShards(cfg(), { alerts: new RecordingAlerts() }), { message: /shard 2 ran another config/ });
  await run(2, 3);
  await run(0, 2);
  await t.throwsAsync(mergeShards(cfg(), { alerts: new RecordingAlerts() }), { message: /different runs \(shard counts 2, 3\)|shard counts 3, 2/ });
});

test('shard settings: I/N checked, Parquet only, no limit/report', async (t) => {
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  await writeDataset(data, { files: 1, rowGroups: 1, rowsPerGroup: 10 });
  t.throws(() => new ShardedExplanationsJob(config(data, dir, { shard: '4/4' })), { message: /explainer\.shard.*0 <= I < N/ });
  t.throws(() => new ExplanationsJob(config(data, dir, { shard: '0/2' })), { message: /ShardedExplanationsJob/ });
  const limited = config(data, dir, { shard: '0/2' });
  (limited.inputs_samples as { limit?: number }).limit = 5;
  t.throws(() => new ShardedExplanationsJob(limited), { message: /job\.inputs_samples\.limit cannot be combined with explainer\.shard/ });
});
