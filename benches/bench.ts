/**
 * `npm run bench`: arrowshap against XGBoost, LightGBM and shap, interleaved in
 * one run on the same data, the same model files and the same thread count.
 *
 * For each comparison it prints rows/s of each system, the ratio, and the max
 * error between them (absolute, and relative to max(1, |peer|)); results are
 * also written as JSON to `benches/out/results.json`.
 *
 * Flags: --quick (small cases, one round: the CI smoke run), --threads N (2),
 * --rounds N (3), --only NAME (one comparison), --out DIR (benches/out),
 * --max-rows N (explain only the first N rows of every case; both systems get the
 * same rows). Each comparison also caps its rows (`cap`) where the slowest peer
 * would otherwise take many minutes on a 2-core machine; `peerCaps` gives one peer
 * fewer rows (shap's O(rows × background) at large backgrounds), its rate in rows/s
 * and its error over the rows it explained.
 *
 * Background comparisons time arrowshap's whole call (preparing the background and
 * explaining the rows), as WOODELF's and shap's calls do the same work. The 1M-row
 * background runs arrowshap alone, in a child process that reports its peak RSS.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { benchPython as python, PythonPeer } from './python_peer.ts';
import { TreeModel, type ShapResult } from '../ts/native/tree_model.ts';
import { explainKernel } from '../ts/kernel/explain_kernel.ts';
import { prepareBackgroundTables } from '../ts/background/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Args { quick: boolean; threads: number; rounds: number; only?: string; out: string; maxRows?: number }

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, threads: 2, rounds: 3, out: join(root, 'benches', 'out') };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    if (f === '--quick') a.quick = true;
    else if (f === '--threads') a.threads = Number(argv[++i]);
    else if (f === '--rounds') a.rounds = Number(argv[++i]);
    else if (f === '--only') a.only = argv[++i];
    else if (f === '--out') a.out = argv[++i];
    else if (f === '--max-rows') a.maxRows = Number(argv[++i]);
    else throw new Error(`unknown flag ${f} (flags: --quick --threads N --rounds N --only NAME --out DIR --max-rows N)`);
  }
  if (a.quick && !argv.includes('--rounds')) a.rounds = 1;
  if (!(a.threads >= 1)) throw new Error('--threads must be a positive integer');
  return a;
}

/** What arrowshap runs for a comparison. */
type Ours = 'path' | 'interactions' | 'interventional' | 'kernel' | 'bg-interactions' | 'banzhaf';

/** One comparison: a case, our method, and the peer methods to time against. */
interface Comparison {
  name: string; caseName: string; ours: Ours; peers: string[]; cap?: number;
  /** Rows for one peer (fewer than the comparison's). */
  peerCaps?: Record<string, number>;
  /** Run arrowshap alone in a child process and report its peak RSS. */
  alone?: boolean;
}

const comparisons: Comparison[] = [
  { name: 'path-dependent d8×500', caseName: 'xgb_d8', ours: 'path', peers: ['xgb_contribs', 'shap_tree', 'woodelf_path'] },
  { name: 'path-dependent d4×100', caseName: 'xgb_d4', ours: 'path', peers: ['xgb_contribs', 'woodelf_path'] },
  { name: 'path-dependent d12×200', caseName: 'xgb_d12', ours: 'path', peers: ['xgb_contribs', 'woodelf_path'], cap: 300 },
  { name: 'interactions d6×100', caseName: 'xgb_interactions', ours: 'interactions', peers: ['xgb_interactions'], cap: 100 },
  { name: 'interventional d6×100 bg100', caseName: 'xgb_interventional', ours: 'interventional', peers: ['woodelf_interventional', 'shap_interventional'] },
  { name: 'interventional d6×100 bg10k', caseName: 'xgb_bg10k', ours: 'interventional', peers: ['woodelf_interventional', 'shap_interventional'], peerCaps: { shap_interventional: 10 } },
  { name: 'interventional d6×100 bg100k', caseName: 'xgb_bg100k', ours: 'interventional', peers: ['woodelf_interventional', 'shap_interventional'], peerCaps: { shap_interventional: 1 } },
  { name: 'interventional d6×100 bg1M (alone, peak RSS)', caseName: 'xgb_bg1m', ours: 'interventional', peers: [], alone: true },
  { name: 'bg interactions d6×100 bg10k', caseName: 'xgb_bg_interactions', ours: 'bg-interactions', peers: ['woodelf_interactions'] },
  { name: 'banzhaf d6×100 bg10k', caseName: 'xgb_bg10k', ours: 'banzhaf', peers: ['woodelf_banzhaf'] },
  { name: 'kernel d4×100 bg50 (error vs exact)', caseName: 'xgb_kernel', ours: 'kernel', peers: ['shap_kernel'], cap: 20 },
  { name: 'lightgbm 500 trees', caseName: 'lgb_500', ours: 'path', peers: ['lgb_contrib', 'woodelf_path'] },
  // rows/s against depth: leaf-wise LightGBM trees (the table shows the depth reached)
  ...[10, 20, 40].flatMap((d): Comparison[] => [
    { name: `path-dependent lightgbm max_depth ${d}`, caseName: `lgb_deep${d}`, ours: 'path', peers: ['lgb_contrib', 'woodelf_path'] },
    { name: `interventional lightgbm max_depth ${d}`, caseName: `lgb_deep${d}`, ours: 'interventional', peers: [] },
  ]),
];


