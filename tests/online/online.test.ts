/**
 * Online explanations: the synchronous few-rows calls give the batch calls' values bit
 * for bit (path-dependent, interactions, interventional; single and multi-output, NaNs,
 * categorical splits), rows by position or by feature name with clear errors, and
 * concurrent use — async batches, sync calls and worker threads sharing one loaded model.
 */
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { fixture } from '../core/_fixtures.ts';
import { RowInputError, TreeModel, type FeatureColumn } from '../../ts/index.ts';

const CASES = ['xgb_reg_nan', 'xgb_multi_softprob', 'xgb_categorical', 'lgb_multiclass_cat', 'xgb_binary_depth6'];

/** Row r of column-major columns, in model order. */
function rowOf(columns: FeatureColumn[], r: number): number[] {
  return columns.map((c) => c[r]);
}

/** Bitwise equality of two value arrays (Object.is: NaN equals NaN, +0 differs from −0). */
function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

for (const name of CASES) {
  test(`${name}: explainRowSync equals the batch, bit for bit`, async (t) => {
    const fx = await fixture(name);
    const { model, columns } = fx;
    const [m, k] = [model.numFeatures, model.numOutputs];
    const batch = await model.shapPathDependent(columns, { threads: 2 });
    const R = batch.rows;
    for (let r = 0; r < R; r++) {
      const got = model.explainRowSync(rowOf(columns, r));
      const want = new Float64Array(k * (m + 1));
      for (let o = 0; o < k; o++) for (let j = 0; j <= m; j++) want[o * (m + 1) + j] = batch.values[j * R * k + r * k + o];
      if (!sameBits(got, want)) return t.fail(`row ${r}: ${got} vs ${want}`);
    }
    // small batches through the same layout as the async call
    for (const size of [1, 3, 16]) {
      const part = columns.map((c) => c.subarray(0, Math.min(size, R)));
      const sync = model.shapPathDependentSync(part);
      const asyncPart = await model.shapPathDependent(part);
      t.true(sameBits(sync.values, asyncPart.values), `shapPathDependentSync of ${size} rows`);
      t.deepEqual([sync.rows, sync.outputs, sync.features], [asyncPart.rows, asyncPart.outputs, asyncPart.features]);
    }
    // additivity against the library's raw prediction, first row
    const first = model.explainRowSync(rowOf(columns, 0));
    for (let o = 0; o < k; o++) {
      const sum = first.subarray(o * (m + 1), (o + 1) * (m + 1)).reduce((a, b) => a + b, 0);
      t.true(Math.abs(sum - fx.expected.raw[o]) <= 1e-5 * Math.max(1, Math.abs(fx.expected.raw[o])));
    }
  });
}

test('interactions and interventional per row equal their batches, bit for bit', async (t) => {
  const { model, columns } = await fixture('xgb_multi_softprob');
  const [m, k] = [model.numFeatures, model.numOutputs];
  const rows = 12;
  const x = columns.map((c) => c.subarray(0, rows));
  const inter = await model.shapInteractions(x);
  t.true(sameBits(model.shapInteractionsSync(x).values, inter.values), 'shapInteractionsSync');
  const T = rows * k * m;
  for (let r = 0; r < rows; r++) {
    const got = model.interactionsRowSync(rowOf(columns, r));
    for (let o = 0; o < k; o++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) {
          const want = inter.values[j * T + (r * k + o) * m + i];
          if (!Object.is(got[(o * m + i) * m + j], want)) return t.fail(`row ${r} output ${o} (${i}, ${j})`);
        }
  }
  const bgCols = columns.map((c) => Float64Array.from(c.subarray(rows, rows + 20)));
  const bg = model.prepareBackground(bgCols);
  t.is(bg.rows, 20);
  bgCols.forEach((c) => c.fill(123)); // the background was copied: later changes do not matter
  const interv = await model.shapInterventional(x, columns.map((c) => c.subarray(rows, rows + 20)));
  for (let r = 0; r < rows; r++) {
    const got = bg.explainRowSync(rowOf(columns, r));
    for (let o = 0; o < k; o++)
      for (let j = 0; j <= m; j++)
        if (!Object.is(got[o * (m + 1) + j], interv.values[j * rows * k + r * k + o])) return t.fail(`interventional row ${r}`);
  }
});

