/**
 * arrowshap as another Node app gets it. Packs this checkout (`npm pack`, whose
 * `prepack` compiles dist/) and its platform package (`npm/<target>/`, with the built
 * addon staged in), installs both tarballs into a fresh temporary app (npm copies
 * them: nothing links back to the checkout), and there:
 * - imports it from a plain ES module and requires it from CommonJS (`node`, no tsx);
 * - compiles a strict NodeNext TypeScript app (an ES and a CommonJS module) against
 *   its types with `tsc` (skipLibCheck off), and runs what tsc wrote;
 * - runs `npx arrowshap --version` and `npx arrowshap explain`;
 * and checks the SHAP values each way gives for a fixture against XGBoost's own
 * (`tests/fixtures/xgb_reg_nan`: NaN cells, default directions).
 *
 * Needs the native addon built (`npm run build:native`) and npm with the
 * dependencies in its cache or the registry reachable (as `npm ci` does).
 */
import anyTest, { type TestFn } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformTarget } from '../../ts/native/loader.ts';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { close, FIXTURES, fixture, ROOT, samplesMismatch, type Expected } from '../core/_fixtures.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One `npm pack --json` result. */
interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

interface Context {
  app: string;
  root: Packed;
  platform: Packed;
  installLog: string;
}

const test = anyTest as TestFn<Context>;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const TARGET = platformTarget();
const FX = join(FIXTURES, 'xgb_reg_nan');
const EXPECTED = JSON.parse(readFileSync(join(FX, 'expected.json'), 'utf8')) as Expected;
const MODEL = join(FX, EXPECTED.model);
const INPUTS = join(FX, 'inputs.csv');
const MINUTES = 60_000;
/** The temporary folder of this run (packs and app), removed after the last test. */
let tmp: string | undefined;

/** The environment without the `npm_*` variables `npm test` sets (they would configure the inner npm). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, NO_COLOR: '1', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: cleanEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function ok(command: string, args: string[], cwd: string): Promise<Run> {
  const r = await run(command, args, cwd);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r;
}

async function pack(dir: string, dest: string): Promise<Packed> {
  const r = await ok('npm', ['pack', dir, '--json', '--pack-destination', dest], ROOT);
  return (JSON.parse(r.stdout) as Packed[])[0];
}

async function du(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await du(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}

/**
 * Compares column-major path-dependent SHAP values (M+1 columns of `rows` values,
 * the base value last) with the fixture's contribs, within 1e-5 relative.
 */
function shapMismatch(values: number[]): string | undefined {
  const m = EXPECTED.feature_names.length;
  const rows = EXPECTED.rows;
  if (values.length !== rows * (m + 1)) return `${values.length} values, expected ${rows * (m + 1)}`;
  for (let j = 0; j <= m; j++) {
    for (let r = 0; r < rows; r++) {
      const got = values[j * rows + r];
      const want = EXPECTED.contribs[r * (m + 1) + j];
      if (!close(got, want)) return `row ${r} column ${j}: ${got} vs ${want}`;
    }
  }
  return undefined;
}

// The consumer's programs: each prints {"values": [...]} (path-dependent SHAP, column-major).
const ESM_APP = `import { TreeModel, featureColumns, readerForPath } from 'arrowshap';
const [modelPath, inputsPath] = process.argv.slice(2);
const model = TreeModel.fromFile(modelPath);
const inputs = await readerForPath(inputsPath).read();
const shap = await model.shapPathDependent(featureColumns(inputs, model.featureNames));
console.log(JSON.stringify({ values: Array.from(shap.values) }));
`;

const CJS_APP = `const { TreeModel, featureColumns, readerForPath } = require('arrowshap');
async function main(modelPath, inputsPath) {
  const model = TreeModel.fromFile(modelPath);
  const inputs = await readerForPath(inputsPath).read();
  const shap = await model.shapPathDependent(featureColumns(inputs, model.featureNames));
  console.log(JSON.stringify({ values: Array.from(shap.values) }));
}
main(process.argv[2], process.argv[3]).catch((e) => { console.error(e); process.exitCode = 1; });
`;

const TS_ESM_APP = `import { explainSamples, featureColumns, readerForPath, TreeModel, type ShapResult } from 'arrowshap';

const [modelPath, inputsPath] = process.argv.slice(2);
const model: TreeModel = TreeModel.fromFile(modelPath);
const inputs = await readerForPath(inputsPath).read();
const columns = featureColumns(inputs, model.featureNames);
const { table } = await explainSamples(model, columns, { threads: 1 });
const shap: ShapResult = await model.shapPathDependent(columns);
const rows: number = table.numRows;
console.log(JSON.stringify({ rows, values: Array.from(shap.values) }));
`;

