/**
 * KernelSHAP over the TS surface: JS function models (sync and async), a TF.js net
 * saved and loaded from disk, and tree models against interventional TreeSHAP.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasNativeAddon } from '../helpers/native.ts';
import { tempDir } from '../helpers/tmp.ts';
import { explainKernel, JsModel, loadTfjsModel, parseBackgroundSummary, type KernelShapResult } from '../../ts/kernel/explain_kernel.ts';
import { saveTfjsModel, tfjs } from '../../ts/kernel/tfjs.ts';
import { TreeModel } from '../../ts/native/tree_model.ts';

const native = hasNativeAddon ? test : test.skip;
const fixtures = join(import.meta.dirname, '..', 'fixtures');

/** A seeded generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `m` columns of `rows` values on a 0.1 grid. */
function columns(seed: number, rows: number, m: number): Float64Array[] {
  const r = rng(seed);
  return Array.from({ length: m }, () => Float64Array.from({ length: rows }, () => Math.floor(r() * 10) / 10));
}

/** φ of (row, output, feature j) — or the base value at j = features. */
function at(s: KernelShapResult, row: number, output: number, j: number): number {
  return s.values[(j * s.rows + row) * s.outputs + output];
}

/** Σφ + base = target(row, output) on every row. */
function assertAdditive(
  t: import('ava').ExecutionContext,
  s: KernelShapResult,
  target: (row: number, output: number) => number,
  tol = 1e-9,
): void {
  for (let r = 0; r < s.rows; r++) {
    for (let o = 0; o < s.outputs; o++) {
      let sum = 0;
      for (let j = 0; j <= s.features; j++) sum += at(s, r, o, j);
      const want = target(r, o);
      if (Math.abs(sum - want) > tol) t.fail(`row ${r} output ${o}: Σφ + base = ${sum}, prediction ${want}`);
    }
  }
  t.pass();
}

/** Exact Shapley values of v(S) = link(mean_b f(x_S, b_¬S)) by enumeration (small m). */
async function bruteForce(
  f: (cols: Float64Array[]) => Float64Array | Promise<Float64Array>,
  x: Float64Array[],
  row: number,
  bg: Float64Array[],
  link: (p: number) => number = (p) => p,
): Promise<Float64Array> {
  const m = x.length;
  const nb = bg[0].length;
  const v = new Float64Array(1 << m);
  for (let s = 0; s < 1 << m; s++) {
    const cols = x.map((c, j) => Float64Array.from({ length: nb }, (_, b) => ((s >> j) & 1 ? c[row] : bg[j][b])));
    const out = await f(cols);
    v[s] = link(out.reduce((a, b) => a + b, 0) / nb);
  }
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const phi = new Float64Array(m + 1);
  for (let j = 0; j < m; j++) {
    for (let s = 0; s < 1 << m; s++) {
      if ((s >> j) & 1) continue;
      let size = 0;
      for (let q = s; q; q >>= 1) size += q & 1;
      phi[j] += ((fact(size) * fact(m - size - 1)) / fact(m)) * (v[s | (1 << j)] - v[s]);
    }
  }
  phi[m] = v[0];
  return phi;
}

function readCsv(path: string): { names: string[]; cols: Float64Array[] } {
  const lines = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const names = lines[0].split(',');
  const cols = names.map((_, j) => Float64Array.from(lines.slice(1), (l) => {
    const cell = l.split(',')[j];
    return cell === '' ? NaN : Number(cell);
  }));
  return { names, cols };
}

// ------------------------------------------------------------------ JS function models

native('a linear JS model is explained exactly: φ_j = w_j (x_j − mean_bg_j)', async (t) => {
  const w = [1.5, -2, 0.25, 3, -0.75];
  const c = 0.4;
  const linear = (cols: Float64Array[]) => {
    const n = cols[0].length;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = c;
      for (let j = 0; j < w.length; j++) s += w[j] * cols[j][i];
      out[i] = s;
    }
    return out;
  };
  const model = new JsModel(linear, { featureNames: ['a', 'b', 'c', 'd', 'e'] });
  const x = columns(1, 12, 5);
  const bg = columns(2, 20, 5);
  // 2·5 + 2048 ≥ 2^5 − 2: full enumeration
  const s = await explainKernel(model, x, bg);
  t.is(s.rows, 12);
  t.is(s.outputs, 1);
  t.is(s.features, 5);
  t.is(s.exactRows, 12);
  t.deepEqual(s.warnings, []);
  const mean = bg.map((col) => col.reduce((a, b) => a + b, 0) / col.length);
  for (let r = 0; r < 12; r++) {
    for (let j = 0; j < 5; j++) {
      t.true(Math.abs(at(s, r, 0, j) - w[j] * (x[j][r] - mean[j])) < 1e-9, `row ${r} feature ${j}`);
    }
    t.true(Math.abs(at(s, r, 0, 5) - (c + w.reduce((a, wj, j) => a + wj * mean[j], 0))) < 1e-9);
  }
  // a few large calls, not one per row or per coalition
  t.true(s.modelRows > 0);
});

