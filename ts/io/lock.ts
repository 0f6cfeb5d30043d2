/**
 * A cross-process lock on a file path, for read-modify-write updates (the local
 * registry's aliases): `PATH.lock` created exclusively (`O_EXCL`) holding the
 * owner's pid, removed when the update ends.
 *
 * A lock whose owner is no longer running (a crash, SIGKILL) is taken over; a
 * live owner is waited for with a growing delay, up to `timeoutMs`, then the
 * error names the lock file and its owner.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** True when a process with this id runs (or exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the lock file; false when it exists already. */
async function tryAcquire(lockPath: string): Promise<boolean> {
  try {
    const fh = await open(lockPath, 'wx');
    try {
      await fh.writeFile(String(process.pid));
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** The pid written in a lock file (undefined while it is being written, or unreadable). */
async function ownerOf(lockPath: string): Promise<number | undefined> {
  const text = await readFile(lockPath, 'utf8').catch(() => '');
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * Runs `update` while holding the lock of `path` (`path + '.lock'`).
 * @param opts.timeoutMs how long to wait for a live owner (default 30 s).
 * @throws naming the lock file and its owner when it cannot be taken in time.
 */
export async function withFileLock<T>(path: string, update: () => Promise<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
  const lockPath = `${path}.lock`;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let delay = 2;
  let unknownOwnerSince: number | undefined;
  while (!(await tryAcquire(lockPath))) {
    const owner = await ownerOf(lockPath);
    if (owner !== undefined && !processAlive(owner)) {
      await rm(lockPath, { force: true });
      continue;
    }
    // a lock file left empty by a writer that died between create and write
    if (owner === undefined) {
      unknownOwnerSince ??= Date.now();
      if (Date.now() - unknownOwnerSince > 5_000) {
        await rm(lockPath, { force: true });
        continue;
      }
    } else unknownOwnerSince = undefined;
    if (Date.now() > deadline) {
      throw new Error(`cannot lock ${path}: ${lockPath} is held by process ${owner ?? '(unknown)'}`);
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await update();
  } finally {
    await rm(lockPath, { force: true });
  }
}
