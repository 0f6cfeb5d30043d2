/**
 * Streamed reads (`Reader.batches`): for every format, the batches put together
 * equal the whole read, with limits and batch sizes that do not divide the row
 * count; each batch is one record batch of at most `batchRows` rows whose float
 * columns still view the batch's buffer; CSV types are inferred from the first
 * batch and then enforced, naming the column, file and line.
 */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { featureColumns } from '../../ts/io/datasets/features.ts';
import { readAllBatches, readerForPath, type Reader } from '../../ts/io/datasets/reader.ts';
import { writerForPath } from '../../ts/io/datasets/writer.ts';
import { tempDir } from '../helpers/tmp.ts';

const N = 1000;

/** x: float64 without nulls, y: float64 with nulls, n: int32, s: utf8 (some null). */
function sample(n = N): arrow.Table {
  const y = new Float64Array(n);
  const valid = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) {
    y[i] = i % 7 === 3 ? NaN : Math.sin(i);
    if (i % 7 !== 3) valid[i >> 3] |= 1 << (i & 7);
  }
  const nullCount = Math.floor((n + 3) / 7); // rows 3, 10, 17, …
  return new arrow.Table({
    x: arrow.makeVector(Float64Array.from({ length: n }, (_, i) => i / 3 - 100)),
    y: arrow.makeVector(arrow.makeData({ type: new arrow.Float64(), length: n, nullCount, nullBitmap: valid, data: y })),
    n: arrow.makeVector(Int32Array.from({ length: n }, (_, i) => i * 2 - 5)),
    s: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : `r${i}`)), new arrow.Utf8()),
  });
}

/** The table's record batches re-cut at these sizes (an IPC file or stream of uneven batches). */
function recut(table: arrow.Table, sizes: number[]): arrow.Table {
  const batches: arrow.RecordBatch[] = [];
  let at = 0;
  for (const size of sizes) {
    batches.push(...table.slice(at, at + size).batches);
    at += size;
  }
  return new arrow.Table(batches);
}

/** Writes the sample in every format: Parquet with 300-row row groups, IPC with uneven batches. */
async function files(dir: string): Promise<Record<string, string>> {
  const table = sample();
  const paths = {
    parquet: join(dir, 'in.parquet'),
    arrow: join(dir, 'in.arrow'),
    arrows: join(dir, 'in.arrows'),
    csv: join(dir, 'in.csv'),
  };
  const out = await writerForPath(paths.parquet).open(table.schema, { rowGroupRows: 300 });
  await out.write(table);
  await out.close();
  const uneven = recut(table, [300, 450, 1, 249]);
  await writeFile(paths.arrow, arrow.tableToIPC(uneven, 'file'));
  await writeFile(paths.arrows, arrow.tableToIPC(uneven, 'stream'));
  await writerForPath(paths.csv).write(table);
  return paths;
}

/** A column's values as plain JS (NaN for float nulls after CSV, null elsewhere). */
function values(table: arrow.Table, name: string): unknown[] {
  return [...table.getChild(name)!];
}

async function collect(reader: Reader, batchRows: number): Promise<arrow.Table[]> {
  const out: arrow.Table[] = [];
  for await (const batch of reader.batches({ batchRows })) out.push(batch);
  return out;
}

for (const format of ['parquet', 'arrow', 'arrows', 'csv'] as const) {
  test(`${format}: streamed batches put together equal the whole read, for limits and batch sizes that do not divide the rows`, async (t) => {
    const dir = await tempDir(t);
    const path = (await files(dir))[format];
    for (const limit of [undefined, 1, 333, 999, 1000, 5000]) {
      const whole = await readerForPath(path, limit).read();
      t.is(whole.numRows, Math.min(limit ?? N, N));
      for (const batchRows of [1000, 7, 128, 301, 4096]) {
        if (batchRows === 7 && limit !== 333) continue; // many batches: one limit is enough
        const what = `${format} limit ${limit} batchRows ${batchRows}`;
        const batches = await collect(readerForPath(path, limit), batchRows);
        t.is(batches.reduce((a, b) => a + b.numRows, 0), whole.numRows, what);
        for (const b of batches) {
          t.is(b.batches.length, 1, what);
          t.true(b.numRows >= 1 && b.numRows <= batchRows, what);
          t.deepEqual(b.schema.fields.map((f) => `${f.name}:${f.type}`), whole.schema.fields.map((f) => `${f.name}:${f.type}`), what);
        }
        const joined = await readAllBatches(readerForPath(path, limit), { batchRows });
        for (const name of ['x', 'y', 'n', 's']) t.deepEqual(values(joined, name), values(whole, name), `${what}: ${name}`);
        // the model's view of the columns: the same numbers
        const wholeColumns = featureColumns(whole, ['x', 'y', 'n']);
        let at = 0;
        for (const b of batches) {
          const columns = featureColumns(b, ['x', 'y', 'n']);
          for (let j = 0; j < 3; j++) {
            t.deepEqual([...columns[j]], [...wholeColumns[j].subarray(at, at + b.numRows)], `${what}: column ${j} at ${at}`);
          }
          at += b.numRows;
        }
      }
    }
  });
}

