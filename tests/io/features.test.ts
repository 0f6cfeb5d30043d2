import test from 'ava';
import {
  Bool,
  Float16,
  Float64,
  Int64,
  Int8,
  makeData,
  makeVector,
  Table,
  tableFromArrays,
  tableFromIPC,
  tableToIPC,
  Uint32,
  vectorFromArray,
  Vector,
  Float32,
  Field,
  RecordBatch,
  Schema,
  Struct,
} from 'apache-arrow';
import { featureColumns, halfToNumber, idColumn, numericColumn } from '../../ts/io/datasets/features.ts';

test('a Float64 column without nulls is a view over the same ArrayBuffer (no copy)', (t) => {
  const x = new Float64Array([1, 2, 3, 4]);
  const table = tableFromArrays({ x, y: new Float64Array([5, 6, 7, 8]) });
  const [cy, cx] = featureColumns(table, ['y', 'x']);
  t.true(cx instanceof Float64Array);
  t.is(cx.buffer, table.getChild('x')!.data[0].values.buffer);
  t.is(cx.buffer, x.buffer);
  t.deepEqual([...cx], [1, 2, 3, 4]);
  t.deepEqual([...cy], [5, 6, 7, 8]);
  // writes through the view are visible in the table: it really is the same memory
  x[0] = 42;
  t.is(cx[0], 42);
});

test('a view over an IPC-read table shares the IPC bytes', (t) => {
  const ipc = tableToIPC(tableFromArrays({ a: new Float64Array([0.5, 1.5]), b: new Float32Array([1, 2]) }));
  const table = tableFromIPC(ipc);
  const [a, b] = featureColumns(table, ['a', 'b']);
  t.is(a.buffer, ipc.buffer);
  t.is(b.buffer, ipc.buffer);
  t.true(b instanceof Float32Array);
  t.deepEqual([...a], [0.5, 1.5]);
});

test('a sliced table (limit) is still viewed without a copy, at the right rows', (t) => {
  const x = Float64Array.from({ length: 10 }, (_, i) => i);
  const table = tableFromArrays({ x }).slice(3, 6);
  const [c] = featureColumns(table, ['x']);
  t.is(c.buffer, x.buffer);
  t.deepEqual([...c], [3, 4, 5]);
});

test('ints, booleans, float16, int64 and uint32 convert to float64', (t) => {
  const table = new Table({
    i8: vectorFromArray([1, -2, 3], new Int8()),
    u32: vectorFromArray([4000000000, 0, 1], new Uint32()),
    i64: makeVector(makeData({ type: new Int64(), length: 3, data: new BigInt64Array([9007199254740993n, -1n, 0n]) })),
    b: vectorFromArray([true, false, true], new Bool()),
    h: makeVector(makeData({ type: new Float16(), length: 3, data: new Uint16Array([0x3c00, 0xc000, 0x7e00]) })),
  });
  const [i8, u32, i64, b, h] = featureColumns(table, ['i8', 'u32', 'i64', 'b', 'h']);
  for (const c of [i8, u32, i64, b, h]) t.true(c instanceof Float64Array);
  t.deepEqual([...i8], [1, -2, 3]);
  t.deepEqual([...u32], [4000000000, 0, 1]);
  t.deepEqual([...i64], [9007199254740992, -1, 0]);
  t.deepEqual([...b], [1, 0, 1]);
  t.deepEqual([...h], [1, -2, NaN]);
});

test('nulls become NaN (a copy), including sliced booleans with an offset', (t) => {
  const bitmap = new Uint8Array([0b11110101]);
  const x = makeVector(
    makeData({ type: new Float64(), length: 8, nullCount: 2, nullBitmap: bitmap, data: new Float64Array([0, 1, 2, 3, 4, 5, 6, 7]) }),
  );
  const b = vectorFromArray([true, null, false, true, null, true, false, true], new Bool());
  const table = new Table({ x, b }).slice(1, 7);
  const [cx, cb] = featureColumns(table, ['x', 'b']);
  t.not(cx.buffer, x.data[0].values.buffer);
  t.deepEqual([...cx], [NaN, 2, NaN, 4, 5, 6]);
  t.deepEqual([...cb], [NaN, 0, 1, NaN, 1, 0]);
});

test('several chunks are concatenated into one Float64Array', (t) => {
  const a = makeData({ type: new Float32(), length: 2, data: new Float32Array([1, 2]) });
  const b = makeData({ type: new Float32(), length: 3, data: new Float32Array([3, 4, 5]) });
  const v = new Vector([a, b]);
  const c = numericColumn(v);
  t.true(c instanceof Float64Array);
  t.deepEqual([...c], [1, 2, 3, 4, 5]);
});

test('featureColumns ignores extra columns and rejects non-numeric ones with the type', (t) => {
  const table = tableFromArrays({ a: new Float64Array([1]), name: ['x'], extra: ['ignored'] });
  t.is(featureColumns(table, ['a']).length, 1);
  t.throws(() => featureColumns(table, ['a', 'name'], { source: 'data/x.parquet' }), {
    message: 'column `name` in data/x.parquet is Dictionary<Int32, Utf8>, expected a number',
  });
  t.throws(() => featureColumns(table, ['zz']), {
    message: 'the input table lacks model feature `zz` (the model has 1 feature; the data has columns `a`, `name`, `extra`)',
  });
});

test('idColumn returns the vector or names what exists', (t) => {
  const table = tableFromArrays({ id: ['a', 'b'], x: new Float64Array([1, 2]) });
  t.deepEqual([...idColumn(table, 'id')], ['a', 'b']);
  t.throws(() => idColumn(table, 'key', { source: 'in.csv' }), { message: 'id column `key` not found in in.csv; columns: `id`, `x`' });
});

test('halfToNumber decodes IEEE half floats', (t) => {
  t.is(halfToNumber(0x3c00), 1);
  t.is(halfToNumber(0x0001), 2 ** -24);
  t.is(halfToNumber(0x7c00), Infinity);
  t.is(halfToNumber(0xfc00), -Infinity);
  t.is(halfToNumber(0x3555), 0.333251953125);
  t.true(Object.is(halfToNumber(0x8000), -0));
});

test('duplicate column names among the features or the id column are an error (never the first one silently)', (t) => {
  const a = makeData({ type: new Float64(), length: 2, data: new Float64Array([1, 2]) });
  const b = makeData({ type: new Float64(), length: 2, data: new Float64Array([9, 9]) });
  const fields = [new Field('x', new Float64()), new Field('x', new Float64()), new Field('id', new Float64())];
  const schema = new Schema(fields);
  const table = new Table(schema, new RecordBatch(schema, makeData({ type: new Struct(fields), length: 2, children: [a, b, a] })));
  t.throws(() => featureColumns(table, ['x'], { source: 'dup.parquet' }), {
    message: 'dup.parquet has 2 columns named `x`: the columns a run reads must have unique names',
  });
  t.throws(() => idColumn(table, 'x'), { message: /the input table has 2 columns named `x`/ });
  t.is(idColumn(table, 'id').length, 2);
});
