/**
 * The `arrowshap` command, spawned from its TypeScript source (`node --import tsx ts/cli.ts …`,
 * what `bin/arrowshap.js` runs once compiled into dist/; tests/package runs the compiled bin).
 * Needs the native addon (fails, not skips, without it).
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { FIXTURES, ROOT, samplesMismatch, fixture } from '../core/_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

// tsx resolved from here: the CLI also runs from other working directories
const CLI = ['--import', import.meta.resolve('tsx'), join(ROOT, 'ts', 'cli.ts')];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `whileRunning` gets the child (for signals). */
function cli(args: string[], opts: { cwd?: string; whileRunning?: (child: ReturnType<typeof spawn>) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    opts.whileRunning?.(child);
  });
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** Asserts a failure: exit 1, exactly one stderr line `arrowshap: …` matching `culprit`. */
function failsWith(t: ExecutionContext, r: Run, culprit: RegExp): void {
  t.is(r.code, 1, r.stderr);
  const errLines = lines(r.stderr);
  t.is(errLines.length, 1, r.stderr);
  t.true(errLines[0].startsWith('arrowshap: '), errLines[0]);
  t.regex(errLines[0], culprit);
  t.false(/\n\s+at /.test(r.stderr));
}

async function files(dir: string): Promise<string[]> {
  return existsSync(dir) ? (await readdir(dir)).sort() : [];
}

const MULTI = join(FIXTURES, 'xgb_multi_softprob');

/** A temp dir with a registry (model `m`: version 1 = Champion) and a config using relative paths. */
async function project(t: ExecutionContext) {
  const dir = await tempDir(t);
  const reg = await cli(['registry', 'register', '--registry', join(dir, 'registry'), '--name', 'm', '--model', join(MULTI, 'model.json'), '--alias', 'Champion']);
  t.is(reg.code, 0, reg.stderr);
  await writeFile(join(dir, 'inputs.csv'), readFileSync(join(MULTI, 'inputs.csv')));
  await writeFile(
    join(dir, 'job.yaml'),
    [
      'job:',
      '  KIND: ExplanationsJob',
      '  inputs_samples: {KIND: CsvReader, path: inputs.csv}',
      '  models_explanations: {KIND: ParquetWriter, path: out/models.parquet}',
      '  samples_explanations: {KIND: ParquetWriter, path: out/samples.parquet}',
      '  registry: {KIND: LocalRegistry, path: registry, name: m}',
      '  logger: {level: warn}',
    ].join('\n'),
  );
  return dir;
}

test('run: a config with paths relative to its file, from another directory', async (t) => {
  const dir = await project(t);
  const r = await cli(['run', join(dir, 'job.yaml')], { cwd: ROOT });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '');
  t.regex(r.stderr, /\[alert\] Explanations Job Finished: models:\/m@Champion: 50 samples × 5 features × 3 outputs/);
  t.deepEqual(await files(join(dir, 'out')), ['models.parquet', 'samples.parquet']);
  const fx = await fixture('xgb_multi_softprob');
  t.is(samplesMismatch(await readerForPath(join(dir, 'out', 'samples.parquet')).read(), fx), undefined);
});

test('run --set: overrides a key (limit) and the alias', async (t) => {
  const dir = await project(t);
  const r = await cli(['run', join(dir, 'job.yaml'), '--set', 'job.inputs_samples.limit=4', '--set', 'job.alias_or_version=1']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /models:\/m\/1: 4 samples/);
  t.is((await readerForPath(join(dir, 'out', 'samples.parquet')).read()).numRows, 12);
});

