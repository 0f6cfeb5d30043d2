import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Float64,
  makeData,
  makeVector,
  tableFromArrays,
  tableToIPC,
  Utf8,
  vectorFromArray,
  Table,
} from 'apache-arrow';
import {
  ArrowReader,
  createReader,
  CsvReader,
  ParquetReader,
  readerConfigForPath,
  readerForPath,
} from '../../ts/io/datasets/reader.ts';
import { tableToParquet } from '../../ts/io/datasets/parquet_writer.ts';
import { featureColumns } from '../../ts/io/datasets/features.ts';
import { parseNumberCell } from '../../ts/io/datasets/csv_reader.ts';
import { tempDir } from '../helpers/tmp.ts';

/** x: float64 with a null, n: int32, s: utf8. */
function sample(): Table {
  const x = makeVector(
    makeData({
      type: new Float64(),
      length: 4,
      nullCount: 1,
      nullBitmap: new Uint8Array([0b1011]),
      data: new Float64Array([1.5, -2, 0, 0.1 + 0.2]),
    }),
  );
  return new Table({ x, n: makeVector(new Int32Array([1, 2, 3, 4])), s: vectorFromArray(['a', 'b', 'c', 'd'], new Utf8()) });
}

function column(table: Table, name: string): unknown[] {
  return [...table.getChild(name)!];
}

test('ParquetReader reads values, nulls and one batch', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'in.parquet');
  await writeFile(path, tableToParquet(sample()));
  const table = await new ParquetReader({ path }).read();
  t.is(table.numRows, 4);
  t.is(table.batches.length, 1);
  t.deepEqual(column(table, 'x'), [1.5, -2, null, 0.1 + 0.2]);
  t.deepEqual(column(table, 'n'), [1, 2, 3, 4]);
  t.deepEqual(column(table, 's'), ['a', 'b', 'c', 'd']);
  const [x, n] = featureColumns(table, ['x', 'n'], { source: path });
  t.deepEqual([...x], [1.5, -2, NaN, 0.1 + 0.2]);
  t.deepEqual([...n], [1, 2, 3, 4]);
});

test('ParquetReader keeps one batch over several row groups, and honours limit', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'big.parquet');
  const n = 5000;
  const x = Float64Array.from({ length: n }, (_, i) => i * 0.5);
  await writeFile(path, tableToParquet(tableFromArrays({ x })));
  const all = await createReader({ KIND: 'ParquetReader', path }).read();
  t.is(all.numRows, n);
  t.is(all.batches.length, 1);
  t.is(all.getChild('x')!.get(4999), 2499.5);
  const some = await createReader({ KIND: 'ParquetReader', path, limit: 3 }).read();
  t.deepEqual(column(some, 'x'), [0, 0.5, 1]);
});

test('ArrowReader reads IPC files and streams, with limit', async (t) => {
  const dir = await tempDir(t);
  for (const [name, format] of [
    ['in.arrow', 'file'],
    ['in.feather', 'file'],
    ['in.arrows', 'stream'],
  ] as const) {
    const path = join(dir, name);
    await writeFile(path, tableToIPC(sample(), format));
    const reader = readerForPath(path);
    t.true(reader instanceof ArrowReader);
    const table = await reader.read();
    t.deepEqual(column(table, 'x'), [1.5, -2, null, 0.1 + 0.2], name);
    t.deepEqual(column(table, 's'), ['a', 'b', 'c', 'd'], name);
    const limited = await readerForPath(path, 2).read();
    t.is(limited.numRows, 2);
    t.deepEqual(column(limited, 'n'), [1, 2]);
  }
});

