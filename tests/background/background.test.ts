/**
 * Prepared backgrounds over the TS surface: Shapley and Banzhaf values and interaction
 * values of real XGBoost/LightGBM fixtures (NaN, categorical splits, several outputs)
 * against enumeration of v(S) = mean_z f(x_S, z_notS) through `predictRaw`, one
 * background serving several batches, and the errors.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasNativeAddon } from '../helpers/native.ts';
import { TreeModel } from '../../ts/native/tree_model.ts';
import type { ShapResult } from '../../ts/native/addon.ts';
import { prepareBackgroundTables, type BackgroundValues } from '../../ts/background/index.ts';
import { explainSamples, resolveAlgorithm } from '../../ts/core/explainers.ts';

const native = hasNativeAddon ? test : test.skip;
const fixtures = join(import.meta.dirname, '..', 'fixtures');

/** The fixture's inputs.csv as model-order columns (empty cell = NaN), rows `from..to`. */
function csvColumns(name: string, model: TreeModel, from: number, to: number): Float64Array[] {
  const [head, ...lines] = readFileSync(join(fixtures, name, 'inputs.csv'), 'utf8').trim().split('\n');
  const names = head.split(',');
  const rows = lines.slice(from, to).map((l) => l.split(','));
  return model.featureNames.map((f, j) => {
    const c = names.indexOf(f) >= 0 ? names.indexOf(f) : j;
    return Float64Array.from(rows, (r) => (r[c] === '' ? NaN : Number(r[c])));
  });
}

