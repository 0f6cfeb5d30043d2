/**
 * Atomic file output — the one mechanism every file this project writes goes
 * through (dataset outputs, registry metadata, aliases): write a temporary
 * beside the target, sync it, then rename it over the target.
 *
 * A rename within one directory is atomic on POSIX file systems, so a reader
 * sees either the old file or the complete new one, and a failure (or a crash)
 * never leaves a partial file at the target path. Temporaries are named
 * `.NAME.PID.RANDOM.tmp` (ignored by git via `*.tmp`) and removed on failure.
 *
 * An `s3://` target is staged in the OS temp directory and uploaded when it
 * commits (a multipart upload, visible only once complete: `storage/s3.ts`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { processAlive } from './lock.ts';
import { uploadFile } from './storage/s3.ts';
import { baseName, isObjectUrl } from './storage/url.ts';

/**
 * Removes the temporaries of `path` left by processes that no longer run (a
 * crash, SIGKILL, a lost machine): `.NAME.PID.RANDOM.tmp` files beside it whose
 * PID is not alive. Temporaries of running processes (a concurrent run) are kept.
 * @returns the removed file names.
 */
export async function removeStaleTemporaries(path: string): Promise<string[]> {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return [];
  }
  const stale = names.filter((n) => {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) return false;
    const m = /^(\d+)\.[0-9a-f]+\.tmp$/.exec(n.slice(prefix.length));
    return m !== null && Number(m[1]) !== process.pid && !processAlive(Number(m[1]));
  });
  await Promise.all(stale.map((n) => rm(join(dirname(path), n), { force: true, recursive: true }).catch(() => undefined)));
  return stale;
}

/** A temporary path next to `path` (same directory, so the rename stays atomic). */
export function tempPathFor(path: string): string {
  if (isObjectUrl(path)) return join(tmpdir(), `.${baseName(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * A file being produced atomically: {@link StagedFile.create} makes the target's
 * directory and opens a new temporary beside it; {@link StagedFile.write} appends,
 * {@link StagedFile.finish} syncs and closes, {@link StagedFile.commit} renames it
 * over the target, {@link StagedFile.abort} removes it (idempotent).
 */
export class StagedFile {
  private handle?: FileHandle;

  private constructor(
    /** The target path. */
    readonly path: string,
    /** The temporary being written. */
    readonly tempPath: string,
  ) {}

  /** Creates the directory of `path` and a new temporary beside it (removing stale ones of crashed runs first). */
  static async create(path: string): Promise<StagedFile> {
    if (isObjectUrl(path)) {
      await removeStaleTemporaries(join(tmpdir(), baseName(path))); // staged uploads of crashed runs
    } else {
      await mkdir(dirname(path), { recursive: true });
      await removeStaleTemporaries(path);
    }
    const file = new StagedFile(path, tempPathFor(path));
    file.handle = await open(file.tempPath, 'wx');
    return file;
  }

  /** Appends all of `data`. */
  async write(data: string | Uint8Array): Promise<void> {
    if (!this.handle) throw new Error(`${this.path} is not open for writing`);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let at = 0; at < bytes.byteLength; ) {
      const { bytesWritten } = await this.handle.write(bytes, at, bytes.byteLength - at);
      at += bytesWritten;
    }
  }

  /** Syncs and closes the temporary (the target is not touched). Idempotent. */
  async finish(): Promise<void> {
    if (!this.handle) return;
    await this.handle.sync();
    await this.handle.close();
    this.handle = undefined;
  }

  /** Finishes the temporary, then renames it over the target (uploads it to an `s3://` target, then removes it). */
  async commit(): Promise<void> {
    await this.finish();
    if (isObjectUrl(this.path)) {
      await uploadFile(this.tempPath, this.path);
      await rm(this.tempPath, { force: true });
    } else {
      await rename(this.tempPath, this.path);
    }
  }

  /** Closes and removes the temporary; the target is left as it was. */
  async abort(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await rm(this.tempPath, { force: true, recursive: true }).catch(() => undefined);
  }
}

/**
 * Produces `path` atomically: creates its directory, lets `fill` write the
 * temporary file it is given (by path), syncs it, and renames it to `path`. If
 * anything fails the temporary is removed and the error (naming `path`) is
 * rethrown; `path` is left as it was.
 * @param fill writes the complete content to the temporary path it is given.
 */
export async function atomicOutput(path: string, fill: (tempPath: string) => Promise<void>): Promise<void> {
  await staged(path, async (file) => {
    await file.finish(); // `fill` writes by path: reopen below to sync what it wrote
    await fill(file.tempPath);
    const fh = await open(file.tempPath, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

/** Writes `data` to `path` atomically (see {@link StagedFile}). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await staged(path, (file) => file.write(data));
}

/** Runs `fill` on a new {@link StagedFile} of `path` and commits it; on failure removes it and names `path`. */
async function staged(path: string, fill: (file: StagedFile) => Promise<void>): Promise<void> {
  let file: StagedFile | undefined;
  try {
    file = await StagedFile.create(path);
    await fill(file);
    await file.commit();
  } catch (err) {
    await file?.abort();
    throw withPath(err, path, 'writing');
  }
}

/** Returns `err` as an Error whose message names `path` (added once, if absent). */
export function withPath(err: unknown, path: string, doing: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  if (!e.message.includes(path)) e.message = `${doing} ${path}: ${e.message}`;
  return e;
}
