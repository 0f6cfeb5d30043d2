#!/usr/bin/env node
// The `arrowshap` command: runs the compiled CLI (dist/esm/cli.js, made by `npm run build`;
// no TypeScript runtime needed).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/esm/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('arrowshap: the compiled CLI dist/esm/cli.js is missing: run `npm run build` in this checkout\n');
  process.exit(1);
}
await import(cli.href);
