/**
 * Resume (issue #14): a run killed at any moment and run again with the same
 * config continues after its last completed batch and publishes the bytes an
 * uninterrupted run publishes — Parquet, CSV and Arrow IPC outputs, the model
 * table's mean |SHAP| included. `--restart` (`restart`) discards the
 * checkpoint; another config, model or input starts over, saying which changed;
 * a killed shard resumes too.
 *
 * The CLI specs SIGKILL `arrowshap run` (spawned from the TypeScript source) at
 * seeded random moments after its first checkpoint, twice per seed, then let a
 * third run finish. The in-process specs interrupt the job through its
 * AbortSignal once the checkpoint records a few batches.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ExplanationsJobConfigInput } from '../../ts/config/job.ts';
import { LocalRegistry } from '../../ts/io/registries/registry.ts';
import { ExplanationsJob } from '../../ts/jobs/explanations.ts';
import type { ExplanationsJobOptions } from '../../ts/jobs/explanations_types.ts';
import { ShardedExplanationsJob } from '../../ts/shard/job.ts';
import { ROOT } from '../core/_fixtures.ts';
import { RecordingAlerts } from '../helpers/alerts.ts';
import { tempDir } from '../helpers/tmp.ts';
import { DIABETES_MODEL, writeDataset } from '../shard/_dataset.ts';

const CLI = ['--import', import.meta.resolve('tsx'), join(ROOT, 'ts', 'cli.ts')];

/** 2 files × 4 row groups × 400 rows = 3,200 rows; batches of 80 rows: 40 batches. */
const SHAPE = { files: 2, rowGroups: 4, rowsPerGroup: 400 };
const BATCH_ROWS = 80;

type Format = 'parquet' | 'csv';

/** A dataset, a registry (diabetes model, `Champion` = v1) and a config writing to `out/`. */
async function setup(t: ExecutionContext, format: Format, extra: { interactions?: boolean } = {}) {
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  await writeDataset(data, SHAPE);
  const registry = join(dir, 'registry');
  await new LocalRegistry({ path: registry, name: 'm' }).register(DIABETES_MODEL, { alias: 'Champion' });
  const config = (out: string): ExplanationsJobConfigInput =>
    ({
      KIND: 'ExplanationsJob',
      inputs_samples: { KIND: 'ParquetReader', path: data },
      samples_explanations: format === 'parquet' ? { KIND: 'ParquetWriter', path: join(dir, out, 'samples.parquet') } : { KIND: 'CsvWriter', path: join(dir, out, 'samples.csv') },
      models_explanations: format === 'parquet' ? { KIND: 'CsvWriter', path: join(dir, out, 'models.csv') } : { KIND: 'ParquetWriter', path: join(dir, out, 'models.parquet') },
      ...(extra.interactions ? { interactions_explanations: { KIND: 'ArrowWriter', path: join(dir, out, 'interactions.arrow') } } : {}),
      registry: { KIND: 'LocalRegistry', path: registry, name: 'm' },
      explainer: { batch_rows: BATCH_ROWS, threads: 1, id_column: 'id', ...(extra.interactions ? { interactions: true } : {}) },
      alerts: { KIND: 'ConsoleAlerts' },
      logger: { level: 'info' },
    }) as ExplanationsJobConfigInput;
  const samplesName = `samples.${format}`;
  return { dir, data, registry, config, samplesName, checkpoint: (out: string) => join(dir, out, `.${samplesName}.checkpoint`) };
}

/** The bytes of every file in `dir` (hidden ones included), by name. */
async function filesOf(dir: string): Promise<Record<string, Buffer>> {
  const names = (await readdir(dir)).sort();
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n))] as const)));
}

/** Asserts `dir` holds exactly the files of `reference`, byte for byte (no checkpoint, no temporary left). */
async function assertSameFiles(t: ExecutionContext, dir: string, reference: string): Promise<void> {
  const [got, want] = await Promise.all([filesOf(dir), filesOf(reference)]);
  t.deepEqual(Object.keys(got), Object.keys(want));
  for (const name of Object.keys(want)) t.true(got[name]?.equals(want[name]), `${name} differs from the uninterrupted run's`);
}

/** Runs the job in this process; returns its log text. */
async function runJob(config: ExplanationsJobConfigInput, options: ExplanationsJobOptions = {}, Kind = ExplanationsJob) {
  const logs = new PassThrough();
  let text = '';
  logs.on('data', (b: Buffer) => (text += b.toString()));
  const job = new Kind(config, { alerts: new RecordingAlerts(), loggerOptions: { stream: logs, colors: false }, keepTables: false, ...options });
  const out = await job.execute();
  return { out, logs: text };
}

/** Batches the checkpoint of `dir` records (0 when there is none yet). */
function batchesIn(checkpointDir: string): number {
  try {
    return (JSON.parse(readFileSync(join(checkpointDir, 'checkpoint.json'), 'utf8')) as { input_rows: number[] }).input_rows.length;
  } catch {
    return 0;
  }
}

