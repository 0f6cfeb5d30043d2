#!/usr/bin/env node
// `npm run build:dist`: compiles ts/ into dist/, what the package's `exports` point at.
//
// - dist/esm/**: one ES module per source file plus its `.d.ts` (tsc, tsconfig.build.json;
//   `rewriteRelativeImportExtensions` turns the sources' `./x.ts` imports into `./x.js`).
//   The CLI (`bin/arrowshap.js`) runs dist/esm/cli.js.
// - dist/cjs/index.cjs: the library as one CommonJS file (esbuild; dependencies stay
//   `require`d from node_modules). `import.meta.url` becomes the file's own URL, built
//   from `__filename` (scripts/cjs-shim.mjs).
// - dist/cjs/**.d.cts: the same declarations as CommonJS declaration files, so that a
//   `require` (or a CommonJS TypeScript file under NodeNext) gets types that describe
//   CommonJS, not an ES module.
// The `.d.ts` files tsc writes keep the sources' `./x.ts` specifiers (TypeScript does not
// rewrite declarations); they are rewritten here to `./x.js` (ESM) and `./x.cjs` (CJS).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const esm = join(dist, 'esm');
const cjs = join(dist, 'cjs');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const t0 = Date.now();

rmSync(dist, { recursive: true, force: true });

// 1. ESM + .d.ts (tsc also type-checks the sources)
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// (tsc's diagnostics go to stderr: stdout stays clean for `npm pack --json`, which runs this as prepack)
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: ['ignore', 2, 2] });

// 2. CommonJS bundle of the library entry
await build({
  entryPoints: [join(root, 'ts', 'index.ts')],
  outfile: join(cjs, 'index.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${pkg.engines.node.match(/\d+/)[0]}`,
  packages: 'external',
  define: { 'import.meta.url': '__arrowshapImportMetaUrl' },
  inject: [join(root, 'scripts', 'cjs-shim.mjs')],
  logLevel: 'warning',
});

// 3. declarations: relative specifiers to .js (ESM) and .cjs (CJS, as .d.cts files)
const relativeSpecifier = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g;
function* declarationFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) yield* declarationFiles(p);
    else if (entry.name.endsWith('.d.ts')) yield p;
  }
}
let declarations = 0;
for (const file of declarationFiles(esm)) {
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace(relativeSpecifier, '$1$2.js$3'));
  const target = join(cjs, relative(esm, file)).replace(/\.d\.ts$/, '.d.cts');
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text.replace(relativeSpecifier, '$1$2.cjs$3'));
  declarations++;
}

console.error(`dist/: ESM + CJS + ${declarations} declaration files in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
