/**
 * The URL of a worker script that lives next to the calling module, for every way
 * this package runs:
 *
 * - from dist/esm: the compiled `NAME.js` beside the module;
 * - from the CommonJS bundle (dist/cjs/index.cjs): dist/esm's `NAME.js` (a worker
 *   may be an ES module whatever its parent is);
 * - from the TypeScript sources (tests, `tsx`): workers do not inherit tsx's
 *   loader, and registering tsx in each worker costs about a second of CPU; so the
 *   script is bundled once per process with esbuild (a development dependency)
 *   into `node_modules/.cache/arrowshap/NAME-HASH.mjs` (its packages stay
 *   imports, resolved from the project's `node_modules`).
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempPathFor } from '../atomic.ts';

const built = new Map<string, Promise<URL>>();

/**
 * The worker script `name` (without extension) beside the module at `moduleUrl`
 * (its `import.meta.url`); `esmDir` is that module's folder relative to dist/esm
 * (`io/datasets`), for the CommonJS bundle.
 */
export function workerScriptUrl(moduleUrl: string, name: string, esmDir: string): Promise<URL> {
  if (moduleUrl.endsWith('.cjs')) return Promise.resolve(new URL(`../esm/${esmDir}/${name}.js`, moduleUrl));
  if (!moduleUrl.endsWith('.ts')) return Promise.resolve(new URL(`./${name}.js`, moduleUrl));
  const source = fileURLToPath(new URL(`./${name}.ts`, moduleUrl));
  let url = built.get(source);
  if (!url) {
    url = bundle(source, name);
    built.set(source, url);
    url.catch(() => built.delete(source));
  }
  return url;
}

/** Bundles the TypeScript worker `source` into the cache folder (written atomically: processes may race). */
async function bundle(source: string, name: string): Promise<URL> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [source],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    logLevel: 'silent',
  });
  const code = out.outputFiles[0].contents;
  const root = findRoot(dirname(source));
  const file = join(root, 'node_modules', '.cache', 'arrowshap', `${name}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
  await mkdir(dirname(file), { recursive: true });
  const temp = tempPathFor(file);
  await writeFile(temp, code);
  await rename(temp, file);
  return pathToFileURL(file);
}

/** The project folder above `dir` (the one holding `ts/`). */
function findRoot(dir: string): string {
  const at = dir.lastIndexOf(`${join('/', 'ts')}/`);
  return at >= 0 ? dir.slice(0, at) : join(dir, '..', '..', '..');
}
