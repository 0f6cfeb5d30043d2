/**
 * Sharded runs on one machine: throughput of 1, 2 and 4 shards run as
 * separate `arrowshap run --shard I/N` processes at once (then `arrowshap
 * merge`), against one unsharded run of the same config in the same session,
 * and the bytes each shard read (every footer + its own row groups).
 *
 *   npm run build:dist && npx tsx benches/shards.ts [--rows-per-group N] [--files N] [--groups N] [--threads N]
 *     [--algorithm tree-interventional|tree-path-dependent] [--out DIR]
 *
 * - Data: the diabetes example rows, scaled per row (tests/shard/_dataset.ts), as
 *   FILES Parquet files × GROUPS row groups × ROWS-PER-GROUP rows (default 4 × 4 ×
 *   25,000 = 400k rows), in OUT/shards/data (reused).
 * - Model: examples/models/diabetes.ubj (XGBoost), `explainer.threads` = --threads (1
 *   per shard: 4 shards on a 2-core machine already oversubscribe it); the algorithm is
 *   `tree-interventional` against the first 100 rows by default, so that the compute,
 *   not the process start (about a second each), dominates a run of this small model.
 * - The CLI is the compiled one (`bin/arrowshap.js`, dist/) when built, else ts/ through tsx.
 * - Each configuration runs its processes at once and waits for all, then the merge;
 *   wall time is from the first start to the end of the merge.
 *
 * Prints a table and writes OUT/shards.json.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readerForPath } from '../ts/io/datasets/reader.ts';
import { writerForPath } from '../ts/io/datasets/writer.ts';
import { readSummary, summaryPath } from '../ts/shard/summary.ts';
import { DIABETES_MODEL, writeDataset } from '../tests/shard/_dataset.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const out = arg('out', join(ROOT, 'benches', 'out'));
const files = Number(arg('files', '4'));
const groups = Number(arg('groups', '4'));
const perGroup = Number(arg('rows-per-group', '25000'));
const threads = Number(arg('threads', '1'));
const algorithm = arg('algorithm', 'tree-interventional');
const CLI = existsSync(join(ROOT, 'dist', 'esm', 'cli.js')) ? [join(ROOT, 'bin', 'arrowshap.js')] : ['--import', import.meta.resolve('tsx'), join(ROOT, 'ts', 'cli.ts')];

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`arrowshap ${args.join(' ')}: exit ${code}\n${err}`))));
  });
}

const base = join(out, 'shards');
const data = join(base, 'data');
const rows = files * groups * perGroup;
const shape = JSON.stringify({ files, groups, perGroup });
if (!existsSync(join(data, 'shape.json')) || readFileSync(join(data, 'shape.json'), 'utf8') !== shape) {
  rmSync(base, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  await writeDataset(data, { files, rowGroups: groups, rowsPerGroup: perGroup });
  writeFileSync(join(data, 'shape.json'), shape);
}
const background = join(base, 'background.parquet');
if (!existsSync(background)) {
  const first = await readerForPath(join(data, 'inputs-000.parquet'), 100).read();
  await writerForPath(background).write(first);
}
const inputBytes = Array.from({ length: files }, (_, f) => statSync(join(data, `inputs-${String(f).padStart(3, '0')}.parquet`)).size).reduce((a, b) => a + b, 0);

function config(name: string, sharded: boolean): string {
  const dir = join(base, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'job.json');
  writeFileSync(
    path,
    JSON.stringify({
      job: {
        KIND: 'ExplanationsJob',
        inputs_samples: { KIND: 'ParquetReader', path: data },
        samples_explanations: { KIND: 'ParquetWriter', path: join(dir, sharded ? 'samples' : 'samples.parquet') },
        models_explanations: { KIND: 'ParquetWriter', path: join(dir, 'models.parquet') },
        registry: { KIND: 'FileRegistry', path: DIABETES_MODEL },
        explainer: { threads, batch_rows: perGroup, algorithm, ...(algorithm === 'tree-interventional' ? { background: { KIND: 'ParquetReader', path: background } } : {}) },
        alerts: { KIND: 'ConsoleAlerts' },
        logger: { level: 'warn' },
      },
    }),
  );
  return path;
}

const results: Record<string, unknown>[] = [];
{
  const cfg = config('single', false);
  const t0 = performance.now();
  await run(['run', cfg]);
  const s = (performance.now() - t0) / 1000;
  results.push({ shards: 'unsharded', seconds: s, rows_per_s: rows / s });
}
for (const n of [1, 2, 4]) {
  const cfg = config(`n${n}`, true);
  const t0 = performance.now();
  await Promise.all([...Array(n).keys()].map((i) => run(['run', cfg, '--shard', `${i}/${n}`])));
  const shardsDone = (performance.now() - t0) / 1000;
  await run(['merge', cfg]);
  const s = (performance.now() - t0) / 1000;
  const bytes = [];
  for (let i = 0; i < n; i++) bytes.push((await readSummary(summaryPath(join(base, `n${n}`, 'samples'), { index: i, count: n }))).input.bytes_read);
  results.push({ shards: n, seconds: s, shards_seconds: shardsDone, rows_per_s: rows / s, bytes_read: bytes });
}
const single = results[0].rows_per_s as number;
console.log(`${rows} rows (${files} files × ${groups} row groups × ${perGroup}), input ${inputBytes} bytes, ${algorithm}, ${threads} thread(s) per process`);
console.log('| shards | wall s (incl. merge) | rows/s | × unsharded | bytes read per shard (% of input) |');
console.log('|---|---|---|---|---|');
for (const r of results) {
  const b = (r.bytes_read as number[] | undefined)?.map((x) => `${x} (${((100 * x) / inputBytes).toFixed(1)}%)`).join(', ') ?? '-';
  console.log(`| ${r.shards} | ${(r.seconds as number).toFixed(2)} | ${Math.round(r.rows_per_s as number)} | ${((r.rows_per_s as number) / single).toFixed(2)} | ${b} |`);
}
writeFileSync(join(out, 'shards.json'), JSON.stringify({ rows, files, groups, rows_per_group: perGroup, threads, algorithm, input_bytes: inputBytes, results }, null, 2));
