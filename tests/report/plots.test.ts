import test from 'ava';
import { Explanation } from '../../ts/report/explanation.ts';
import { plots } from '../../ts/report/plots/index.ts';
import { beeswarmData, beeswarmJitter, colorScale } from '../../ts/report/plots/beeswarm.ts';
import { waterfallData } from '../../ts/report/plots/waterfall.ts';
import { dependenceData } from '../../ts/report/plots/dependence.ts';
import { barLabels, barWidth, DIABETES, explainFile, SOFTPROB } from './_report.ts';

test('bar plot: bar lengths are the model table mean_abs_shap, largest first, the rest summed', async (t) => {
  const run = await explainFile(DIABETES.model, DIABETES.inputs);
  const e = Explanation.fromTables(run.samples, { inputs: run.columns });
  const svg = await plots.bar(e, { maxDisplay: 6 });
  const bars = barLabels(svg);
  t.is(bars.length, 6);
  const names = run.modelsTable.getChild('feature')!.toArray() as string[];
  const mean = run.modelsTable.getChild('mean_abs_shap')!.toArray() as Float64Array;
  const order = [...mean.keys()].sort((a, b) => mean[b] - mean[a]);
  const expected = order.slice(0, 5).map((j) => [names[j], mean[j]] as const);
  expected.push(['Sum of 5 other features', order.slice(5).reduce((s, j) => s + mean[j], 0)]);
  // pixels per unit: the same for every bar, so each bar's length is its mean |SHAP|
  const scale = barWidth(bars[0].d) / expected[0][1];
  bars.forEach((bar, i) => {
    t.true(bar.label.includes(`feature: ${expected[i][0]};`), bar.label);
    t.true(Math.abs(barWidth(bar.d) - expected[i][1] * scale) < 0.02, `${expected[i][0]}: ${barWidth(bar.d)} px vs ${expected[i][1] * scale}`);
  });
});

test('bar plot of a multi-output model: one stacked segment per output, each its mean |SHAP|', async (t) => {
  const run = await explainFile(SOFTPROB.model, SOFTPROB.inputs);
  const e = Explanation.fromTables(run.samples, { inputs: run.columns, outputNames: ['setosa', 'versicolor', 'virginica'] });
  const svg = await plots.bar(e);
  const bars = barLabels(svg);
  t.is(bars.length, e.featureNames.length * 3);
  const perOutput = [0, 1, 2].map((k) => e.meanAbs(k));
  const scale = barWidth(bars[0].d) / perOutput[0][e.featureNames.indexOf(/feature: ([^;]+);/.exec(bars[0].label)![1])];
  for (const bar of bars) {
    const feature = /feature: ([^;]+);/.exec(bar.label)![1];
    const output = /output: ([^;]+);/.exec(bar.label)![1];
    const want = perOutput[['setosa', 'versicolor', 'virginica'].indexOf(output)][e.featureNames.indexOf(feature)];
    t.true(Math.abs(barWidth(bar.d) - want * scale) < 0.02, `${feature}/${output}`);
  }
});

test('waterfall: steps chain from the base value to the prediction (the model raw output), largest |SHAP| on top', async (t) => {
  const run = await explainFile(DIABETES.model, DIABETES.inputs);
  const e = Explanation.fromTables(run.samples, { inputs: run.columns });
  const raw = await run.model.predictRaw(run.columns);
  for (const row of [0, 5, 300]) {
    const data = waterfallData(e, row, { maxDisplay: 5 });
    t.is(data.steps.length, 5);
    t.is(data.steps[0].start, e.baseValue(row));
    for (let i = 1; i < data.steps.length; i++) t.is(data.steps[i].start, data.steps[i - 1].end);
    t.true(Math.abs(data.steps.at(-1)!.end - raw[row]) < 1e-3, `row ${row}: ${data.steps.at(-1)!.end} vs ${raw[row]}`);
    t.true(Math.abs(data.prediction - raw[row]) < 1e-3);
    const top = data.steps.slice(1).map((s) => Math.abs(s.shap));
    t.deepEqual(top, [...top].sort((a, b) => a - b), 'largest step on top');
    t.regex(data.steps[0].label, /^6 other features$/);
    t.regex(data.steps.at(-1)!.label, / = /);
    // the rendered bars carry the same steps
    const svg = await plots.waterfall(e, row, { maxDisplay: 5 });
    const bars = barLabels(svg);
    t.is(bars.length, 5);
    const last = bars.map((b) => /to (\S+)$/.exec(b.label)![1]).map(Number);
    t.true(last.some((v) => Math.abs(v - raw[row]) < 1e-3));
  }
});

test('beeswarm: one dot per row and shown feature at its SHAP value, coloured by the value percentile', async (t) => {
  const run = await explainFile(DIABETES.model, DIABETES.inputs);
  const e = Explanation.fromTables(run.samples, { inputs: run.columns });
  const { features, dots } = beeswarmData(e, { maxDisplay: 4 });
  const mean = e.meanAbs();
  const top = [...mean.keys()].sort((a, b) => mean[b] - mean[a]).slice(0, 4).map((j) => e.featureNames[j]);
  t.deepEqual(features, top);
  t.is(dots.length, 4 * 442);
  for (const f of features) {
    const mine = dots.filter((d) => d.feature === f);
    const j = e.featureNames.indexOf(f);
    mine.forEach((d, r) => t.true(Math.abs(d.shap - e.values[j][r]) <= 1e-5 * Math.max(1, Math.abs(e.values[j][r]))));
  }
  const svg = await plots.beeswarm(e, { maxDisplay: 4 });
  t.is((svg.match(/<path transform="translate\([^"]*\)" d="M[\d.]+,0A/g) ?? []).length, 4 * 442, 'every dot drawn');
  // colour: the 5th–95th percentile range maps to [0, 1], missing values are null
  t.deepEqual(colorScale([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, NaN]).slice(-1), [null]);
  const c = colorScale(Array.from({ length: 101 }, (_, i) => i));
  t.is(c[0], 0);
  t.is(c[50], 0.5);
  t.is(c[100], 1);
  // jitter stays inside the row
  for (const y of beeswarmJitter(e.values[0])) t.true(Math.abs(y) <= 0.4);
});

test('dependence plot: x is the feature value, y its SHAP value, missing values counted and left out', async (t) => {
  const e = new Explanation({
    featureNames: ['a', 'b'],
    outputs: 1,
    values: [Float64Array.from([1, 2, 3]), Float64Array.from([0, 0, 0])],
    baseValues: new Float64Array(3),
    data: [Float64Array.from([10, NaN, 30]), Float64Array.from([1, 2, 3])],
  });
  const d = dependenceData(e, 'a', { color: 'b' });
  t.deepEqual(d.dots, [
    { x: 10, shap: 1, color: 0 },
    { x: 30, shap: 3, color: 1 },
  ]);
  t.is(d.missing, 1);
  const svg = await plots.dependence(e, 'a', { color: 'b' });
  t.regex(svg, /1 rows with a missing a not shown/);
  t.throws(() => dependenceData(new Explanation({ ...e, data: undefined, values: e.values, baseValues: e.baseValues, outputs: 1 }), 'a'), {
    message: /no feature values/,
  });
});
