#!/usr/bin/env node
// Copies the built addon (native/node/arrowshap.<target>.node, from `npm run build:native`)
// into its platform package npm/<target>/ (made by `napi create-npm-dirs`), the folder
// that is packed and published as `arrowshap-<target>`. Fails when no platform package
// has a built addon to take.
import { copyFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const staged = [];
for (const target of readdirSync(join(root, 'npm'))) {
  const dir = join(root, 'npm', target);
  const { main } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const built = join(root, 'native', 'node', main);
  if (!existsSync(built)) continue;
  copyFileSync(built, join(dir, main));
  staged.push(relative(root, join(dir, main)));
}
if (staged.length === 0) {
  console.error('stage-addon: no built addon in native/node for any platform package in npm/: run `npm run build:native`');
  process.exit(1);
}
console.log(`staged ${staged.join(', ')}`);
