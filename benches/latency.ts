/**
 * `npm run bench:latency`: online (one row per call) latency of arrowshap against
 * XGBoost `pred_contribs` on one row and the `treeshap` PyPI package, in one run, on
 * the same rows of the same model files (500 trees depth 8 and 100 trees depth 6, 32
 * features, trained by XGBoost with benches/make_cases.py), interleaved in chunks so that
 * every system sees the same machine load; then, with --http, the example service
 * (examples/online) under autocannon on the large model.
 *
 * arrowshap: `TreeModel.explainRowSync(row)` on the calling thread after `prepare()`.
 * XGBoost: `Booster.predict(DMatrix(row), pred_contribs=True)` (the DMatrix built per
 * call, as a service does); treeshap: `ShapExplainer.explain(row)`. Times are per call,
 * taken around the call in each system's own process (benches/latency_peer.py).
 *
 * Flags: --quick (small models, few rows: the smoke run), --rows N (calls per system and
 * case, 400), --threads N (XGBoost's threads, 2), --http (also the HTTP throughput),
 * --http-seconds N (10), --connections N (16), --workers N (the service's worker threads,
 * 1; 0 explains on the HTTP thread), --out DIR (benches/out).
 * Prints a table and writes benches/out/latency.json.
 */
import { spawn } from 'node:child_process';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { PythonPeer } from './python_peer.ts';
import { TreeModel } from '../ts/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Args { quick: boolean; rows: number; threads: number; http: boolean; httpSeconds: number; connections: number; workers: number; out: string }

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, rows: 400, threads: 2, http: false, httpSeconds: 10, connections: 16, workers: 1, out: join(root, 'benches', 'out') };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!(v >= 1)) throw new Error(`${f} needs a positive number`);
      return v;
    };
    if (f === '--quick') a.quick = true;
    else if (f === '--rows') a.rows = num();
    else if (f === '--threads') a.threads = num();
    else if (f === '--http') a.http = true;
    else if (f === '--http-seconds') a.httpSeconds = num();
    else if (f === '--connections') a.connections = num();
    else if (f === '--workers') a.workers = Number(argv[++i]);
    else if (f === '--out') a.out = argv[++i];
    else throw new Error(`unknown flag ${f} (flags: --quick --rows N --threads N --http --http-seconds N --connections N --workers N --out DIR)`);
  }
  if (!(Number.isInteger(a.workers) && a.workers >= 0)) throw new Error('--workers needs a non-negative integer');
  if (a.quick && !argv.includes('--rows')) a.rows = 40;
  return a;
}

/** The two models of the issue, and their targets on this machine (ms). */
function cases(quick: boolean) {
  return [
    { name: 'latency_d8', label: '500 trees × depth 8', trees: quick ? 40 : 500, depth: 8, p50: 1, p99: 3, vsXgb: 30 },
    { name: 'latency_d6', label: '100 trees × depth 6', trees: quick ? 20 : 100, depth: 6, p50: 0.1 },
  ];
}

const PEERS = ['xgb_contribs', 'treeshap'] as const;


const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Per-call milliseconds of `explainRowSync` over rows start..start+count. */
function timeOurs(model: TreeModel, X: Float64Array, m: number, start: number, count: number, out: Float64Array): number[] {
  const ms: number[] = [];
  for (let r = start; r < start + count; r++) {
    const row = X.subarray(r * m, (r + 1) * m);
    const t = process.hrtime.bigint();
    const v = model.explainRowSync(row);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    out.set(v, r * (m + 1));
  }
  return ms;
}

