/**
 * Explanation drift: what two model versions (say `Champion` and `Challenger`)
 * attribute differently on the same samples.
 *
 * Per feature (the union of both models' features; a feature one model lacks has
 * SHAP values 0 there): mean |SHAP| under each, its share of the total mean |SHAP|
 * under each (scale-free, so versions whose outputs differ in scale compare), the
 * shift of both, the rank under each and the rank shift, the share of (row, output)
 * pairs where the sign of the SHAP value flips (strictly opposite signs), and the
 * Jensen–Shannon divergence (base 2, in [0, 1]) between the two distributions of
 * the feature's SHAP values, binned in {@link JS_BINS} equal bins over their common
 * range (on a reservoir sample of rows when streamed, see {@link DriftAccumulator}).
 *
 * ```ts
 * const drift = compareExplanations(champion, challenger, { labels: ['Champion', 'Challenger'] });
 * drift.table;    // the per-feature Arrow table (see DRIFT_COLUMNS)
 * drift.alerts;   // the features past a threshold, one line each
 * ```
 */
import * as arrow from 'apache-arrow';
import type { Explanation } from './explanation.ts';
import { Reservoir } from './reservoir.ts';

/** Bins of the SHAP value histograms the divergence compares. */
export const JS_BINS = 20;

/** Columns of the drift table, in order. */
export const DRIFT_COLUMNS = [
  'feature',
  'in_a',
  'in_b',
  'mean_abs_shap_a',
  'mean_abs_shap_b',
  'shift',
  'share_a',
  'share_b',
  'share_shift',
  'rank_a',
  'rank_b',
  'rank_shift',
  'sign_flip_share',
  'js_divergence',
] as const;

/** Thresholds past which a feature's drift is alerted (any one suffices). */
export interface DriftThresholds {
  /** |share_b − share_a| at or above this (default 0.05: 5 points of the total attribution). */
  shareShift?: number;
  /** |rank shift| at or above this, among the top `topRanks` of either model (default 3). */
  rankShift?: number;
  /** Ranks considered for the rank threshold (default 10). */
  topRanks?: number;
  /** Jensen–Shannon divergence at or above this (default 0.1). */
  jsDivergence?: number;
  /** Sign flips on at least this share of rows (default 0.1). */
  signFlipShare?: number;
}

/** Default thresholds (see {@link DriftThresholds}). */
export const DEFAULT_DRIFT_THRESHOLDS: Required<DriftThresholds> = {
  shareShift: 0.05,
  rankShift: 3,
  topRanks: 10,
  jsDivergence: 0.1,
  signFlipShare: 0.1,
};

/** One feature's row of the drift table. */
export interface FeatureDrift {
  feature: string;
  /** Whether model A / B has the feature. */
  inA: boolean;
  inB: boolean;
  meanAbsA: number;
  meanAbsB: number;
  /** meanAbsB − meanAbsA. */
  shift: number;
  /** Share of A's / B's total mean |SHAP|. */
  shareA: number;
  shareB: number;
  /** shareB − shareA. */
  shareShift: number;
  /** 1-based ranks by mean |SHAP| (ties by feature order). */
  rankA: number;
  rankB: number;
  /** rankA − rankB: positive when the feature moved up under B. */
  rankShift: number;
  signFlipShare: number;
  jsDivergence: number;
}

/** Result of {@link compareExplanations}. */
export interface Drift {
  /** Labels of A and B (e.g. `Champion`, `Challenger`). */
  labels: [string, string];
  /** Rows compared (each with `outputs` SHAP values per feature). */
  rows: number;
  /** Rows the divergence was computed on (all of them, or a reservoir sample). */
  divergenceRows: number;
  /** Outputs per row. */
  outputs: number;
  /** One entry per feature, ordered by |share shift|, largest first. */
  features: FeatureDrift[];
  /** The features past a threshold, one line each (empty: no alert). */
  alerts: string[];
  /** The names of those features. */
  alertedFeatures: string[];
  /** The thresholds applied. */
  thresholds: Required<DriftThresholds>;
  /** The drift table (columns {@link DRIFT_COLUMNS}). */
  table: arrow.Table;
}

