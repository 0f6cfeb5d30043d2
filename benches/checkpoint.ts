/**
 * What resume costs (issue #14): one run with and one without the per-batch
 * checkpoint, in the same process, REPS times alternating; then a run
 * interrupted once its checkpoint records all batches but the last, resumed, and
 * its samples file compared with the uninterrupted run's.
 *
 *   npx tsx benches/checkpoint.ts [--groups 8] [--rows-per-group 65536] [--threads 2] [--reps 3]
 *
 * - Data: the diabetes example rows, scaled per row (tests/shard/_dataset.ts), one
 *   Parquet file of GROUPS row groups × ROWS-PER-GROUP rows; one batch per row group.
 * - Model: examples/models/diabetes.ubj (a cheap model: the checkpoint's share of the
 *   run is at its largest), tree-path-dependent, Parquet outputs.
 * - `save_s`: the time spent in `Checkpoint.save` (overlapping the next batch's
 *   compute), `write_s`: the job's own wait on writes (outputs and checkpoints).
 *
 * Prints one JSON line per run.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExplanationsJobConfigInput } from '../ts/config/job.ts';
import { Checkpoint } from '../ts/jobs/checkpoint.ts';
import { ExplanationsJob, type ExplanationsJobOptions } from '../ts/jobs/explanations.ts';
import { DIABETES_MODEL, writeDataset } from '../tests/shard/_dataset.ts';

const { values: args } = parseArgs({
  options: {
    groups: { type: 'string', default: '8' },
    'rows-per-group': { type: 'string', default: '65536' },
    threads: { type: 'string', default: '2' },
    reps: { type: 'string', default: '3' },
  },
});
const groups = Number(args.groups);
const rowsPerGroup = Number(args['rows-per-group']);

let saveMs = 0;
const save = Checkpoint.prototype.save;
Checkpoint.prototype.save = async function (...a: Parameters<typeof save>) {
  const t0 = performance.now();
  try {
    return await save.apply(this, a);
  } finally {
    saveMs += performance.now() - t0;
  }
};

const dir = await mkdtemp(join(tmpdir(), 'arrowshap-bench-checkpoint-'));
const data = join(dir, 'data');
await writeDataset(data, { files: 1, rowGroups: groups, rowsPerGroup });
const config = (out: string): ExplanationsJobConfigInput =>
  ({
    KIND: 'ExplanationsJob',
    inputs_samples: { KIND: 'ParquetReader', path: data },
    samples_explanations: { KIND: 'ParquetWriter', path: join(dir, out, 'samples.parquet') },
    models_explanations: { KIND: 'ParquetWriter', path: join(dir, out, 'models.parquet') },
    registry: { KIND: 'FileRegistry', path: DIABETES_MODEL },
    explainer: { batch_rows: rowsPerGroup, threads: Number(args.threads) },
    logger: { level: 'error' },
  }) as ExplanationsJobConfigInput;
const silent = { async notify() {}, describe: () => 'silent' };
const s = (ms: number) => Number((ms / 1000).toFixed(3));

async function timed(out: string, options: ExplanationsJobOptions) {
  saveMs = 0;
  const t0 = performance.now();
  const result = await new ExplanationsJob(config(out), { alerts: silent, keepTables: false, ...options }).execute();
  return { ms: performance.now() - t0, result };
}

try {
  for (let rep = 0; rep < Number(args.reps); rep++) {
    for (const checkpoint of [false, true]) {
      const { ms, result } = await timed(`run-${rep}-${checkpoint}`, { checkpoint });
      const t = result.timings;
      console.log(
        JSON.stringify({ rows: result.rows.inputs, batches: result.rows.batches, checkpoint, total_s: s(ms), compute_s: s(t.explainSamples), write_s: s(t.write), save_s: s(saveMs) }),
      );
    }
  }
  // resume: interrupted once all batches but the last are recorded
  const controller = new AbortController();
  const record = join(dir, 'resumed', '.samples.parquet.checkpoint', 'checkpoint.json');
  const poll = setInterval(() => {
    try {
      if ((JSON.parse(readFileSync(record, 'utf8')) as { input_rows: number[] }).input_rows.length >= groups - 1) controller.abort();
    } catch {
      // not written yet
    }
  }, 1);
  await timed('resumed', { signal: controller.signal }).catch(() => undefined);
  clearInterval(poll);
  const { ms, result } = await timed('resumed', {});
  const same = readFileSync(join(dir, 'resumed', 'samples.parquet')).equals(readFileSync(join(dir, 'run-0-true', 'samples.parquet')));
  console.log(JSON.stringify({ resumed_after_batches: groups - 1, of: result.rows.batches, total_s: s(ms), compute_s: s(result.timings.explainSamples), same_bytes: same }));
} finally {
  await rm(dir, { recursive: true, force: true });
}
