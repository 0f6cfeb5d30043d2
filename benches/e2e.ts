/**
 * End-to-end benchmark of the explanations job (`arrowshap run`) on a large
 * Parquet input: wall time split into read / validate / compute / write (the
 * job's own timings, from its JSON log), I/O overhead as a share of compute,
 * and peak RSS, at N and 2N rows — the streaming job's memory must not grow
 * with the row count.
 *
 *   npx tsx benches/e2e.ts [--quick] [--threads N] [--rows N,M] [--batch-rows N] [--out DIR]
 *
 * - Data: seeded float64 samples, 32 features (standard normal, 5% NaN = missing,
 *   no null bitmap), written once as Parquet (snappy, 65536-row row groups) to
 *   OUT/e2e/inputs_<rows>.parquet and reused.
 * - Model: the benchmark case `xgb_d8` (XGBoost, 500 trees of depth 8 over 32
 *   features; 40 trees with --quick) from OUT/cases[-quick]/xgb_d8/model.json,
 *   made by benches/make_cases.py (run here through .venv when missing).
 * - Sizes: 1M and 2M rows (--quick: 100k and 200k).
 * - Each size runs `node bin/arrowshap.js run CONFIG` in a child process, under
 *   `/usr/bin/time -v` for the peak RSS when it exists (else VmHWM polled from
 *   /proc), with `explainer.threads` = --threads (2) and `logger: {level: info,
 *   format: json}`; the job's closing log line carries its timings.
 *
 * Columns: `read`, `validate`, `compute` (native SHAP), `write` are the job's own
 * timings summed over its batches — for read and write, the time the job waited for
 * them: Parquet decoding (the next batch, prefetched) and encoding (the last batch)
 * run on the main thread while the worker threads compute, so part of their cost is
 * hidden in the compute's wall time. `I/O % of compute` = (read + validate + write) /
 * compute; `wall−compute %` = everything else around the compute (process start,
 * model load, …); `I/O-only` = the same reads and writes done alone, without SHAP,
 * in this process: the I/O's whole cost, as a share of compute.
 *
 * Prints a table and writes OUT/e2e.json (OUT/e2e-quick.json with --quick, where
 * batch_rows defaults to 16384 so that both sizes span several batches).
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as arrow from 'apache-arrow';
import { featureColumns } from '../ts/io/datasets/features.ts';
import { ParquetReader } from '../ts/io/datasets/parquet_reader.ts';
import { ParquetWriter } from '../ts/io/datasets/parquet_writer.ts';
import { TreeModel } from '../ts/native/tree_model.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Args {
  quick: boolean;
  threads: number;
  rows?: number[];
  batchRows?: number;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, threads: 2, out: join(root, 'benches', 'out') };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    if (f === '--quick') a.quick = true;
    else if (f === '--threads') a.threads = Number(argv[++i]);
    else if (f === '--rows') a.rows = argv[++i].split(',').map(Number);
    else if (f === '--batch-rows') a.batchRows = Number(argv[++i]);
    else if (f === '--out') a.out = argv[++i];
    else throw new Error(`unknown flag ${f} (flags: --quick --threads N --rows N,M --batch-rows N --out DIR)`);
  }
  if (!(Number.isInteger(a.threads) && a.threads >= 1)) throw new Error('--threads must be a positive integer');
  if (a.rows && !a.rows.every((n) => Number.isInteger(n) && n > 0)) throw new Error('--rows: positive integers, comma-separated');
  return a;
}

const FEATURES = 32;

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
const ROW_GROUP = 65536;

/** A seeded PRNG (xoshiro128**, 53-bit uniforms) with standard normals by Box–Muller. */
class Rng {
  private readonly s = new Uint32Array(4);
  private spare: number | undefined;
  constructor(seed: number) {
    // splitmix32 to fill the state
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }
  private next32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }
  /** Uniform in (0, 1). */
  uniform(): number {
    return ((this.next32() >>> 5) * 67108864 + (this.next32() >>> 6) + 0.5) / 9007199254740992;
  }
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/**
 * Writes `rows` seeded samples (the model's feature names) to `path`, one row
 * group at a time, unless the file is there already.
 */