/** Jensen–Shannon divergence (base 2) between the histograms of two samples on common bins. */
export function jsDivergence(a: ArrayLike<number>, b: ArrayLike<number>, bins = JS_BINS): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of [a, b]) {
    for (let i = 0; i < s.length; i++) {
      lo = Math.min(lo, s[i]);
      hi = Math.max(hi, s[i]);
    }
  }
  if (a.length === 0 || b.length === 0 || !(hi > lo)) return 0;
  const hist = (s: ArrayLike<number>) => {
    const h = new Float64Array(bins);
    for (let i = 0; i < s.length; i++) h[Math.min(bins - 1, Math.floor(((s[i] - lo) / (hi - lo)) * bins))]++;
    for (let i = 0; i < bins; i++) h[i] /= s.length;
    return h;
  };
  const p = hist(a);
  const q = hist(b);
  let js = 0;
  for (let i = 0; i < bins; i++) {
    const m = (p[i] + q[i]) / 2;
    if (p[i] > 0) js += 0.5 * p[i] * Math.log2(p[i] / m);
    if (q[i] > 0) js += 0.5 * q[i] * Math.log2(q[i] / m);
  }
  return Math.min(1, Math.max(0, js));
}

function ranks(values: number[]): number[] {
  const order = [...values.keys()].sort((x, y) => values[y] - values[x] || x - y);
  const out = new Array<number>(values.length);
  order.forEach((j, i) => (out[j] = i + 1));
  return out;
}

/** Default rows kept for the divergence when streaming (see {@link DriftAccumulator}). */
export const DEFAULT_DRIFT_SAMPLE_ROWS = 20000;

/** Options of {@link DriftAccumulator} and {@link compareExplanations}. */
export interface DriftOptions {
  /** Labels of A and B (default `a`, `b`). */
  labels?: [string, string];
  /** Alert thresholds (defaults {@link DEFAULT_DRIFT_THRESHOLDS}). */
  thresholds?: DriftThresholds;
  /** Rows kept (reservoir sample) for the divergence (default {@link DEFAULT_DRIFT_SAMPLE_ROWS}). */
  sampleRows?: number;
  /** Seed of that sample. */
  seed?: number;
}

/**
 * Drift over a streamed run: batch by batch, the SHAP values of the same rows
 * under A and B. Mean |SHAP|, shares, ranks and sign flips are exact over every
 * row; the Jensen–Shannon divergence is computed on a uniform reservoir sample of
 * `sampleRows` rows (exact when the run has no more rows than that).
 */
export class DriftAccumulator {
  readonly labels: [string, string];
  readonly names: string[];
  private readonly thresholds: Required<DriftThresholds>;
  private readonly sumA: Float64Array;
  private readonly sumB: Float64Array;
  private readonly flips: Float64Array;
  private readonly reservoir: Reservoir;
  private readonly keptA: Float64Array[];
  private readonly keptB: Float64Array[];
  private readonly indexA: number[];
  private readonly indexB: number[];
  private rows = 0;

  constructor(
    readonly featuresA: readonly string[],
    readonly featuresB: readonly string[],
    readonly outputs: number,
    opts: DriftOptions = {},
  ) {
    this.labels = opts.labels ?? ['a', 'b'];
    this.thresholds = { ...DEFAULT_DRIFT_THRESHOLDS, ...(opts.thresholds ?? {}) };
    this.names = [...featuresA, ...featuresB.filter((f) => !featuresA.includes(f))];
    this.indexA = this.names.map((f) => featuresA.indexOf(f));
    this.indexB = this.names.map((f) => featuresB.indexOf(f));
    const m = this.names.length;
    this.sumA = new Float64Array(m);
    this.sumB = new Float64Array(m);
    this.flips = new Float64Array(m);
    const cap = opts.sampleRows ?? DEFAULT_DRIFT_SAMPLE_ROWS;
    this.reservoir = new Reservoir(cap, opts.seed ?? 0);
    this.keptA = this.names.map(() => new Float64Array(cap * outputs));
    this.keptB = this.names.map(() => new Float64Array(cap * outputs));
  }

