/**
 * Atomic file output: write beside the target, then rename over it.
 *
 * A rename within one directory is atomic on POSIX file systems, so a reader
 * sees either the old file or the complete new one, and a failure (or a crash)
 * never leaves a partial file at the target path. Temporaries are named
 * `.NAME.PID.RANDOM.tmp` (ignored by git via `*.tmp`) and removed on failure.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temporary path next to `path` (same directory, so the rename stays atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Produces `path` atomically: creates its directory, lets `fill` write a temporary
 * file, syncs it, and renames it to `path`. If anything fails the temporary is
 * removed and the error (naming `path`) is rethrown; `path` is left as it was.
 * @param fill writes the complete content to the temporary path it is given.
 */
export async function atomicOutput(path: string, fill: (tempPath: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  try {
    await fill(temp);
    const fh = await open(temp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true, recursive: true }).catch(() => undefined);
    throw withPath(err, path, 'writing');
  }
}

/** Writes `data` to `path` atomically (see {@link atomicOutput}). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await atomicOutput(path, async (temp) => {
    const fh = await open(temp, 'wx');
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
  });
}

/** Returns `err` as an Error whose message names `path` (added once, if absent). */
export function withPath(err: unknown, path: string, doing: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  if (!e.message.includes(path)) e.message = `${doing} ${path}: ${e.message}`;
  return e;
}
