/**
 * A run never writes over what it reads, nor two outputs over each other.
 *
 * Paths are compared as files, not as strings: an existing file by its device
 * and inode (so a symlink or a hard link to an input is caught), a file yet to
 * be written by its real directory and name.
 */
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** One file the run reads or writes, with the config key that names it. */
export interface NamedPath {
  /** Config key path (`job.inputs_samples.path`). */
  key: string;
  /** The file. */
  path: string;
}

/** A key for "the same file": `dev:ino` when it exists, else its canonical path. */
function identity(path: string): string {
  const abs = resolve(path);
  try {
    const s = statSync(abs);
    return `inode:${s.dev}:${s.ino}`;
  } catch {
    try {
      return `path:${join(realpathSync(dirname(abs)), basename(abs))}`;
    } catch {
      return `path:${abs}`;
    }
  }
}

/**
 * Throws when an output is one of the inputs, or two outputs are one file.
 * @throws naming both config keys and the path.
 */
export function checkDistinctPaths(inputs: readonly NamedPath[], outputs: readonly NamedPath[]): void {
  const read = new Map(inputs.map((p) => [identity(p.path), p] as const));
  const written = new Map<string, NamedPath>();
  for (const out of outputs) {
    const id = identity(out.path);
    const input = read.get(id);
    if (input) throw new Error(`${out.key} (${out.path}) is the input ${input.key}: an output may not overwrite what the run reads`);
    const other = written.get(id);
    if (other) throw new Error(`${out.key} and ${other.key} both write ${out.path}`);
    written.set(id, out);
  }
}
