#!/usr/bin/env node
// The `arrowshap` command: TypeScript sources run through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../ts/cli.ts');