async function ensureInputs(path: string, rows: number, names: string[]): Promise<void> {
  if (existsSync(path)) {
    const have = await new ParquetReader({ path }).countRows();
    if (have === rows) return;
  }
  const started = performance.now();
  process.stderr.write(`  generating ${rows.toLocaleString('en-US')} × ${names.length} samples → ${path} …\n`);
  const schema = new arrow.Schema(names.map((n) => new arrow.Field(n, new arrow.Float64(), false)));
  const output = await new ParquetWriter({ path }).open(schema, { rowGroupRows: ROW_GROUP });
  try {
    // The rows depend on the seed only, so the N-row file is a prefix of the 2N-row one.
    const rng = new Rng(20260515);
    for (let start = 0; start < rows; start += ROW_GROUP) {
      const n = Math.min(ROW_GROUP, rows - start);
      const block = Array.from({ length: names.length }, () => new Float64Array(n));
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < names.length; j++) block[j][i] = rng.uniform() < 0.05 ? NaN : rng.normal();
      }
      const children = block.map((values) => arrow.makeData({ type: new arrow.Float64(), length: n, data: values }));
      const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, nullCount: 0, children });
      await output.write(new arrow.RecordBatch(schema, data));
    }
    await output.close();
  } catch (err) {
    await output.abort();
    throw err;
  }
  process.stderr.write(`  generated in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

/** The xgb_d8 bench case model, made by benches/make_cases.py when missing. */
function ensureModel(out: string, quick: boolean): string {
  const casesDir = join(out, quick ? 'cases-quick' : 'cases');
  const model = join(casesDir, 'xgb_d8', 'model.json');
  if (existsSync(model)) return model;
  const python = join(root, '.venv', 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(`${model} is missing and there is no .venv to make it: run \`bash scripts/setup-python.sh\` (or \`npm run bench\`) first`);
  }
  process.stderr.write(`  making the benchmark cases in ${casesDir} (benches/make_cases.py) …\n`);
  execFileSync(python, [join(root, 'benches', 'make_cases.py'), casesDir, ...(quick ? ['--quick'] : [])], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!existsSync(model)) throw new Error(`benches/make_cases.py did not make ${model}`);
  return model;
}

/** What one run measured. */
interface Result {
  rows: number;
  batch_rows: number;
  wall_s: number;
  read_s: number;
  validate_s: number;
  compute_s: number;
  write_s: number;
  load_s: number;
  job_total_s: number;
  /** (read + validate + write) / compute, in percent. */
  io_overhead_pct: number;
  /** (wall − compute) / compute, in percent: everything around the compute, process start included. */
  wall_overhead_pct: number;
  /**
   * Seconds of a pass with the same I/O and no SHAP (in this process): stream-read the
   * input, write a samples-shaped Parquet table (row + 33 float64 columns) of the same rows.
   * The job overlaps part of this work with the native compute (Parquet encoding and
   * decoding run on the main thread while the worker threads compute), so it costs
   * less wall time there than here.
   */
  io_only_s: number;
  /** io_only_s / compute, in percent: the I/O's full cost, overlapped or not. */
  io_only_pct: number;
  peak_rss_mib: number;
  rss_source: string;
  input_mib: number;
  output_mib: number;
  rows_per_s: number;
}

/** The job's closing info line: `{"message": "done in …", "timings_s": {...}, "rows": {...}}`. */
interface DoneLine {
  message: string;
  timings_s: Record<string, number>;
  rows: { inputs: number; samples: number; batches: number };
}

/**
 * The I/O of a run without its compute: streams `inputs` in 65536-row batches and
 * writes, per batch, a table shaped like the samples table (int64 row, the feature
 * columns standing in for the SHAP values, a float64 base_value) to a Parquet file.
 * @returns seconds.
 */