function readCols(path: string, rows: number, features: number): Float64Array[] {
  const buf = readFileSync(path);
  const all = new Float64Array(buf.buffer, buf.byteOffset, rows * features);
  return Array.from({ length: features }, (_, j) => all.subarray(j * rows, (j + 1) * rows));
}

/** Max absolute and relative error of ours (column-major) against the peer (row-major library layout). */
function compare(ours: Ours, r: ShapResult, peer: Float64Array, peerRows = r.rows): { abs: number; rel: number } {
  const { rows: R, features: M } = r;
  const n = Math.min(R, peerRows);
  let abs = 0, rel = 0;
  const upd = (a: number, b: number) => {
    const d = Math.abs(a - b);
    if (d > abs) abs = d;
    const q = d / Math.max(1, Math.abs(b));
    if (q > rel) rel = q;
  };
  if (ours === 'interactions' || ours === 'bg-interactions') {
    const T = R * M, W = M + 1;
    for (let row = 0; row < n; row++)
      for (let i = 0; i < M; i++)
        for (let j = 0; j < M; j++) upd(r.values[j * T + row * M + i], peer[(row * W + i) * W + j]);
  } else {
    for (let row = 0; row < n; row++)
      for (let j = 0; j <= M; j++) upd(r.values[j * R + row], peer[row * (M + 1) + j]);
  }
  return { abs, rel };
}

/** Column-major (M+1) × R result as the row-major R × (M+1) layout the peers write (single output). */
function rowMajor(r: ShapResult): Float64Array {
  const { rows: R, features: M } = r;
  const out = new Float64Array(R * (M + 1));
  for (let j = 0; j <= M; j++) for (let row = 0; row < R; row++) out[row * (M + 1) + j] = r.values[j * R + row];
  return out;
}

