/**
 * The streaming job: an input read in several batches gives exactly the tables of
 * a single-batch run (files and returned tables), whatever the input format; the
 * whole tables are returned only for small runs (`keepTables`); a failure or an
 * abort mid-stream leaves no output file (and an existing one untouched).
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as arrow from 'apache-arrow';
import type { ExplanationsJobConfigInput } from '../../ts/config/job.ts';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { writerForPath } from '../../ts/io/datasets/writer.ts';
import type { Alerts } from '../../ts/io/services/alerts.ts';
import { ExplanationsJob, type ExplanationsJobOptions } from '../../ts/jobs/explanations.ts';
import { fixture, interactionsMismatch, samplesMismatch } from '../core/_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const silent: Alerts = { async notify() {}, describe: () => 'silent' };

/** Every column of a table as plain values (bigints as numbers). */
function contents(table: arrow.Table): Record<string, unknown[]> {
  return Object.fromEntries(
    table.schema.fields.map((f) => [f.name, [...table.getChild(f.name)!].map((v) => (typeof v === 'bigint' ? Number(v) : v))]),
  );
}

/** The fixture's inputs with a `key` id column in front, in the given format. */
async function inputs(dir: string, name: string, ext: string): Promise<string> {
  const fx = await fixture(name);
  const csv = (await readFile(fx.inputsPath, 'utf8')).trimEnd().split('\n');
  const withIds = join(dir, 'ids.csv');
  await writeFile(withIds, [`key,${csv[0]}`, ...csv.slice(1).map((l, i) => `k${i},${l}`)].join('\n') + '\n');
  if (ext === 'csv') return withIds;
  const path = join(dir, `inputs.${ext}`);
  await writerForPath(path).write(await readerForPath(withIds).read());
  return path;
}

function config(dir: string, input: string, out: string, explainer: ExplanationsJobConfigInput['explainer'], model: string): ExplanationsJobConfigInput {
  return {
    KIND: 'ExplanationsJob',
    inputs_samples: readerConfig(input),
    models_explanations: { KIND: 'ParquetWriter', path: join(dir, out, 'models.parquet') },
    samples_explanations: { KIND: 'ParquetWriter', path: join(dir, out, 'samples.parquet') },
    interactions_explanations: { KIND: 'ArrowWriter', path: join(dir, out, 'interactions.arrows') },
    registry: { KIND: 'FileRegistry', path: model },
    explainer,
    logger: { level: 'error' },
  } as ExplanationsJobConfigInput;
}

function readerConfig(path: string): ExplanationsJobConfigInput['inputs_samples'] {
  const KIND = path.endsWith('.parquet') ? 'ParquetReader' : path.endsWith('.csv') ? 'CsvReader' : 'ArrowReader';
  return { KIND, path } as ExplanationsJobConfigInput['inputs_samples'];
}

async function run(cfg: ExplanationsJobConfigInput, options: ExplanationsJobOptions = {}) {
  return new ExplanationsJob(cfg, { alerts: silent, ...options }).execute();
}

for (const ext of ['parquet', 'csv', 'arrow', 'arrows']) {
  test(`.${ext} input in several batches gives exactly the tables of a single-batch run (samples, interactions, model, ids)`, async (t) => {
    const dir = await tempDir(t);
    const fx = await fixture('xgb_multi_softprob');
    const input = await inputs(dir, 'xgb_multi_softprob', ext);
    const explainer = { interactions: true, id_column: 'key' };
    const single = await run(config(dir, input, 'single', { ...explainer, batch_rows: 1000 }, fx.modelPath));
    const streamed = await run(config(dir, input, 'streamed', { ...explainer, batch_rows: 7 }, fx.modelPath), { keepTables: true });
    t.is(single.rows.batches, 1);
    t.is(streamed.rows.batches, Math.ceil(fx.expected.rows / 7));
    t.deepEqual(streamed.rows, { inputs: 50, samples: 150, interactions: 750, batches: 8 });
    // the returned tables
    t.true(single.tablesKept && streamed.tablesKept);
    t.deepEqual(contents(streamed.samplesExplanations!), contents(single.samplesExplanations!));
    t.deepEqual(contents(streamed.interactions!), contents(single.interactions!));
    t.deepEqual(contents(streamed.modelsExplanations), contents(single.modelsExplanations));
    t.deepEqual(contents(streamed.inputs!), contents(single.inputs!));
    t.deepEqual(streamed.featureColumns!.map((c) => [...c]), single.featureColumns!.map((c) => [...c]));
    t.deepEqual([...streamed.ids!.vector], [...single.ids!.vector]);
    // against the library that trained the model
    t.is(samplesMismatch(streamed.samplesExplanations!, fx), undefined);
    t.is(interactionsMismatch(streamed.interactions!, fx), undefined);
    // the files
    for (const name of ['samples.parquet', 'interactions.arrows', 'models.parquet']) {
      const a = await readerForPath(join(dir, 'single', name)).read();
      const b = await readerForPath(join(dir, 'streamed', name)).read();
      t.deepEqual(contents(b), contents(a), name);
    }
    t.deepEqual([...(await readerForPath(join(dir, 'streamed', 'samples.parquet')).read()).getChild('key')!].slice(0, 4), ['k0', 'k0', 'k0', 'k1']);
  });
}

