import test from 'ava';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Float64,
  Int64,
  makeData,
  makeVector,
  Table,
  tableFromArrays,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import {
  ArrowWriter,
  createWriter,
  CsvWriter,
  ParquetWriter,
  writerConfigForPath,
  writerForPath,
} from '../../ts/io/datasets/writer.ts';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { atomicOutput, writeFileAtomic } from '../../ts/io/atomic.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Floats needing all 17 digits, a null, an int64 row id and text needing quotes. */
function explanations(): Table {
  const x = makeVector(
    makeData({
      type: new Float64(),
      length: 3,
      nullCount: 1,
      nullBitmap: new Uint8Array([0b101]),
      data: new Float64Array([0.1 + 0.2, 0, -1.2345678901234567e-300]),
    }),
  );
  return new Table({
    row: makeVector(makeData({ type: new Int64(), length: 3, data: new BigInt64Array([0n, 1n, 2n]) })),
    x,
    base_value: vectorFromArray([1 / 3, 2 / 3, 1e21], new Float64()),
    feature: vectorFromArray(['a,b', 'say "hi"', 'line\nbreak'], new Utf8()),
  });
}

function values(table: Table, name: string): unknown[] {
  return [...table.getChild(name)!].map((v) => (typeof v === 'bigint' ? Number(v) : v));
}

for (const name of ['out.parquet', 'out.arrow', 'out.feather', 'out.arrows', 'out.csv']) {
  test(`${name}: round trip through writerForPath/readerForPath, in a new nested directory`, async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'a', 'b', name);
    await writerForPath(path).write(explanations());
    const back = await readerForPath(path).read();
    t.is(back.numRows, 3);
    t.deepEqual(values(back, 'row'), [0, 1, 2]);
    t.deepEqual(values(back, 'base_value'), [1 / 3, 2 / 3, 1e21]);
    t.deepEqual(values(back, 'feature'), ['a,b', 'say "hi"', 'line\nbreak']);
    t.deepEqual(values(back, 'x'), [0.1 + 0.2, null, -1.2345678901234567e-300]);
    t.deepEqual(await readdir(join(dir, 'a', 'b')), [name], 'no temporary left behind');
  });
}

test('CsvWriter writes full precision, empty cells for null and NaN', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'x.csv');
  const table = new Table({
    v: makeVector(new Float64Array([0.1 + 0.2, NaN, -Infinity])),
    f: makeVector(new Float32Array([0.1, 1, 2])),
    flag: vectorFromArray([true, false, null]),
  });
  await new CsvWriter({ path }).write(table);
  t.is(await readFile(path, 'utf8'), 'v,f,flag\n0.30000000000000004,0.10000000149011612,true\n,1,false\n-Infinity,2,\n');
  const back = await readerForPath(path).read();
  t.deepEqual(values(back, 'v'), [0.1 + 0.2, null, -Infinity]);
  t.deepEqual(values(back, 'flag'), [1, 0, null]);
});

test('writers replace an existing file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'x.arrow');
  await writeFile(path, 'old content');
  await new ArrowWriter({ path }).write(tableFromArrays({ a: new Float64Array([7]) }));
  t.deepEqual(values(await readerForPath(path).read(), 'a'), [7]);
});

test('ArrowWriter format: stream for .arrows, file otherwise, or as configured', async (t) => {
  const dir = await tempDir(t);
  const table = tableFromArrays({ a: new Float64Array([1]) });
  const magic = async (path: string) => (await readFile(path)).subarray(0, 6).toString('latin1');
  await new ArrowWriter({ path: join(dir, 'f.arrow') }).write(table);
  t.is(await magic(join(dir, 'f.arrow')), 'ARROW1');
  await new ArrowWriter({ path: join(dir, 's.arrows') }).write(table);
  t.not(await magic(join(dir, 's.arrows')), 'ARROW1');
  await createWriter({ KIND: 'ArrowWriter', path: join(dir, 'g.arrow'), format: 'stream' }).write(table);
  t.not(await magic(join(dir, 'g.arrow')), 'ARROW1');
});

test('a failing write (target is a directory) leaves no file and no temporary behind', async (t) => {
  const dir = await tempDir(t);
  for (const name of ['t.parquet', 't.csv', 't.arrow']) {
    const target = join(dir, name);
    await mkdir(target);
    await t.throwsAsync(writerForPath(target).write(explanations()), { message: new RegExp(name.replace('.', '\\.')) });
    t.true((await stat(target)).isDirectory());
    t.deepEqual(await readdir(target), []);
  }
  t.deepEqual((await readdir(dir)).sort(), ['t.arrow', 't.csv', 't.parquet']);
});

test('a table that cannot be serialized leaves no file behind', async (t) => {
  const dir = await tempDir(t);
  // a column whose values throw when read: serialization fails part-way
  const table = tableFromArrays({ a: new Float64Array([1, 2]) });
  const broken = new Proxy(table, {
    get(target, prop, receiver) {
      if (prop === 'batches') throw new Error('boom: unserializable');
      return Reflect.get(target, prop, receiver);
    },
  }) as Table;
  for (const name of ['u.csv', 'u.parquet', 'u.arrows']) {
    await t.throwsAsync(writerForPath(join(dir, name)).write(broken), { message: /boom: unserializable/ });
  }
  t.deepEqual(await readdir(dir), []);
});

test('atomicOutput removes the temporary when filling fails part-way', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'sub', 'x.bin');
  await t.throwsAsync(
    atomicOutput(path, async (temp) => {
      await writeFile(temp, 'partial');
      throw new Error('disk on fire');
    }),
    { message: `writing ${path}: disk on fire` },
  );
  t.deepEqual(await readdir(join(dir, 'sub')), []);
  await writeFileAtomic(path, 'whole');
  t.is(await readFile(path, 'utf8'), 'whole');
  t.deepEqual(await readdir(join(dir, 'sub')), ['x.bin']);
});

test('writer configs: strict, defaults, extension mapping', (t) => {
  t.throws(() => createWriter({ KIND: 'ParquetWriter', path: 'o.parquet', overwrite: true }, 'job.samples_explanations'), {
    message: 'invalid writer config: unknown key `job.samples_explanations.overwrite`',
  });
  t.throws(() => createWriter({ KIND: 'ParquetWriter', path: 'o.parquet', compression: 'lzo' }), {
    message: /^invalid writer config: compression: /,
  });
  t.throws(() => createWriter({ KIND: 'JsonWriter', path: 'o.json' }), { message: /^invalid writer config: KIND: / });
  t.is((createWriter({ KIND: 'ParquetWriter', path: 'o.parquet' }) as ParquetWriter).compression, 'snappy');
  t.deepEqual(writerConfigForPath('o.arrows'), { KIND: 'ArrowWriter', path: 'o.arrows' });
  t.is(writerForPath('o.arrows').describe(), 'ArrowWriter(o.arrows, stream)');
  t.throws(() => writerForPath('o.txt'), { message: /cannot tell the format of o\.txt/ });
});

test('ParquetWriter compression codecs all round-trip', async (t) => {
  const dir = await tempDir(t);
  const table = tableFromArrays({ a: Float64Array.from({ length: 100 }, (_, i) => i / 7) });
  for (const compression of ['uncompressed', 'snappy', 'zstd', 'gzip', 'brotli', 'lz4_raw'] as const) {
    const path = join(dir, `${compression}.parquet`);
    await createWriter({ KIND: 'ParquetWriter', path, compression }).write(table);
    const back = await readerForPath(path).read();
    t.deepEqual(values(back, 'a'), values(table, 'a'), compression);
  }
});
