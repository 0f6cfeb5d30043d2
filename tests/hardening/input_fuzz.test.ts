/**
 * The input-file fuzz smoke: random byte mutations of a Parquet file, an Arrow IPC
 * file and stream, and a CSV file, each read every way a job reads (streamed in
 * batches, whole, and for Parquet as a dataset directory served by ranged reads).
 * Each must read or fail with one line naming the file, within bounded time, with
 * the process alive — whatever the decoders do (parquet-wasm traps, Arrow JS loops:
 * `ts/io/datasets/isolated_decoder.ts`).
 *
 * `ARROWSHAP_INPUT_FUZZ_CASES` sets the mutations per format (default 8; `.ci/run`
 * runs 64, 256 in all; `ARROWSHAP_INPUT_FUZZ_CASES=500 npx ava
 * tests/hardening/input_fuzz.test.ts` for a longer run). Each format's test logs its
 * figures: reads, refusals, decoder traps and hangs stopped.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as arrow from 'apache-arrow';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PARQUET = join(ROOT, 'examples', 'data', 'diabetes.parquet');
const CASES = Number(process.env.ARROWSHAP_INPUT_FUZZ_CASES ?? 8);
// a hang is stopped after 2 s (the default, 60 s, is for real files; these decode in
// milliseconds): a worker starved on a busy machine is then a refusal too, which the
// spec accepts, so a short limit keeps the run to seconds without making it flaky
process.env.ARROWSHAP_DECODE_TIMEOUT_MS = '2000';

/** Every row of every batch of `path` (what a job reads). */
async function readAll(path: string): Promise<number> {
  let rows = 0;
  for await (const batch of readerForPath(path).batches({ batchRows: 64 })) rows += batch.numRows;
  return rows;
}

/** A seeded xorshift generator in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/**
 * `bytes` mutated: a third of the cases one flipped bit, the others 1 to 8 random
 * bytes set to random values (a quarter of those within the last 512 bytes, the footer).
 */
function mutate(bytes: Uint8Array, rnd: () => number): Uint8Array {
  const out = new Uint8Array(bytes); // a copy (a Buffer's slice() is a view)
  if (rnd() < 1 / 3) {
    out[Math.floor(rnd() * out.length)] ^= 1 << Math.floor(rnd() * 8);
    return out;
  }
  const tail = rnd() < 0.25;
  const k = 1 + Math.floor(rnd() * 8);
  for (let j = 0; j < k; j++) {
    const at = tail ? out.length - 1 - Math.floor(rnd() * Math.min(512, out.length)) : Math.floor(rnd() * out.length);
    out[at] = Math.floor(rnd() * 256);
  }
  return out;
}

/** A 300-row table: 5 float columns, a nullable one, and a string column. */
function sampleTable(): arrow.Table {
  const rnd = random(7);
  const cols: Record<string, arrow.Vector> = {};
  for (let j = 0; j < 5; j++) cols[`f${j}`] = arrow.vectorFromArray(Float64Array.from({ length: 300 }, () => rnd() * 10 - 5));
  cols.n = arrow.vectorFromArray(Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? null : i)), new arrow.Float64());
  cols.s = arrow.vectorFromArray(Array.from({ length: 300 }, (_, i) => `row ${i}`));
  return new arrow.Table(cols);
}

/** Runs `fn` over `items`, at most `width` at a time. */
async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

const table = sampleTable();
const SEEDS: Record<string, () => Uint8Array> = {
  '.parquet': () => readFileSync(PARQUET),
  '.arrow': () => arrow.tableToIPC(table, 'file'),
  '.arrows': () => arrow.tableToIPC(table, 'stream'),
  '.csv': () => Buffer.from(readFileSync(join(ROOT, 'tests', 'fixtures', 'xgb_reg_nan', 'inputs.csv'))),
};

for (const [ext, seedBytes] of Object.entries(SEEDS)) {
  test(`${CASES} mutated ${ext} files: each reads or fails with one error naming the file`, async (t) => {
    t.timeout(600_000);
    const dir = await tempDir(t);
    const seed = seedBytes();
    const rnd = random(ext.length * 7919 + 1);
    const cases = Array.from({ length: CASES }, (_, i) => ({ path: join(dir, `m${i}${ext}`), bytes: mutate(seed, rnd) }));
    const outcomes = { read: 0, refused: 0, timedOut: 0, trapped: 0 };
    const started = performance.now();
    await pool(cases, 4, async ({ path, bytes }) => {
      await writeFile(path, bytes);
      const reads = [() => readAll(path), () => readerForPath(path).read()];
      if (ext === '.parquet') {
        // the dataset reader too (a directory holding the file: bytes served to the decoder by ranged reads)
        const folder = `${path}.d`;
        await mkdir(folder);
        await writeFile(join(folder, 'part.parquet'), bytes);
        reads.push(() => readAll(folder));
      }
      for (const read of reads) {
        try {
          await read();
          outcomes.read++;
        } catch (err) {
          const message = (err as Error).message;
          t.true(message.includes(path), message);
          t.false(message.includes('\n'), message);
          if (outcomes.refused++ === 0) t.log(`first refusal: ${message}`);
          if (message.includes('did not answer within')) outcomes.timedOut++;
          if (message.includes('crashed on it')) outcomes.trapped++;
        }
      }
    });
    t.log(
      `${ext}: ${CASES} mutations, ${outcomes.read} reads, ${outcomes.refused} refused ` +
        `(${outcomes.trapped} decoder traps, ${outcomes.timedOut} stopped hangs) in ${Math.round(performance.now() - started)} ms`,
    );
    t.is(outcomes.read + outcomes.refused, (ext === '.parquet' ? 3 : 2) * CASES);
  });
}