test('run --schema prints the JSON schema of the config', async (t) => {
  const r = await cli(['run', '--schema']);
  t.is(r.code, 0, r.stderr);
  const schema = JSON.parse(r.stdout);
  t.is(schema.additionalProperties, false);
  // `job` is either kind, told apart by KIND; each is strict
  const kinds = (schema.properties.job.oneOf ?? schema.properties.job.anyOf) as { properties: Record<string, { const?: string; properties?: Record<string, unknown> }>; additionalProperties: boolean; required: string[] }[];
  t.deepEqual(kinds.map((k) => k.properties.KIND.const), ['ExplanationsJob', 'CompareJob']);
  for (const k of kinds) t.is(k.additionalProperties, false);
  const [explanations, compare] = kinds;
  t.truthy(explanations.properties.explainer.properties!.batch_rows);
  t.truthy(explanations.properties.explainer.properties!.model_output);
  t.truthy(explanations.properties.samples_explanations);
  t.truthy(compare.properties.drift_explanations);
  t.truthy(compare.properties.thresholds);
  t.true(compare.required.includes('drift_explanations'));
  t.false('samples_explanations' in compare.properties);
});

test('explain: model from a file, formats by extension, limit, interactions', async (t) => {
  const dir = await tempDir(t);
  const r = await cli([
    'explain',
    '--model', join(MULTI, 'model.json'),
    '--inputs', join(MULTI, 'inputs.csv'),
    '--samples-out', 'out/s.csv',
    '--model-out', 'out/m.arrow',
    '--interactions-out', 'out/i.parquet',
    '--limit', '10',
    '--threads', '2',
  ], { cwd: dir });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(await files(join(dir, 'out')), ['i.parquet', 'm.arrow', 's.csv']);
  const samples = await readerForPath(join(dir, 'out', 's.csv')).read();
  t.is(samples.numRows, 30);
  t.is(samplesMismatch(samples, await fixture('xgb_multi_softprob')), undefined);
  t.is((await readerForPath(join(dir, 'out', 'i.parquet')).read()).numRows, 150);
  const models = await readerForPath(join(dir, 'out', 'm.arrow')).read();
  t.deepEqual(models.schema.fields.map((f) => f.name), ['feature', 'importance', 'gain', 'cover', 'weight', 'mean_abs_shap']);
});

test('explain: without --model-out only the samples table is written; --id-column carried', async (t) => {
  const dir = await tempDir(t);
  const csv = readFileSync(join(MULTI, 'inputs.csv'), 'utf8').trimEnd().split('\n');
  await writeFile(join(dir, 'in.csv'), [`id,${csv[0]}`, ...csv.slice(1).map((l, i) => `${100 + i},${l}`)].join('\n'));
  const r = await cli(['explain', '--model', join(MULTI, 'model.json'), '--inputs', 'in.csv', '--samples-out', 'out/s.parquet', '--id-column', 'id'], { cwd: dir });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(await files(join(dir, 'out')), ['s.parquet']);
  const samples = await readerForPath(join(dir, 'out', 's.parquet')).read();
  t.is(samples.schema.fields[0].name, 'id');
  t.is(Number(samples.getChild('id')!.get(3)), 101);
});

test('explain --algorithm tree-interventional --background', async (t) => {
  const dir = await tempDir(t);
  const r = await cli(['explain', '--model', join(MULTI, 'model.json'), '--inputs', join(MULTI, 'inputs.csv'), '--samples-out', 'out/s.arrows', '--algorithm', 'tree-interventional', '--background', join(MULTI, 'inputs.csv')], { cwd: dir });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /algorithm: tree-interventional/);
  t.is((await readerForPath(join(dir, 'out', 's.arrows')).read()).numRows, 150);
});

test('explain --algorithm kernel --background --nsamples', async (t) => {
  const dir = await tempDir(t);
  const r = await cli(['explain', '--model', join(MULTI, 'model.json'), '--inputs', join(MULTI, 'inputs.csv'), '--limit', '12', '--samples-out', 'out/s.parquet', '--algorithm', 'kernel', '--background', join(MULTI, 'inputs.csv'), '--nsamples', '100'], { cwd: dir });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /algorithm: kernel/);
  t.is((await readerForPath(join(dir, 'out', 's.parquet')).read()).numRows, 36);
});