test('CsvReader infers float64, boolean-as-number and utf8; empty cells are null / NaN', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'in.csv');
  await writeFile(
    path,
    '\ufeffid,age,bmi,smoker,name,empty\n' +
      '1,30,22.5,true,"Doe, Jane",\n' +
      '2,,1e3,FALSE,Bob,\n' +
      '3,41,-.5,,"say ""hi""",\n' +
      '4,NaN,inf,True,,\n',
  );
  const reader = readerForPath(path);
  t.true(reader instanceof CsvReader);
  const table = await reader.read();
  t.is(table.numRows, 4);
  t.is(table.batches.length, 1);
  t.deepEqual(
    table.schema.fields.map((f) => `${f.name}:${f.type}`),
    ['id:Float64', 'age:Float64', 'bmi:Float64', 'smoker:Float64', 'name:Utf8', 'empty:Float64'],
  );
  t.deepEqual(column(table, 'id'), [1, 2, 3, 4]);
  t.deepEqual(column(table, 'age'), [30, null, 41, NaN]);
  t.deepEqual(column(table, 'bmi'), [22.5, 1000, -0.5, Infinity]);
  t.deepEqual(column(table, 'smoker'), [1, 0, null, 1]);
  t.deepEqual(column(table, 'name'), ['Doe, Jane', 'Bob', 'say "hi"', null]);
  t.deepEqual(column(table, 'empty'), [null, null, null, null]);
  const [age, smoker, empty] = featureColumns(table, ['age', 'smoker', 'empty'], { source: path });
  t.deepEqual([...age], [30, NaN, 41, NaN]);
  t.deepEqual([...smoker], [1, 0, NaN, 1]);
  t.deepEqual([...empty], [NaN, NaN, NaN, NaN]);
});

test('CsvReader honours limit, skips blank lines, reads a header-only file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'in.csv');
  await writeFile(path, 'a,b\r\n1,2\r\n\r\n3,4\r\n5,6\r\n\r\n');
  t.deepEqual(column(await new CsvReader({ path }).read(), 'a'), [1, 3, 5]);
  t.deepEqual(column(await new CsvReader({ path, limit: 2 }).read(), 'b'), [2, 4]);
  const headerOnly = join(dir, 'h.csv');
  await writeFile(headerOnly, 'a,b\n');
  const empty = await new CsvReader({ path: headerOnly }).read();
  t.is(empty.numRows, 0);
  t.deepEqual(empty.schema.fields.map((f) => f.name), ['a', 'b']);
});

test('CsvReader: a one-column file keeps blank lines as missing values', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'one.csv');
  await writeFile(path, 'x\n1\n\n3\n');
  t.deepEqual(column(await new CsvReader({ path }).read(), 'x'), [1, null, 3]);
});

test('CsvReader errors name the file: ragged rows, duplicate header, empty file', async (t) => {
  const dir = await tempDir(t);
  const ragged = join(dir, 'ragged.csv');
  await writeFile(ragged, 'a,b\n1,2\n3,4,5\n');
  await t.throwsAsync(new CsvReader({ path: ragged }).read(), {
    message: `${ragged} line 3: 3 fields, the header has 2`,
  });
  const dup = join(dir, 'dup.csv');
  await writeFile(dup, 'a,b,a\n1,2,3\n');
  await t.throwsAsync(new CsvReader({ path: dup }).read(), { message: `${dup}: column \`a\` appears twice in the header` });
  const empty = join(dir, 'empty.csv');
  await writeFile(empty, '');
  await t.throwsAsync(new CsvReader({ path: empty }).read(), { message: /empty\.csv is empty/ });
  const badQuote = join(dir, 'quote.csv');
  await writeFile(badQuote, 'a,b\n"1,2\n');
  await t.throwsAsync(new CsvReader({ path: badQuote }).read(), { message: /quote\.csv/ });
});

test('parseNumberCell accepts numbers and nan/inf spellings only', (t) => {
  t.is(parseNumberCell('1'), 1);
  t.is(parseNumberCell('-2.5e-3'), -0.0025);
  t.is(parseNumberCell('.5'), 0.5);
  t.is(parseNumberCell('5.'), 5);
  t.is(parseNumberCell('+7'), 7);
  t.is(parseNumberCell('0.30000000000000004'), 0.1 + 0.2);
  t.true(Number.isNaN(parseNumberCell('nan')));
  t.is(parseNumberCell('-Infinity'), -Infinity);
  t.is(parseNumberCell('INF'), Infinity);
  for (const text of ['0x10', '1,5', 'abc', '1e', '--1', '1 2', 'Infinityx', '']) {
    t.is(parseNumberCell(text), undefined, text);
  }
});

test('text in a numeric column: the feature error names the column, type and file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'x.csv');
  await writeFile(path, 'age,bmi\n30,22.5\n40,n/a\n');
  const table = await readerForPath(path).read();
  t.throws(() => featureColumns(table, ['age', 'bmi'], { source: path }), {
    message: `column \`bmi\` in ${path} is Utf8, expected a number`,
  });
});

