/**
 * The addon loader (ts/native/loader.ts) in fake package roots: what it loads, and
 * the message naming what is missing when nothing loads.
 */
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAddon, platformTarget, type AddonSearch } from '../../ts/native/loader.ts';
import { tempDir } from '../helpers/tmp.ts';

const TARGET = 'linux-x64-gnu';
const PKG = `arrowshap-${TARGET}`;

/** A fake installed arrowshap 1.2.3 (no checkout) naming the linux-x64-gnu platform package. */
async function root(t: Parameters<typeof tempDir>[0]): Promise<AddonSearch> {
  const dir = await tempDir(t);
  const pkgRoot = join(dir, 'node_modules', 'arrowshap');
  await mkdir(pkgRoot, { recursive: true });
  await writeFile(join(pkgRoot, 'package.json'), JSON.stringify({ name: 'arrowshap', version: '1.2.3' }));
  return { root: pkgRoot, version: '1.2.3', platformPackages: { [PKG]: '1.2.3' }, target: TARGET };
}

/** Installs a fake platform package beside it. */
async function platformPackage(search: AddonSearch, json: object, files: Record<string, string> = {}): Promise<string> {
  const dir = join(search.root, '..', PKG);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: PKG, ...json }));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

test('platformTarget names napi-rs targets', (t) => {
  t.is(platformTarget('linux', 'x64', false), 'linux-x64-gnu');
  t.is(platformTarget('linux', 'arm64', true), 'linux-arm64-musl');
  t.is(platformTarget('darwin', 'arm64'), 'darwin-arm64');
  t.is(platformTarget('win32', 'x64'), 'win32-x64-msvc');
  t.regex(platformTarget(), /^[a-z0-9]+-[a-z0-9]+/);
});

test('loads the platform package installed beside arrowshap', async (t) => {
  const search = await root(t);
  await platformPackage(search, { version: '1.2.3', main: 'addon.cjs' }, { 'addon.cjs': 'module.exports = { fake: "addon" };' });
  t.deepEqual(loadAddon(search), { fake: 'addon' });
});

test('a platform package left out by npm: names it, its version and the install command', async (t) => {
  const search = await root(t);
  const err = t.throws(() => loadAddon(search));
  t.is(
    err?.message,
    `cannot load arrowshap's native addon for ${TARGET}: the platform package ${PKG}@1.2.3 is not installed ` +
      '(npm leaves optional dependencies out with --omit=optional, and when package-lock.json was made without it): ' +
      `\`npm install ${PKG}@1.2.3\``,
  );
});

test('a platform package of another version: names both versions', async (t) => {
  const search = await root(t);
  const dir = await platformPackage(search, { version: '1.2.0', main: 'addon.cjs' }, { 'addon.cjs': 'module.exports = {};' });
  t.throws(() => loadAddon(search), {
    message: `cannot load arrowshap's native addon for ${TARGET}: ${PKG} 1.2.0 is installed in ${dir}, arrowshap 1.2.3 needs the same version: \`npm install ${PKG}@1.2.3\``,
  });
});

test('a platform package without its addon file, and an addon that does not load', async (t) => {
  const search = await root(t);
  const dir = await platformPackage(search, { version: '1.2.3', main: `arrowshap.${TARGET}.node` });
  t.throws(() => loadAddon(search), { message: new RegExp(`${PKG} in .* has no addon ${join(dir, `arrowshap.${TARGET}.node`)}`) });
  await writeFile(join(dir, `arrowshap.${TARGET}.node`), 'not a shared library');
  t.throws(() => loadAddon(search), { message: new RegExp(`arrowshap\\.${TARGET}\\.node \\(${PKG}\\) does not load: .+`) });
});

test('a platform without a prebuilt addon: lists the prebuilt ones and how to build', async (t) => {
  const search = { ...(await root(t)), target: 'freebsd-riscv64' };
  t.throws(() => loadAddon(search), {
    message:
      "cannot load arrowshap's native addon for freebsd-riscv64: arrowshap 1.2.3 has no prebuilt addon for freebsd-riscv64 " +
      `(prebuilt: ${TARGET}); build one from a checkout of the repository with a Rust toolchain: \`npm run build:native\``,
  });
});

test('in a checkout, a missing local build is named before the platform package', async (t) => {
  const search = await root(t);
  await mkdir(join(search.root, 'native', 'node'), { recursive: true });
  await writeFile(join(search.root, 'native', 'node', 'Cargo.toml'), '');
  const local = join(search.root, 'native', 'node', `arrowshap.${TARGET}.node`);
  const err = t.throws(() => loadAddon(search));
  t.true(
    err?.message.startsWith(
      `cannot load arrowshap's native addon for ${TARGET}: no local build at ${local} (in this checkout: \`npm run build:native\`, needs a Rust toolchain); the platform package`,
    ),
    err?.message,
  );
});