  /**
   * Adds one batch: `a` and `b` hold one array per feature of A / B (model order),
   * each of rows × outputs SHAP values of the same rows.
   */
  add(a: readonly Float64Array[], b: readonly Float64Array[]): void {
    const k = this.outputs;
    if (a.length !== this.featuresA.length || b.length !== this.featuresB.length) {
      throw new Error(`compare: expected ${this.featuresA.length} and ${this.featuresB.length} SHAP columns, got ${a.length} and ${b.length}`);
    }
    const n = a[0]?.length ?? b[0]?.length ?? 0;
    for (const v of [...a, ...b]) {
      if (v.length !== n) throw new Error(`compare: ${this.labels[0]} and ${this.labels[1]} explained different numbers of rows (${n} vs ${v.length})`);
    }
    if (n % k !== 0) throw new Error(`compare: ${n} values is not a multiple of ${k} outputs`);
    const zeros = new Float64Array(n);
    const colA = this.indexA.map((j) => (j < 0 ? zeros : a[j]));
    const colB = this.indexB.map((j) => (j < 0 ? zeros : b[j]));
    this.names.forEach((_, f) => {
      const va = colA[f];
      const vb = colB[f];
      let sa = 0;
      let sb = 0;
      let fl = 0;
      for (let i = 0; i < n; i++) {
        sa += Math.abs(va[i]);
        sb += Math.abs(vb[i]);
        if (va[i] * vb[i] < 0) fl++;
      }
      this.sumA[f] += sa;
      this.sumB[f] += sb;
      this.flips[f] += fl;
    });
    const rows = n / k;
    for (let r = 0; r < rows; r++) {
      const slot = this.reservoir.offer();
      if (slot < 0) continue;
      this.names.forEach((_, f) => {
        this.keptA[f].set(colA[f].subarray(r * k, r * k + k), slot * k);
        this.keptB[f].set(colB[f].subarray(r * k, r * k + k), slot * k);
      });
    }
    this.rows += rows;
  }

  /** The drift so far (see {@link Drift}). */
  result(): Drift {
    const { labels, thresholds, names } = this;
    const n = this.rows * this.outputs;
    const kept = this.reservoir.size * this.outputs;
    const mA = [...this.sumA].map((s) => (n > 0 ? s / n : 0));
    const mB = [...this.sumB].map((s) => (n > 0 ? s / n : 0));
    const totA = mA.reduce((s, x) => s + x, 0);
    const totB = mB.reduce((s, x) => s + x, 0);
    const rA = ranks(mA);
    const rB = ranks(mB);
    const features: FeatureDrift[] = names.map((f, j) => {
      const shareA = totA > 0 ? mA[j] / totA : 0;
      const shareB = totB > 0 ? mB[j] / totB : 0;
      return {
        feature: f,
        inA: this.indexA[j] >= 0,
        inB: this.indexB[j] >= 0,
        meanAbsA: mA[j],
        meanAbsB: mB[j],
        shift: mB[j] - mA[j],
        shareA,
        shareB,
        shareShift: shareB - shareA,
        rankA: rA[j],
        rankB: rB[j],
        rankShift: rA[j] - rB[j],
        signFlipShare: n === 0 ? 0 : this.flips[j] / n,
        jsDivergence: jsDivergence(this.keptA[j].subarray(0, kept), this.keptB[j].subarray(0, kept)),
      };
    });
    features.sort((x, y) => Math.abs(y.shareShift) - Math.abs(x.shareShift) || names.indexOf(x.feature) - names.indexOf(y.feature));
    const alerts: string[] = [];
    const alertedFeatures: string[] = [];
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    for (const d of features) {
      const why: string[] = [];
      if (!d.inB) why.push(`absent from ${labels[1]}`);
      if (!d.inA) why.push(`absent from ${labels[0]}`);
      if (Math.abs(d.shareShift) >= thresholds.shareShift) why.push(`share ${pct(d.shareA)} → ${pct(d.shareB)}`);
      if (Math.abs(d.rankShift) >= thresholds.rankShift && Math.min(d.rankA, d.rankB) <= thresholds.topRanks) {
        why.push(`rank ${d.rankA} → ${d.rankB}`);
      }
      if (d.jsDivergence >= thresholds.jsDivergence) why.push(`JS divergence ${d.jsDivergence.toFixed(3)}`);
      if (d.signFlipShare >= thresholds.signFlipShare) why.push(`sign flips on ${pct(d.signFlipShare)} of rows`);
      if (why.length > 0) {
        alerts.push(`${d.feature}: ${why.join(', ')}`);
        alertedFeatures.push(d.feature);
      }
    }
    return {
      labels,
      rows: this.rows,
      outputs: this.outputs,
      divergenceRows: this.reservoir.size,
      features,
      alerts,
      alertedFeatures,
      thresholds,
      table: driftTable(features),
    };
  }
}