async function ioOnly(inputs: string, work: string, batchRows: number): Promise<number> {
  const path = join(work, 'io_only.parquet');
  const started = performance.now();
  let schema: arrow.Schema | undefined;
  let output: Awaited<ReturnType<ParquetWriter['open']>> | undefined;
  let offset = 0;
  for await (const batch of new ParquetReader({ path: inputs }).batches({ batchRows })) {
    const n = batch.numRows;
    const columns = batch.schema.fields.map((f) => featureColumns(batch, [f.name])[0]);
    schema ??= new arrow.Schema([
      new arrow.Field('row', new arrow.Int64(), false),
      ...batch.schema.fields.map((f) => new arrow.Field(f.name, new arrow.Float64(), false)),
      new arrow.Field('base_value', new arrow.Float64(), false),
    ]);
    output ??= await new ParquetWriter({ path }).open(schema, { rowGroupRows: batchRows });
    const row = new BigInt64Array(n);
    for (let i = 0; i < n; i++) row[i] = BigInt(offset + i);
    const children = [
      arrow.makeData({ type: new arrow.Int64(), length: n, data: row }),
      ...columns.map((c) => arrow.makeData({ type: new arrow.Float64(), length: n, data: c as Float64Array })),
      arrow.makeData({ type: new arrow.Float64(), length: n, data: new Float64Array(n) }),
    ];
    await output.write(new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, nullCount: 0, children })));
    offset += n;
  }
  await output!.close();
  const seconds = (performance.now() - started) / 1000;
  rmSync(path, { force: true });
  return seconds;
}

