/**
 * The seed's scikit-learn pipeline against shap.TreeExplainer, in the same run:
 *
 *     npm run bench:sklearn [-- --rows 10000 --peer-rows 200 --train-rows 10000 --trees 200 --depth 20 --threads 0]
 *
 * benches/sklearn_peer.py trains the pipeline (one-hot + passthrough → RandomForestRegressor,
 * 200 trees of depth 20 by default, as the seed), saves it with skops and times
 * `shap.TreeExplainer(forest).shap_values(pipeline[:-1].transform(rows))` on the first
 * `--peer-rows` rows (all by default; its time is linear in rows, and is scaled to all the
 * rows for the ratio — at the seed's full size shap needs hours); then arrowshap
 * explains the same raw rows from the same `model.skops` (preprocessing included, best of
 * `--repeat` runs), and the bench prints both times, the ratio and the largest difference
 * from shap's values (which must stay within 1e-6 relative).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { explainSamples } from '../ts/core/explainers.ts';
import { modelColumns } from '../ts/core/pipeline/columns.ts';
import { readerForPath } from '../ts/io/datasets/reader.ts';
import { TreeModel } from '../ts/native/tree_model.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    'peer-rows': { type: 'string', default: '0' },
    'train-rows': { type: 'string', default: '10000' },
    trees: { type: 'string', default: '200' },
    depth: { type: 'string', default: '20' },
    threads: { type: 'string', default: '0' },
    repeat: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
});

const dir = mkdtempSync(join(tmpdir(), 'arrowshap-bench-sklearn-'));
try {
  const args = ['--rows', opts.rows!, '--peer-rows', opts['peer-rows']!, '--train-rows', opts['train-rows']!, '--trees', opts.trees!, '--depth', opts.depth!];
  console.log(`training the seed pipeline (${opts.trees} trees, depth ${opts.depth}, ${opts['train-rows']} rows) and timing shap.TreeExplainer on ${Number(opts['peer-rows']) || opts.rows} rows…`);
  const peer = spawnSync(join(root, '.venv', 'bin', 'python'), [join(root, 'benches', 'sklearn_peer.py'), dir, ...args], { stdio: 'inherit' });
  if (peer.status !== 0) throw new Error(`benches/sklearn_peer.py failed (exit ${peer.status})`);
  const info = JSON.parse(readFileSync(join(dir, 'peer.json'), 'utf8')) as { seconds: number; rows: number; peer_rows: number; features: number; leaves: number; max_depth: number; versions: Record<string, string> };
  const shapBytes = readFileSync(join(dir, 'shap.f64'));
  const reference = new Float64Array(shapBytes.buffer, shapBytes.byteOffset, shapBytes.byteLength / 8);

  const model = TreeModel.fromFile(join(dir, 'model.skops'));
  const table = await readerForPath(join(dir, 'inputs.parquet')).read();
  const threads = Number(opts.threads);
  let best = Infinity;
  let values: Float64Array | undefined;
  for (let i = 0; i < Number(opts.repeat); i++) {
    const t0 = performance.now();
    const columns = modelColumns(model, table, { source: 'inputs.parquet' });
    const { table: out } = await explainSamples(model, columns, { threads });
    best = Math.min(best, (performance.now() - t0) / 1000);
    values ??= Float64Array.from({ length: info.peer_rows * info.features }, (_, k) => Number(out.getChild(model.featureNames[k % info.features])!.get(Math.floor(k / info.features))));
  }
  let worst = 0;
  for (let k = 0; k < reference.length; k++) worst = Math.max(worst, Math.abs(values![k] - reference[k]) / Math.max(1, Math.abs(reference[k])));
  const cores = threads || (await import('node:os')).availableParallelism();
  console.log(`model: ${opts.trees} trees, ${info.leaves} leaves, max depth ${info.max_depth}, ${info.features} features; ${info.rows} rows; shap ${info.versions.shap}, scikit-learn ${info.versions.sklearn}`);
  const shapAll = (info.seconds * info.rows) / info.peer_rows;
  const scaled = info.peer_rows < info.rows ? ` on ${info.peer_rows} rows → ${shapAll.toFixed(1)} s for ${info.rows} rows (linear)` : '';
  console.log(`shap.TreeExplainer (transform + shap_values): ${info.seconds.toFixed(2)} s${scaled}`);
  console.log(`arrowshap (transform + SHAP of ${info.rows} rows, ${cores} threads, best of ${opts.repeat}): ${best.toFixed(3)} s`);
  console.log(`ratio: ${(shapAll / best).toFixed(1)}× faster; max relative difference from shap ${worst.toExponential(2)} (on the ${info.peer_rows} rows both explained)`);
  if (!(worst <= 1e-6)) {
    console.error('arrowshap differs from shap by more than 1e-6');
    process.exitCode = 1;
  }
} finally {
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