native('an async nonlinear JS model is additive on every row when sampling, and deterministic', async (t) => {
  const m = 16;
  let calls = 0;
  const f = async (cols: Float64Array[]) => {
    calls++;
    await new Promise((r) => setImmediate(r));
    const n = cols[0].length;
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += (j + 1) * cols[j][i];
      out[2 * i] = Math.sin(s) + cols[0][i] * cols[1][i] * cols[2][i];
      out[2 * i + 1] = Math.max(0, cols[3][i] - cols[4][i]) * 4;
    }
    return out;
  };
  const model = new JsModel(f, { numFeatures: m, numOutputs: 2 });
  const x = columns(3, 30, m);
  const bg = columns(4, 10, m);
  const s = await explainKernel(model, x, bg, { nsamples: 300, seed: 7 });
  t.is(s.exactRows, 0);
  t.true(s.maxCoalitions <= 300);
  // 30 rows × ≤ 300 coalitions × 10 background rows in blocks of 65536 rows
  t.true(calls <= 10, `${calls} calls`);
  const fx = await f(x);
  assertAdditive(t, s, (r, o) => fx[2 * r + o]);
  const again = await explainKernel(model, x, bg, { nsamples: 300, seed: 7 });
  t.deepEqual(again.values, s.values);
  // batches with their row offset give the values of one call
  const tail = await explainKernel(model, x.map((c) => c.subarray(10)), bg, { nsamples: 300, seed: 7, rowOffset: 10 });
  const n = s.rows * s.outputs;
  for (let j = 0; j <= m; j++) {
    t.deepEqual(tail.values.subarray(j * 20 * 2, (j + 1) * 20 * 2), s.values.subarray(j * n + 20, (j + 1) * n));
  }
});

native('the logit link explains the log-odds of a probability model exactly', async (t) => {
  const f = (cols: Float64Array[]) =>
    Float64Array.from(cols[0], (_, i) => 1 / (1 + Math.exp(-(2 * cols[0][i] - cols[1][i] + cols[2][i] * cols[3][i] - 0.5))));
  const model = new JsModel(f, { numFeatures: 4 });
  const x = columns(5, 6, 4);
  const bg = columns(6, 8, 4);
  const logit = (p: number) => Math.log(p / (1 - p));
  const s = await explainKernel(model, x, bg, { link: 'logit' });
  for (let r = 0; r < 6; r++) {
    const b = await bruteForce(f, x, r, bg, logit);
    for (let j = 0; j <= 4; j++) t.true(Math.abs(at(s, r, 0, j) - b[j]) < 1e-9, `row ${r} j ${j}`);
  }
  const fx = f(x);
  assertAdditive(t, s, (r) => logit(fx[r]));
});

native('background summaries, warnings and L1 selection', async (t) => {
  const m = 6;
  const f = (cols: Float64Array[]) => Float64Array.from(cols[0], (_, i) => cols[0][i] * cols[1][i] + cols[2][i] - cols[5][i]);
  const model = new JsModel(f, { numFeatures: m });
  const x = columns(7, 5, m);
  const big = columns(8, 400, m);
  const plain = await explainKernel(model, x, big);
  t.is(plain.backgroundRows, 400);
  t.is(plain.warnings.length, 1);
  t.regex(plain.warnings[0], /400 rows/);
  const km = await explainKernel(model, x, big, { backgroundSummary: 'kmeans(10)' });
  t.true(km.backgroundRows <= 10);
  t.deepEqual(km.warnings, []);
  const sm = await explainKernel(model, x, big, { backgroundSummary: 'sample(25)', seed: 3 });
  t.is(sm.backgroundRows, 25);
  const fx = f(x);
  for (const s of [km, sm]) assertAdditive(t, s, (r) => fx[r]);
  const l1 = await explainKernel(model, x, big.map((c) => c.subarray(0, 30)), { numFeatures: 2, nsamples: 40 });
  for (let r = 0; r < 5; r++) {
    let nz = 0;
    for (let j = 0; j < m; j++) nz += at(l1, r, 0, j) !== 0 ? 1 : 0;
    t.true(nz <= 2, `row ${r}: ${nz} features kept`);
  }
  assertAdditive(t, l1, (r) => fx[r]);
  t.deepEqual(parseBackgroundSummary('kmeans(12)'), { kind: 'kmeans', size: 12 });
  t.throws(() => parseBackgroundSummary('kmeans(0)'), { message: /kmeans\(k\)/ });
  await t.throwsAsync(explainKernel(model, x, big, { backgroundSummary: 'median(3)' }), { message: /backgroundSummary/ });
});