const TS_CJS_APP = `import { featureColumns, readerForPath, TreeModel, type ShapResult } from 'arrowshap';

async function main(modelPath: string, inputsPath: string): Promise<ShapResult> {
  const model = TreeModel.fromFile(modelPath);
  const inputs = await readerForPath(inputsPath).read();
  return model.shapPathDependent(featureColumns(inputs, model.featureNames));
}
main(process.argv[2], process.argv[3]).then((shap) => console.log(JSON.stringify({ values: Array.from(shap.values) })));
`;

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2022',
    skipLibCheck: false,
    outDir: 'out',
    types: ['node'],
  },
  files: ['typed.mts', 'typed.cts', 'app.ts'],
};

/**
 * The code blocks of the README's "Use it from your app" section, by the file
 * name on their first line (`// app.mjs — run: …`).
 */
function readmeSnippets(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Use it from your app')) ?? '';
  const snippets = new Map<string, string>();
  for (const m of section.matchAll(/```(?:js|ts)\n\/\/ (\S+)[^\n]*\n[\s\S]*?```/g)) {
    snippets.set(m[1], m[0].replace(/^```\w+\n/, '').replace(/```$/, ''));
  }
  return snippets;
}

let compiled: Promise<Run> | undefined;
/** tsc over the app's TypeScript files (once; two tests use its output). */
function tsc(app: string): Promise<Run> {
  compiled ??= run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], app);
  return compiled;
}

test.before(async (t) => {
  t.timeout(15 * MINUTES);
  const dir = await mkdtemp(join(tmpdir(), 'arrowshap-package-'));
  tmp = dir;
  const packs = join(dir, 'packs');
  const app = join(dir, 'app');
  await mkdir(packs);
  await mkdir(app);
  t.context = { app, installLog: '' } as Context;
  const platformDir = join(ROOT, 'npm', TARGET);
  if (!existsSync(platformDir)) throw new Error(`no platform package npm/${TARGET} for this machine`);
  t.context.root = await pack('.', packs);
  await ok(process.execPath, [join(ROOT, 'scripts', 'stage-addon.mjs')], ROOT);
  t.context.platform = await pack(`./npm/${TARGET}`, packs);

  await ok('npm', ['init', '-y'], app); // as the README says (a CommonJS app)
  const typesNode = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> })
    .devDependencies['@types/node'];
  const install = await ok(
    'npm',
    [
      'install',
      '--prefer-offline',
      join(packs, t.context.root.filename),
      join(packs, t.context.platform.filename),
      `@types/node@${typesNode}`,
    ],
    app,
  );
  t.context.installLog = install.stdout + install.stderr;
  await writeFile(join(app, 'check.mjs'), ESM_APP);
  await writeFile(join(app, 'check.cjs'), CJS_APP);
  await writeFile(join(app, 'typed.mts'), TS_ESM_APP);
  await writeFile(join(app, 'typed.cts'), TS_CJS_APP);
  for (const [file, code] of readmeSnippets()) await writeFile(join(app, file), code);
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
});

