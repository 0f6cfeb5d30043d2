import test from 'ava';
import * as arrow from 'apache-arrow';
import { samplesBatch } from '../../ts/core/schemas.ts';
import { ReportCollector, strongestPartner } from '../../ts/report/collector.ts';
import { Explanation } from '../../ts/report/explanation.ts';
import { buildReport } from '../../ts/report/report.ts';
import { Reservoir } from '../../ts/report/reservoir.ts';
import { DIABETES, explainFile } from './_report.ts';

test('reservoir: keeps min(n, capacity) items, uniformly, the same for the same seed', (t) => {
  const counts = new Float64Array(100);
  const trials = 1000;
  for (let s = 0; s < trials; s++) {
    const res = new Reservoir(10, s);
    const kept = new Int32Array(10);
    for (let i = 0; i < 100; i++) {
      const slot = res.offer();
      if (slot >= 0) kept[slot] = i;
    }
    for (const i of kept) counts[i]++;
  }
  // each item is kept with probability 10/100: 100 of 1000 trials, sd ≈ 9.5
  const off = [...counts.keys()].filter((i) => Math.abs(counts[i] - 100) >= 6 * 9.5);
  t.deepEqual(off, [], `items kept far from 100 of ${trials} times: ${off.map((i) => `${i}: ${counts[i]}`).join(', ')}`);
  t.is(counts.reduce((s, c) => s + c, 0), 10 * trials, 'each trial keeps 10');
  const a = new Reservoir(5, 7);
  const b = new Reservoir(5, 7);
  t.deepEqual(Array.from({ length: 1000 }, () => a.offer()), Array.from({ length: 1000 }, () => b.offer()));
  const small = new Reservoir(10, 1);
  t.deepEqual([0, 1, 2].map(() => small.offer()), [0, 1, 2]);
  t.is(small.size, 3);
});

test('collector over batches: exact mean |SHAP| and base value over every row, the sample in input order, top rows by |prediction − base|', async (t) => {
  const run = await explainFile(DIABETES.model, DIABETES.inputs, { interactions: true });
  const names = run.model.featureNames;
  const collector = new ReportCollector(names, 1, { sampleRows: 100, waterfalls: 3 });
  const all = Explanation.fromTables(run.samples, { inputs: run.columns });
  // three uneven batches
  for (const [from, to] of [[0, 100], [100, 101], [101, 442]]) {
    const batch = run.samples.slice(from, to);
    const inter = run.interactions!.slice(from * names.length, to * names.length);
    collector.add(batch.batches.length === 1 ? batch.batches[0] : new arrow.Table(batch.batches).batches[0], run.columns.map((c) => c.subarray(from, to)), inter.batches[0]);
  }
  const res = collector.result();
  t.is(res.rowsSeen, 442);
  res.meanAbs[0].forEach((v, j) => t.true(Math.abs(v - run.meanAbsShap[j]) < 1e-9 * Math.max(1, v)));
  t.is(res.sample.rows, 100);
  const ids = res.sample.rowIds as number[];
  t.deepEqual(ids, [...ids].sort((a, b) => a - b));
  for (const [i, r] of ids.entries()) {
    t.is(res.sample.value(i, 3), all.value(r, 3));
    t.is(res.sample.dataValue(i, 3), all.dataValue(r, 3));
  }
  const score = (r: number) => Math.abs(all.prediction(r) - all.baseValue(r));
  const top = [...Array(442).keys()].sort((a, b) => score(b) - score(a)).slice(0, 3);
  t.deepEqual(res.selected.rowIds, top);
  t.is(res.selection, 'largest');
  // interaction strength: mean |φ_ij| over rows; the strongest partner is its argmax
  const m = names.length;
  const strength = res.interactionStrength!;
  const cols = names.map((n) => run.interactions!.getChild(n)!.toArray() as Float64Array);
  const want01 = Array.from({ length: 442 }, (_, r) => Math.abs(cols[1][r * m + 0])).reduce((s, x) => s + x, 0) / 442;
  t.true(Math.abs(strength[0 * m + 1] - want01) < 1e-9 * Math.max(1, want01));
  const p = strongestPartner(strength, m, 0)!;
  t.not(p, 0);
  for (let c = 0; c < m; c++) if (c !== 0) t.true(strength[p] >= strength[c]);
});

test('collector: rows named in report.rows are the waterfalls, in the order named; unknown ones reported', async (t) => {
  const run = await explainFile(DIABETES.model, DIABETES.inputs);
  const collector = new ReportCollector(run.model.featureNames, 1, { rows: [300, 2, 9999] });
  collector.add(run.samples.batches[0], run.columns);
  const res = collector.result();
  t.deepEqual(res.selected.rowIds, [300, 2]);
  t.deepEqual(res.missingRows, ['9999']);
  t.is(res.selection, 'named');
  const html = await buildReport({ card: { modelUri: 'file:diabetes.ubj', algorithm: 'tree-path-dependent' }, sample: res });
  t.regex(html, /Rows not found in the input: 9999/);
  t.regex(html, /row 300/);
});

test('1M explained rows: the report is built from a bounded sample, says so, and stays under 3 MB', async (t) => {
  const m = 12;
  const names = Array.from({ length: m }, (_, j) => `feature_${j}`);
  const collector = new ReportCollector(names, 1);
  const total = 1_000_000;
  const batchRows = 65536;
  let seed = 1;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let start = 0; start < total; start += batchRows) {
    const rows = Math.min(batchRows, total - start);
    const data = names.map(() => Float64Array.from({ length: rows }, rand));
    const values = new Float64Array(rows * (m + 1));
    for (let j = 0; j < m; j++) for (let r = 0; r < rows; r++) values[j * rows + r] = (data[j][r] - 0.5) / (j + 1);
    values.fill(0.25, m * rows);
    collector.add(samplesBatch({ rows, outputs: 1, features: m, values }, names, { rowOffset: start }), data);
  }
  const res = collector.result();
  t.is(res.rowsSeen, total);
  t.is(res.sample.rows, 500);
  const html = await buildReport({ card: { modelUri: 'file:synthetic', algorithm: 'tree-path-dependent' }, sample: res });
  t.regex(html, /500 of 1,000,000 rows \(uniform reservoir sample\)/);
  t.true(html.length < 3 * 1024 * 1024, `${(html.length / 1048576).toFixed(2)} MB`);
  t.log(`report for 1M rows × ${m} features: ${(html.length / 1048576).toFixed(2)} MB`);
  // mean |SHAP| of feature j over U(0,1) inputs: E|u − 0.5| / (j+1) = 0.25 / (j+1)
  res.meanAbs[0].forEach((v, j) => t.true(Math.abs(v - 0.25 / (j + 1)) < 0.002 / (j + 1), `feature ${j}: ${v}`));
});
