/**
 * What the report needs of a streamed run, gathered batch by batch in bounded
 * memory: exact mean |SHAP| per feature and output over every row, a uniform
 * reservoir sample of rows (SHAP values, base values, feature values), the rows
 * chosen for waterfalls (`report.rows`, else those with the largest
 * |prediction − base value|), and, with interaction values, the mean |φᵢⱼ| of
 * every feature pair (to colour each dependence plot by its strongest partner).
 *
 * ```ts
 * const collector = new ReportCollector(model.featureNames, model.numOutputs, { sampleRows: 500 });
 * for each batch: collector.add(out.samples, featureColumns, out.interactions);
 * const sample = collector.result(); // sample.explanation: the sampled rows
 * ```
 */
import type * as arrow from 'apache-arrow';
import { OUTPUT_COLUMN } from '../core/schemas.ts';
import { Explanation } from './explanation.ts';
import { Reservoir } from './reservoir.ts';

/** Default rows kept for the beeswarm and dependence plots. */
export const DEFAULT_SAMPLE_ROWS = 500;
/** Default waterfalls shown when no rows are named. */
export const DEFAULT_WATERFALLS = 3;

/** Options of a {@link ReportCollector}. */
export interface ReportCollectorOptions {
  /** Rows kept in the sample (default {@link DEFAULT_SAMPLE_ROWS}). */
  sampleRows?: number;
  /** Rows whose waterfall is shown, by label (input position, or id column value). */
  rows?: readonly (number | string)[];
  /** Waterfalls of the largest |prediction − base| rows, when `rows` is not given (default 3). */
  waterfalls?: number;
  /** Seed of the sample (default 0: the same input gives the same report). */
  seed?: number;
  /** Output names (class labels). */
  outputNames?: readonly string[];
}

/** What the collector gathered (see {@link ReportCollector.result}). */
export interface ReportSample {
  /** Feature names, model order. */
  featureNames: readonly string[];
  /** Outputs of the model. */
  outputs: number;
  /** Output names. */
  outputNames: readonly string[];
  /** Rows seen (the whole run). */
  rowsSeen: number;
  /** Mean |SHAP| per feature, per output, over every row. */
  meanAbs: Float64Array[];
  /** Mean base value per output over every row. */
  baseValue: Float64Array;
  /** The sampled rows (in input order). */
  sample: Explanation;
  /** The rows chosen for waterfalls (named rows in the order named, else by |prediction − base|, largest first). */
  selected: Explanation;
  /** How the waterfall rows were chosen: named in `rows`, or the largest |prediction − base|. */
  selection: 'named' | 'largest';
  /** Labels named in `rows` that were not found in the input. */
  missingRows: string[];
  /** Mean |φᵢⱼ| over rows and outputs, row-major m × m, when interaction values were added. */
  interactionStrength?: Float64Array;
}

/** Rows of the sample or the selection, stored by slot. */
class RowStore {
  readonly values: Float64Array[];
  readonly base: Float64Array;
  readonly data: Float64Array[];
  readonly ids: (number | bigint | string)[];
  readonly positions: Float64Array;

  constructor(
    readonly capacity: number,
    readonly features: number,
    readonly outputs: number,
  ) {
    this.values = Array.from({ length: features }, () => new Float64Array(capacity * outputs));
    this.base = new Float64Array(capacity * outputs);
    this.data = Array.from({ length: features }, () => new Float64Array(capacity).fill(NaN));
    this.ids = new Array(capacity);
    this.positions = new Float64Array(capacity);
  }

  /** Copies row `r` of a batch into `slot`. */
  set(slot: number, batch: BatchView, r: number): void {
    const k = this.outputs;
    for (let j = 0; j < this.features; j++) this.values[j].set(batch.values[j].subarray(r * k, r * k + k), slot * k);
    this.base.set(batch.base.subarray(r * k, r * k + k), slot * k);
    for (let j = 0; j < this.features; j++) this.data[j][slot] = batch.data ? batch.data[j][r] : NaN;
    this.ids[slot] = batch.ids(r);
    this.positions[slot] = batch.offset + r;
  }

  /** The Explanation of the slots `order`. */
  explanation(order: number[], featureNames: readonly string[], outputNames: readonly string[], rowIdName: string, hasData: boolean): Explanation {
    const k = this.outputs;
    const pick = (v: Float64Array) => {
      const out = new Float64Array(order.length * k);
      order.forEach((s, i) => out.set(v.subarray(s * k, s * k + k), i * k));
      return out;
    };
    return new Explanation({
      featureNames,
      outputs: k,
      values: this.values.map(pick),
      baseValues: pick(this.base),
      data: hasData ? this.data.map((d) => Float64Array.from(order, (s) => d[s])) : undefined,
      outputNames,
      rowIds: order.map((s) => this.ids[s]),
      rowIdName,
    });
  }
}

