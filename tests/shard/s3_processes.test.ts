/**
 * A sharded run as a cluster runs it, against a real S3-compatible server
 * (s3s-fs, started by scripts/s3-server.sh — by scripts/test.sh, or here when
 * ARROWSHAP_S3_TEST_ENDPOINT is unset): a multi-file, multi-row-group Parquet
 * input in a bucket; 3 shards as separate `arrowshap run --shard auto`
 * processes with a Kubernetes Indexed Job's environment (JOB_COMPLETION_INDEX,
 * ARROWSHAP_SHARD_COUNT) and the endpoint/credentials from AWS_* variables,
 * the model resolved from a local-registry layout in the bucket (through the model cache);
 * one shard SIGKILLed mid-run (nothing of it lands, the merge refuses), re-run;
 * then `arrowshap merge`. The merged dataset equals a single-process run of
 * the same config (values bit for bit, rows in id order), the model table's
 * mean |SHAP| agrees, one alert is sent, and each shard read only the
 * footers and its own row groups.
 *
 * Skipped only outside CI when s3s-fs is not installed
 * (`bash scripts/s3-server.sh install`); in CI (CI=true) that is a failure.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { readerForPath } from '../../ts/io/datasets/reader.ts';
import { listObjects, configureObjectStorage, s3Client, uploadFile } from '../../ts/io/storage/s3.ts';
import { readSummary, summaryPath } from '../../ts/shard/summary.ts';
import { ROOT } from '../core/_fixtures.ts';
import { writeDataset } from './_dataset.ts';

const CLI = ['--import', import.meta.resolve('tsx'), join(ROOT, 'ts', 'cli.ts')];
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'arrowshap', AWS_SECRET_ACCESS_KEY: 'arrowshap-secret', AWS_REGION: 'us-east-1' };

/** The endpoint: given by scripts/test.sh, or a server started for this file (stopped after it). */
async function endpoint(): Promise<{ uri?: string; why?: string; stop?: () => void }> {
  if (process.env.ARROWSHAP_S3_TEST_ENDPOINT) return { uri: process.env.ARROWSHAP_S3_TEST_ENDPOINT };
  const state = await mkdtemp(join(tmpdir(), 'arrowshap-s3-state-'));
  const env = { ...process.env, ARROWSHAP_S3_STATE: state };
  const script = join(ROOT, 'scripts', 's3-server.sh');
  const r = spawnSync('bash', [script, 'start'], { env, encoding: 'utf8' });
  if (r.status !== 0) return { why: r.stderr.trim() };
  return { uri: r.stdout.trim(), stop: () => spawnSync('bash', [script, 'stop'], { env }) };
}

const server = await endpoint();
if (server.stop) test.after.always(() => server.stop!());
const s3test = server.uri || process.env.CI ? test.serial : test.serial.skip;
if (!server.uri) console.error(`s3_processes: no S3 server (${server.why}); ${process.env.CI ? 'failing (CI)' : 'skipped'}`);

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
}

let cacheDir = tmpdir();