/**
 * Compares the explanations of two model versions on the same samples (exact:
 * every row counts for the divergence too).
 * @throws when the two explanations do not cover the same rows and outputs.
 */
export function compareExplanations(a: Explanation, b: Explanation, opts: Omit<DriftOptions, 'sampleRows' | 'seed'> = {}): Drift {
  const labels = opts.labels ?? ['a', 'b'];
  if (a.rows !== b.rows) throw new Error(`compare: ${labels[0]} explains ${a.rows} rows, ${labels[1]} ${b.rows}: explain the same samples`);
  if (a.outputs !== b.outputs) throw new Error(`compare: ${labels[0]} has ${a.outputs} outputs, ${labels[1]} ${b.outputs}`);
  for (let r = 0; r < a.rows; r++) {
    if (String(a.rowIds[r]) !== String(b.rowIds[r])) {
      throw new Error(
        `compare: row ${r} is ${String(a.rowIds[r])} under ${labels[0]} and ${String(b.rowIds[r])} under ${labels[1]}: explain the same samples`,
      );
    }
  }
  const acc = new DriftAccumulator(a.featureNames, b.featureNames, a.outputs, { ...opts, labels, sampleRows: a.rows });
  acc.add(a.values, b.values);
  return acc.result();
}

/** The drift table of {@link compareExplanations} (columns {@link DRIFT_COLUMNS}). */
export function driftTable(features: readonly FeatureDrift[]): arrow.Table {
  const f64 = (pick: (d: FeatureDrift) => number) => arrow.makeVector(Float64Array.from(features, pick));
  const i32 = (pick: (d: FeatureDrift) => number) => arrow.makeVector(Int32Array.from(features, pick));
  return new arrow.Table({
    feature: arrow.vectorFromArray(features.map((d) => d.feature), new arrow.Utf8()),
    in_a: arrow.vectorFromArray(features.map((d) => d.inA), new arrow.Bool()),
    in_b: arrow.vectorFromArray(features.map((d) => d.inB), new arrow.Bool()),
    mean_abs_shap_a: f64((d) => d.meanAbsA),
    mean_abs_shap_b: f64((d) => d.meanAbsB),
    shift: f64((d) => d.shift),
    share_a: f64((d) => d.shareA),
    share_b: f64((d) => d.shareB),
    share_shift: f64((d) => d.shareShift),
    rank_a: i32((d) => d.rankA),
    rank_b: i32((d) => d.rankB),
    rank_shift: i32((d) => d.rankShift),
    sign_flip_share: f64((d) => d.signFlipShare),
    js_divergence: f64((d) => d.jsDivergence),
  });
}
