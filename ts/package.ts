/**
 * arrowshap's own `package.json`, found from the running module: the package root
 * is the nearest folder above this module whose `package.json` is named `arrowshap`.
 * The same code finds it from the TypeScript sources (`ts/`), the ES modules
 * (`dist/esm/`) and the CommonJS bundle (`dist/cjs/`), in a checkout or installed
 * under `node_modules/arrowshap`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The fields of arrowshap's `package.json` read at run time. */
export interface PackageJson {
  name: string;
  version: string;
  /** Platform addon packages (`arrowshap-linux-x64-gnu`, …) and their versions. */
  optionalDependencies?: Record<string, string>;
  /** Peer dependencies (`@tensorflow/tfjs`, optional) and their version ranges. */
  peerDependencies?: Record<string, string>;
}

/** The package's name in `package.json` (and on npm). */
export const PACKAGE_NAME = 'arrowshap';

let found: { root: string; json: PackageJson } | undefined;

/**
 * Walks up from `start` to the first folder holding a `package.json` named `name`.
 * Throws naming `start` when there is none.
 */
export function findPackageRoot(start: string, name = PACKAGE_NAME): { root: string; json: PackageJson } {
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
      if (json.name === name) return { root: dir, json };
    } catch {
      // no (readable) package.json here: keep walking up
    }
    if (dirname(dir) === dir) throw new Error(`no package.json named "${name}" in ${start} or any folder above it`);
  }
}

function own(): { root: string; json: PackageJson } {
  found ??= findPackageRoot(dirname(fileURLToPath(import.meta.url)));
  return found;
}

/** The folder of arrowshap's `package.json` (the checkout, or `node_modules/arrowshap`). */
export function packageRoot(): string {
  return own().root;
}

/** arrowshap's `package.json` (name, version, platform packages). */
export function packageJson(): PackageJson {
  return own().json;
}
