/**
 * Streamed writes (`Writer.open` → `write` … → `close` / `abort`): round trips in
 * every format, all or nothing (a temporary beside the target until commit),
 * empty outputs, schema checks, and errors naming the target.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { ParquetFile } from 'parquet-wasm';
import { openAsBlob } from 'node:fs';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { writerForPath } from '../../ts/io/datasets/writer.ts';
import { tempDir } from '../helpers/tmp.ts';

const FORMATS = ['parquet', 'arrow', 'feather', 'arrows', 'csv'] as const;

/** Rows [from, from + n): row int64, a float64 needing 17 digits (NaN every 5th), an id string needing quotes. */
function rows(from: number, n: number): arrow.Table {
  const row = BigInt64Array.from({ length: n }, (_, i) => BigInt(from + i));
  const x = Float64Array.from({ length: n }, (_, i) => ((from + i) % 5 === 4 ? NaN : (from + i) / 3));
  const id = Array.from({ length: n }, (_, i) => `k,"${from + i}"`);
  return new arrow.Table({
    row: arrow.makeVector(arrow.makeData({ type: new arrow.Int64(), length: n, data: row })),
    x: arrow.makeVector(x),
    id: arrow.vectorFromArray(id, new arrow.Utf8()),
  });
}

function plain(table: arrow.Table, name: string): unknown[] {
  return [...table.getChild(name)!].map((v) => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' && Number.isNaN(v) ? null : v));
}

for (const ext of FORMATS) {
  test(`.${ext}: batches streamed in (uneven sizes, a table of several batches) read back as one table`, async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'nested', `out.${ext}`);
    const output = await writerForPath(path).open(rows(0, 1).schema, { rowGroupRows: 64 });
    const pieces = [rows(0, 100), rows(100, 1), new arrow.Table([...rows(101, 50).batches, ...rows(151, 49).batches]), rows(200, 0), rows(200, 137)];
    for (const piece of pieces) await output.write(piece);
    t.is(output.rows, 337);
    await output.close();
    const back = await readerForPath(path).read();
    const want = rows(0, 337);
    t.is(back.numRows, 337);
    for (const name of ['row', 'x', 'id']) t.deepEqual(plain(back, name), plain(want, name), name);
    t.deepEqual(await readdir(join(dir, 'nested')), [`out.${ext}`], 'no temporary left behind');
    const head = (await readFile(path)).subarray(0, 6).toString('latin1');
    if (ext === 'arrow' || ext === 'feather') t.is(head, 'ARROW1');
    if (ext === 'arrows') t.not(head, 'ARROW1');
    if (ext === 'parquet') {
      t.is(head.slice(0, 4), 'PAR1');
      const file = await ParquetFile.fromFile(await openAsBlob(path));
      t.is(file.metadata().numRowGroups(), 6, 'row groups of at most 64 rows');
      file.free();
    }
  });

  test(`.${ext}: nothing at the target until commit; finish completes the temporary beside it`, async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, `out.${ext}`);
    const output = await writerForPath(path).open(rows(0, 1).schema);
    await output.write(rows(0, 10));
    t.false(existsSync(path));
    await output.finish();
    t.false(existsSync(path));
    const entries = await readdir(dir);
    t.is(entries.length, 1);
    t.regex(entries[0], new RegExp(`^\\.out\\.${ext}\\.\\d+\\.[0-9a-f]+\\.tmp$`));
    await output.commit();
    t.deepEqual(await readdir(dir), [`out.${ext}`]);
    t.is((await readerForPath(path).read()).numRows, 10);
    await t.throwsAsync(output.write(rows(10, 1)), { message: new RegExp(`cannot write to ${path}: the output is committed`) });
  });

  test(`.${ext}: abort removes the temporary and leaves an existing target as it was`, async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, `out.${ext}`);
    await writeFile(path, 'the previous output');
    const output = await writerForPath(path).open(rows(0, 1).schema, { rowGroupRows: 8 });
    await output.write(rows(0, 50));
    await output.abort();
    await output.abort(); // idempotent
    t.deepEqual(await readdir(dir), [`out.${ext}`]);
    t.is(await readFile(path, 'utf8'), 'the previous output');
  });

  test(`.${ext}: an output without rows still has the schema`, async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, `empty.${ext}`);
    const output = await writerForPath(path).open(rows(0, 1).schema);
    await output.close();
    const back = await readerForPath(path).read();
    t.is(back.numRows, 0);
    t.deepEqual(back.schema.fields.map((f) => f.name), ['row', 'x', 'id']);
  });

  test(`.${ext}: a batch with other columns is refused, naming the target; the output can still be aborted`, async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, `out.${ext}`);
    const output = await writerForPath(path).open(rows(0, 1).schema);
    await t.throwsAsync(output.write(arrow.tableFromArrays({ row: new Float64Array([1]) })), {
      message: new RegExp(`^cannot write to ${path}: the batch has columns \\(row: Float64\\), the output has \\(row: Int64, x: Float64, id: Utf8\\)`),
    });
    await output.abort();
    t.deepEqual(await readdir(dir), []);
  });
}

test('a streamed Parquet output of a dictionary column, and IPC file outputs decode dictionaries that change between batches', async (t) => {
  const dir = await tempDir(t);
  const schemaOf = (table: arrow.Table) => table.schema;
  const dict = (values: string[]) => new arrow.Table({ s: arrow.vectorFromArray(values) }); // Dictionary<Int32, Utf8>
  const first = dict(['a', 'b', 'a']);
  t.true(arrow.DataType.isDictionary(first.schema.fields[0].type));
  for (const ext of ['parquet', 'arrow', 'arrows']) {
    const path = join(dir, `d.${ext}`);
    const output = await writerForPath(path).open(schemaOf(first));
    await output.write(first);
    await output.write(dict(['c', 'd', 'c', 'a']));
    await output.close();
    const back = await readerForPath(path).read();
    t.deepEqual([...back.getChild('s')!], ['a', 'b', 'a', 'c', 'd', 'c', 'a'], ext);
  }
});

test('open fails, naming the target, where the directory cannot be made; nothing is left', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'blocker'), 'a file where a directory should be');
  for (const ext of FORMATS) {
    const path = join(dir, 'blocker', `out.${ext}`);
    await t.throwsAsync(writerForPath(path).open(rows(0, 1).schema), { message: new RegExp(join(dir, 'blocker')) });
  }
  t.deepEqual(await readdir(dir), ['blocker']);
});

test('a Parquet output refuses, at open, a schema Parquet cannot hold', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'x.parquet');
  const schema = new arrow.Schema([new arrow.Field('n', new arrow.Null(), true)]);
  const opening = writerForPath(path).open(schema);
  await opening.then(
    async (output) => {
      // parquet-wasm may accept a Null column: then it must round-trip
      await output.close();
      t.is((await readerForPath(path).read()).numRows, 0);
    },
    (err: Error) => {
      t.regex(err.message, new RegExp(`^cannot write ${path} as Parquet: `));
    },
  );
  t.false((await readdir(dir)).some((f) => f.endsWith('.tmp')));
});
