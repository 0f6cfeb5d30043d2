/** The library API (`ts/index.ts`): the documented snippets work as written. */
import test from 'ava';
import { join } from 'node:path';
import * as arrowshap from '../../ts/index.ts';
import { ROOT } from '../core/_fixtures.ts';

test('explain a table with a model file through the package entry point', async (t) => {
  const { TreeModel, readerForPath, featureColumns, explainSamples, explainModel } = arrowshap;
  const model = TreeModel.fromFile(join(ROOT, 'examples', 'models', 'diabetes.ubj'));
  const inputs = await readerForPath(join(ROOT, 'examples', 'data', 'diabetes.parquet'), 20).read();
  const { table, meanAbsShap } = await explainSamples(model, featureColumns(inputs, model.featureNames));
  t.is(table.numRows, 20);
  t.deepEqual(table.schema.fields.map((f) => f.name), ['row', ...model.featureNames, 'base_value']);
  const importances = explainModel(model, meanAbsShap);
  t.is(importances.numRows, 10);
});

test('the demo config runs through loadConfig + ExplanationsJob (outputs redirected)', async (t) => {
  const { loadConfig, ExplanationsJob } = arrowshap;
  const { tempDir } = await import('../helpers/tmp.ts');
  const dir = await tempDir(t);
  const { job } = await loadConfig(join(ROOT, 'examples', 'explanations.yaml'), [
    `job.models_explanations.path=${join(dir, 'models.parquet')}`,
    `job.samples_explanations.path=${join(dir, 'samples.parquet')}`,
    'job.logger.level=error',
    'job.inputs_samples.limit=25',
  ]);
  const alerts = { sent: 0, async notify() { this.sent++; }, describe: () => 'test' };
  const out = await new ExplanationsJob(job, { alerts }).execute();
  t.is(out.modelUri, 'models:/diabetes@Champion');
  t.is(out.samplesExplanations!.numRows, 25);
  t.is(out.samplesExplanations!.schema.fields[0].name, 'id');
  t.is(alerts.sent, 1);
  // additivity against the model's own raw prediction
  const raw = await out.model.predictRaw(out.featureColumns!);
  const cols = out.model.featureNames.map((n) => out.samplesExplanations!.getChild(n)!.toArray() as Float64Array);
  const base = out.samplesExplanations!.getChild('base_value')!.toArray() as Float64Array;
  for (let i = 0; i < 25; i++) {
    const sum = cols.reduce((a, c) => a + c[i], base[i]);
    t.true(Math.abs(sum - raw[i]) <= 1e-6 * Math.max(1, Math.abs(raw[i])));
  }
});