/** Rows/s for the table: whole numbers, two significant digits below 10 (shap at large backgrounds). */
const fmtRate = (r: number) => (r >= 10 ? r.toFixed(0) : r.toPrecision(2));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const caseDir = join(args.out, args.quick ? 'cases-quick' : 'cases');
  mkdirSync(caseDir, { recursive: true });
  console.error(`preparing cases in ${caseDir} (models trained once, then cached)`);
  const selected = comparisons.filter((c) => !args.only || c.name === args.only || c.caseName === args.only);
  if (!selected.length) throw new Error(`--only ${args.only}: no comparison or case of that name`);
  const caseNames = args.only ? [...new Set(selected.map((c) => c.caseName))] : [];
  execFileSync(python, [join(root, 'benches', 'make_cases.py'), caseDir, ...(args.quick ? ['--quick'] : []), ...caseNames], { stdio: ['ignore', 'ignore', 'inherit'] });
  const peer = new PythonPeer('peer.py');
  const versions = await peer.call({ method: 'versions' });
  console.log(`arrowshap bench — threads ${args.threads}, rounds ${args.rounds}${args.quick ? ', quick' : ''}; ` +
    `${cpus().length} cores (${cpus()[0]?.model ?? '?'}); peers: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const results: any[] = [];
  const header = ['comparison', 'rows', 'system', 'rows/s', 'ratio', 'max abs err', 'max rel err'];
  const table: string[][] = [];
  for (const c of selected) {
    const dir = join(caseDir, c.caseName);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    const rows = Math.min(meta.rows, c.cap ?? Infinity, args.maxRows ?? Infinity);
    const X = readCols(join(dir, 'X.f64'), meta.rows, meta.features).map((col) => col.subarray(0, rows));
    const bg = meta.bg_rows ? readCols(join(dir, 'bg.f64'), meta.bg_rows, meta.features) : undefined;
    const model = TreeModel.fromFile(join(dir, meta.library === 'xgboost' ? 'model.json' : 'model.txt'));
    const label = meta.depth ? `${c.name} (depth ${meta.depth}${c.ours === 'interventional' ? `, bg ${meta.bg_rows}` : ''})` : c.name;
    const opts = { threads: args.threads, device: 'cpu' as const }; // CPU against CPU peers; the GPU has benches/gpu
    const runOurs = async (): Promise<ShapResult> =>
      c.ours === 'bg-interactions' ? (await prepareBackgroundTables(model, bg!, { ...opts, interactions: true })).interactions(X, opts)
        : c.ours === 'banzhaf' ? (await prepareBackgroundTables(model, bg!, { ...opts, values: 'banzhaf' })).explain(X, opts)
        : c.ours === 'path' ? model.shapPathDependent(X, opts)
        : c.ours === 'interactions' ? model.shapInteractions(X, opts)
          : c.ours === 'interventional' ? model.shapInterventional(X, bg!, opts)
            : explainKernel(model, X, bg!, { ...opts, nsamples: meta.params.nsamples });
    // KernelSHAP is an estimator: both systems are measured against the exact interventional values
    const exact = c.ours === 'kernel' ? await model.shapInterventional(X, bg!, opts) : undefined;
    if (c.alone) {
      // arrowshap alone in a child process: one warm-up call, one timed call, peak RSS
      const res = JSON.parse(execFileSync('npx', ['tsx', join(root, 'benches', 'alone.ts'), dir, String(rows), String(args.threads)], { encoding: 'utf8' }));
      table.push([c.name, String(rows), 'arrowshap', fmtRate(rows / res.seconds), `peak RSS ${(res.maxRssKb / 1024).toFixed(0)} MiB`, '', '']);
      results.push({ name: c.name, case: c.caseName, rows, bg_rows: meta.bg_rows, arrowshap: { rows_per_s: rows / res.seconds, seconds: [res.seconds], peak_rss_kb: res.maxRssKb }, peers: {} });
      console.error(`  done: ${c.name}`);
      continue;
    }
    const peers = c.peers.filter((p) => !p.startsWith('woodelf') || versions.woodelf);
    for (const p of c.peers.filter((p) => !peers.includes(p))) console.error(`  ${c.name}: ${p} skipped (woodelf_explainer not installed)`);
    const times: Record<string, number[]> = { arrowshap: [] };
    for (const p of peers) times[p] = [];
    const peerRows = (p: string) => Math.min(rows, c.peerCaps?.[p] ?? Infinity);
    let ourResult: ShapResult | undefined;
    const peerOut: Record<string, string> = {};
    for (let round = 0; round <= args.rounds; round++) { // round 0 warms up, untimed
      const t = performance.now();
      ourResult = await runOurs();
      const secs = (performance.now() - t) / 1000;
      if (round === 0) continue; // the peers have no JIT or lazy setup to warm up
      times.arrowshap.push(secs);
      for (const p of peers) {
        const res = await peer.call({ method: p, case_dir: dir, threads: args.threads, nsamples: meta.params.nsamples, rows: peerRows(p) });
        peerOut[p] = res.out;
        times[p].push(res.seconds);
      }
    }
    const ourRate = rows / median(times.arrowshap);
    const ourErr = exact ? compare('path', ourResult!, rowMajor(exact)) : undefined;
    table.push([label, String(rows), 'arrowshap', fmtRate(ourRate), '', ourErr?.abs.toExponential(2) ?? '', ourErr?.rel.toExponential(2) ?? '']);
    const entry: any = { name: c.name, case: c.caseName, rows, bg_rows: meta.bg_rows, depth: meta.depth, arrowshap: { rows_per_s: ourRate, seconds: times.arrowshap }, peers: {} };
    for (const p of peers) {
      const rate = peerRows(p) / median(times[p]);
      const buf = readFileSync(peerOut[p]);
      const peerValues = new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
      const err = exact ? compare('path', exact, peerValues) : compare(c.ours, ourResult!, peerValues, peerRows(p));
      table.push(['', peerRows(p) === rows ? '' : String(peerRows(p)), p, fmtRate(rate), `${(ourRate / rate).toFixed(2)}×`, err.abs.toExponential(2), err.rel.toExponential(2)]);
      if (ourErr) entry.arrowshap.max_abs_err_vs_exact = ourErr.abs;
      entry.peers[p] = { rows_per_s: rate, seconds: times[p], speedup: ourRate / rate, max_abs_err: err.abs, max_rel_err: err.rel };
    }
    results.push(entry);
    console.error(`  done: ${c.name}`);
  }
  peer.close();
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((s, i) => s.padEnd(widths[i])).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of table) console.log(fmt(r));
  const out = { date: new Date().toISOString(), threads: args.threads, rounds: args.rounds, quick: args.quick, versions, results };
  writeFileSync(join(args.out, args.quick ? 'results-quick.json' : 'results.json'), JSON.stringify(out, null, 1));
  const worst = Math.max(...results.filter((r) => r.case !== 'xgb_kernel').flatMap((r) => Object.values(r.peers).map((p: any) => p.max_rel_err)));
  if (args.quick && !(worst <= 1e-5)) {
    console.error(`bench smoke: max relative error ${worst} exceeds 1e-5`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