test('a missing feature column: the error lists every missing one and the file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'x.csv');
  await writeFile(path, 'age,zip\n30,1\n');
  const table = await readerForPath(path).read();
  t.throws(() => featureColumns(table, ['age', 'bmi', 'sex'], { source: path }), {
    message: `${path} lacks 2 model features \`bmi\`, \`sex\` (the model has 3 features; the data has columns \`age\`, \`zip\`)`,
  });
});

test('unknown extension and missing file errors name the path', async (t) => {
  t.throws(() => readerForPath('data/x.xlsx'), {
    message: 'cannot tell the format of data/x.xlsx (extension `.xlsx`); use one of .parquet, .csv, .arrow, .feather, .arrows',
  });
  t.throws(() => readerForPath('data/noext'), { message: /cannot tell the format of data\/noext \(no extension\)/ });
  const dir = await tempDir(t);
  for (const name of ['nope.parquet', 'nope.csv', 'nope.arrow', 'nope.arrows']) {
    const path = join(dir, name);
    await t.throwsAsync(readerForPath(path).read(), { message: `input file not found: ${path}` });
  }
});

test('corrupt files: errors name the file', async (t) => {
  const dir = await tempDir(t);
  const pq = join(dir, 'bad.parquet');
  await writeFile(pq, 'not parquet at all');
  await t.throwsAsync(readerForPath(pq).read(), { message: new RegExp(`^cannot read ${pq} as Parquet: `) });
  const ar = join(dir, 'bad.arrow');
  await writeFile(ar, 'not arrow at all, not at all');
  await t.throwsAsync(readerForPath(ar).read(), { message: new RegExp(`^cannot read ${ar} as Arrow IPC`) });
});

test('reader configs are strict and validated, with the key path', (t) => {
  t.throws(() => createReader({ KIND: 'ParquetReader', path: 'a.parquet', limt: 3 }, 'job.inputs_samples'), {
    message: 'invalid reader config: unknown key `job.inputs_samples.limt`',
  });
  t.throws(() => createReader({ KIND: 'CsvReader', path: 'a.csv', limit: 0 }, 'job.inputs_samples'), {
    message: /^invalid reader config: job\.inputs_samples\.limit: /,
  });
  t.throws(() => createReader({ KIND: 'CsvReader', path: 'a.csv', limit: 1.5 }), { message: /^invalid reader config: limit: / });
  t.throws(() => createReader({ KIND: 'ExcelReader', path: 'a.xlsx' }), {
    message: /^invalid reader config: KIND: .*ParquetReader.*CsvReader.*ArrowReader/,
  });
  t.deepEqual(readerConfigForPath('a/b.FEATHER', 5), { KIND: 'ArrowReader', path: 'a/b.FEATHER', limit: 5 });
  t.is(readerForPath('in.csv', 7).describe(), 'CsvReader(in.csv, limit 7)');
});

test('a Float32 Arrow column reads back as Float32 and views without a copy', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'sub'));
  const path = join(dir, 'sub', 'f.arrow');
  await writeFile(path, tableToIPC(tableFromArrays({ f: new Float32Array([0.1, 2, 3]), i: new Int32Array([1, 2, 3]) })));
  const table = await readerForPath(path).read();
  t.is(String(table.getChild('f')!.type), 'Float32');
  t.is(String(table.getChild('i')!.type), 'Int32');
  const [f] = featureColumns(table, ['f']);
  t.true(f instanceof Float32Array);
  t.is(f.buffer, table.getChild('f')!.data[0].values.buffer);
  t.deepEqual([...f], [Math.fround(0.1), 2, 3]);
});

test('compressed Arrow IPC from pyarrow (LZ4 feather, ZSTD stream) is decoded', async (t) => {
  const fixtures = join(import.meta.dirname, 'fixtures');
  for (const name of ['lz4.feather', 'zstd.arrows']) {
    const table = await readerForPath(join(fixtures, name)).read();
    t.is(table.numRows, 4, name);
    t.deepEqual(column(table, 'x'), [0.5, null, 2.25, 1e300], name);
    t.deepEqual(column(table, 's'), ['a', 'b', null, 'dd'], name);
    t.deepEqual(column(table, 'n'), [1n, 2n, 3n, 9007199254740993n], name);
    const [x] = featureColumns(table, ['x'], { source: name });
    t.deepEqual([...x], [0.5, NaN, 2.25, 1e300]);
    t.deepEqual(column(await readerForPath(join(fixtures, name), 3).read(), 'n'), [1n, 2n, 3n]);
  }
});
