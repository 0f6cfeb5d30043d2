import test from 'ava';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRegistry, LocalRegistry, parseModelUri } from '../../ts/io/registries/registry.ts';
import { tempDir } from '../helpers/tmp.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');

async function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const reg = new LocalRegistry({ path: join(dir, 'registry'), name: 'bikes' });
  return { dir, reg };
}

test('register copies the model in as the next version, with meta.json', async (t) => {
  const { dir, reg } = await setup(t);
  const v1 = await reg.register(join(FIXTURES, 'xgb.ubj'), { description: 'first' });
  t.is(v1.version, 1);
  t.is(v1.name, 'bikes');
  t.is(v1.uri, 'models:/bikes/1');
  t.is(v1.aliasUri, undefined);
  t.is(v1.dir, join(dir, 'registry', 'bikes', 'versions', '1'));
  t.deepEqual(v1.files, ['model.ubj']);
  t.is(v1.file, 'model.ubj');
  t.is(v1.flavor, 'xgboost');
  t.is(v1.description, 'first');
  t.deepEqual(await readFile(join(v1.dir, 'model.ubj')), await readFile(join(FIXTURES, 'xgb.ubj')));
  const meta = JSON.parse(await readFile(join(v1.dir, 'meta.json'), 'utf8'));
  t.like(meta, { name: 'bikes', version: 1, file: 'model.ubj', description: 'first', flavor: 'xgboost', source: join(FIXTURES, 'xgb.ubj') });
  t.true(!Number.isNaN(Date.parse(meta.created)));

  const v2 = await reg.register(join(FIXTURES, 'lgb.txt'), { alias: 'Champion' });
  t.is(v2.version, 2);
  t.is(v2.aliasUri, 'models:/bikes@Champion');
  t.is(v2.file, 'model.txt');
  t.is(v2.flavor, 'lightgbm');
  // the atomic layout: numbered dirs only, no temporaries left, aliases.json beside versions/
  t.deepEqual((await readdir(join(dir, 'registry', 'bikes'))).sort(), ['aliases.json', 'versions']);
  t.deepEqual((await readdir(join(dir, 'registry', 'bikes', 'versions'))).sort(), ['1', '2']);
  t.deepEqual(JSON.parse(await readFile(join(dir, 'registry', 'bikes', 'aliases.json'), 'utf8')), { Champion: 2 });
});

test('aliases, list and resolve by alias, version, number string, latest and URI', async (t) => {
  const { reg } = await setup(t);
  await reg.register(join(FIXTURES, 'xgb.json'), { alias: 'Champion' });
  await reg.register(join(FIXTURES, 'xgb.ubj'), { alias: 'Staging' });
  await reg.register(join(FIXTURES, 'lgb.txt'));
  await reg.setAlias('Champion', 2);
  const listing = await reg.list();
  t.deepEqual(listing.aliases, { Champion: 2, Staging: 2 });
  t.deepEqual(
    listing.versions.map((v) => [v.version, v.file, v.aliases]),
    [
      [1, 'model.json', []],
      [2, 'model.ubj', ['Champion', 'Staging']],
      [3, 'model.txt', []],
    ],
  );
  t.is((await reg.resolve('Champion')).version, 2);
  t.is((await reg.resolve('Champion')).aliasUri, 'models:/bikes@Champion');
  t.is((await reg.resolve(1)).version, 1);
  t.is((await reg.resolve('3')).version, 3);
  t.is((await reg.resolve('latest')).version, 3);
  t.is((await reg.resolve('models:/bikes/1')).file, 'model.json');
  t.is((await reg.resolve('models:/bikes@Staging')).version, 2);
  await reg.deleteAlias('Staging');
  t.deepEqual((await reg.list()).aliases, { Champion: 2 });
});

test('unknown alias, version and name: errors list what exists', async (t) => {
  const { dir, reg } = await setup(t);
  await reg.register(join(FIXTURES, 'xgb.json'));
  await reg.register(join(FIXTURES, 'xgb.json'), { alias: 'Staging' });
  await t.throwsAsync(reg.resolve('Champion'), {
    message: 'alias `Champion` not found for model `bikes`; aliases: Staging→2; versions: 1, 2',
  });
  await t.throwsAsync(reg.resolve(7), { message: 'version 7 not found for model `bikes`; aliases: Staging→2; versions: 1, 2' });
  await t.throwsAsync(reg.setAlias('Champion', 9), { message: /^version 9 not found for model `bikes`/ });
  await t.throwsAsync(reg.deleteAlias('Nope'), { message: /^alias `Nope` not found for model `bikes`/ });
  await t.throwsAsync(reg.resolve('models:/cars/1'), { message: /names model `cars`, but this registry is set up for model `bikes`/ });

  const other = new LocalRegistry({ path: join(dir, 'registry'), name: 'cars' });
  await t.throwsAsync(other.resolve('Champion'), {
    message: `model \`cars\` not found in registry ${join(dir, 'registry')}; models: bikes`,
  });
  await t.throwsAsync(other.list(), { message: /^model `cars` not found in registry/ });
  const nowhere = new LocalRegistry({ path: join(dir, 'nowhere'), name: 'bikes' });
  await t.throwsAsync(nowhere.resolve(1), { message: `model \`bikes\` not found: registry ${join(dir, 'nowhere')} does not exist` });
});

