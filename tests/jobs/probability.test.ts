/**
 * `explainer.model_output: probability` through the explanations job: the samples table equals
 * shap's `TreeExplainer(model, data=background, model_output="probability")` on an XGBoost
 * `binary:logistic` and a LightGBM `binary` model (fixtures made by
 * `tests/fixtures/probability/make_probability.py`), adds up to the predicted probability, keeps
 * the raw run's columns and logs its output space; the combinations without a probability
 * space fail before any output, naming the key or the model's objective.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ExplanationsJobConfigInput } from '../../ts/config/job.ts';
import { ConfigError } from '../../ts/config/errors.ts';
import { explainJobConfig } from '../../ts/cli/main.ts';
import type { Alerts } from '../../ts/io/services/alerts.ts';
import { ExplanationsJob } from '../../ts/jobs/explanations.ts';
import { col, FIXTURES } from '../core/_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const quiet: Alerts = { notify: async () => {}, describe: () => 'quiet' };
const DIR = join(FIXTURES, 'probability');

function job(t: ExecutionContext, dir: string, model: string, inputs: string, explainer: ExplanationsJobConfigInput['explainer'], logs?: PassThrough) {
  const config: ExplanationsJobConfigInput = {
    KIND: 'ExplanationsJob',
    inputs_samples: { KIND: 'CsvReader', path: inputs },
    samples_explanations: { KIND: 'ParquetWriter', path: join(dir, 'out', 'samples.parquet') },
    models_explanations: { KIND: 'ParquetWriter', path: join(dir, 'out', 'models.parquet') },
    registry: { KIND: 'FileRegistry', path: model },
    explainer,
    logger: { level: logs ? 'info' : 'error' },
  };
  return new ExplanationsJob(config, { alerts: quiet, loggerOptions: logs ? { stream: logs } : undefined });
}

for (const [name, file, link] of [
  ['xgb_binary', 'model.json', 'binary:logistic'],
  ['lgb_binary', 'model.txt', 'binary'],
] as const) {
  test(`${name}: the samples table equals shap's model_output="probability" (1e-6) and adds up to predict_proba`, async (t) => {
    const dir = await tempDir(t);
    const fx = join(DIR, name);
    const expected = JSON.parse(readFileSync(join(fx, 'expected.json'), 'utf8')) as { values: number[]; base_value: number; predict_proba: number[] };
    const logs = new PassThrough();
    let logText = '';
    logs.on('data', (b: Buffer) => (logText += b.toString()));
    const explainer = {
      algorithm: 'tree-interventional' as const,
      background: { KIND: 'CsvReader' as const, path: join(fx, 'background.csv') },
      model_output: 'probability' as const,
      batch_rows: 7, // several batches
    };
    const out = await job(t, dir, join(fx, file), join(fx, 'inputs.csv'), explainer, logs).execute();
    const table = out.samplesExplanations!;
    const names = out.model.featureNames;
    const rows = table.numRows;
    t.is(rows, expected.predict_proba.length);
    t.is(out.samples.modelOutput, 'probability');
    t.regex(out.samples.outputSpace, new RegExp(`σ\\(margin\\) of the logistic link of objective \`${link}\``));
    t.regex(logText, /SHAP values in probability: σ\(margin\)/);
    let worst = 0;
    const base = col(table, 'base_value');
    for (let r = 0; r < rows; r++) {
      let sum = base[r];
      names.forEach((n, j) => {
        const v = col(table, n)[r];
        worst = Math.max(worst, Math.abs(v - expected.values[r * names.length + j]));
        sum += v;
      });
      t.true(Math.abs(base[r] - expected.base_value) <= 1e-6, `row ${r}: base ${base[r]} vs shap ${expected.base_value}`);
      t.true(Math.abs(sum - expected.predict_proba[r]) <= 1e-6, `row ${r}: Σφ + base = ${sum}, predict_proba ${expected.predict_proba[r]}`);
    }
    t.true(worst <= 1e-6, `max |arrowshap − shap| = ${worst}`);

    // the raw run: same columns, values in log-odds (they add up to the margin, not the probability)
    const raw = await job(t, await tempDir(t), join(fx, file), join(fx, 'inputs.csv'), { ...explainer, model_output: 'raw' }).execute();
    t.deepEqual(
      raw.samplesExplanations!.schema.fields.map((f) => f.name),
      table.schema.fields.map((f) => f.name),
    );
    t.is(raw.samples.modelOutput, 'raw');
    const rawBase = col(raw.samplesExplanations!, 'base_value')[0];
    t.true(Math.abs(rawBase - expected.base_value) > 1e-3, 'the raw base value is a margin, not a probability');
  });
}

async function outputsIn(dir: string): Promise<string[]> {
  return existsSync(join(dir, 'out')) ? await readdir(join(dir, 'out')) : [];
}

test('multiclass (softmax) and log-link models are refused naming the objective, before any output', async (t) => {
  for (const [name, file, objective] of [
    ['xgb_multi_softprob', 'model.json', 'multi:softprob'],
    ['xgb_reg_tweedie', 'model.json', 'reg:tweedie'],
  ] as const) {
    const dir = await tempDir(t);
    const fx = join(FIXTURES, name);
    const explainer = {
      algorithm: 'tree-interventional' as const,
      background: { KIND: 'CsvReader' as const, path: join(fx, 'inputs.csv'), limit: 5 },
      model_output: 'probability' as const,
    };
    const err = await t.throwsAsync(job(t, dir, join(fx, file), join(fx, 'inputs.csv'), explainer).execute());
    t.regex(err!.message, new RegExp(`model_output probability is not available for objective \`${objective}\``), name);
    t.deepEqual(await outputsIn(dir), [], name);
  }
});

test('probability with path-dependent, kernel or banzhaf values is a config error naming job.explainer.model_output', (t) => {
  const bg = { KIND: 'CsvReader' as const, path: 'bg.csv' };
  for (const [explainer, why] of [
    [{ model_output: 'probability' }, /needs algorithm tree-interventional .*not auto/],
    [{ algorithm: 'tree-path-dependent', model_output: 'probability' }, /not tree-path-dependent/],
    [{ algorithm: 'kernel', background: bg, model_output: 'probability' }, /not kernel/],
    [{ algorithm: 'tree-interventional', background: bg, values: 'banzhaf', model_output: 'probability' }, /needs values shapley/],
  ] as const) {
    const err = t.throws(() => job(t, '/tmp', 'm.json', 'x.csv', explainer as ExplanationsJobConfigInput['explainer']));
    t.true(err instanceof ConfigError);
    t.regex(err!.message, /job\.explainer\.model_output: "probability" /);
    t.regex(err!.message, why);
  }
  const bad = t.throws(() => job(t, '/tmp', 'm.json', 'x.csv', { model_output: 'margin' as never }));
  t.regex(bad!.message, /job\.explainer\.model_output: expected one of "raw" \| "probability"/);
});

test('arrowshap explain --model-output sets explainer.model_output', (t) => {
  const config = explainJobConfig({ model: 'm.json', inputs: 'x.csv', samplesOut: 's.csv', algorithm: 'tree-interventional', background: 'bg.csv', modelOutput: 'probability' });
  t.is(config.explainer?.model_output, 'probability');
  t.is(explainJobConfig({ model: 'm.json', inputs: 'x.csv', samplesOut: 's.csv' }).explainer?.model_output, undefined);
});
