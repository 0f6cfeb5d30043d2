import test from 'ava';
import { compareExplanations, DRIFT_COLUMNS, DriftAccumulator, jsDivergence } from '../../ts/report/drift.ts';
import { Explanation } from '../../ts/report/explanation.ts';
import { explainFile } from './_report.ts';

const CHAMPION = 'tests/fixtures/drift/champion.json';
const CHALLENGER = 'tests/fixtures/drift/challenger.json';
const INPUTS = 'tests/fixtures/drift/inputs.csv';

async function both() {
  const a = await explainFile(CHAMPION, INPUTS);
  const b = await explainFile(CHALLENGER, INPUTS);
  return {
    a,
    b,
    ea: Explanation.fromTables(a.samples, { inputs: a.columns }),
    eb: Explanation.fromTables(b.samples, { inputs: b.columns }),
  };
}

test('drift of a retrained model that drops f2: f2 loses all its attribution, the table matches each model own explanation', async (t) => {
  const { a, b, ea, eb } = await both();
  t.deepEqual(b.model.featureNames, ['f0', 'f1', 'f3', 'f4', 'f5']);
  const drift = compareExplanations(ea, eb, { labels: ['Champion', 'Challenger'] });
  t.deepEqual(drift.table.schema.fields.map((f) => f.name), [...DRIFT_COLUMNS]);
  t.is(drift.table.numRows, 6);
  t.is(drift.rows, 300);
  const byName = new Map(drift.features.map((d) => [d.feature, d]));
  const f2 = byName.get('f2')!;
  t.true(f2.inA);
  t.false(f2.inB);
  t.is(f2.meanAbsB, 0);
  t.is(f2.signFlipShare, 0, 'a SHAP value of 0 is no sign flip');
  t.is(f2.rankB, 6, 'last under the challenger');
  t.true(f2.meanAbsA > 0.1, `f2 matters to the champion (${f2.meanAbsA})`);
  t.is(f2.shift, -f2.meanAbsA);
  t.is(f2.shareShift, -f2.shareA);
  // JS(P, δ0) in closed form: P the champion's f2 histogram (20 bins over [min, max] ∪ {0}), p0 its mass in 0's bin
  const f2a = [...ea.values[ea.featureIndex('f2')]];
  const lo = Math.min(0, ...f2a);
  const hi = Math.max(0, ...f2a);
  const bin = (x: number) => Math.min(19, Math.floor(((x - lo) / (hi - lo)) * 20));
  const p0 = f2a.filter((x) => bin(x) === bin(0)).length / f2a.length;
  const expectedJs = 0.5 * (1 - p0) + 0.5 * p0 * Math.log2((2 * p0) / (p0 + 1)) + 0.5 * Math.log2(2 / (1 + p0));
  t.true(Math.abs(f2.jsDivergence - expectedJs) < 1e-12, `JS ${f2.jsDivergence} vs ${expectedJs}`);
  t.true(f2.jsDivergence >= 0.1, 'past the default threshold');
  t.true(drift.alertedFeatures.includes('f2'));
  t.regex(drift.alerts.find((l) => l.startsWith('f2:'))!, /absent from Challenger/);
  // mean |SHAP| under each model = that model's own samples explainer (mean_abs_shap)
  for (const [j, f] of a.model.featureNames.entries()) t.true(Math.abs(byName.get(f)!.meanAbsA - a.meanAbsShap[j]) < 1e-12);
  for (const [j, f] of b.model.featureNames.entries()) t.true(Math.abs(byName.get(f)!.meanAbsB - b.meanAbsShap[j]) < 1e-12);
  // shares sum to 1 under each; ranks are permutations
  t.true(Math.abs(drift.features.reduce((s, d) => s + d.shareA, 0) - 1) < 1e-12);
  t.true(Math.abs(drift.features.reduce((s, d) => s + d.shareB, 0) - 1) < 1e-12);
  t.deepEqual(drift.features.map((d) => d.rankB).sort(), [1, 2, 3, 4, 5, 6]);
  // sign flips, brute force for f1 (f1·f2 interaction: without f2 its attribution changes)
  const va = ea.values[ea.featureIndex('f1')];
  const vb = eb.values[eb.featureIndex('f1')];
  const flips = va.filter((x, i) => x * vb[i] < 0).length / 300;
  t.is(byName.get('f1')!.signFlipShare, flips);
  // the table is ordered by |share shift|, f2 first (it loses its whole share)
  t.is(drift.features[0].feature, 'f2');
  t.is(drift.table.getChild('feature')!.get(0), 'f2');
  t.is(drift.table.getChild('in_b')!.get(0), false);
});

test('a model compared with itself has no drift and no alert', async (t) => {
  const { ea } = await both();
  const drift = compareExplanations(ea, ea);
  for (const d of drift.features) {
    t.is(d.shift, 0);
    t.is(d.rankShift, 0);
    t.is(d.signFlipShare, 0);
    t.is(d.jsDivergence, 0);
  }
  t.deepEqual(drift.alerts, []);
});

test('streamed drift: batch by batch equals the one-shot comparison (exact below the sample size)', async (t) => {
  const { ea, eb } = await both();
  const whole = compareExplanations(ea, eb, { labels: ['A', 'B'] });
  const acc = new DriftAccumulator(ea.featureNames, eb.featureNames, 1, { labels: ['A', 'B'] });
  for (const [from, to] of [[0, 77], [77, 300]]) {
    acc.add(
      ea.values.map((v) => v.subarray(from, to)),
      eb.values.map((v) => v.subarray(from, to)),
    );
  }
  const streamed = acc.result();
  t.is(streamed.rows, 300);
  streamed.features.forEach((d, i) => {
    const w = whole.features[i];
    t.is(d.feature, w.feature);
    t.true(Math.abs(d.meanAbsA - w.meanAbsA) < 1e-12 && Math.abs(d.meanAbsB - w.meanAbsB) < 1e-12);
    t.is(d.signFlipShare, w.signFlipShare);
    t.true(Math.abs(d.jsDivergence - w.jsDivergence) < 1e-12);
  });
  // a bounded sample for the divergence
  const small = new DriftAccumulator(ea.featureNames, eb.featureNames, 1, { sampleRows: 50 });
  small.add(ea.values, eb.values);
  t.is(small.result().divergenceRows, 50);
  t.throws(() => compareExplanations(ea, eb.select([0, 1])), { message: /explains 300 rows, b 2/ });
});

test('Jensen–Shannon divergence: 0 for equal samples, 1 for disjoint ones, symmetric', (t) => {
  t.is(jsDivergence([1, 2, 3], [1, 2, 3]), 0);
  t.is(jsDivergence([0, 0, 0], [1, 1, 1]), 1);
  const a = [0, 0.1, 0.2, 0.5, 0.9];
  const b = [0.3, 0.4, 0.45, 0.8, 1];
  t.is(jsDivergence(a, b), jsDivergence(b, a));
  t.true(jsDivergence(a, b) > 0 && jsDivergence(a, b) < 1);
});