/** Runs the job once on `inputs` and measures it. */
async function runJob(args: Args, model: string, inputs: string, rows: number, work: string): Promise<Result> {
  const samplesOut = join(work, `samples_${rows}.parquet`);
  const modelsOut = join(work, `models_${rows}.parquet`);
  const config = join(work, `job_${rows}.json`);
  const batchRows = args.batchRows ?? (args.quick ? 16384 : 65536);
  writeFileSync(
    config,
    JSON.stringify(
      {
        job: {
          KIND: 'ExplanationsJob',
          inputs_samples: { KIND: 'ParquetReader', path: inputs },
          samples_explanations: { KIND: 'ParquetWriter', path: samplesOut },
          models_explanations: { KIND: 'ParquetWriter', path: modelsOut },
          registry: { KIND: 'FileRegistry', path: model },
          explainer: { threads: args.threads, batch_rows: batchRows },
          alerts: { KIND: 'ConsoleAlerts' },
          logger: { level: 'info', format: 'json' },
        },
      },
      null,
      2,
    ),
  );
  const node = process.execPath;
  const cli = [join(root, 'bin', 'arrowshap.js'), 'run', config];
  const timeBin = '/usr/bin/time';
  const useTime = existsSync(timeBin);
  const [cmd, argv] = useTime ? [timeBin, ['-v', node, ...cli]] : [node, cli];
  const started = performance.now();
  const child = spawn(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout!.on('data', () => {});
  // Without /usr/bin/time: poll the child's high-water mark.
  let polledKiB = 0;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) polledKiB = Math.max(polledKiB, Number(m[1]));
        } catch {
          // exited
        }
      }, 50);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const wall = (performance.now() - started) / 1000;
  if (poll) clearInterval(poll);
  if (code !== 0) throw new Error(`arrowshap run exited with ${code}:\n${stderr.slice(-4000)}`);

  let done: DoneLine | undefined;
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const obj = JSON.parse(line) as Partial<DoneLine>;
      if (obj.timings_s && obj.rows) done = obj as DoneLine;
    } catch {
      // the alert block, /usr/bin/time's report
    }
  }
  if (!done) throw new Error(`no timings line in the job's log:\n${stderr.slice(-4000)}`);
  if (done.rows.inputs !== rows) throw new Error(`the job read ${done.rows.inputs} rows, expected ${rows}`);
  const written = await new ParquetReader({ path: samplesOut }).countRows();
  if (written !== rows) throw new Error(`${samplesOut} holds ${written} rows, expected ${rows}`);

  let rssKiB = polledKiB;
  if (useTime) {
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
    if (!m) throw new Error(`no peak RSS in /usr/bin/time's report:\n${stderr.slice(-2000)}`);
    rssKiB = Number(m[1]);
  }
  const t = done.timings_s;
  const io = t.read + t.validate + t.write;
  const result: Result = {
    rows,
    batch_rows: batchRows,
    wall_s: round(wall),
    read_s: t.read,
    validate_s: t.validate,
    compute_s: t.explainSamples,
    write_s: t.write,
    load_s: t.load,
    job_total_s: t.total,
    io_overhead_pct: round((100 * io) / t.explainSamples, 1),
    wall_overhead_pct: round((100 * (wall - t.explainSamples)) / t.explainSamples, 1),
    io_only_s: 0,
    io_only_pct: 0,
    peak_rss_mib: round(rssKiB / 1024, 1),
    rss_source: useTime ? '/usr/bin/time -v' : '/proc VmHWM (polled)',
    input_mib: round(statSync(inputs).size / 2 ** 20, 1),
    output_mib: round(statSync(samplesOut).size / 2 ** 20, 1),
    rows_per_s: Math.round(rows / t.explainSamples),
  };
  rmSync(samplesOut, { force: true });
  rmSync(modelsOut, { force: true });
  return result;
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function printTable(results: Result[]): void {
  const head = ['rows', 'wall s', 'read s', 'validate s', 'compute s', 'write s', 'I/O % of compute', 'wall−compute %', 'I/O-only s (%)', 'peak RSS MiB'];
  const body = results.map((r) => [
    r.rows.toLocaleString('en-US'),
    r.wall_s.toFixed(2),
    r.read_s.toFixed(2),
    r.validate_s.toFixed(2),
    r.compute_s.toFixed(2),
    r.write_s.toFixed(2),
    r.io_overhead_pct.toFixed(1),
    r.wall_overhead_pct.toFixed(1),
    `${r.io_only_s.toFixed(2)} (${r.io_only_pct.toFixed(1)})`,
    r.peak_rss_mib.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  console.log(line(head));
  for (const b of body) console.log(line(b));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const sizes = args.rows ?? (args.quick ? [100_000, 200_000] : [1_000_000, 2_000_000]);
  const model = ensureModel(args.out, args.quick);
  const names = TreeModel.fromFile(model).featureNames;
  if (names.length !== FEATURES) process.stderr.write(`  note: the model has ${names.length} features\n`);
  const work = join(args.out, 'e2e');
  mkdirSync(work, { recursive: true });
  const results: Result[] = [];
  for (const rows of sizes) {
    const inputs = join(work, `inputs_${rows}.parquet`);
    await ensureInputs(inputs, rows, names);
    process.stderr.write(`  running arrowshap run on ${rows.toLocaleString('en-US')} rows …\n`);
    const result = await runJob(args, model, inputs, rows, work);
    result.io_only_s = round(await ioOnly(inputs, work, result.batch_rows));
    result.io_only_pct = round((100 * result.io_only_s) / result.compute_s, 1);
    results.push(result);
  }
  printTable(results);
  const rssRatio = results.length > 1 ? round(results[results.length - 1].peak_rss_mib / results[0].peak_rss_mib) : 1;
  const maxIo = Math.max(...results.map((r) => r.io_overhead_pct));
  console.log(
    `peak RSS ${results[results.length - 1].rows.toLocaleString('en-US')} / ${results[0].rows.toLocaleString('en-US')} rows: ×${rssRatio.toFixed(2)} ` +
      `(flat: ≤ ×1.10 ${rssRatio <= 1.1 ? 'ok' : 'NOT MET'}); I/O overhead ≤ 15% of compute: ${maxIo <= 15 ? 'ok' : 'NOT MET'} (max ${maxIo.toFixed(1)}%)` +
      (args.quick ? ' — quick: the 40-tree model computes too little for the I/O target, which is set on the full run' : ''),
  );
  const report = {
    date: new Date().toISOString(),
    quick: args.quick,
    threads: args.threads,
    cpus: cpus().length,
    node: process.version,
    model: { path: model, trees: TreeModel.fromFile(model).numTrees, features: names.length },
    command: `node bin/arrowshap.js run CONFIG (explainer.threads ${args.threads}, batch_rows ${results[0]?.batch_rows}, ParquetReader → ParquetWriter)`,
    results,
    rss_ratio: rssRatio,
    rss_flat: rssRatio <= 1.1,
    io_overhead_ok: maxIo <= 15,
  };
  const file = join(args.out, args.quick ? 'e2e-quick.json' : 'e2e.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(report, null, 1));
  renameSync(`${file}.tmp`, file);
  console.log(`results written to ${file}`);
}

await main();