/** Runs the job and interrupts it (its AbortSignal) once its checkpoint records `batches` batches. */
async function interruptAfter(t: ExecutionContext, config: ExplanationsJobConfigInput, checkpointDir: string, batches: number, Kind = ExplanationsJob) {
  const controller = new AbortController();
  const poll = setInterval(() => {
    if (batchesIn(checkpointDir) >= batches) controller.abort(new Error('test interrupt'));
  }, 1);
  try {
    await t.throwsAsync(runJob(config, { signal: controller.signal }, Kind), { name: 'AbortError' });
  } finally {
    clearInterval(poll);
  }
  const kept = batchesIn(checkpointDir);
  t.true(kept >= batches && kept < 40, `the checkpoint records ${kept} batches`);
  return kept;
}

/** mulberry32: a small seeded generator for the kill moments. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs `arrowshap run CONFIG [args]`; with `kill`, sends SIGKILL `kill.delayMs`
 * after the checkpoint in `kill.checkpointDir` records `kill.batches` batches
 * (polled every 2 ms): anywhere in a batch, its write or its checkpoint.
 */
function cli(args: string[], opts: { kill?: { checkpointDir: string; batches: number; delayMs: number } } = {}): Promise<CliRun> {
  const kill = opts.kill;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.resume();
    let poll: NodeJS.Timeout | undefined;
    if (kill) {
      poll = setInterval(() => {
        if (batchesIn(kill.checkpointDir) >= kill.batches) {
          clearInterval(poll);
          setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
        }
      }, 2);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal, stderr });
    });
  });
}

for (const [format, seeds] of [
  ['parquet', [1, 2, 3]],
  ['csv', [4, 5]],
] as const) {
  test(`SIGKILL at random moments, rerun: ${format} outputs byte-identical to an uninterrupted run (seeds ${seeds.join(', ')})`, async (t) => {
    t.timeout(240_000);
    const { dir, config, checkpoint } = await setup(t, format, { interactions: format === 'parquet' });
    await runJob(config('reference'));
    let resumed = 0;
    let killed = 0;
    for (const seed of seeds) {
      const out = `seed-${seed}`;
      const file = join(dir, `${out}.json`);
      await writeFile(file, JSON.stringify({ job: config(out) }));
      const rand = random(seed);
      for (let kill = 0; kill < 2; kill++) {
        const before = batchesIn(checkpoint(out));
        // once this run has done 1 to ~half of the batches left, plus 0-50 ms
        const batches = before + 1 + Math.floor((rand() * (40 - before)) / 2);
        const r = await cli(['run', file], { kill: { checkpointDir: checkpoint(out), batches, delayMs: Math.floor(rand() * 50) } });
        if (r.signal !== 'SIGKILL') {
          t.is(r.code, 0, r.stderr); // finished before the kill
          break;
        }
        killed++;
        t.true(batchesIn(checkpoint(out)) >= batches, 'a kill never loses a completed batch');
      }
      const kept = batchesIn(checkpoint(out));
      const r = await cli(['run', file]);
      t.is(r.code, 0, r.stderr);
      if (kept > 0) {
        resumed++;
        t.regex(r.stderr, new RegExp(`resuming from batch ${kept + 1}: batches 1\\.\\.${kept} \\(${kept * BATCH_ROWS} of 3200 rows\\)`));
      }
      await assertSameFiles(t, join(dir, out), join(dir, 'reference'));
    }
    t.true(killed >= seeds.length && resumed > 0, `${killed} kills, ${resumed} resumed runs`);
  });
}

test('interrupted, then run again: resumes after the last batch, same bytes, same mean |SHAP|; the checkpoint is removed', async (t) => {
  t.timeout(120_000);
  const { dir, config, checkpoint } = await setup(t, 'parquet');
  const reference = await runJob(config('reference'));
  const kept = await interruptAfter(t, config('out'), checkpoint('out'), 7);
  t.true(existsSync(join(checkpoint('out'), 'checkpoint.json')), 'an interrupted run keeps its checkpoint');
  const { out, logs } = await runJob(config('out'));
  t.regex(logs, new RegExp(`resuming from batch ${kept + 1}: batches 1\\.\\.${kept} \\(${kept * BATCH_ROWS} of 3200 rows\\) were done by an earlier run`));
  t.deepEqual(Array.from(out.samples.sumAbsShap), Array.from(reference.out.samples.sumAbsShap));
  t.is(out.samples.batches, reference.out.samples.batches);
  t.deepEqual(out.rows, reference.out.rows);
  t.false(existsSync(checkpoint('out')));
  await assertSameFiles(t, join(dir, 'out'), join(dir, 'reference'));
});

test('restart discards the checkpoint and starts from the first batch', async (t) => {
  t.timeout(120_000);
  const { dir, config, checkpoint } = await setup(t, 'csv');
  await runJob(config('reference'));
  await interruptAfter(t, config('out'), checkpoint('out'), 5);
  const { logs } = await runJob(config('out'), { restart: true });
  t.regex(logs, /checkpoint .*\.samples\.csv\.checkpoint discarded \(restart\): starting from the first batch/);
  t.notRegex(logs, /resuming/);
  await assertSameFiles(t, join(dir, 'out'), join(dir, 'reference'));
});

