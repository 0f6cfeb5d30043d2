/**
 * One arrowshap background (interventional) run in its own process, for the benchmark's
 * large-background case: a warm-up call on a few rows, then one timed call (background
 * preparation + explanation); prints `{seconds, maxRssKb}` as JSON. The peak RSS covers the
 * whole process, including the case's input columns (rows and background as float64).
 *
 * Usage: npx tsx benches/alone.ts CASE_DIR ROWS THREADS
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TreeModel } from '../ts/native/tree_model.ts';

const [dir, rowsArg, threadsArg] = process.argv.slice(2);
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
const cols = (file: string, rows: number): Float64Array[] => {
  const buf = readFileSync(join(dir, file));
  const all = new Float64Array(buf.buffer, buf.byteOffset, rows * meta.features);
  return Array.from({ length: meta.features }, (_, j) => all.subarray(j * rows, (j + 1) * rows));
};
const rows = Number(rowsArg);
const X = cols('X.f64', meta.rows).map((c) => c.subarray(0, rows));
const bg = cols('bg.f64', meta.bg_rows);
const model = TreeModel.fromFile(join(dir, 'model.json'));
const opts = { threads: Number(threadsArg) };
await model.shapInterventional(X.map((c) => c.subarray(0, 1)), bg.map((c) => c.subarray(0, 100)), opts);
const t = performance.now();
await model.shapInterventional(X, bg, opts);
const seconds = (performance.now() - t) / 1000;
console.log(JSON.stringify({ seconds, maxRssKb: process.resourceUsage().maxRSS }));
