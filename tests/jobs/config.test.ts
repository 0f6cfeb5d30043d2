import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../ts/config/errors.ts';
import { DEFAULT_REGISTRY } from '../../ts/config/job.ts';
import { applySet, configJsonSchema, loadConfig, parseConfig } from '../../ts/config/load.ts';
import { tempDir } from '../helpers/tmp.ts';

const minimal = {
  KIND: 'ExplanationsJob',
  inputs_samples: { KIND: 'ParquetReader', path: 'data/inputs.parquet' },
  models_explanations: { KIND: 'ParquetWriter', path: 'outputs/models.parquet' },
  samples_explanations: { KIND: 'ParquetWriter', path: 'outputs/samples.parquet' },
};

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.lines;
    throw err;
  }
  throw new Error('no ConfigError');
}

test('defaults: Champion, CustomLoader, LocalRegistry `registry`, explainer auto/cpu, ConsoleAlerts, info logs', (t) => {
  const { job } = parseConfig({ job: minimal }, { baseDir: '/base' });
  t.is(job.alias_or_version, 'Champion');
  t.deepEqual(job.loader, { KIND: 'CustomLoader' });
  t.deepEqual(job.registry, { ...DEFAULT_REGISTRY, path: '/base/registry' });
  t.deepEqual(job.explainer, {
    algorithm: 'auto',
    interactions: false,
    values: 'shapley',
    model_output: 'raw',
    device: 'auto',
    threads: 0,
    batch_rows: 65536,
    include_inputs: false,
    raw_columns: false,
  });
  t.is(job.report, undefined);
  t.deepEqual(job.alerts, { KIND: 'ConsoleAlerts' });
  t.deepEqual(job.logger, { level: 'info', format: 'pretty' });
  t.is(job.interactions_explanations, undefined);
});

test('alias_or_version takes a string alias or an integer version', (t) => {
  t.is(parseConfig({ job: { ...minimal, alias_or_version: 3 } }).job.alias_or_version, 3);
  t.is(parseConfig({ job: { ...minimal, alias_or_version: 'Challenger' } }).job.alias_or_version, 'Challenger');
  t.deepEqual(issues(() => parseConfig({ job: { ...minimal, alias_or_version: 1.5 } })), [
    'job.alias_or_version: expected string or integer, received 1.5',
  ]);
});

test('validation errors: one line per issue, each with its key path', (t) => {
  const lines = issues(() =>
    parseConfig({
      job: {
        ...minimal,
        inputs_samples: { KIND: 'ParquetReader', path: 'x.parquet', limit: 'ten' },
        explainer: { threads: -1, algorithm: 'magic', batch_rows: 2.5, device: 'tpu', values: 'owen' },
        registry: { KIND: 'Nope' },
        logger: { level: 'loud' },
      },
    }),
  );
  t.deepEqual(lines, [
    'job.inputs_samples.limit: expected integer, received string',
    'job.registry.KIND: expected one of LocalRegistry | MlflowRegistry | FileRegistry, received "Nope"',
    'job.explainer.algorithm: expected one of "auto" | "tree-path-dependent" | "tree-interventional" | "kernel", received "magic"',
    'job.explainer.values: expected one of "shapley" | "banzhaf", received "owen"',
    'job.explainer.device: expected one of "auto" | "cpu" | "gpu", received "tpu"',
    'job.explainer.threads: expected a number >= 0, received -1',
    'job.explainer.batch_rows: expected integer, received 2.5',
    'job.logger.level: expected one of "error" | "warn" | "info" | "debug", received "loud"',
  ]);
});

test('validation errors: missing keys and KINDs are named', (t) => {
  const { samples_explanations: _, ...noSamples } = minimal;
  t.deepEqual(issues(() => parseConfig({ job: { ...noSamples, inputs_samples: { path: 'x.csv' } } })), [
    'job.inputs_samples.KIND: required (expected one of ParquetReader | CsvReader | ArrowReader)',
    'job.samples_explanations: required (expected object)',
  ]);
  t.deepEqual(issues(() => parseConfig({})), ['job: required (expected object)']);
  t.deepEqual(issues(() => parseConfig({ job: { ...minimal, KIND: 'TrainingJob' } })), [
    'job.KIND: expected "ExplanationsJob", received "TrainingJob"',
  ]);
});

test('unknown keys are errors, at every level, naming the allowed keys', (t) => {
  const lines = issues(() =>
    parseConfig({
      job: { ...minimal, extra: 1, explainer: { algo: 'auto' }, inputs_samples: { ...minimal.inputs_samples, limt: 3 } },
      other: true,
    }),
  );
  t.is(lines.length, 4);
  t.true(lines.includes('other: unknown key (allowed keys: job)'));
  t.true(lines.some((l) => l.startsWith('job.extra: unknown key (allowed keys: KIND, inputs_samples,')));
  t.true(lines.some((l) => l.startsWith('job.explainer.algo: unknown key (allowed keys: algorithm, ')));
  t.true(lines.includes('job.inputs_samples.limt: unknown key (allowed keys: KIND, path, limit)'), lines.join('\n'));
});