native('errors: missing or empty background, wrong columns, a throwing model, abort', async (t) => {
  const f = (cols: Float64Array[]) => Float64Array.from(cols[0], (v, i) => v + cols[1][i]);
  const model = new JsModel(f, { numFeatures: 2 });
  const x = columns(9, 4, 2);
  await t.throwsAsync(explainKernel(model, x, undefined as unknown as Float64Array[]), { message: /needs a background/ });
  await t.throwsAsync(explainKernel(model, x, []), { message: /needs a background/ });
  await t.throwsAsync(explainKernel(model, x, [new Float64Array(0), new Float64Array(0)]), { message: /background is empty/ });
  await t.throwsAsync(explainKernel(model, x.slice(0, 1), x), { message: /2 features, got 1 columns/ });
  const boom = new JsModel(() => {
    throw new Error('model exploded');
  }, { numFeatures: 2 });
  await t.throwsAsync(explainKernel(boom, x, x), { message: /model exploded/ });
  const rejects = new JsModel(async () => {
    throw new Error('async failure');
  }, { numFeatures: 2 });
  await t.throwsAsync(explainKernel(rejects, x, x), { message: /async failure/ });
  const short = new JsModel(() => new Float64Array(1), { numFeatures: 2 });
  await t.throwsAsync(explainKernel(short, x, x), { message: /returned 1 values/ });
  // abort while the model runs
  const ac = new AbortController();
  const slow = new JsModel(async (cols) => {
    ac.abort();
    return f(cols);
  }, { numFeatures: 2 });
  await t.throwsAsync(explainKernel(slow, columns(10, 50, 2), x, { signal: ac.signal }), { name: 'AbortError' });
  // Float32Array results are accepted
  const f32 = new JsModel((cols) => Float32Array.from(f(cols)), { numFeatures: 2 });
  const s = await explainKernel(f32, x, x);
  t.is(s.rows, 4);
});

// ------------------------------------------------------------------ TF.js

