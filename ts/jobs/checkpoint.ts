/**
 * Resume: a checkpoint per batch, so that a run killed at any moment (SIGKILL,
 * OOM, machine loss, a Ctrl-C) and run again with the same config continues
 * after its last completed batch and publishes the same bytes an uninterrupted
 * run would.
 *
 * The checkpoint is a hidden directory beside the samples output
 * (`.NAME.checkpoint/`; for an `s3://` output, under the cache directory
 * `ARROWSHAP_CACHE_DIR/checkpoints/`), holding:
 *
 * - `batch-00000K.samples.arrows` (and `.interactions.arrows`): batch K's
 *   explanation rows as an Arrow IPC stream, written atomically;
 * - `checkpoint.json`, rewritten atomically after each batch: its key
 *   (`checkpoint_key.ts`), the input rows of each batch done, and the
 *   explainer's running state (rows, Σ|SHAP| per feature, Σ base value, bit for
 *   bit as base64 float64);
 * - `owner`: the pid of the run writing it (a second live run to the same
 *   outputs keeps no checkpoint, rather than mixing two).
 *
 * Why the explanation rows and not the staged output files: parquet-wasm's
 * streaming writer keeps the footer's row-group index in its own memory and
 * cannot continue a partial file, and an Arrow IPC file's footer is the same.
 * A resumed run instead *replays* the done batches — reads the input batches
 * again (for the report and the returned tables), takes their explanations
 * from the checkpoint instead of the native core, writes them through the same
 * writers — and explains from the next batch on. The writers are deterministic
 * (no timestamps), so the staged outputs, and so the published files, are byte
 * for byte those of an uninterrupted run, in every format. The cost: the
 * explanation rows are written twice (once uncompressed), and a resume encodes
 * the done batches again (far cheaper than explaining them).
 *
 * The checkpoint is removed once the outputs are published; `restart` (CLI
 * `--restart`) discards it before the run; a checkpoint whose key does not
 * match (another config, model, input or version) is discarded with a log line
 * naming what changed.
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as arrow from 'apache-arrow';
import type winston from 'winston';
import { tempPathFor } from '../io/atomic.ts';
import { processAlive } from '../io/lock.ts';
import { isObjectUrl } from '../io/storage/url.ts';
import type { ExplainerState } from '../core/explainers.ts';
import { keyDifferences, type CheckpointKey } from './checkpoint_key.ts';

/** The checkpoint record's format tag (bumped when its fields change meaning). */
export const CHECKPOINT_FORMAT = 'arrowshap-checkpoint/1';

/** `checkpoint.json`. */
interface CheckpointRecord {
  format: typeof CHECKPOINT_FORMAT;
  key: CheckpointKey;
  /** Input rows of each batch done, in order (0 for an empty batch: no explanation file). */
  input_rows: number[];
  /** The explainer's state after the last batch done. */
  explainer: { rows: number; batches: number; sum_abs: string; sum_base: string; warnings: string[]; used_gpu: boolean };
}

/** One batch's explanations, as kept. */
export interface KeptBatch {
  samples: arrow.RecordBatch;
  interactions?: arrow.RecordBatch;
}

/** What an earlier run completed. */
export interface Resumable {
  /** Input rows of each batch done. */
  inputRows: number[];
  /** The explainer's state after them. */
  state: ExplainerState;
}

/** The checkpoint directory of a run whose samples output is `samplesPath`. */
export function checkpointDir(samplesPath: string): string {
  if (isObjectUrl(samplesPath)) {
    const cache = process.env.ARROWSHAP_CACHE_DIR ?? join(homedir(), '.cache', 'arrowshap');
    return join(cache, 'checkpoints', createHash('sha256').update(samplesPath).digest('hex').slice(0, 32));
  }
  return join(dirname(samplesPath), `.${basename(samplesPath)}.checkpoint`);
}

const RECORD = 'checkpoint.json';
const OWNER = 'owner';

/** A run's checkpoint (see the module doc): opened at step 5, saved after each batch, removed once published. */
export class Checkpoint {
  /** What an earlier run completed (undefined: this run starts from the first batch). */
  readonly resumable?: Resumable;
  /** Batches the checkpoint records (an earlier run's, then this run's). */
  batchesDone = 0;

