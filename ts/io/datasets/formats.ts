/**
 * File formats by extension — the CLI and config contract:
 * `.parquet`, `.csv`, `.arrow` / `.feather` (Arrow IPC file), `.arrows` (Arrow IPC stream).
 */
import { stat } from 'node:fs/promises';
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

/**
 * Largest input file read whole into memory (a background, `read()`): 2 GiB, the
 * most one Node buffer reliably holds. Streamed reads (`batches()`) have no limit.
 */
export const MAX_WHOLE_READ_BYTES = 2 ** 31;

/**
 * Checks that `path` is a regular file (following symbolic links) and returns its
 * size. A directory, FIFO, socket or device (`/dev/zero`, `/dev/stdin`) is
 * refused: reading one could block forever or never end.
 * @param options.whole the file is to be read whole: refuse one over {@link MAX_WHOLE_READ_BYTES}.
 * @throws `input file not found: PATH`, `input file PATH is a directory, not a regular file`, …
 */
export async function checkInputFile(path: string, options: { whole?: boolean; what?: string } = {}): Promise<number> {
  const what = options.what ?? 'input file';
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new Error(`${what} not found: ${path}`);
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  if (!info.isFile()) throw new Error(`${what} ${path} is ${fileKind(info)}, not a regular file`);
  if (options.whole && info.size > MAX_WHOLE_READ_BYTES) {
    throw new Error(
      `${what} ${path} is ${(info.size / 2 ** 30).toFixed(1)} GiB: a file read whole (a background) may hold at most ` +
        `${MAX_WHOLE_READ_BYTES / 2 ** 30} GiB; sample it down`,
    );
  }
  return info.size;
}

/** `a directory`, `a FIFO`, … for a file that is not regular. */
function fileKind(info: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return 'not a file';
}
