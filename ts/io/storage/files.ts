/**
 * Files wherever they live — a local path or an `s3://` URL — behind a few
 * functions: list a directory's table files, open one for ranged reads, read and
 * write small files. Large outputs go through `StagedFile` (`../atomic.ts`),
 * which stages locally and uploads an `s3://` target when it commits.
 */
import { openAsBlob, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { getObject, listObjects, objectBlob, objectSize, type ByteCounter } from './s3.ts';
import { baseName, isObjectUrl } from './url.ts';

export type { ByteCounter };

/** What parquet-wasm reads a file through: a size and lazily read slices. */
export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): BlobLike;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A local file's Blob that counts the bytes read through it. */
class CountingBlob implements BlobLike {
  constructor(
    private readonly blob: Blob,
    private readonly counter: ByteCounter,
  ) {}

  get size(): number {
    return this.blob.size;
  }

  slice(start?: number, end?: number): CountingBlob {
    return new CountingBlob(this.blob.slice(start, end), this.counter);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const buffer = await this.blob.arrayBuffer();
    this.counter.bytes += buffer.byteLength;
    this.counter.requests++;
    return buffer;
  }
}

/**
 * Opens `path` (local or `s3://`) for ranged reads; bytes read are added to
 * `counter` when given. @throws `input file not found: PATH`.
 */
export async function openBlob(path: string, counter?: ByteCounter): Promise<BlobLike> {
  if (isObjectUrl(path)) return objectBlob(path, counter);
  let blob: Blob;
  try {
    blob = await openAsBlob(path);
  } catch {
    throw new Error(`input file not found: ${path}`);
  }
  return counter ? new CountingBlob(blob, counter) : blob;
}

/**
 * True when `path` names a directory of files rather than one file: an
 * existing local directory, or an `s3://` URL ending in `/` or without a file
 * extension in its last segment (a prefix).
 */
export function isDirectoryPath(path: string): boolean {
  if (isObjectUrl(path)) return path.endsWith('/') || !/\.[A-Za-z0-9]+$/.test(baseName(path));
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The files directly inside the directory (or `s3://` prefix) `dir` whose name
 * ends with `ext`, sorted by name; names starting with `_` or `.` (summaries,
 * temporaries) are skipped, as Spark and Arrow datasets do.
 */
export async function listFiles(dir: string, ext: string): Promise<string[]> {
  const keep = (name: string) => name.toLowerCase().endsWith(ext) && !name.startsWith('_') && !name.startsWith('.');
  if (isObjectUrl(dir)) {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    return (await listObjects(dir)).filter((u) => !u.slice(prefix.length).includes('/') && keep(baseName(u)));
  }
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    throw new Error(`input directory not found: ${dir}`);
  }
  return names
    .filter(keep)
    .sort()
    .map((n) => join(dir, n));
}

/** The files under `dir` (recursively for `s3://`, one level locally) whose name matches `pattern`, sorted. */
export async function findFiles(dir: string, pattern: RegExp): Promise<string[]> {
  if (isObjectUrl(dir)) return (await listObjects(dir)).filter((u) => pattern.test(baseName(u)));
  try {
    return (await readdir(dir))
      .filter((n) => pattern.test(n))
      .sort()
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/** The text of `path` (local or `s3://`). @throws `file not found: PATH`. */
export async function readText(path: string): Promise<string> {
  try {
    return isObjectUrl(path) ? Buffer.from(await getObject(path)).toString('utf8') : await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || /object not found/.test(String(err))) throw new Error(`file not found: ${path}`);
    throw err;
  }
}

/** True when the file `path` (local or `s3://`) exists. */
export async function fileExists(path: string): Promise<boolean> {
  if (isObjectUrl(path)) return (await objectSize(path)) !== undefined;
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
