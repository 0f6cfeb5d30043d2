/** Shard specs (`I/N`, the schedulers' environment variables) and the row-group split. */
import test from 'ava';
import { planShard } from '../../ts/shard/plan.ts';
import { parseShard, partName, resolveShard, shardFromEnvironment } from '../../ts/shard/spec.ts';

test('I/N is parsed and checked', (t) => {
  t.like(parseShard('3/8'), { index: 3, count: 8 });
  t.throws(() => parseShard('8/8'), { message: /index must be 0\.\.7, got 8/ });
  t.throws(() => parseShard('0/0'), { message: /count must be 1\.\.99999, got 0/ });
  t.throws(() => parseShard('1-8'), { message: /expected I\/N/ });
  t.is(partName({ index: 7, count: 32 }), 'part-00007-of-00032');
});

test('scheduler environments: Kubernetes Indexed Job, Slurm arrays, AWS Batch arrays, our own', (t) => {
  t.like(shardFromEnvironment({ JOB_COMPLETION_INDEX: '2', ARROWSHAP_SHARD_COUNT: '5' }), { index: 2, count: 5 });
  t.throws(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '2' }), { message: /ARROWSHAP_SHARD_COUNT/ });
  t.like(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '1' }), { index: 3, count: 4 });
  t.like(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '20', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_STEP: '5' }), { index: 3, count: 4 });
  t.throws(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '6', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_STEP: '5' }), { message: /not on the array's grid/ });
  t.like(shardFromEnvironment({ AWS_BATCH_JOB_ARRAY_INDEX: '0', AWS_BATCH_JOB_ARRAY_SIZE: '10' }), { index: 0, count: 10 });
  t.like(shardFromEnvironment({ AWS_BATCH_JOB_ARRAY_INDEX: '9', ARROWSHAP_SHARD_COUNT: '10' }), { index: 9, count: 10 });
  t.like(shardFromEnvironment({ ARROWSHAP_SHARD_INDEX: '1', ARROWSHAP_SHARD_COUNT: '2' }), { index: 1, count: 2 });
  t.throws(() => shardFromEnvironment({}), { message: /no scheduler index in the environment/ });
  t.throws(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: 'x', ARROWSHAP_SHARD_COUNT: '2' }), { message: /JOB_COMPLETION_INDEX=x/ });
  t.throws(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '3', ARROWSHAP_SHARD_COUNT: '2' }), { message: /index must be 0\.\.1, got 3/ });
  t.like(resolveShard('auto', { JOB_COMPLETION_INDEX: '1', ARROWSHAP_SHARD_COUNT: '3' }), { index: 1, count: 3 });
  t.like(resolveShard('1/3', {}), { index: 1, count: 3 });
});

test('the split: contiguous runs of row groups, every one once, balanced by rows, empty shards in place', (t) => {
  const layout = [
    { path: 'a', rowGroupRows: [100, 100, 50] },
    { path: 'b', rowGroupRows: [] },
    { path: 'c', rowGroupRows: [300, 10, 40] },
  ];
  for (const n of [1, 2, 3, 5, 7, 12]) {
    const plans = [...Array(n).keys()].map((index) => planShard(layout, { index, count: n }));
    let row = 0;
    let unit = 0;
    for (const p of plans) {
      t.is(p.firstRow, row);
      t.is(p.firstUnit, unit);
      t.is(p.totalRows, 600);
      t.is(p.totalUnits, 6);
      const groups = p.parts.flatMap((part) => part.rowGroups!.map((g) => layout.find((l) => l.path === part.path)!.rowGroupRows[g]));
      t.is(
        groups.reduce((a, b) => a + b, 0),
        p.rows,
      );
      t.is(groups.length, p.units);
      row += p.rows;
      unit += p.units;
    }
    t.is(row, 600);
    t.is(unit, 6);
  }
  const two = [0, 1].map((index) => planShard(layout, { index, count: 2 }));
  t.deepEqual(two[0].parts, [{ path: 'a', rowGroups: [0, 1, 2] }]);
  t.deepEqual(two[1].parts, [{ path: 'c', rowGroups: [0, 1, 2] }]); // 250 | 350 rows: c's first group has its middle row in shard 1
  t.deepEqual(planShard([], { index: 0, count: 3 }), { parts: [], firstRow: 0, rows: 0, totalRows: 0, firstUnit: 0, units: 0, totalUnits: 0 });
});