test('kernel and tree-interventional: streamed batches give the single-batch tables', async (t) => {
  const dir = await tempDir(t);
  const fx = await fixture('xgb_reg_nan');
  for (const algorithm of ['tree-interventional', 'kernel'] as const) {
    const explainer = { algorithm, nsamples: 300, background: { KIND: 'CsvReader' as const, path: fx.inputsPath, limit: 8 } };
    const cfg = (out: string, batch_rows: number) => ({
      ...config(dir, fx.inputsPath, out, { ...explainer, batch_rows }, fx.modelPath),
      interactions_explanations: undefined,
    });
    const single = await run(cfg(`${algorithm}-single`, 1000));
    const streamed = await run(cfg(`${algorithm}-streamed`, 9));
    t.is(streamed.rows.batches, Math.ceil(fx.expected.rows / 9), algorithm);
    t.deepEqual(contents(streamed.samplesExplanations!), contents(single.samplesExplanations!), algorithm);
  }
});

test('keepTables: the whole tables only for small runs; the files and counts either way', async (t) => {
  const dir = await tempDir(t);
  const fx = await fixture('xgb_reg_nan'); // 60 rows
  const cfg = (out: string) => ({ ...config(dir, fx.inputsPath, out, { batch_rows: 16 }, fx.modelPath), interactions_explanations: undefined });
  const small = await run(cfg('default'));
  t.true(small.tablesKept);
  t.is(small.samplesExplanations!.numRows, 60);
  const over = await run(cfg('over'), { keepTables: 59 });
  const never = await run(cfg('never'), { keepTables: false });
  for (const out of [over, never]) {
    t.false(out.tablesKept);
    t.is(out.inputs, undefined);
    t.is(out.featureColumns, undefined);
    t.is(out.samplesExplanations, undefined);
    t.is(out.interactions, undefined);
    t.deepEqual(out.rows, { inputs: 60, samples: 60, batches: 4 });
    t.is(out.samples.rows, 60);
    t.is(out.modelsExplanations.numRows, fx.model.numFeatures);
    t.deepEqual([...out.samples.meanAbsShap], [...small.samples.meanAbsShap]);
  }
  const written = await readerForPath(join(dir, 'never', 'samples.parquet')).read();
  t.deepEqual(contents(written), contents(small.samplesExplanations!));
  t.is(samplesMismatch(written, fx), undefined);
  const exact = await run(cfg('exact'), { keepTables: 60 });
  t.true(exact.tablesKept);
  await t.throwsAsync(run(cfg('bad'), { keepTables: -1 }), { message: /keepTables must be a boolean or a number of rows >= 0/ });
});

test('text in a numeric CSV column in the 3rd batch: the error names column, file and line; no output file, an existing one untouched', async (t) => {
  const dir = await tempDir(t);
  const fx = await fixture('xgb_reg_nan');
  const lines = (await readFile(fx.inputsPath, 'utf8')).trimEnd().split('\n');
  const header = lines[0].split(',');
  const col = header.indexOf(fx.model.featureNames[1]);
  // data row 17 (line 19) is in the 3rd batch of 7
  const cells = lines[18].split(',');
  cells[col] = 'oops';
  lines[18] = cells.join(',');
  const input = join(dir, 'late.csv');
  await writeFile(input, `${lines.join('\n')}\n`);
  const cfg = config(dir, input, 'out', { batch_rows: 7 }, fx.modelPath);
  delete cfg.interactions_explanations;
  const samples = join(dir, 'out', 'samples.parquet');
  let batches = 0;
  await t.throwsAsync(run(cfg, { onProgress: () => batches++ }), {
    message: `${input} line 19: column \`${header[col]}\` holds "oops", not a number (its type was inferred from the first 7 rows)`,
  });
  t.true(batches > 0, 'two batches were explained before the failure');
  // no output, no temporary: only the checkpoint of the two batches done, for a rerun to resume from
  t.deepEqual(await readdir(join(dir, 'out')), ['.samples.parquet.checkpoint']);
  // an output from an earlier run stays as it was
  await writeFile(samples, 'an earlier output');
  await t.throwsAsync(run(cfg), { message: /line 19/ });
  t.deepEqual((await readdir(join(dir, 'out'))).sort(), ['.samples.parquet.checkpoint', 'samples.parquet']);
  t.is(await readFile(samples, 'utf8'), 'an earlier output');
});

