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
// Declaration files the sources import from outside ts/ (napi's native/node/generated.d.ts)
// are copied to the same relative place from dist/esm and dist/cjs (dist/native/node/), as
// `.d.ts` and `.d.cts`.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
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
  target: `node${pkg.engines.node.match(/\d+(\.\d+)?/)[0]}`,
  packages: 'external',
  define: { 'import.meta.url': '__arrowshapImportMetaUrl' },
  inject: [join(root, 'scripts', 'cjs-shim.mjs')],
  logLevel: 'warning',
});

// 3. declarations: relative specifiers to .js (ESM) and .cjs (CJS, as .d.cts files)
const relativeSpecifier = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)(\.d)?\.ts(['"])/g;
const copied = new Set();
/** Rewrites a declaration file's relative specifiers to `ext`, copying imported `.d.ts` files into dist/. */
function rewrite(text, file, ext) {
  return text.replace(relativeSpecifier, (_, head, path, declaration, quote) => {
    if (declaration) {
      const source = resolve(join(root, 'ts', relative(esm, dirname(file))), `${path}.d.ts`);
      const target = resolve(dirname(file), path);
      if (!target.startsWith(dist)) throw new Error(`${file}: ${path}.d.ts lands outside dist/`);
      if (!copied.has(target)) {
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(source, `${target}.d.ts`);
        copyFileSync(source, `${target}.d.cts`);
        copied.add(target);
      }
    }
    return `${head}${path}${ext}${quote}`;
  });
}
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
  writeFileSync(file, rewrite(text, file, '.js'));
  const target = join(cjs, relative(esm, file)).replace(/\.d\.ts$/, '.d.cts');
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, rewrite(text, file, '.cjs'));
  declarations++;
}

console.error(`dist/: ESM + CJS + ${declarations} declaration files in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
