/**
 * The job never destroys what it reads: an output path that is an input (by
 * name, through a symlink or a hard link), or two outputs naming one file, is
 * one clear error before anything is read or written.
 */
import test, { type ExecutionContext } from 'ava';
import { copyFile, link, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExplanationsJobConfigInput } from '../../ts/config/job.ts';
import { LocalRegistry } from '../../ts/io/registries/registry.ts';
import { ExplanationsJob } from '../../ts/jobs/explanations.ts';
import { fixture } from '../core/_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

async function setup(t: ExecutionContext) {
  const dir = await tempDir(t);
  const fx = await fixture('xgb_reg_nan');
  const inputs = join(dir, 'inputs.csv');
  await copyFile(fx.inputsPath, inputs);
  await new LocalRegistry({ path: join(dir, 'registry'), name: 'm' }).register(fx.modelPath, { alias: 'Champion' });
  const config = (extra: Partial<ExplanationsJobConfigInput>): ExplanationsJobConfigInput => ({
    KIND: 'ExplanationsJob',
    inputs_samples: { KIND: 'CsvReader', path: inputs },
    samples_explanations: { KIND: 'ParquetWriter', path: join(dir, 'samples.parquet') },
    registry: { KIND: 'LocalRegistry', path: join(dir, 'registry'), name: 'm' },
    logger: { level: 'error' },
    ...extra,
  });
  return { dir, inputs, config, original: await readFile(inputs) };
}

test('an output equal to the input is refused and the input is left as it was', async (t) => {
  const { inputs, config, original } = await setup(t);
  const job = new ExplanationsJob(config({ samples_explanations: { KIND: 'CsvWriter', path: inputs } }));
  await t.throwsAsync(job.execute(), {
    message: `job.samples_explanations.path (${inputs}) is the input job.inputs_samples.path: an output may not overwrite what the run reads`,
  });
  t.deepEqual(await readFile(inputs), original);
});

for (const how of ['symlink', 'hard link'] as const) {
  test(`an output that is the input through a ${how} is refused`, async (t) => {
    const { dir, inputs, config, original } = await setup(t);
    const alias = join(dir, 'alias.csv');
    await (how === 'symlink' ? symlink(inputs, alias) : link(inputs, alias));
    const job = new ExplanationsJob(config({ models_explanations: { KIND: 'CsvWriter', path: alias } }));
    await t.throwsAsync(job.execute(), { message: /job\.models_explanations\.path \(.*alias\.csv\) is the input job\.inputs_samples\.path/ });
    t.deepEqual(await readFile(inputs), original);
  });
}

test('two outputs naming one file are refused', async (t) => {
  const { dir, config } = await setup(t);
  const same = join(dir, 'same.parquet');
  const job = new ExplanationsJob(
    config({
      samples_explanations: { KIND: 'ParquetWriter', path: same },
      models_explanations: { KIND: 'ParquetWriter', path: same },
    }),
  );
  await t.throwsAsync(job.execute(), { message: `job.samples_explanations.path and job.models_explanations.path both write ${same}` });
});