test('--restart on the command line starts over', async (t) => {
  t.timeout(120_000);
  const { dir, config, checkpoint } = await setup(t, 'parquet');
  await runJob(config('reference'));
  await interruptAfter(t, config('out'), checkpoint('out'), 3);
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ job: config('out') }));
  const r = await cli(['run', file, '--restart']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /discarded \(restart\)/);
  t.notRegex(r.stderr, /resuming/);
  await assertSameFiles(t, join(dir, 'out'), join(dir, 'reference'));
});

test('another config, model version or input starts over, saying what changed', async (t) => {
  t.timeout(180_000);
  const { dir, data, registry, config, checkpoint } = await setup(t, 'parquet');
  await runJob(config('reference'));
  const changes: [string, () => Promise<ExplanationsJobConfigInput>][] = [
    // the same version by number instead of by alias: the same model and output, another config
    ['the config', async () => ({ ...config('out'), alias_or_version: 1 })],
    [
      'the model',
      async () => {
        const reg = new LocalRegistry({ path: registry, name: 'm' });
        await reg.register(DIABETES_MODEL, { alias: 'Champion' }); // the same file as version 2
        return config('out');
      },
    ],
    [
      'the input files',
      async () => {
        const later = new Date(Date.now() + 60_000);
        await utimes(join(data, 'inputs-001.parquet'), later, later);
        return config('out');
      },
    ],
  ];
  for (const [what, change] of changes) {
    await interruptAfter(t, config('out'), checkpoint('out'), 4);
    const { logs } = await runJob(await change());
    t.regex(logs, new RegExp(`checkpoint .* set aside: ${what} changed since it was written; starting from the first batch`), what);
    t.notRegex(logs, /resuming/, what);
    await assertSameFiles(t, join(dir, 'out'), join(dir, 'reference'));
  }
});

test('a live run holding the checkpoint: a second run to the same outputs keeps none, and says so', async (t) => {
  t.timeout(60_000);
  const { config, checkpoint } = await setup(t, 'csv');
  await mkdir(checkpoint('out'), { recursive: true });
  // a live process other than this one (the job takes its own pid for a stale owner): the parent
  await writeFile(join(checkpoint('out'), 'owner'), String(process.ppid));
  const { logs } = await runJob(config('out'));
  t.regex(logs, new RegExp(`checkpoint .* is held by process ${process.ppid}, a run writing the same outputs: this run keeps no checkpoint`));
  t.deepEqual(await readdir(checkpoint('out')), ['owner'], "the holder's checkpoint is left alone");
});

test('a killed shard resumes: its part is byte-identical to an uninterrupted shard run', async (t) => {
  t.timeout(120_000);
  const { dir, data, registry } = await setup(t, 'parquet');
  const shardConfig = (out: string): ExplanationsJobConfigInput =>
    ({
      KIND: 'ExplanationsJob',
      inputs_samples: { KIND: 'ParquetReader', path: data },
      samples_explanations: { KIND: 'ParquetWriter', path: join(dir, out, 'samples') },
      registry: { KIND: 'LocalRegistry', path: registry, name: 'm' },
      explainer: { batch_rows: BATCH_ROWS, threads: 1, shard: '1/2' },
      logger: { level: 'info' },
    }) as ExplanationsJobConfigInput;
  await runJob(shardConfig('reference'), {}, ShardedExplanationsJob);
  const part = 'part-00001-of-00002.parquet';
  await interruptAfter(t, shardConfig('out'), join(dir, 'out', 'samples', `.${part}.checkpoint`), 6, ShardedExplanationsJob);
  const { logs } = await runJob(shardConfig('out'), {}, ShardedExplanationsJob);
  t.regex(logs, /resuming from batch \d+: batches 1\.\.\d+ \(\d+ of 1600 rows\)/);
  const [got, want] = await Promise.all([readFile(join(dir, 'out', 'samples', part)), readFile(join(dir, 'reference', 'samples', part))]);
  t.true(got.equals(want), 'the resumed part is the uninterrupted one');
  t.deepEqual((await readdir(join(dir, 'out', 'samples'))).sort(), ['_shards', part]);
});

test('a checkpoint that cannot be kept costs the resume, not the run: a warning, the same outputs', async (t) => {
  t.timeout(60_000);
  const { dir, config, checkpoint } = await setup(t, 'csv');
  await runJob(config('reference'));
  await mkdir(join(dir, 'out'), { recursive: true });
  await writeFile(checkpoint('out'), 'a file where the checkpoint directory goes');
  const { logs } = await runJob(config('out'));
  t.regex(logs, /no checkpoint \(.*\.samples\.csv\.checkpoint: .*\): this run cannot be resumed if interrupted/);
  t.is(await readFile(checkpoint('out'), 'utf8'), 'a file where the checkpoint directory goes');
  for (const name of ['samples.csv', 'models.parquet']) {
    t.true((await readFile(join(dir, 'out', name))).equals(await readFile(join(dir, 'reference', name))), name);
  }
});
