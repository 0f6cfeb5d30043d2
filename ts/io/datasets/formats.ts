/**
 * File formats by extension — the CLI and config contract:
 * `.parquet`, `.csv`, `.arrow` / `.feather` (Arrow IPC file), `.arrows` (Arrow IPC stream).
 */
import { access } from 'node:fs/promises';
import { extname } from 'node:path';

/** A table file format. */
export type Format = 'parquet' | 'csv' | 'arrow-file' | 'arrow-stream';

const BY_EXTENSION: Record<string, Format> = {
  '.parquet': 'parquet',
  '.csv': 'csv',
  '.arrow': 'arrow-file',
  '.feather': 'arrow-file',
  '.arrows': 'arrow-stream',
};

/** The extensions {@link formatForPath} knows, for messages. */
export const KNOWN_EXTENSIONS = Object.keys(BY_EXTENSION);

/**
 * The format of `path` from its extension (case-insensitive).
 * @throws naming the path and the known extensions when the extension is unknown.
 */
export function formatForPath(path: string): Format {
  const ext = extname(path).toLowerCase();
  const format = BY_EXTENSION[ext];
  if (!format) {
    const got = ext === '' ? 'no extension' : `extension \`${ext}\``;
    throw new Error(`cannot tell the format of ${path} (${got}); use one of ${KNOWN_EXTENSIONS.join(', ')}`);
  }
  return format;
}

/** Throws `input file not found: PATH` unless `path` exists. */
export async function ensureExists(path: string, what = 'input file'): Promise<void> {
  try {
    await access(path);
  } catch {
    throw new Error(`${what} not found: ${path}`);
  }
}