test('registry register / alias / list', async (t) => {
  const dir = await tempDir(t);
  const reg = ['--registry', join(dir, 'reg'), '--name', 'bikes'];
  const first = await cli(['registry', 'register', ...reg, '--model', join(MULTI, 'model.json'), '--alias', 'Champion']);
  t.is(first.code, 0, first.stderr);
  t.is(first.stdout, '1\n');
  const second = await cli(['registry', 'register', ...reg, '--model', join(FIXTURES, 'xgb_ubj', 'model.ubj')]);
  t.is(second.stdout, '2\n');
  const alias = await cli(['registry', 'alias', ...reg, '--alias', 'Challenger', '--version', '2']);
  t.is(alias.code, 0, alias.stderr);
  const list = await cli(['registry', 'list', ...reg]);
  t.is(list.code, 0, list.stderr);
  const rows = lines(list.stdout).map((l) => l.split(/\s+/));
  t.deepEqual(rows[0], ['version', 'aliases', 'file', 'created']);
  t.deepEqual(rows.slice(1).map((r) => r.slice(0, 3)), [['1', 'Champion', 'model.json'], ['2', 'Challenger', 'model.ubj']]);
  const json = JSON.parse((await cli(['registry', 'list', ...reg, '--json'])).stdout);
  t.deepEqual(json.aliases, { Champion: 1, Challenger: 2 });

  failsWith(t, await cli(['registry', 'alias', ...reg, '--alias', 'Champion', '--version', '7']), /version 7 not found for model `bikes`/);
  failsWith(t, await cli(['registry', 'list', '--registry', join(dir, 'reg'), '--name', 'nope']), /model `nope` not found in registry/);
  failsWith(t, await cli(['registry', 'register', ...reg, '--model', join(dir, 'missing.json')]), /model file not found: .*missing\.json/);
});

// ── bad inputs: exit 1, one line on stderr naming the culprit, no output file ──

test('bad input: a truncated model file', async (t) => {
  const dir = await tempDir(t);
  const model = join(FIXTURES, 'bad', 'truncated.ubj');
  const r = await cli(['explain', '--model', model, '--inputs', join(MULTI, 'inputs.csv'), '--samples-out', 'out/s.parquet'], { cwd: dir });
  failsWith(t, r, /truncated\.ubj.*truncated or malformed UBJSON/);
  t.deepEqual(await files(join(dir, 'out')), []);
});

test('bad input: a missing feature column', async (t) => {
  const dir = await tempDir(t);
  const csv = readFileSync(join(MULTI, 'inputs.csv'), 'utf8').trimEnd().split('\n');
  await writeFile(join(dir, 'in.csv'), csv.map((l) => l.split(',').filter((_, i) => i !== 1).join(',')).join('\n'));
  const r = await cli(['explain', '--model', join(MULTI, 'model.json'), '--inputs', 'in.csv', '--samples-out', 'out/s.parquet'], { cwd: dir });
  failsWith(t, r, /in\.csv lacks model feature `petal`/);
  t.deepEqual(await files(join(dir, 'out')), []);
});

test('bad input: text in a numeric column', async (t) => {
  const dir = await tempDir(t);
  const csv = readFileSync(join(MULTI, 'inputs.csv'), 'utf8').trimEnd().split('\n');
  csv[5] = csv[5].replace(/^[^,]*/, 'oops');
  await writeFile(join(dir, 'in.csv'), csv.join('\n'));
  const r = await cli(['explain', '--model', join(MULTI, 'model.json'), '--inputs', 'in.csv', '--samples-out', 'out/s.parquet'], { cwd: dir });
  failsWith(t, r, /`sepal`.*in\.csv/);
  t.deepEqual(await files(join(dir, 'out')), []);
});

test('bad input: a missing input file', async (t) => {
  const dir = await tempDir(t);
  const r = await cli(['explain', '--model', join(MULTI, 'model.json'), '--inputs', 'nope.parquet', '--samples-out', 'out/s.parquet'], { cwd: dir });
  failsWith(t, r, /input file not found: .*nope\.parquet/);
  t.deepEqual(await files(join(dir, 'out')), []);
});