test('rows by feature name, by position, missing values and clear errors', async (t) => {
  const { model, columns } = await fixture('xgb_reg_nan');
  const names = model.featureNames;
  const row = rowOf(columns, 3);
  const byName = Object.fromEntries(names.map((n, j) => [n, row[j]]));
  t.true(sameBits(model.explainRowSync(byName), model.explainRowSync(row)));
  t.true(sameBits(model.explainRowSync(Float64Array.from(row)), model.explainRowSync(row)));
  // absent and null features are missing values, like NaN
  const sparse = { [names[1]]: 0.5 };
  const nan = names.map((_, j) => (j === 1 ? 0.5 : NaN));
  t.true(sameBits(model.explainRowSync(sparse), model.explainRowSync(nan)));
  t.true(sameBits(model.explainRowSync(names.map((_, j) => (j === 1 ? 0.5 : null))), model.explainRowSync(nan)));
  t.true(sameBits(model.explainRowsSync([row, byName]), Float64Array.from([...model.explainRowSync(row), ...model.explainRowSync(row)])));

  const e1 = t.throws(() => model.explainRowSync({ nope: 1 }), { instanceOf: RowInputError });
  t.regex(e1!.message, /unknown feature "nope"/);
  t.throws(() => model.explainRowSync(row.slice(1)), { message: `row: expected ${names.length} values (one per feature, in model order), got ${names.length - 1}` });
  t.throws(() => model.explainRowSync({ [names[0]]: '1' as unknown as number }), { message: `row: feature ${names[0]}: expected a number or null, got string` });
  t.throws(() => model.explainRowSync(42 as unknown as number[]), { instanceOf: RowInputError });
  t.throws(() => model.explainRowsSync([row, { x: 1 }]), { message: /^row 1: unknown feature "x"/ });
  t.throws(() => model.shapPathDependentSync(columns.slice(1)), { message: /features, got/ });
});

test('concurrent use: async batches, sync rows and worker threads share one model', async (t) => {
  const { model, columns } = await fixture('xgb_binary_depth6');
  model.prepare({ interactions: true });
  const [m, k] = [model.numFeatures, model.numOutputs];
  const batch = await model.shapPathDependent(columns);
  const R = batch.rows;
  const rows = new Float64Array(R * m);
  for (let r = 0; r < R; r++) for (let j = 0; j < m; j++) rows[r * m + j] = columns[j][r];
  const want = (r: number) => {
    const w = new Float64Array(k * (m + 1));
    for (let o = 0; o < k; o++) for (let j = 0; j <= m; j++) w[o * (m + 1) + j] = batch.values[j * R * k + r * k + o];
    return w;
  };
  const id = model.shareId();
  t.throws(() => TreeModel.fromShared(id + 1_000_000), { message: /no shared model with id/ });
  const workers = [0, 1, 2].map(
    () =>
      new Promise<Float64Array[]>((resolve, reject) => {
        const w = new Worker(new URL('./_worker.mjs', import.meta.url), { workerData: { id, rows, m, rounds: 3 } });
        w.once('message', resolve);
        w.once('error', reject);
      }),
  );
  // meanwhile, on this thread: async batches in flight and sync calls between them
  const inflight = [0, 1, 2].map(() => model.shapPathDependent(columns, { threads: 2 }));
  for (let r = 0; r < R; r++) t.true(sameBits(model.explainRowSync(rows.subarray(r * m, (r + 1) * m)), want(r)));
  for (const res of await Promise.all(inflight)) t.true(sameBits(res.values, batch.values));
  const fromWorkers = await Promise.all(workers);
  for (const out of fromWorkers) {
    t.is(out.length, R);
    out.forEach((v, r) => t.true(sameBits(v, want(r)), `worker row ${r}`));
  }
});