test('batch boundaries: Parquet batches stop at row groups, IPC batches at record batches, CSV at batchRows', async (t) => {
  const dir = await tempDir(t);
  const paths = await files(dir);
  const sizes = async (path: string, batchRows: number, limit?: number) => (await collect(readerForPath(path, limit), batchRows)).map((b) => b.numRows);
  t.deepEqual(await sizes(paths.parquet, 200), [200, 100, 200, 100, 200, 100, 100]);
  t.deepEqual(await sizes(paths.arrow, 200), [200, 100, 200, 200, 50, 1, 200, 49]);
  t.deepEqual(await sizes(paths.arrows, 1000, 500), [300, 200]);
  t.deepEqual(await sizes(paths.csv, 400, 999), [400, 400, 199]);
});

test('a Float64 column without nulls is still a view of each streamed batch (no copy), for Parquet and IPC', async (t) => {
  const dir = await tempDir(t);
  const paths = await files(dir);
  for (const format of ['parquet', 'arrow', 'arrows'] as const) {
    for await (const batch of readerForPath(paths[format]).batches({ batchRows: 128 })) {
      const [x] = featureColumns(batch, ['x']);
      t.true(x instanceof Float64Array, format);
      t.is(x.buffer, batch.getChild('x')!.data[0].values.buffer, format);
    }
  }
});

test('an input without rows gives one empty batch with the schema', async (t) => {
  const dir = await tempDir(t);
  const empty = sample(0);
  const paths = [join(dir, 'e.parquet'), join(dir, 'e.arrow'), join(dir, 'e.arrows'), join(dir, 'e.csv')];
  for (const path of paths) await writerForPath(path).write(empty);
  for (const path of paths) {
    const batches = await collect(readerForPath(path), 100);
    t.is(batches.length, 1, path);
    t.is(batches[0].numRows, 0, path);
    t.deepEqual(batches[0].schema.fields.map((f) => f.name), ['x', 'y', 'n', 's'], path);
  }
});

test('countRows: Parquet tells its rows (after limit) from the footer; other formats do not', async (t) => {
  const dir = await tempDir(t);
  const paths = await files(dir);
  t.is(await readerForPath(paths.parquet).countRows(), N);
  t.is(await readerForPath(paths.parquet, 10).countRows(), 10);
  t.is(await readerForPath(paths.csv).countRows(), undefined);
  t.is(await readerForPath(paths.arrow).countRows(), undefined);
});

test('CSV: types come from the first batch; a later cell that does not parse names the column, file and line', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'late.csv');
  const lines = ['id,age,smoker'];
  for (let i = 0; i < 30; i++) lines.push(`${i},${i === 23 ? 'n/a' : 20 + i},${i % 2 ? 'true' : 'false'}`);
  await writeFile(path, `${lines.join('\n')}\n`);
  // whole read: the column is text (inferred from every row)
  t.is(String((await readerForPath(path).read()).getChild('age')!.type), 'Utf8');
  // streamed: numbers from the first 10 rows, then row 23 (line 25) in the 3rd batch fails
  const reading = collect(readerForPath(path), 10);
  await t.throwsAsync(reading, {
    message: `${path} line 25: column \`age\` holds "n/a", not a number (its type was inferred from the first 10 rows)`,
  });
  // a boolean column holds to true/false too
  const bools = join(dir, 'bools.csv');
  await writeFile(bools, `b\n${'true\n'.repeat(5)}maybe\n`);
  await t.throwsAsync(collect(readerForPath(bools), 4), { message: new RegExp(`^${bools} line 7: column \`b\` holds "maybe", not true or false`) });
  // empty cells stay missing values in a later batch
  const gaps = join(dir, 'gaps.csv');
  await writeFile(gaps, 'a,b\n1,2\n3,\n,4\n');
  const batches = await collect(readerForPath(gaps), 1);
  t.deepEqual(batches.map((b) => values(b, 'b')[0]), [2, null, 4]);
});

test('the stream stops between batches when its signal aborts', async (t) => {
  const dir = await tempDir(t);
  const paths = await files(dir);
  for (const path of Object.values(paths)) {
    const controller = new AbortController();
    let seen = 0;
    const run = async () => {
      for await (const batch of readerForPath(path).batches({ batchRows: 100, signal: controller.signal })) {
        seen += batch.numRows;
        controller.abort();
      }
    };
    await t.throwsAsync(run(), { name: 'AbortError' }, path);
    t.true(seen > 0 && seen < N, path);
  }
});

test('streamed read errors name the file', async (t) => {
  const dir = await tempDir(t);
  const pq = join(dir, 'bad.parquet');
  await writeFile(pq, 'not parquet at all');
  await t.throwsAsync(collect(readerForPath(pq), 10), { message: new RegExp(`^cannot read ${pq} as Parquet: `) });
  const ar = join(dir, 'bad.arrow');
  await writeFile(ar, 'not arrow at all, not at all');
  await t.throwsAsync(collect(readerForPath(ar), 10), { message: new RegExp(`^cannot read ${ar} as Arrow IPC`) });
  const missing = join(dir, 'missing.csv');
  await t.throwsAsync(collect(readerForPath(missing), 10), { message: `input file not found: ${missing}` });
  await t.throwsAsync(collect(readerForPath(pq), 0), { message: 'batchRows must be a positive integer, got 0' });
});