test('bad input: an unknown alias', async (t) => {
  const dir = await project(t);
  const r = await cli(['run', join(dir, 'job.yaml'), '--set', 'job.alias_or_version=Staging']);
  failsWith(t, r, /alias `Staging` not found for model `m`; aliases: Champion→1/);
  t.deepEqual(await files(join(dir, 'out')), []);
});

test('bad config: one line per issue naming the key; unknown options and commands are one line too', async (t) => {
  const dir = await project(t);
  const r = await cli(['run', join(dir, 'job.yaml'), '--set', 'job.inputs_samples.limit=ten']);
  failsWith(t, r, /^arrowshap: invalid config .*job\.yaml: job\.inputs_samples\.limit: expected integer, received string$/);
  const two = await cli(['run', join(dir, 'job.yaml'), '--set', 'job.inputs_samples.limit=ten', '--set', 'job.explainer.speed=3']);
  t.is(two.code, 1);
  t.deepEqual(lines(two.stderr).map((l) => l.replace(/^arrowshap: invalid config [^:]+: /, '')), [
    'job.inputs_samples.limit: expected integer, received string',
    'job.explainer.speed: unknown key (allowed keys: algorithm, background, nsamples, interactions, values, model_output, device, threads, batch_rows, id_column, include_inputs, raw_columns, shard)',
  ]);
  failsWith(t, await cli(['run', join(dir, 'nope.yaml')]), /config file not found: .*nope\.yaml/);
  failsWith(t, await cli(['explain', '--model', 'x.json']), /Missing required arguments: inputs, samples-out/);
  failsWith(t, await cli(['explain', '--model', 'x.json', '--inputs', 'a.csv', '--samples-out', 'b.csv', '--algorithm', 'magic']), /Invalid values/);
  failsWith(t, await cli(['frobnicate']), /^arrowshap: unknown command frobnicate \(commands: run, merge, explain, compare, registry\)$/);
  failsWith(t, await cli(['registry']), /registry: name a subcommand: register, alias or list/);
  failsWith(t, await cli(['explain', '--model', 'm.json', '--inputs', 'a.csv', '--samples-out', 'b.csv', '--limit', '0']), /^arrowshap: --limit: expected an integer >= 1, got 0$/);
  failsWith(t, await cli(['explain', '--model', 'm.json', '--inputs', 'a.csv', '--samples-out', 'b.csv', '--threads', 'many']), /^arrowshap: --threads: expected an integer >= 0, got NaN$/);
  failsWith(t, await cli(['explain', '--model', join(MULTI, 'model.json'), '--inputs', join(MULTI, 'inputs.csv'), '--samples-out', 'out.xlsx']), /cannot tell the format of .*out\.xlsx/);
  failsWith(t, await cli(['explain', '--model', join(MULTI, 'model.json'), '--inputs', join(MULTI, 'inputs.csv'), '--samples-out', join(dir, 's.csv'), '--algorithm', 'kernel']), /"kernel" needs a background sample/);
  t.false(existsSync(join(dir, 's.csv')));
});

test('-h/--help and --version work on every command', async (t) => {
  t.timeout(10 * 60_000); // 22 CLI starts in a row: minutes on a loaded machine
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const commands = [[], ['run'], ['merge'], ['explain'], ['compare'], ['registry'], ['registry', 'register'], ['registry', 'alias'], ['registry', 'list']];
  for (const command of commands) {
    for (const help of ['-h', '--help']) {
      const r = await cli([...command, help]);
      t.is(r.code, 0, `${command.join(' ')} ${help}: ${r.stderr}`);
      t.true(r.stdout.startsWith(`arrowshap ${command.join(' ')}`.trimEnd()), r.stdout);
      t.regex(r.stdout, /--help\b.*\n/);
    }
    const v = await cli([...command, '--version']);
    t.is(v.code, 0, `${command.join(' ')} --version: ${v.stderr}`);
    t.is(v.stdout, `${version}\n`);
  }
  // on `registry alias`, --version N is still the model version the alias points at
  const r = await cli(['registry', 'alias', '--registry', 'nowhere', '--name', 'm', '--alias', 'A', '--version', '2']);
  failsWith(t, r, /model `m`/);
});