/** One batch's columns, as the collector reads them. */
interface BatchView {
  rows: number;
  offset: number;
  values: Float64Array[];
  base: Float64Array;
  data?: readonly (Float64Array | Float32Array)[];
  ids: (r: number) => number | bigint | string;
}

/** Column `index` of a record batch as float64 values (a view of a one-chunk float64 column). */
export function f64Column(batch: arrow.RecordBatch, index: number): Float64Array {
  const col = batch.getChildAt(index)!;
  const d = col.data[0];
  if (col.data.length === 1 && col.nullCount === 0 && d.values instanceof Float64Array) return d.values.subarray(0, d.length); // (sliced Data's values start at its first row)
  return Float64Array.from({ length: col.length }, (_, i) => Number(col.get(i)));
}

/** The SHAP value columns (one per feature, rows × outputs values) of a samples explanations record batch. */
export function shapColumns(samples: arrow.RecordBatch, features: number, outputs: number): Float64Array[] {
  const keyCount = outputs > 1 ? 2 : 1;
  return Array.from({ length: features }, (_, j) => f64Column(samples, keyCount + j));
}

/** Gathers the report's data over a streamed run (see the module doc). */
export class ReportCollector {
  private readonly reservoir: Reservoir;
  private readonly sampleStore: RowStore;
  private readonly selectStore: RowStore;
  private readonly sumAbs: Float64Array[];
  private readonly sumBase: Float64Array;
  private readonly named?: Map<string, number>;
  /** Selection slots: by named order, or the top |prediction − base| rows (score, slot). */
  private readonly top: { score: number; slot: number }[] = [];
  private selectedCount = 0;
  private interactionSum?: Float64Array;
  private interactionRows = 0;
  private rowIdName = 'row';
  private hasData = true;
  private seen = 0;
  readonly outputNames: readonly string[];

  constructor(
    readonly featureNames: readonly string[],
    readonly outputs: number,
    readonly options: ReportCollectorOptions = {},
  ) {
    const m = featureNames.length;
    const sampleRows = options.sampleRows ?? DEFAULT_SAMPLE_ROWS;
    this.reservoir = new Reservoir(sampleRows, options.seed ?? 0);
    this.sampleStore = new RowStore(sampleRows, m, outputs);
    const selectCap = options.rows ? options.rows.length : (options.waterfalls ?? DEFAULT_WATERFALLS);
    this.selectStore = new RowStore(selectCap, m, outputs);
    if (options.rows) this.named = new Map(options.rows.map((r, i) => [String(r), i]));
    this.sumAbs = Array.from({ length: outputs }, () => new Float64Array(m));
    this.sumBase = new Float64Array(outputs);
    this.outputNames = options.outputNames ?? (outputs === 1 ? ['output'] : [...Array(outputs).keys()].map((k) => `output ${k}`));
    if (this.outputNames.length !== outputs) throw new Error(`report: ${this.outputNames.length} output names for ${outputs} outputs`);
  }

  /**
   * Adds one batch: its samples explanations record batch (rows ordered by row then
   * output), the batch's feature columns in model order (the values shown and
   * coloured; `undefined` when not known), and its interaction values batch if any.
   */
  add(samples: arrow.RecordBatch, data?: readonly (Float64Array | Float32Array)[], interactions?: arrow.RecordBatch): void {
    const k = this.outputs;
    const m = this.featureNames.length;
    const keyCount = samples.schema.fields[1]?.name === OUTPUT_COLUMN && k > 1 ? 2 : 1;
    // (any columns after base_value, such as the `input.` feature values, are not read)
    if (samples.numCols < keyCount + m + 1 || samples.schema.fields[keyCount + m].name !== 'base_value') {
      throw new Error(`report: the samples batch has ${samples.numCols} columns, expected ${keyCount} key columns, ${m} features and base_value`);
    }
    const n = samples.numRows;
    if (n % k !== 0) throw new Error(`report: ${n} samples rows is not a multiple of ${k} outputs`);
    const rows = n / k;
    if (data && (data.length !== m || data.some((d) => d.length !== rows))) {
      throw new Error(`report: expected ${m} feature columns of ${rows} rows`);
    }
    if (!data) this.hasData = false;
    this.rowIdName = samples.schema.fields[0].name;
    const idCol = samples.getChildAt(0)!;
    const view: BatchView = {
      rows,
      offset: this.seen,
      values: this.featureNames.map((_, j) => f64Column(samples, keyCount + j)),
      base: f64Column(samples, keyCount + m),
      data,
      ids: (r) => {
        const v = idCol.get(r * k);
        if (typeof v === 'bigint' && this.rowIdName === 'row') return Number(v);
        return typeof v === 'number' || typeof v === 'bigint' ? v : String(v);
      },
    };
    for (let j = 0; j < m; j++) {
      const v = view.values[j];
      const acc = this.sumAbs;
      for (let i = 0; i < n; i++) acc[i % k][j] += Math.abs(v[i]);
    }
    for (let i = 0; i < n; i++) this.sumBase[i % k] += view.base[i];
    for (let r = 0; r < rows; r++) {
      const slot = this.reservoir.offer();
      if (slot >= 0) this.sampleStore.set(slot, view, r);
      this.select(view, r);
    }
    if (interactions) this.addInteractions(interactions, keyCount);
    this.seen += rows;
  }

