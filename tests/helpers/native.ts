/** Whether the native addon is built (tests that need it are skipped, with a note, until it is). */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', '..', 'native', 'node');
const prefix = `arrowshap.${process.platform}-${process.arch}`;

/** True when `native/node/arrowshap.<platform>-<arch>*.node` exists. */
export const hasNativeAddon: boolean =
  existsSync(dir) && readdirSync(dir).some((f) => f.startsWith(prefix) && f.endsWith('.node'));