native('a small dense TF.js net, saved and loaded from disk, is explained end to end', async (t) => {
  const tf = await tfjs();
  const dir = await tempDir(t, 'arrowshap-tfjs-');
  const net = tf.sequential();
  net.add(tf.layers.dense({ units: 8, inputShape: [4], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: 'ones' }));
  net.add(tf.layers.dense({ units: 2, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  await saveTfjsModel(net, dir);
  const model = await loadTfjsModel(dir, { featureNames: ['a', 'b', 'c', 'd'] });
  t.is(model.kind, 'layers-model');
  t.is(model.numFeatures, 4);
  t.is(model.numOutputs, 2);
  const x = columns(11, 10, 4);
  const bg = columns(12, 12, 4);
  // the loaded model predicts what the in-memory one does
  const fx = await model.predict(x);
  const direct = (net.predict(tf.tensor2d(Float32Array.from({ length: 40 }, (_, q) => x[q % 4][Math.floor(q / 4)]), [10, 4])) as import('@tensorflow/tfjs').Tensor).dataSync();
  t.deepEqual(Array.from(fx), Array.from(direct));
  const s = await explainKernel(model, x, bg);
  t.is(s.outputs, 2);
  t.is(s.exactRows, 10);
  assertAdditive(t, s, (r, o) => fx[2 * r + o]);
  // exact: equal to brute-force Shapley values of output 0
  const out0 = async (cols: Float64Array[]) => {
    const y = await model.predict(cols);
    return Float64Array.from({ length: y.length / 2 }, (_, i) => y[2 * i]);
  };
  for (const r of [0, 5]) {
    const b = await bruteForce(out0, x, r, bg);
    for (let j = 0; j <= 4; j++) t.true(Math.abs(at(s, r, 0, j) - b[j]) < 1e-9, `row ${r} j ${j}: ${at(s, r, 0, j)} vs ${b[j]}`);
  }
  // log-odds of the sigmoid outputs
  const lg = await explainKernel(model, x, bg, { link: 'logit' });
  assertAdditive(t, lg, (r, o) => Math.log(fx[2 * r + o] / (1 - fx[2 * r + o])), 1e-7);
  model.dispose();
  await t.throwsAsync(loadTfjsModel(join(dir, 'nope')), { message: /not found/ });
});

// ------------------------------------------------------------------ tree models

for (const name of ['lgb_reg', 'xgb_multi_softprob']) {
  native(`${name}: KernelSHAP with full enumeration equals interventional TreeSHAP`, async (t) => {
    const dir = join(fixtures, name);
    const file = ['model.json', 'model.txt', 'model.ubj'].map((f) => join(dir, f)).find((p) => {
      try {
        readFileSync(p);
        return true;
      } catch {
        return false;
      }
    })!;
    const model = TreeModel.fromFile(file);
    const { cols } = readCsv(join(dir, 'inputs.csv'));
    const x = cols.map((c) => c.subarray(0, 15));
    const bg = cols.map((c) => c.subarray(15, 35));
    const k = await explainKernel(model, x, bg);
    t.is(k.exactRows, 15);
    const tree = await model.shapInterventional(x, bg);
    t.is(k.rows, tree.rows);
    t.is(k.outputs, tree.outputs);
    t.is(k.features, tree.features);
    let worst = 0;
    for (let i = 0; i < tree.values.length; i++) worst = Math.max(worst, Math.abs(k.values[i] - tree.values[i]));
    t.true(worst < 1e-9, `max |kernel − interventional| = ${worst}`);
    // sampled: still additive against the raw margin
    const raw = await model.predictRaw(x);
    const sampled = await explainKernel(model, x, bg, { nsamples: 20, seed: 1 });
    t.is(sampled.exactRows, 0);
    assertAdditive(t, sampled, (r, o) => raw[r * k.outputs + o]);
    // the tree model's coalition values (from its structure, in the core) are those of
    // its masked rows: the same model as a JS function gives the same values
    const asJs = new JsModel((c) => model.predictRaw(c), { featureNames: model.featureNames, numOutputs: k.outputs });
    for (const nsamples of [20, 60]) {
      const viaTree = await explainKernel(model, x, bg, { nsamples, seed: 3 });
      const viaJs = await explainKernel(asJs, x, bg, { nsamples, seed: 3 });
      let diff = 0;
      for (let i = 0; i < viaTree.values.length; i++) diff = Math.max(diff, Math.abs(viaTree.values[i] - viaJs.values[i]));
      t.true(diff < 1e-10, `nsamples ${nsamples}: max |tree − masked rows| = ${diff}`);
      t.is(viaTree.modelRows, viaJs.modelRows);
    }
    await t.throwsAsync(explainKernel(model, x, bg, { link: 'logit' }), { message: /raw margin/ });
  });
}

native('JS models do not hold libuv pool threads: more concurrent runs than pool threads, each model awaiting file I/O, all complete', async (t) => {
  // Each model call awaits an fs read, which needs a libuv pool thread. A run that
  // held a pool thread while waiting for its JS model would, with more runs than
  // pool threads (4 by default), leave none for the reads: a deadlock.
  const { readFile } = await import('node:fs/promises');
  const w = [0.5, -2, 3];
  const model = new JsModel(
    async (cols: Float64Array[]) => {
      await readFile(import.meta.filename);
      return Float64Array.from(cols[0], (_, i) => w.reduce((s, wj, j) => s + wj * cols[j][i], 0));
    },
    { numFeatures: 3 },
  );
  const x = columns(21, 12, 3);
  const bg = columns(22, 5, 3);
  const runs = Number(process.env.UV_THREADPOOL_SIZE ?? 4) + 2;
  const results = await Promise.all(Array.from({ length: runs }, () => explainKernel(model, x, bg, { nsamples: 6, batchRows: 7 })));
  const mean = w.map((_, j) => bg[j].reduce((a, b) => a + b, 0) / bg[j].length);
  for (const s of results) {
    t.deepEqual(s.values, results[0].values);
    for (let r = 0; r < s.rows; r++) for (let j = 0; j < 3; j++) t.true(Math.abs(at(s, r, 0, j) - w[j] * (x[j][r] - mean[j])) < 1e-9);
  }
});