  /** Keeps row `r` for a waterfall when it is named, or among the largest |prediction − base|. */
  private select(view: BatchView, r: number): void {
    const store = this.selectStore;
    if (this.named) {
      const at = this.named.get(String(view.ids(r)));
      if (at !== undefined && store.ids[at] === undefined) {
        store.set(at, view, r);
        this.selectedCount++;
      }
      return;
    }
    if (store.capacity === 0) return;
    const k = this.outputs;
    let score = 0;
    for (let o = 0; o < k; o++) {
      let s = 0;
      for (const v of view.values) s += v[r * k + o];
      score = Math.max(score, Math.abs(s));
    }
    const top = this.top;
    if (top.length < store.capacity) {
      store.set(top.length, view, r);
      top.push({ score, slot: top.length });
    } else {
      let min = 0;
      for (let i = 1; i < top.length; i++) if (top[i].score < top[min].score) min = i;
      if (!(score > top[min].score)) return;
      store.set(top[min].slot, view, r);
      top[min].score = score;
    }
  }

  private addInteractions(batch: arrow.RecordBatch, keyCount: number): void {
    const m = this.featureNames.length;
    const sum = (this.interactionSum ??= new Float64Array(m * m));
    const first = keyCount + 1; // key columns, then `feature`
    const t = batch.numRows;
    for (let j = 0; j < m; j++) {
      const v = f64Column(batch, first + j);
      for (let i = 0; i < t; i++) sum[(i % m) * m + j] += Math.abs(v[i]);
    }
    this.interactionRows += t / m;
  }

  /** What was gathered; the sample in input order. */
  result(): ReportSample {
    const m = this.featureNames.length;
    const k = this.outputs;
    const seen = this.seen;
    const sampleOrder = [...Array(this.reservoir.size).keys()].sort((a, b) => this.sampleStore.positions[a] - this.sampleStore.positions[b]);
    let selectOrder: number[];
    let missingRows: string[] = [];
    if (this.named) {
      selectOrder = [...this.named.values()].filter((slot) => this.selectStore.ids[slot] !== undefined);
      missingRows = [...this.named.entries()].filter(([, slot]) => this.selectStore.ids[slot] === undefined).map(([label]) => label);
    } else {
      selectOrder = [...this.top].sort((a, b) => b.score - a.score || this.selectStore.positions[a.slot] - this.selectStore.positions[b.slot]).map((t) => t.slot);
    }
    const interactionStrength = this.interactionSum?.map((s) => (this.interactionRows > 0 ? s / this.interactionRows : 0));
    return {
      featureNames: this.featureNames,
      outputs: k,
      outputNames: this.outputNames,
      rowsSeen: seen,
      meanAbs: this.sumAbs.map((s) => s.map((x) => (seen > 0 ? x / seen : 0))),
      baseValue: this.sumBase.map((x) => (seen > 0 ? x / seen : 0)),
      sample: this.sampleStore.explanation(sampleOrder, this.featureNames, this.outputNames, this.rowIdName, this.hasData),
      selected: this.selectStore.explanation(selectOrder, this.featureNames, this.outputNames, this.rowIdName, this.hasData),
      selection: this.named ? 'named' : 'largest',
      missingRows,
      interactionStrength: interactionStrength && m > 0 ? interactionStrength : undefined,
    };
  }
}

/**
 * The strongest interaction partner of feature `j`: the other feature with the
 * largest mean |φⱼₖ| (undefined without interaction values or other features).
 */
export function strongestPartner(strength: Float64Array | undefined, m: number, j: number): number | undefined {
  if (!strength) return undefined;
  let best: number | undefined;
  for (let c = 0; c < m; c++) {
    if (c === j) continue;
    if (best === undefined || strength[j * m + c] > strength[j * m + best]) best = c;
  }
  return best;
}