test('a mistyped command or option is named with a suggestion, also when a required option is missing', async (t) => {
  t.timeout(5 * 60_000);
  const r = await cli(['explain', '--modle', 'm.json', '--inputs', 'a.csv', '--samples-out', 'b.csv']);
  t.is(r.code, 1);
  t.deepEqual(lines(r.stderr), [
    'arrowshap: explain: unknown option --modle (did you mean --model?)',
    'arrowshap: explain: Missing required argument: model',
  ]);
  failsWith(t, await cli(['explian', '--model', 'm.json']), /^arrowshap: unknown command explian \(did you mean explain\?\)$/);
  failsWith(t, await cli(['registry', 'alais']), /^arrowshap: unknown command registry alais \(did you mean registry alias\?\)$/);
  failsWith(
    t,
    await cli(['explain', '--model', 'm.json', '--inputs', 'a.csv', '--samples-out', 'b.csv', '--id-colum', 'id']),
    /^arrowshap: explain: unknown option --id-colum \(did you mean --id-column\?\)$/,
  );
  failsWith(t, await cli(['run', 'job.yaml', '--sett', 'a=1']), /^arrowshap: run: unknown option --sett \(did you mean --set\?\)$/);
});

test('--verbose adds the stack trace to an error', async (t) => {
  const dir = await tempDir(t);
  const r = await cli(['explain', '--verbose', '--model', join(MULTI, 'model.json'), '--inputs', 'nope.csv', '--samples-out', 'out/s.csv'], { cwd: dir });
  t.is(r.code, 1);
  t.regex(r.stderr, /arrowshap: input file not found/);
  t.regex(r.stderr, /\n\s+at /);
});

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  test(`${signal === 'SIGINT' ? 'Ctrl-C (SIGINT)' : signal} aborts a long run: exit ${code}, one line, no output file`, async (t) => {
    const dir = await tempDir(t);
    // 200k rows explained against a 2k-row background: many seconds of native work.
    const n = 200_000;
    const names = ['sepal', 'petal', 'stem', 'leaf', 'root'];
    const table = arrow.tableFromArrays(Object.fromEntries(names.map((f, j) => [f, Float64Array.from({ length: n }, (_, i) => Math.sin(i * (j + 1)))])));
    await writeFile(join(dir, 'big.arrow'), arrow.tableToIPC(table, 'file'));
    await writeFile(join(dir, 'bg.arrow'), arrow.tableToIPC(table.slice(0, 2000), 'file'));
    let started = 0;
    const r = await cli(
      ['explain', '--verbose', '--model', join(MULTI, 'model.json'), '--inputs', 'big.arrow', '--background', 'bg.arrow', '--algorithm', 'tree-interventional', '--samples-out', 'out/s.parquet', '--model-out', 'out/m.parquet'],
      {
        cwd: dir,
        whileRunning: (child) => {
          // interrupt once the native work has started (step 5 logged)
          let seen = '';
          child.stderr!.on('data', (b: Buffer) => {
            seen += b.toString();
            if (!started && seen.includes('[5/7] explaining')) {
              started = Date.now();
              setTimeout(() => child.kill(signal), 300);
            }
          });
        },
      },
    );
    t.is(r.code, code, r.stderr);
    const errLines = lines(r.stderr);
    t.is(errLines[errLines.length - 1], 'arrowshap: interrupted: no output written');
    t.is(errLines.filter((l) => l.startsWith('arrowshap:')).length, 1);
    t.false(r.stderr.includes('[6/7]'));
    t.deepEqual(await files(join(dir, 'out')), []);
    t.true(started > 0 && Date.now() - started < 10_000, 'the abort is prompt');
  });
}