test.after.always(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('the tarballs hold the compiled package and the addon, and install as copies without tsx or TF.js', async (t) => {
  const files = t.context.root.files.map((f) => f.path);
  for (const want of [
    'package.json',
    'README.md',
    'bin/arrowshap.js',
    'dist/esm/index.js',
    'dist/esm/index.d.ts',
    'dist/esm/cli.js',
    'dist/cjs/index.cjs',
    'dist/cjs/index.d.cts',
  ]) {
    t.true(files.includes(want), `${want} in the tarball`);
  }
  t.deepEqual(
    files.filter((f) => /^(ts|tests|native|scripts|benches|examples|npm)\//.test(f) || /(?<!\.d)\.[cm]?ts$/.test(f)),
    [],
    'no sources, tests or build inputs',
  );
  t.deepEqual(t.context.platform.files.map((f) => f.path).sort(), [
    `arrowshap.${TARGET}.node`,
    'README.md',
    'package.json',
  ].sort());

  const nm = join(t.context.app, 'node_modules');
  for (const name of ['arrowshap', `arrowshap-${TARGET}`]) {
    t.false(lstatSync(join(nm, name)).isSymbolicLink(), `${name} is a copy`);
    t.true(realpathSync(join(nm, name)).startsWith(realpathSync(t.context.app)), `${name} lies in the app`);
  }
  t.false(existsSync(join(nm, 'tsx')), 'tsx is not installed');
  t.false(existsSync(join(nm, '@tensorflow')), '@tensorflow/tfjs (an optional peer) is not installed');
  t.false(/EBADENGINE|Unsupported engine/i.test(t.context.installLog), t.context.installLog);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  t.log(
    `tarballs: ${t.context.root.filename} ${mib(t.context.root.size)} (${t.context.root.files.length} files), ` +
      `${t.context.platform.filename} ${mib(t.context.platform.size)}; app node_modules ${mib(await du(nm))}`,
  );
});

test('plain ESM `node` imports it and gets XGBoost’s SHAP values', async (t) => {
  t.timeout(5 * MINUTES);
  const r = await run(process.execPath, ['check.mjs', MODEL, INPUTS], t.context.app);
  t.is(r.code, 0, r.stderr);
  t.is(shapMismatch((JSON.parse(r.stdout) as { values: number[] }).values), undefined);
});

test('CommonJS `require` loads it and gets XGBoost’s SHAP values', async (t) => {
  t.timeout(5 * MINUTES);
  const r = await run(process.execPath, ['check.cjs', MODEL, INPUTS], t.context.app);
  t.is(r.code, 0, r.stderr);
  t.is(shapMismatch((JSON.parse(r.stdout) as { values: number[] }).values), undefined);
});

test('tsc (strict, NodeNext, skipLibCheck off) compiles an ES and a CommonJS module against its types; both run', async (t) => {
  t.timeout(10 * MINUTES);
  const r = await tsc(t.context.app);
  t.is(r.code, 0, r.stdout + r.stderr);
  for (const out of ['out/typed.mjs', 'out/typed.cjs']) {
    const res = await run(process.execPath, [out, MODEL, INPUTS], t.context.app);
    t.is(res.code, 0, `${out}: ${res.stderr}`);
    t.is(shapMismatch((JSON.parse(res.stdout) as { values: number[] }).values), undefined, out);
  }
});

test('the README’s app.mjs, app.cjs and app.ts run as written', async (t) => {
  t.timeout(10 * MINUTES);
  const snippets = readmeSnippets();
  t.deepEqual([...snippets.keys()].sort(), ['app.cjs', 'app.mjs', 'app.ts']);
  const args = [join(ROOT, 'examples', 'models', 'diabetes.ubj'), join(ROOT, 'examples', 'data', 'diabetes.parquet')];
  const esm = await run(process.execPath, ['app.mjs', ...args], t.context.app);
  t.is(esm.code, 0, esm.stderr);
  t.regex(esm.stdout, /^442 rows explained; SHAP values of row 0: .*\nmost important feature: \w+ \(0\.\d{3} of the total gain\)\n$/s);
  const cjs = await run(process.execPath, ['app.cjs', ...args], t.context.app);
  t.is(cjs.code, 0, cjs.stderr);
  t.regex(cjs.stdout, /^442 rows × 10 features; base value -?\d+\.\d+/);
  t.regex(cjs.stderr, /442\/442 rows/);
  const compiledApp = await tsc(t.context.app);
  t.is(compiledApp.code, 0, compiledApp.stdout + compiledApp.stderr);
  const ts = await run(process.execPath, ['out/app.js', ...args], t.context.app);
  t.is(ts.code, 0, ts.stderr);
  t.is(ts.stdout, '442 rows, 10 features explained\n');
});

test('without the optional peer @tensorflow/tfjs, a TF.js model is an error saying how to add it', async (t) => {
  t.timeout(5 * MINUTES);
  const peer = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> })
    .peerDependencies['@tensorflow/tfjs'];
  const want =
    'TF.js models need @tensorflow/tfjs, an optional peer dependency of arrowshap that is not installed: ' +
    `\`npm install @tensorflow/tfjs@${peer}\` (or @tensorflow/tfjs-node for native kernels)`;
  for (const [file, code] of [
    ['tfjs.mjs', "import { loadTfjsModel } from 'arrowshap';\nawait loadTfjsModel('model').catch((e) => console.log(e.message));\n"],
    ['tfjs.cjs', "require('arrowshap').loadTfjsModel('model').catch((e) => console.log(e.message));\n"],
  ]) {
    await writeFile(join(t.context.app, file), code);
    const r = await run(process.execPath, [file], t.context.app);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, `${want}\n`, file);
  }
});

test('`npx arrowshap --version` prints the package version', async (t) => {
  t.timeout(5 * MINUTES);
  const r = await run('npx', ['arrowshap', '--version'], t.context.app);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim(), VERSION);
});

test('`npx arrowshap explain` writes XGBoost’s SHAP values for the fixture', async (t) => {
  t.timeout(5 * MINUTES);
  const out = join(t.context.app, 'samples.csv');
  const r = await run('npx', ['arrowshap', 'explain', '--model', MODEL, '--inputs', INPUTS, '--samples-out', out], t.context.app);
  t.is(r.code, 0, r.stderr);
  const table = await readerForPath(out).read();
  t.is(table.numRows, EXPECTED.rows);
  t.is(samplesMismatch(table, await fixture('xgb_reg_nan')), undefined);
});