/** Requests per second of the example service on `modelPath` under autocannon. */
async function http(modelPath: string, rows: Float64Array, m: number, a: Args) {
  const server = spawn(process.execPath, ['--import', 'tsx', join(root, 'examples', 'online', 'server.ts'), modelPath, '--port', '0', '--workers', String(a.workers)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: server.stdout! });
      lines.on('line', (l) => {
        const hit = /listening on (\S+)/.exec(l);
        if (hit) resolve(hit[1]);
      });
      server.once('exit', (c) => reject(new Error(`the example server exited (${c})`)));
    });
    const n = rows.length / m;
    const bodies = Array.from({ length: Math.min(n, 200) }, (_, r) =>
      JSON.stringify({ features: Array.from(rows.subarray(r * m, (r + 1) * m), (v) => (Number.isNaN(v) ? null : v)) }),
    );
    const res = await autocannon({
      url: `${url}/explain`,
      connections: a.connections,
      duration: a.httpSeconds,
      requests: bodies.map((body) => ({ method: 'POST' as const, body, headers: { 'content-type': 'application/json' } })),
    });
    return {
      requests_per_s: res.requests.average,
      latency_p50_ms: res.latency.p50,
      latency_p99_ms: res.latency.p99,
      non_2xx: res.non2xx,
      errors: res.errors,
      connections: a.connections,
      workers: a.workers,
      seconds: a.httpSeconds,
    };
  } finally {
    server.kill();
  }
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const caseDir = join(a.out, a.quick ? 'cases-latency-quick' : 'cases-latency');
  mkdirSync(caseDir, { recursive: true });
  const peer = new PythonPeer('latency_peer.py');
  const versions = await peer.call({ method: 'versions' });
  console.log(`arrowshap latency bench — one row per call; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); ` +
    `peers: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')} (XGBoost nthread ${a.threads})`);
  const results: any[] = [];
  const table: string[][] = [];
  const verdicts: string[] = [];
  for (const c of cases(a.quick)) {
    const rowsInCase = Math.max(a.rows, 100);
    await peer.call({ method: 'case', out: caseDir, case: { name: c.name, library: 'xgboost', trees: c.trees, depth: c.depth, features: 32, rows: rowsInCase } });
    const dir = join(caseDir, c.name);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    const m: number = meta.features;
    const colMajor = new Float64Array(readFileSync(join(dir, 'X.f64')).buffer.slice(0));
    const X = new Float64Array(meta.rows * m);
    for (let j = 0; j < m; j++) for (let r = 0; r < meta.rows; r++) X[r * m + j] = colMajor[j * meta.rows + r];
    const modelPath = join(dir, 'model.json');
    let t = performance.now();
    const model = TreeModel.fromFile(modelPath);
    const loadMs = performance.now() - t;
    t = performance.now();
    model.prepare();
    const prepareMs = performance.now() - t;
    const ours = new Float64Array(meta.rows * (m + 1));
    timeOurs(model, X, m, 0, Math.min(20, a.rows), ours); // warm caches and the JIT
    const times: Record<string, number[]> = { arrowshap: [], xgb_contribs: [], treeshap: [] };
    const outs: Record<string, string> = {};
    const chunk = 25;
    for (let s = 0; s < a.rows; s += chunk) {
      const count = Math.min(chunk, a.rows - s);
      times.arrowshap.push(...timeOurs(model, X, m, s, count, ours));
      for (const p of PEERS) {
        const res = await peer.call({ method: p, case_dir: dir, start: s, count, threads: a.threads });
        times[p].push(...res.seconds.map((x: number) => x * 1000));
        outs[p] = res.out;
      }
    }
    const xgbBuf = readFileSync(outs.xgb_contribs);
    const xgb = new Float64Array(xgbBuf.buffer, xgbBuf.byteOffset, meta.rows * (m + 1));
    const maxErr = (v: Float64Array) => {
      let e = 0;
      for (let i = 0; i < a.rows * (m + 1); i++) e = Math.max(e, Math.abs(v[i] - xgb[i]) / Math.max(1, Math.abs(xgb[i])));
      return e;
    };
    const tsBuf = readFileSync(outs.treeshap);
    const errs: Record<string, number> = {
      arrowshap: maxErr(ours),
      xgb_contribs: 0,
      treeshap: maxErr(new Float64Array(tsBuf.buffer, tsBuf.byteOffset, meta.rows * (m + 1))),
    };
    const p50 = quantile(times.arrowshap, 0.5);
    const entry: any = { case: c.name, label: c.label, trees: c.trees, depth: c.depth, calls: a.rows, load_ms: loadMs, prepare_ms: prepareMs, systems: {} };
    for (const sys of ['arrowshap', ...PEERS]) {
      const ms = times[sys];
      const s = { p50_ms: quantile(ms, 0.5), p99_ms: quantile(ms, 0.99), mean_ms: mean(ms), max_rel_err_vs_xgboost: errs[sys] };
      entry.systems[sys] = s;
      table.push([
        sys === 'arrowshap' ? `${c.label} (prepare ${prepareMs.toFixed(0)} ms)` : '', sys, s.p50_ms.toFixed(3), s.p99_ms.toFixed(3), s.mean_ms.toFixed(3),
        sys === 'arrowshap' ? '' : `${(s.p50_ms / p50).toFixed(1)}×`, sys === 'xgb_contribs' ? '(reference)' : s.max_rel_err_vs_xgboost.toExponential(1),
      ]);
    }
    results.push(entry);
    if (!a.quick) {
      const s = entry.systems.arrowshap;
      verdicts.push(`${c.label}: p50 ${s.p50_ms.toFixed(3)} ms (target ≤ ${c.p50}) ${s.p50_ms <= c.p50 ? 'met' : 'MISSED'}`);
      if (c.p99) verdicts.push(`${c.label}: p99 ${s.p99_ms.toFixed(3)} ms (target ≤ ${c.p99}) ${s.p99_ms <= c.p99 ? 'met' : 'MISSED'}`);
      if (c.vsXgb) {
        const ratio = entry.systems.xgb_contribs.p50_ms / s.p50_ms;
        verdicts.push(`${c.label}: ${ratio.toFixed(1)}× XGBoost's single-row p50 (target ≥ ${c.vsXgb}×) ${ratio >= c.vsXgb ? 'met' : 'MISSED'}`);
      }
    }
    if (a.http && c.name === 'latency_d8') {
      entry.http = await http(modelPath, X, m, a);
      const h = entry.http;
      verdicts.push(`HTTP example, ${c.label}: ${h.requests_per_s.toFixed(0)} req/s (target ≥ 1000) ${h.requests_per_s >= 1000 ? 'met' : 'MISSED'}; ` +
        `latency p50 ${h.latency_p50_ms} ms, p99 ${h.latency_p99_ms} ms, ${h.connections} connections, ${h.workers} worker threads, non-2xx ${h.non_2xx}`);
    }
    console.error(`  done: ${c.label}`);
  }
  peer.close();
  const header = ['model', 'system', 'p50 ms', 'p99 ms', 'mean ms', 'p50 vs ours', 'max rel err vs XGBoost'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((s, i) => s.padEnd(widths[i])).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of table) console.log(fmt(r));
  for (const v of verdicts) console.log(v);
  writeFileSync(join(a.out, a.quick ? 'latency-quick.json' : 'latency.json'), JSON.stringify({ date: new Date().toISOString(), versions, args: a, results, verdicts }, null, 1));
  const worst = Math.max(...results.map((r) => r.systems.arrowshap.max_rel_err_vs_xgboost));
  if (!(worst <= 1e-5)) {
    console.error(`latency bench: arrowshap differs from XGBoost by ${worst} (relative) > 1e-5`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`latency bench: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
