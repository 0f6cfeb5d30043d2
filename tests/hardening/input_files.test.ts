/**
 * Hostile input files: a corrupt Parquet file that makes parquet-wasm trap, an
 * Arrow IPC file that makes Arrow JS loop forever, FIFOs, devices, directories and
 * oversized files — each ends in one error naming the file, within bounded time,
 * with the process alive (decoding runs in a worker thread:
 * `ts/io/datasets/isolated_decoder.ts`). Random mutations of each format:
 * `input_fuzz.test.ts`.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, symlink, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_WHOLE_READ_BYTES } from '../../ts/io/datasets/formats.ts';
import { parquetLayout } from '../../ts/io/datasets/parquet_dataset.ts';
import { createReader, readerForPath } from '../../ts/io/datasets/reader.ts';
import { fixture } from '../core/_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BAD = join(ROOT, 'tests', 'fixtures', 'bad_inputs');
const PARQUET = join(ROOT, 'examples', 'data', 'diabetes.parquet');
// a hang is detected after this long (the default, 60 s, is for real files; these decode in
// milliseconds, but a busy CI machine may starve a worker for seconds)
process.env.ARROWSHAP_DECODE_TIMEOUT_MS = '5000';

/** Every row of every batch of `path` (what a job reads). */
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
