/**
 * `arrowshap` entry point: runs the CLI on `process.argv` and sets the exit
 * code (the commands are in `./cli/main.ts`). Importing this module runs the
 * CLI; programs use `main` from `./cli/main.ts` or the library API instead.
 */
import { main } from './cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