test('interactions need interactions_explanations; ConfigError message lists the lines', (t) => {
  const err = t.throws(() => parseConfig({ job: { ...minimal, explainer: { interactions: true } } }, { source: 'c.yaml' }), {
    instanceOf: ConfigError,
  })!;
  t.is(err.message, 'invalid config c.yaml:\njob.interactions_explanations: required when explainer.interactions is true');
});

test('--set: YAML scalars, nested keys created, strings kept with quotes, paths relative to the cwd', (t) => {
  const raw: Record<string, unknown> = { job: { inputs_samples: { KIND: 'CsvReader', path: '/abs/x.csv' } } };
  applySet(raw, 'job.inputs_samples.limit=100', '/cwd');
  applySet(raw, 'job.explainer.interactions=true', '/cwd');
  applySet(raw, 'job.alias_or_version="2"', '/cwd');
  applySet(raw, 'job.samples_explanations={KIND: CsvWriter, path: out/s.csv}', '/cwd');
  applySet(raw, 'job.inputs_samples.path=data/y.csv', '/cwd');
  t.deepEqual(raw, {
    job: {
      inputs_samples: { KIND: 'CsvReader', path: '/cwd/data/y.csv', limit: 100 },
      explainer: { interactions: true },
      alias_or_version: '2',
      samples_explanations: { KIND: 'CsvWriter', path: '/cwd/out/s.csv' },
    },
  });
  t.throws(() => applySet(raw, 'job.limit', '/cwd'), { message: '--set job.limit: expected KEY.PATH=VALUE' });
  t.throws(() => applySet(raw, 'job.inputs_samples.path.x=1', '/cwd'), { message: /job.inputs_samples.path is not a mapping/ });
});

test('loadConfig: YAML, paths relative to the config file, --set overrides validated like the file', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'explanations.yaml');
  await writeFile(
    file,
    [
      'job:',
      '  KIND: ExplanationsJob',
      '  inputs_samples: {KIND: ParquetReader, path: data/in.parquet, limit: 10}',
      '  samples_explanations: {KIND: ParquetWriter, path: ../outputs/s.parquet}',
      '  models_explanations: {KIND: CsvWriter, path: /abs/m.csv}',
      '  registry: {KIND: LocalRegistry, name: bikes}',
    ].join('\n'),
  );
  const { job } = await loadConfig(file, ['job.inputs_samples.limit=5', 'job.alias_or_version=3']);
  t.is(job.inputs_samples.path, join(dir, 'data/in.parquet'));
  t.is(job.inputs_samples.limit, 5);
  t.is(job.samples_explanations.path, resolve(dir, '../outputs/s.parquet'));
  t.is(job.models_explanations!.path, '/abs/m.csv');
  t.deepEqual(job.registry, { KIND: 'LocalRegistry', path: join(dir, 'registry'), name: 'bikes' });
  t.is(job.alias_or_version, 3);

  const err = await t.throwsAsync(loadConfig(file, ['job.inputs_samples.limit=ten']), { instanceOf: ConfigError });
  t.deepEqual((err as ConfigError).lines, ['job.inputs_samples.limit: expected integer, received string']);
  t.true(err!.message.startsWith(`invalid config ${file}:`));
});

test('loadConfig: JSON by extension; missing and unparsable files are named', async (t) => {
  const dir = await tempDir(t);
  const json = join(dir, 'c.json');
  await writeFile(json, JSON.stringify({ job: minimal }));
  t.is((await loadConfig(json)).job.inputs_samples.path, join(dir, 'data/inputs.parquet'));
  await t.throwsAsync(loadConfig(join(dir, 'nope.yaml')), { message: `config file not found: ${join(dir, 'nope.yaml')}` });
  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, 'job: [unclosed');
  await t.throwsAsync(loadConfig(bad), { message: new RegExp(`^cannot parse config ${bad} as YAML: `) });
  const list = join(dir, 'list.yaml');
  await writeFile(list, '- a\n- b\n');
  await t.throwsAsync(loadConfig(list), { message: /expected a mapping with a `job` key/ });
});

test('configJsonSchema: the strict schema of the whole file, either job kind', (t) => {
  type Job = { properties: Record<string, unknown>; required: string[]; additionalProperties: boolean };
  const schema = configJsonSchema() as { additionalProperties: boolean; properties: { job: { oneOf: Job[] } } };
  t.false(schema.additionalProperties);
  const [job, compare] = schema.properties.job.oneOf;
  t.false(compare.additionalProperties);
  t.deepEqual(compare.required.sort(), ['KIND', 'drift_explanations', 'inputs_samples']);
  t.regex(JSON.stringify(compare.properties.KIND), /"const":"CompareJob"/);
  t.false(job.additionalProperties);
  t.deepEqual(job.required.sort(), ['KIND', 'inputs_samples', 'samples_explanations']);
  t.truthy(job.properties.explainer);
  t.truthy(job.properties.registry);
  t.regex(JSON.stringify(job.properties.registry), /FileRegistry/);
  t.regex(JSON.stringify(job.properties.inputs_samples), /ParquetReader/);
});