  private constructor(
    /** The checkpoint directory. */
    readonly dir: string,
    private readonly key: CheckpointKey,
    resumable?: Resumable,
  ) {
    this.resumable = resumable;
    this.batchesDone = resumable?.inputRows.length ?? 0;
  }

  /**
   * Opens the checkpoint of `dir` for a run of `key`: takes it over from a run
   * that no longer runs, and returns what that run completed when its key
   * matches. Discards it (logged, naming what changed) when it does not match,
   * cannot be read, or `restart` is set. Returns `undefined` (logged) when a
   * live process holds it: that run goes without a checkpoint.
   */
  static async open(dir: string, key: CheckpointKey, opts: { restart?: boolean; logger: winston.Logger }): Promise<Checkpoint | undefined> {
    const { logger } = opts;
    await mkdir(dir, { recursive: true });
    const holder = await claim(dir);
    if (holder !== undefined) {
      logger.warn(`checkpoint ${dir} is held by process ${holder}, a run writing the same outputs: this run keeps no checkpoint`);
      return undefined;
    }
    if (opts.restart) {
      if (await clear(dir)) logger.info(`checkpoint ${dir} discarded (restart): starting from the first batch`);
      return new Checkpoint(dir, key);
    }
    let record: CheckpointRecord | undefined;
    try {
      record = JSON.parse(await readFile(join(dir, RECORD), 'utf8')) as CheckpointRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        logger.warn(`checkpoint ${dir} cannot be read (${err instanceof Error ? err.message : String(err)}): starting from the first batch`);
      }
      await clear(dir);
      return new Checkpoint(dir, key);
    }
    const problem = await checkRecord(dir, record, key);
    if (problem) {
      logger.info(`checkpoint ${dir} set aside: ${problem}; starting from the first batch`);
      await clear(dir);
      return new Checkpoint(dir, key);
    }
    // batch files past the record (a batch killed between its file and the record) and temporaries
    const done = record.input_rows.length;
    const names = await readdir(dir);
    await Promise.all(
      names.filter((n) => n !== RECORD && n !== OWNER && !(batchIndex(n) < done)).map((n) => rm(join(dir, n), { force: true, recursive: true })),
    );
    const e = record.explainer;
    return new Checkpoint(dir, key, {
      inputRows: record.input_rows,
      state: {
        rows: e.rows,
        batches: e.batches,
        sumAbs: fromBase64(e.sum_abs),
        sumBase: fromBase64(e.sum_base),
        warnings: e.warnings,
        usedGpu: e.used_gpu,
      },
    });
  }

  /** Batch `index`'s explanations, kept by the run that completed it. @throws naming the file when it cannot be read. */
  async load(index: number, interactions: boolean): Promise<KeptBatch> {
    const read = async (what: string) => {
      const path = join(this.dir, batchFile(index, what));
      try {
        const batches = arrow.tableFromIPC(await readFile(path)).batches;
        if (batches.length !== 1) throw new Error(`${batches.length} record batches, expected 1`);
        return batches[0];
      } catch (err) {
        throw new Error(`checkpoint ${path} cannot be read (${err instanceof Error ? err.message : String(err)}): run again with --restart`);
      }
    };
    return { samples: await read('samples'), interactions: interactions ? await read('interactions') : undefined };
  }

  /**
   * Records batch `index` done: its explanations (when it had rows), then the
   * record with the input rows of every batch so far and the explainer's state.
   * Each file is synced and renamed into place, the directory synced between
   * them, so the record never names a batch whose file could be lost.
   */
  async save(index: number, inputRows: number[], out: KeptBatch | undefined, state: ExplainerState): Promise<void> {
    try {
      await this.write(index, inputRows, out, state);
    } catch (err) {
      throw new Error(`cannot write the checkpoint ${this.dir}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.batchesDone = inputRows.length;
  }

  private async write(index: number, inputRows: number[], out: KeptBatch | undefined, state: ExplainerState): Promise<void> {
    if (out) {
      await writeDurable(join(this.dir, batchFile(index, 'samples')), ipc(out.samples));
      if (out.interactions) await writeDurable(join(this.dir, batchFile(index, 'interactions')), ipc(out.interactions));
      await syncDir(this.dir);
    }
    const record: CheckpointRecord = {
      format: CHECKPOINT_FORMAT,
      key: this.key,
      input_rows: inputRows,
      explainer: {
        rows: state.rows,
        batches: state.batches,
        sum_abs: toBase64(state.sumAbs),
        sum_base: toBase64(state.sumBase),
        warnings: state.warnings,
        used_gpu: state.usedGpu,
      },
    };
    await writeDurable(join(this.dir, RECORD), `${JSON.stringify(record)}\n`);
  }

  /** Removes the checkpoint (the outputs are published). */
  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Lets go of the checkpoint after a failure: kept for the next run when a batch was saved, else removed. */
  async release(): Promise<void> {
    if (this.batchesDone > 0) await rm(join(this.dir, OWNER), { force: true }).catch(() => undefined);
    else await this.remove().catch(() => undefined);
  }
}

/** Why `record` cannot be resumed by a run of `key` (undefined when it can). */
async function checkRecord(dir: string, record: CheckpointRecord, key: CheckpointKey): Promise<string | undefined> {
  if (record?.format !== CHECKPOINT_FORMAT) return `its format is ${JSON.stringify(record?.format)}, not ${CHECKPOINT_FORMAT}`;
  const changed = keyDifferences(record.key, key);
  if (changed.length) return `${changed.join(', ')} changed since it was written`;
  const rows = record.input_rows;
  if (!Array.isArray(rows) || !rows.every((n) => Number.isInteger(n) && n >= 0)) return 'its input_rows are not row counts';
  const names = new Set(await readdir(dir));
  const missing = rows.findIndex((n, i) => n > 0 && !names.has(batchFile(i, 'samples')));
  if (missing >= 0) return `${batchFile(missing, 'samples')} is missing`;
  return undefined;
}

/**
 * Makes this process the checkpoint's owner: creates `owner` (exclusively) with
 * this pid, taking it over from a process that no longer runs.
 * @returns the pid of a live owner, or undefined once this process owns it.
 */
async function claim(dir: string): Promise<number | undefined> {
  const path = join(dir, OWNER);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(String(process.pid));
      } finally {
        await fh.close();
      }
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const text = await readFile(path, 'utf8').catch(() => '');
    const pid = /^\d+$/.test(text) ? Number(text) : undefined;
    // a pid equal to ours is a previous life of this process's pid (a container restarted as pid 1)
    if (pid !== undefined && pid !== process.pid && processAlive(pid)) return pid;
    await rm(path, { force: true });
  }
  return -1;
}

/** Removes everything in `dir` but the owner file. @returns whether anything was there. */
async function clear(dir: string): Promise<boolean> {
  const names = (await readdir(dir)).filter((n) => n !== OWNER);
  await Promise.all(names.map((n) => rm(join(dir, n), { recursive: true, force: true })));
  return names.length > 0;
}

function batchFile(index: number, what: string): string {
  return `batch-${String(index).padStart(6, '0')}.${what}.arrows`;
}

/** The batch number of a batch file name (NaN for any other name). */
function batchIndex(name: string): number {
  const m = /^batch-(\d+)\.(samples|interactions)\.arrows$/.exec(name);
  return m ? Number(m[1]) : NaN;
}

function ipc(batch: arrow.RecordBatch): Uint8Array {
  return arrow.tableToIPC(new arrow.Table([batch]), 'stream');
}

/**
 * Writes `data` to a temporary beside `path`, syncs it and renames it over
 * `path` (as `atomic.ts` does, without its scan for stale temporaries: the
 * checkpoint directory is cleaned once, when a run opens it).
 */
async function writeDurable(path: string, data: string | Uint8Array): Promise<void> {
  const temp = tempPathFor(path);
  const fh = await open(temp, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(temp, path);
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function toBase64(values: Float64Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

function fromBase64(text: string): Float64Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float64Array(bytes.byteLength / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
