/**
 * Hostile input files: a corrupt Parquet file that makes parquet-wasm trap, an
 * Arrow IPC file that makes Arrow JS loop forever, byte mutations of every
 * format, FIFOs, devices, directories and oversized files — each ends in one
 * error naming the file, within bounded time, with the process alive (decoding
 * runs in a worker thread: `ts/io/datasets/isolated_decoder.ts`).
 *
 * `ARROWSHAP_INPUT_FUZZ_CASES` sets the mutations per format (default 8; `.ci/run`
 * runs 64, a few hundred in all; `ARROWSHAP_INPUT_FUZZ_CASES=500 npx ava
 * tests/hardening/input_files.test.ts` for a longer run). Each format's test logs
 * its figures: reads, refusals, decoder traps and hangs stopped.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, symlink, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as arrow from 'apache-arrow';
import { MAX_WHOLE_READ_BYTES } from '../../ts/io/datasets/formats.ts';
import { parquetLayout } from '../../ts/io/datasets/parquet_dataset.ts';
import { createReader, readerForPath } from '../../ts/io/datasets/reader.ts';
import { fixture } from '../core/_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BAD = join(ROOT, 'tests', 'fixtures', 'bad_inputs');
const PARQUET = join(ROOT, 'examples', 'data', 'diabetes.parquet');
const CASES = Number(process.env.ARROWSHAP_INPUT_FUZZ_CASES ?? 8);
// a hang is detected after this long (the default, 60 s, is for real files; these decode in
// milliseconds, but a busy CI machine may starve a worker for seconds)
process.env.ARROWSHAP_DECODE_TIMEOUT_MS = '5000';

/** Every row of every batch of `path` (what a job reads), the first batch read whole too. */
async function readAll(path: string, signal?: AbortSignal): Promise<number> {
  let rows = 0;
  for await (const batch of readerForPath(path).batches({ batchRows: 64, signal })) rows += batch.numRows;
  return rows;
}

test('a Parquet file that makes the decoder trap is one error naming it, for every kind of read', async (t) => {
  const path = join(BAD, 'trap.parquet');
  const pattern = new RegExp(`^cannot read ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} as Parquet: `);
  await t.throwsAsync(readAll(path), { message: pattern });
  await t.throwsAsync(readerForPath(path).read(), { message: pattern });
  // the process (and the decoder) still work
  t.is(await readAll(PARQUET), 442);
});

test('a Parquet dataset holding a file that makes the decoder trap: one error naming that file, footers and row groups alike', async (t) => {
  const dir = await tempDir(t);
  const good = join(dir, 'a.parquet');
  const bad = join(dir, 'b.parquet');
  await writeFile(good, readFileSync(PARQUET));
  await writeFile(bad, readFileSync(join(BAD, 'trap.parquet')));
  const pattern = new RegExp(`^cannot read ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} as Parquet: `);
  await t.throwsAsync(readAll(dir), { message: pattern });
  await t.throwsAsync(readerForPath(dir).read(), { message: pattern });
  // the sharded run's footer pass (ranged reads through this thread)
  const layout = await parquetLayout(dir).then(
    (l) => l,
    (err: Error) => err,
  );
  if (layout instanceof Error) t.regex(layout.message, pattern);
  // the row groups of the good file still read
  t.is(await readAll(good), 442);
});

test('an Arrow IPC file that makes the decoder loop forever is stopped after the time limit, naming it', async (t) => {
  const path = join(BAD, 'hang.arrow');
  const started = performance.now();
  await t.throwsAsync(readAll(path), { message: /^cannot read .*hang\.arrow as Arrow IPC: the decoder did not answer within 5 s/ });
  t.true(performance.now() - started < 60_000);
});

test('an abort stops a decoder stuck in a loop at once', async (t) => {
  const controller = new AbortController();
  const reading = readAll(join(BAD, 'hang.arrow'), controller.signal);
  // the loop starts at the second batch: give it a moment to get there (less than the time limit)
  let abortedAt = 0;
  setTimeout(() => {
    abortedAt = performance.now();
    controller.abort(new Error('interrupted'));
  }, 1500);
  const err = await t.throwsAsync(reading);
  t.is(err!.name, 'AbortError');
  const after = performance.now() - abortedAt;
  t.true(abortedAt > 0 && after < 2000, `${after} ms after the abort`);
});

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

test('FIFOs, devices, directories and sockets are refused before any read, naming the file', async (t) => {
  const dir = await tempDir(t);
  const fifo = join(dir, 'pipe.parquet');
  execFileSync('mkfifo', [fifo]); // nothing will ever write to it: a read would block forever
  await symlink('/dev/zero', join(dir, 'zero.arrow')); // endless
  await symlink('/dev/null', join(dir, 'null.csv'));
  await mkdir(join(dir, 'folder.csv'));
  // a directory named .parquet is a Parquet dataset: the FIFO among its files is refused too
  await mkdir(join(dir, 'dataset.parquet'));
  execFileSync('mkfifo', [join(dir, 'dataset.parquet', 'part-0.parquet')]);
  const cases: [string, RegExp][] = [
    [fifo, /is a FIFO \(named pipe\), not a regular file$/],
    [join(dir, 'zero.arrow'), /is a character device, not a regular file$/],
    [join(dir, 'null.csv'), /is a character device, not a regular file$/],
    [join(dir, 'dataset.parquet'), /part-0\.parquet is a FIFO \(named pipe\), not a regular file$/],
  ];
  // any directory given by path is a Parquet dataset; named as a CSV or Arrow file, it is refused
  for (const KIND of ['CsvReader', 'ArrowReader']) {
    const path = join(dir, 'folder.csv');
    await t.throwsAsync(createReader({ KIND, path }).read(), { message: `input file ${path} is a directory, not a regular file` });
  }
  for (const [path, message] of cases) {
    const reader = readerForPath(path);
    await t.throwsAsync(reader.read(), { message });
    await t.throwsAsync(readAll(path), { message });
    const err = await t.throwsAsync(reader.read());
    t.true(err!.message.startsWith(`input file ${path}`), err!.message);
  }
});

test('a file too large to read whole is refused by read(), naming the file and the limit', async (t) => {
  const dir = await tempDir(t);
  for (const ext of ['.parquet', '.arrow', '.csv']) {
    const path = join(dir, `huge${ext}`);
    await writeFile(path, '');
    await truncate(path, MAX_WHOLE_READ_BYTES + 1); // sparse: no disk used
    await t.throwsAsync(readerForPath(path).read(), { message: new RegExp(`^input file .*huge\\${ext} is 2\\.0 GiB: a file read whole .* at most 2 GiB`) });
  }
  // streamed, a huge Parquet file of zeros is a clear error about its content
  await t.throwsAsync(readAll(join(dir, 'huge.parquet')), { message: /^cannot read .*huge\.parquet as Parquet: / });
});

test('the CLI on a Parquet file that traps the decoder: exit 1, one line naming the file, no output', async (t) => {
  const dir = await tempDir(t);
  const fx = await fixture('xgb_reg_nan');
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(ROOT, 'ts', 'cli.ts'), 'explain', '--model', fx.modelPath, '--inputs', join(BAD, 'trap.parquet'), '--samples-out', join(dir, 'out', 'samples.parquet')],
    { env: { ...process.env, NO_COLOR: '1' } },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 1, stderr);
  const lines = stderr.split('\n').filter((l) => l !== '');
  t.is(lines.length, 1, stderr);
  t.regex(lines[0], /^arrowshap: cannot read .*trap\.parquet as Parquet: /);
  t.deepEqual(await readdir(dir), []);
});