test('a model with no aliases says so', async (t) => {
  const { reg } = await setup(t);
  await reg.register(join(FIXTURES, 'xgb.json'));
  await t.throwsAsync(reg.resolve('Champion'), {
    message: 'alias `Champion` not found for model `bikes`; aliases: (none); versions: 1',
  });
});

test('invalid aliases and names are refused; a missing model file is named', async (t) => {
  const { dir, reg } = await setup(t);
  await t.throwsAsync(reg.register(join(FIXTURES, 'xgb.json'), { alias: '2' }), { message: /^invalid alias `2`/ });
  await t.throwsAsync(reg.register(join(FIXTURES, 'xgb.json'), { alias: 'latest' }), { message: /^invalid alias `latest`/ });
  await t.throwsAsync(reg.register(join(dir, 'missing.ubj')), { message: `model file not found: ${join(dir, 'missing.ubj')}` });
  t.throws(() => new LocalRegistry({ name: '../escape' }), { message: /^invalid registry config: name: a model name is/ });
  // nothing was registered by the refused calls
  t.deepEqual(await readdir(join(dir, 'registry', 'bikes', 'versions')).catch(() => []), []);
});

test('registering a directory copies it as is (MLflow layout) and reads the flavor from MLmodel', async (t) => {
  const { dir, reg } = await setup(t);
  const src = join(dir, 'mlflow-model');
  await mkdir(src);
  await writeFile(join(src, 'MLmodel'), 'flavors:\n  python_function: {loader_module: mlflow.xgboost}\n  xgboost: {data: model.xgb, model_format: xgb}\n');
  await writeFile(join(src, 'model.xgb'), await readFile(join(FIXTURES, 'xgb.ubj')));
  await writeFile(join(src, 'requirements.txt'), 'xgboost\n');
  const mv = await reg.register(src, { alias: 'Champion' });
  t.deepEqual(mv.files, ['MLmodel', 'model.xgb', 'requirements.txt']);
  t.is(mv.flavor, 'xgboost');
  t.is(mv.file, 'model.xgb');
  await writeFile(join(src, 'meta.json'), '{}');
  await t.throwsAsync(reg.register(src), { message: /holds a meta\.json/ });
  t.deepEqual(await readdir(join(dir, 'registry', 'bikes', 'versions')), ['1']);
});

test('concurrent registrations get distinct version numbers', async (t) => {
  const { reg } = await setup(t);
  const versions = await Promise.all(Array.from({ length: 8 }, () => reg.register(join(FIXTURES, 'xgb.json'))));
  t.deepEqual(versions.map((v) => v.version).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
  t.deepEqual((await reg.list()).versions.map((v) => v.version), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('registry configs: strict, default path, validated name', (t) => {
  const reg = createRegistry({ KIND: 'LocalRegistry', name: 'bikes' }) as LocalRegistry;
  t.is(reg.path, 'registry');
  t.is(reg.describe(), 'LocalRegistry(registry, bikes)');
  t.throws(() => createRegistry({ KIND: 'LocalRegistry', name: 'bikes', uri: 'x' }, 'job.registry'), {
    message: 'invalid registry config: unknown key `job.registry.uri`',
  });
  t.throws(() => createRegistry({ KIND: 'LocalRegistry' }, 'job.registry'), { message: /^invalid registry config: job\.registry\.name: / });
  t.is(createRegistry({ KIND: 'MlflowRegistry', uri: 'http://x', name: 'b' }).describe?.(), 'MlflowRegistry(http://x, b)');
  t.throws(() => createRegistry({ KIND: 'S3Registry', name: 'b' }), { message: /^invalid registry config: KIND: / });
});

test('parseModelUri', (t) => {
  t.deepEqual(parseModelUri('models:/bikes/3'), { name: 'bikes', version: 3 });
  t.deepEqual(parseModelUri('models:/bikes@Champion'), { name: 'bikes', alias: 'Champion' });
  t.is(parseModelUri('runs:/abc/model'), undefined);
  t.is(parseModelUri('Champion'), undefined);
});