/** Runs the CLI; `killOn`: SIGKILL it once its stderr matches. */
function cli(args: string[], env: Record<string, string>, killOn?: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...CREDENTIALS, AWS_ENDPOINT_URL: server.uri!, NO_COLOR: '1', ARROWSHAP_CACHE_DIR: cacheDir, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (killOn && killOn.test(stderr) && child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function yamlConfig(bucket: string, out: string, extra = ''): string {
  // the model: the examples' local registry, copied into the bucket (diabetes@Champion)
  return `job:
  KIND: ExplanationsJob
  inputs_samples: {KIND: ParquetReader, path: "s3://${bucket}/inputs/"}
  samples_explanations: {KIND: ParquetWriter, path: "s3://${bucket}/${out}/samples${extra ? '' : '.parquet'}"}
  models_explanations: {KIND: ParquetWriter, path: "s3://${bucket}/${out}/models.parquet"}
  registry: {KIND: LocalRegistry, path: "s3://${bucket}/registry", name: diabetes}
  explainer: {batch_rows: 250, threads: 1, id_column: id${extra}}
  logger: {level: info}
`;
}

s3test('3 shards as processes (Kubernetes Indexed Job env) over S3, one killed and re-run, then merge = a single run', async (t) => {
  t.timeout(8 * 60_000);
  t.truthy(server.uri, `no S3 server: ${server.why}`);
  configureObjectStorage({ endpoint: server.uri });
  Object.assign(process.env, CREDENTIALS);
  const dir = await mkdtemp(join(tmpdir(), 'arrowshap-s3test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bucket = `shards-${process.pid}-${Date.now().toString(36)}`;
  await (await s3Client()).send(new CreateBucketCommand({ Bucket: bucket }));

  // the input: 3 files × 4 row groups × 1000 rows, uploaded (multipart machinery, one PUT each at this size)
  const { files, rows } = await writeDataset(join(dir, 'data'), { files: 3, rowGroups: 4, rowsPerGroup: 1000 });
  for (const f of files) await uploadFile(f, `s3://${bucket}/inputs/${f.split('/').pop()}`);
  const totalBytes = (await Promise.all(files.map((f) => stat(f)))).reduce((n, s) => n + s.size, 0);
  const registry = join(ROOT, 'examples', 'registry', 'diabetes');
  for (const f of ['aliases.json', 'versions/1/model.ubj', 'versions/1/meta.json']) await uploadFile(join(registry, f), `s3://${bucket}/registry/diabetes/${f}`);
  cacheDir = join(dir, 'cache'); // each process brings the model into this cache (ARROWSHAP_CACHE_DIR)

  const single = join(dir, 'single.yaml');
  await writeFile(single, yamlConfig(bucket, 'single'));
  const sharded = join(dir, 'sharded.yaml');
  await writeFile(sharded, yamlConfig(bucket, 'sharded', ', shard: auto'));

  const one = await cli(['run', single], {});
  t.is(one.code, 0, one.stderr);
  t.true(existsSync(join(cacheDir, 's3', bucket, 'registry', 'diabetes', '1', 'model.ubj')), 'the model version is in the cache');
  t.is(one.stderr.match(/\[alert\] Explanations Job Finished/g)?.length, 1);

  const N = 3;
  const k8s = (i: number) => ({ JOB_COMPLETION_INDEX: String(i), ARROWSHAP_SHARD_COUNT: String(N) });
  // shard 1 is killed once it explains (SIGKILL: no cleanup runs): none of its outputs may exist
  const killed = await cli(['run', sharded], k8s(1), /\[5\/7\] explaining samples/);
  t.is(killed.signal, 'SIGKILL', killed.stderr);
  const runs = await Promise.all([0, 2].map((i) => cli(['run', sharded], k8s(i))));
  for (const r of runs) {
    t.is(r.code, 0, r.stderr);
    t.false(/\[alert\]/.test(r.stderr), 'a shard sends no alert');
  }
  const listed = await listObjects(`s3://${bucket}/sharded/`);
  t.deepEqual(
    listed.map((u) => u.slice(`s3://${bucket}/sharded/`.length)),
    ['samples/_shards/part-00000-of-00003.json', 'samples/_shards/part-00002-of-00003.json', 'samples/part-00000-of-00003.parquet', 'samples/part-00002-of-00003.parquet'],
  );
  const early = await cli(['merge', sharded], {});
  t.is(early.code, 1);
  t.regex(early.stderr, /^arrowshap: shards 1 of 3 are not complete/m);
  t.false(/\[alert\]/.test(early.stderr));

  const rerun = await cli(['run', sharded], k8s(1));
  t.is(rerun.code, 0, rerun.stderr);
  const merge = await cli(['merge', sharded], {});
  t.is(merge.code, 0, merge.stderr);
  t.regex(merge.stdout, new RegExp(`merged 3 shards: ${rows} rows; model explanations s3://${bucket}/sharded/models\\.parquet`));
  t.is(merge.stderr.match(/\[alert\] Explanations Job Finished/g)?.length, 1);

  // the merged dataset = the single run: same ids in the same order, every value bit for bit
  const parts = await readerForPath(`s3://${bucket}/sharded/samples/`).read();
  const whole = await readerForPath(`s3://${bucket}/single/samples.parquet`).read();
  t.deepEqual(
    parts.schema.fields.map((f) => f.name),
    whole.schema.fields.map((f) => f.name),
  );
  t.is(parts.numRows, rows);
  const ids = Array.from(parts.getChild('id')!.toArray() as BigInt64Array, Number);
  t.deepEqual(ids, [...Array(rows).keys()].map((i) => 1_000_000 + i));
  for (const f of whole.schema.fields) {
    const x = parts.getChild(f.name)!.toArray() as ArrayLike<unknown>;
    const y = whole.getChild(f.name)!.toArray() as ArrayLike<unknown>;
    t.is(Array.from(x).findIndex((v, i) => !Object.is(v, y[i])), -1, `column ${f.name}`);
  }
  const m1 = await readerForPath(`s3://${bucket}/single/models.parquet`).read();
  const m2 = await readerForPath(`s3://${bucket}/sharded/models.parquet`).read();
  for (const c of ['feature', 'importance', 'gain', 'cover', 'weight']) t.deepEqual(Array.from(m2.getChild(c)!.toArray()), Array.from(m1.getChild(c)!.toArray()), c);
  const a = m1.getChild('mean_abs_shap')!.toArray() as Float64Array;
  const b = m2.getChild('mean_abs_shap')!.toArray() as Float64Array;
  a.forEach((v, i) => t.true(Math.abs(v - b[i]) <= 1e-13 * Math.abs(v), `mean_abs_shap[${i}]: ${v} vs ${b[i]}`));

  // bytes: each shard read the footers and its 4 row groups, well under half the input
  for (let i = 0; i < N; i++) {
    const s = await readSummary(summaryPath(`s3://${bucket}/sharded/samples`, { index: i, count: N }));
    t.is(s.input.units, 4);
    t.is(s.shard.source, `JOB_COMPLETION_INDEX=${i}, ARROWSHAP_SHARD_COUNT=${N}`);
    t.true(s.input.bytes_read < totalBytes * 0.45, `shard ${i}: ${s.input.bytes_read} of ${totalBytes} bytes`);
    t.log(`shard ${i}: read ${s.input.bytes_read} of ${totalBytes} input bytes`);
  }
  // the killed shard left no staged upload behind once re-run (its temporary was removed as stale)
  const stale = (await readdir(tmpdir())).filter((n) => n.startsWith('.part-00001-of-00003.parquet.'));
  t.deepEqual(stale, []);
});
