/**
 * Path-dependent rows per CPU-second, for the physical-limit estimate in benches/README.md:
 * on a machine shared with other processes, wall-clock rows/s measure the share of the cores
 * this process got, while rows per CPU-second (user + system time of this process, all its
 * threads) measure the kernel itself, to set against one core's peak (benches/peak.c).
 *
 *   npx tsx benches/path_cpu.ts CASE_DIR [--rows N] [--threads N] [--repeat N]
 *
 * CASE_DIR is a case of benches/make_cases.py (model.json, X.f64, meta.json), e.g.
 * benches/out/cases/xgb_d8 (500 trees, depth 8, 32 features). Two modes, each after one
 * untimed warm-up call:
 * - `batch`: `TreeModel.shapPathDependent` on the first N rows (default all), `--threads`
 *   worker threads (default 2), best of `--repeat` calls (default 3);
 * - `row`: `TreeModel.explainRowSync` one row per call on this thread, over the same rows
 *   (at most 2,000), once.
 * Prints one JSON line per mode: rows, wall seconds, CPU seconds, rows/s and rows per CPU-second.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TreeModel } from '../ts/native/tree_model.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { rows: { type: 'string' }, threads: { type: 'string', default: '2' }, repeat: { type: 'string', default: '3' } },
});
if (positionals.length !== 1) throw new Error('usage: npx tsx benches/path_cpu.ts CASE_DIR [--rows N] [--threads N] [--repeat N]');
const dir = positionals[0];
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
const rows = Math.min(meta.rows, Number(values.rows ?? meta.rows));
const threads = Number(values.threads);
const repeat = Number(values.repeat);
for (const [name, v] of [['--rows', rows], ['--threads', threads], ['--repeat', repeat]] as const) {
  if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${name} must be a positive integer`);
}
const buf = readFileSync(join(dir, 'X.f64'));
const all = new Float64Array(buf.buffer, buf.byteOffset, meta.rows * meta.features);
const cols = Array.from({ length: meta.features }, (_, j) => all.subarray(j * meta.rows, j * meta.rows + rows));
const model = TreeModel.fromFile(join(dir, 'model.json')).prepare();

/** Wall and CPU seconds of one call of `f`. */
async function timed(f: () => unknown): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

const report = (mode: string, n: number, t: { wall: number; cpu: number }, extra: object) =>
  console.log(JSON.stringify({ mode, rows: n, ...extra, wall_s: t.wall, cpu_s: t.cpu, rows_per_s: n / t.wall, rows_per_cpu_s: n / t.cpu }));

await model.shapPathDependent(cols.map((c) => c.subarray(0, 256)), { threads });
let best: { wall: number; cpu: number } | undefined;
for (let i = 0; i < repeat; i++) {
  const t = await timed(() => model.shapPathDependent(cols, { threads }));
  if (!best || t.cpu < best.cpu) best = t;
}
report('batch', rows, best!, { threads });

const n = Math.min(rows, 2000);
const row = new Float64Array(meta.features);
const fill = (r: number) => {
  for (let j = 0; j < meta.features; j++) row[j] = cols[j][r];
};
for (let r = 0; r < Math.min(n, 20); r++) {
  fill(r);
  model.explainRowSync(row);
}
report('row', n, await timed(() => {
  for (let r = 0; r < n; r++) {
    fill(r);
    model.explainRowSync(row);
  }
}), { threads: 1 });