/** Values (`[k * m + i]`) and interaction matrices (`[(k * m + i) * m + j]`) of one row by enumeration. */
async function brute(model: TreeModel, x: Float64Array[], row: number, bg: Float64Array[], kind: BackgroundValues) {
  const m = model.numFeatures, k = model.numOutputs, nb = bg[0].length, S = 1 << m;
  const hybrid = Array.from({ length: m }, (_, j) => Float64Array.from({ length: S * nb }, (_, i) => {
    const s = Math.floor(i / nb), z = i % nb;
    return (s >> j) & 1 ? x[j][row] : bg[j][z];
  }));
  const pred = await model.predictRaw(hybrid);
  const v = (s: number, kk: number) => {
    let a = 0;
    for (let z = 0; z < nb; z++) a += pred[(s * nb + z) * k + kk];
    return a / nb;
  };
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const pop = (s: number) => s.toString(2).replace(/0/g, '').length;
  const vals = new Float64Array(k * m), pairs = new Float64Array(k * m * m);
  for (let kk = 0; kk < k; kk++) {
    for (let i = 0; i < m; i++) {
      for (let s = 0; s < S; s++) {
        if ((s >> i) & 1) continue;
        const w = kind === 'shapley' ? (fact(pop(s)) * fact(m - pop(s) - 1)) / fact(m) : 0.5 ** (m - 1);
        vals[kk * m + i] += w * (v(s | (1 << i), kk) - v(s, kk));
      }
    }
    for (let i = 0; i < m; i++) {
      let off = 0;
      for (let j = 0; j < m; j++) {
        if (i === j) continue;
        let a = 0;
        for (let s = 0; s < S; s++) {
          if ((s >> i) & 1 || (s >> j) & 1) continue;
          const w = kind === 'shapley' ? (fact(pop(s)) * fact(m - pop(s) - 2)) / fact(m - 1) : 0.5 ** (m - 2);
          a += w * (v(s | (1 << i) | (1 << j), kk) - v(s | (1 << i), kk) - v(s | (1 << j), kk) + v(s, kk));
        }
        pairs[(kk * m + i) * m + j] = a / 2;
        off += a / 2;
      }
      pairs[(kk * m + i) * m + i] = vals[kk * m + i] - off;
    }
  }
  return { vals, pairs, base: Array.from({ length: k }, (_, kk) => v(0, kk)) };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

for (const [name, kind] of [
  ['xgb_reg_nan', 'shapley'],
  ['lgb_multiclass_cat', 'shapley'],
  ['xgb_multi_softprob', 'banzhaf'],
  ['lgb_binary', 'banzhaf'],
] as const) {
  native(`${name}: ${kind} values and interactions equal enumeration`, async (t) => {
    const model = TreeModel.fromFile(join(fixtures, name, name.startsWith('lgb') ? 'model.txt' : 'model.json'));
    const x = csvColumns(name, model, 0, 3);
    const bg = csvColumns(name, model, 10, 16);
    const prepared = await prepareBackgroundTables(model, bg, { values: kind, interactions: true, threads: 2 });
    t.is(prepared.rows, 6);
    t.is(prepared.values, kind);
    const sv: ShapResult = await prepared.explain(x);
    const iv: ShapResult = await prepared.interactions(x);
    const { rows: R, outputs: K, features: M } = sv;
    for (let r = 0; r < R; r++) {
      const b = await brute(model, x, r, bg, kind);
      for (let kk = 0; kk < K; kk++) {
        t.true(close(sv.values[(M * R + r) * K + kk], b.base[kk]), `base value ${sv.values[(M * R + r) * K + kk]} vs ${b.base[kk]}`);
        for (let i = 0; i < M; i++) {
          const got = sv.values[(i * R + r) * K + kk];
          if (!close(got, b.vals[kk * M + i])) t.fail(`row ${r} output ${kk} feature ${i}: ${got} vs ${b.vals[kk * M + i]}`);
          for (let j = 0; j < M; j++) {
            const g = iv.values[j * R * K * M + (r * K + kk) * M + i];
            const e = b.pairs[(kk * M + i) * M + j];
            if (!close(g, e)) t.fail(`interaction row ${r} output ${kk} (${i},${j}): ${g} vs ${e}`);
          }
        }
      }
    }
  });
}

native('one prepared background explains several batches as one', async (t) => {
  const model = TreeModel.fromFile(join(fixtures, 'xgb_reg_nan', 'model.json'));
  const prepared = await prepareBackgroundTables(model, csvColumns('xgb_reg_nan', model, 20, 60));
  const all = await prepared.explain(csvColumns('xgb_reg_nan', model, 0, 20));
  const tail = await prepared.explain(csvColumns('xgb_reg_nan', model, 10, 20));
  const M = model.numFeatures;
  for (let j = 0; j <= M; j++) for (let r = 0; r < 10; r++) t.is(tail.values[j * 10 + r], all.values[j * 20 + 10 + r]);
  const once = await model.shapInterventional(csvColumns('xgb_reg_nan', model, 0, 20), csvColumns('xgb_reg_nan', model, 20, 60));
  t.deepEqual(Array.from(once.values), Array.from(all.values));
});

native('errors name the problem', async (t) => {
  const model = TreeModel.fromFile(join(fixtures, 'xgb_reg_nan', 'model.json'));
  const bg = csvColumns('xgb_reg_nan', model, 0, 5);
  await t.throwsAsync(prepareBackgroundTables(model, bg, { values: 'owen' as BackgroundValues }), { message: /values must be 'shapley' or 'banzhaf'/ });
  await t.throwsAsync(prepareBackgroundTables(model, bg.slice(1)), { message: /features, got/ });
  await t.throwsAsync(prepareBackgroundTables(model, bg.map((c) => c.subarray(0, 0))), { message: /no rows/ });
  const prepared = await prepareBackgroundTables(model, bg);
  await t.throwsAsync(prepared.interactions(bg), { message: /without interaction tables/ });
});

native('explainSamples: tree-interventional Banzhaf values and interactions in batches equal the prepared tables', async (t) => {
  const model = TreeModel.fromFile(join(fixtures, 'lgb_multiclass_cat', 'model.txt'));
  const x = csvColumns('lgb_multiclass_cat', model, 0, 30);
  const bg = csvColumns('lgb_multiclass_cat', model, 30, 50);
  const res = await explainSamples(model, x, { algorithm: 'tree-interventional', background: bg, values: 'banzhaf', interactions: true, batchRows: 7 });
  const tables = await prepareBackgroundTables(model, bg, { values: 'banzhaf', interactions: true });
  const sv = await tables.explain(x);
  const iv = await tables.interactions(x);
  const { rows: R, outputs: K, features: M } = sv;
  const names = model.featureNames;
  for (let j = 0; j < M; j++) {
    const col = res.table.getChild(names[j])!.toArray() as Float64Array;
    for (let i = 0; i < R * K; i++) t.is(col[i], sv.values[j * R * K + i]);
    const icol = res.interactions!.getChild(names[j])!.toArray() as Float64Array;
    for (let i = 0; i < R * K * M; i++) t.is(icol[i], iv.values[j * R * K * M + i]);
  }
});

test('banzhaf and background interactions need tree-interventional', (t) => {
  t.throws(() => resolveAlgorithm('tree-path-dependent', { values: 'banzhaf' }), { message: /banzhaf" is only available with tree-interventional/ });
  t.throws(() => resolveAlgorithm('kernel', { background: [], interactions: true }), { message: /interactions is only available/ });
  t.is(resolveAlgorithm('tree-interventional', { background: [], interactions: true, values: 'banzhaf' }), 'tree-interventional');
});