test('abort after the first batches: AbortError, no output, no temporary (only the checkpoint a rerun resumes from)', async (t) => {
  const dir = await tempDir(t);
  const fx = await fixture('xgb_reg_nan');
  const input = await inputs(dir, 'xgb_reg_nan', 'parquet');
  const controller = new AbortController();
  const cfg = config(dir, input, 'out', { batch_rows: 5, interactions: true }, fx.modelPath);
  let calls = 0;
  await t.throwsAsync(
    run(cfg, {
      signal: controller.signal,
      onProgress: (done) => {
        calls++;
        if (done >= 20) controller.abort();
      },
    }),
    { name: 'AbortError' },
  );
  t.true(calls > 0);
  const left = existsSync(join(dir, 'out')) ? await readdir(join(dir, 'out')) : [];
  t.deepEqual(
    left.filter((n) => n !== '.samples.parquet.checkpoint'),
    [],
  );
});

test('progress: with a row count unknown up front (CSV) the total stays ahead until the end; timings cover every step', async (t) => {
  const dir = await tempDir(t);
  const fx = await fixture('xgb_reg_nan');
  const seen: [number, number][] = [];
  const cfg = { ...config(dir, fx.inputsPath, 'out', { batch_rows: 16 }, fx.modelPath), interactions_explanations: undefined };
  const out = await run(cfg, { onProgress: (done, total) => seen.push([done, total]) });
  for (const [done, total] of seen.slice(0, -1)) t.true(done < total, `${done} < ${total}`);
  t.deepEqual(seen[seen.length - 1], [60, 60]);
  // with Parquet the total is known from the start
  const parquet = await inputs(dir, 'xgb_reg_nan', 'parquet');
  const known: number[] = [];
  await run({ ...cfg, inputs_samples: readerConfig(parquet), samples_explanations: { KIND: 'CsvWriter', path: join(dir, 'out2', 's.csv') }, models_explanations: undefined }, {
    onProgress: (_done, total) => known.push(total),
  });
  t.deepEqual([...new Set(known)], [60]);
  t.deepEqual(Object.keys(out.timings).sort(), ['explainModel', 'explainSamples', 'load', 'notify', 'read', 'total', 'validate', 'write']);
  for (const v of Object.values(out.timings)) t.true(v >= 0);
});

test('an input without rows: outputs with the full schema and no rows, a warning, tables returned empty', async (t) => {
  const dir = await tempDir(t);
  const fx = await fixture('xgb_multi_softprob');
  const header = (await readFile(fx.inputsPath, 'utf8')).split('\n')[0];
  const input = join(dir, 'none.csv');
  await writeFile(input, `${header}\n`);
  const out = await run(config(dir, input, 'out', { interactions: true, batch_rows: 4 }, fx.modelPath));
  t.deepEqual(out.rows, { inputs: 0, samples: 0, interactions: 0, batches: 1 });
  t.true(out.tablesKept);
  t.is(out.samplesExplanations!.numRows, 0);
  for (const name of ['samples.parquet', 'interactions.arrows', 'models.parquet']) {
    const back = await readerForPath(join(dir, 'out', name)).read();
    t.is(back.numRows, name === 'models.parquet' ? fx.model.numFeatures : 0, name);
  }
  const samples = await readerForPath(join(dir, 'out', 'samples.parquet')).read();
  t.deepEqual(samples.schema.fields.map((f) => f.name), ['row', 'output', ...fx.model.featureNames, 'base_value']);
});

test('the documented streaming snippet (SamplesExplainer over reader.batches into writer.open) gives the job table', async (t) => {
  const { SamplesExplainer, featureColumns, readerForPath: read, writerForPath: write } = await import('../../ts/index.ts');
  const dir = await tempDir(t);
  const fx = await fixture('xgb_multi_softprob');
  const model = fx.model;
  const explainer = new SamplesExplainer(model, { threads: 0 });
  const output = await write(join(dir, 'samples.parquet')).open(explainer.samplesSchema());
  for await (const batch of read(fx.inputsPath).batches({ batchRows: 16 })) {
    const { samples } = await explainer.explainBatch(featureColumns(batch, model.featureNames));
    await output.write(samples);
  }
  await output.close();
  const table = await read(join(dir, 'samples.parquet')).read();
  t.is(samplesMismatch(table, fx), undefined);
  t.is(explainer.summary().batches, 4);
});
