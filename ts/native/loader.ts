/**
 * Finds and loads the native addon, the napi-rs way:
 *
 * 1. a local build, `native/node/arrowshap.<target>.node` in a checkout
 *    (`npm run build:native`; development);
 * 2. the platform package `arrowshap-<target>` (`npm/<target>/` in the repository),
 *    which npm installs from `optionalDependencies` on the matching `os`/`cpu`/`libc`.
 *
 * `<target>` is `linux-x64-gnu`, `linux-x64-musl`, `darwin-arm64`, `win32-x64-msvc`, …
 * When neither loads, the error says what was looked for, what is missing and the
 * command that adds it (unsupported platform, package left out by npm, package of
 * another version, an addon that fails to load).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PACKAGE_NAME, packageJson, packageRoot } from '../package.ts';

/** Where and what to look for (the defaults describe this process and package). */
export interface AddonSearch {
  /** The arrowshap package root (a checkout or `node_modules/arrowshap`). */
  root: string;
  /** arrowshap's version: the platform package must have the same. */
  version: string;
  /** The platform packages arrowshap names (`optionalDependencies`): name → version. */
  platformPackages: Record<string, string>;
  /** This process's target, e.g. `linux-x64-gnu` (see {@link platformTarget}). */
  target: string;
}

/** True on a musl libc (Alpine): Node's report names the glibc it runs on, if any. */
function isMusl(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return !report?.header?.glibcVersionRuntime;
}

/**
 * The napi-rs target name of a platform: `<platform>-<arch>`, plus the ABI on Linux
 * (`-gnu`/`-musl`) and Windows (`-msvc`).
 */
export function platformTarget(platform: string = process.platform, arch: string = process.arch, musl?: boolean): string {
  if (platform === 'linux') return `linux-${arch}-${(musl ?? isMusl()) ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** The search for this process: its target, the package root and its `package.json`. */
export function defaultAddonSearch(): AddonSearch {
  const json = packageJson();
  return {
    root: packageRoot(),
    version: json.version,
    platformPackages: json.optionalDependencies ?? {},
    target: platformTarget(),
  };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/**
 * Loads the addon as {@link AddonSearch} describes; returns its exports. Throws one
 * message listing every place looked at and why it did not do.
 */
export function loadAddon(search: AddonSearch = defaultAddonSearch()): unknown {
  const { root, version, platformPackages, target } = search;
  const req = createRequire(join(root, 'package.json'));
  const problems: string[] = [];

  // 1. a local build (a checkout)
  const local = join(root, 'native', 'node', `${PACKAGE_NAME}.${target}.node`);
  if (existsSync(local)) {
    try {
      return req(local);
    } catch (e) {
      problems.push(`the local build ${local} does not load: ${firstLine(e)}`);
    }
  } else if (existsSync(join(root, 'native', 'node', 'Cargo.toml'))) {
    problems.push(`no local build at ${local} (in this checkout: \`npm run build:native\`, needs a Rust toolchain)`);
  }

  // 2. the platform package
  const pkg = `${PACKAGE_NAME}-${target}`;
  const prebuilt = Object.keys(platformPackages)
    .filter((n) => n.startsWith(`${PACKAGE_NAME}-`))
    .map((n) => n.slice(PACKAGE_NAME.length + 1));
  const install = `\`npm install ${pkg}@${version}\``;
  if (!(pkg in platformPackages)) {
    problems.push(
      `arrowshap ${version} has no prebuilt addon for ${target} (prebuilt: ${prebuilt.join(', ') || 'none'}); ` +
        'build one from a checkout of the repository with a Rust toolchain: `npm run build:native`',
    );
  } else {
    let pkgJsonPath: string | undefined;
    try {
      pkgJsonPath = req.resolve(`${pkg}/package.json`);
    } catch {
      problems.push(
        `the platform package ${pkg}@${version} is not installed (npm leaves optional dependencies out with ` +
          `--omit=optional, and when package-lock.json was made without it): ${install}`,
      );
    }
    if (pkgJsonPath) {
      const dir = dirname(pkgJsonPath);
      const json = JSON.parse(readFileSync(pkgJsonPath, 'utf8')) as { version?: string; main?: string };
      const main = join(dir, json.main ?? `${PACKAGE_NAME}.${target}.node`);
      if (json.version !== version) {
        problems.push(`${pkg} ${json.version} is installed in ${dir}, arrowshap ${version} needs the same version: ${install}`);
      } else if (!existsSync(main)) {
        problems.push(`${pkg} in ${dir} has no addon ${main} (in a checkout: \`npm run build\`)`);
      } else {
        try {
          return req(main);
        } catch (e) {
          problems.push(`${main} (${pkg}) does not load: ${firstLine(e)}`);
        }
      }
    }
  }
  throw new Error(`cannot load arrowshap's native addon for ${target}: ${problems.join('; ')}`);
}
