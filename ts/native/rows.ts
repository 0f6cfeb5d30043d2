/**
 * Rows for the online (synchronous, few-rows) calls: one row given by position or by
 * feature name, turned into the row-major `Float64Array` the addon takes, with one
 * clear error per problem (a {@link RowInputError}, which a service answers with 400).
 */
import type { FeatureColumn } from './addon.ts';

/**
 * One row to explain: values in model feature order (an array or typed array with one
 * entry per feature), or an object keyed by feature name. `null`, `undefined` and `NaN`
 * are missing values (routed as the model routes missing values); a feature absent from
 * an object is missing too.
 */
export type RowValues = ArrayLike<number | null | undefined> | { readonly [feature: string]: number | null | undefined };

/** A row that does not fit the model: unknown feature, wrong value count, non-numeric value. */
export class RowInputError extends Error {
  override name = 'RowInputError';
}

/** Name → position, per feature-name list (a model caches its list). */
const positions = new WeakMap<readonly string[], Map<string, number>>();

function positionOf(names: readonly string[]): Map<string, number> {
  let p = positions.get(names);
  if (!p) {
    p = new Map(names.map((n, j) => [n, j]));
    positions.set(names, p);
  }
  return p;
}

function numeric(v: unknown, what: () => string): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return NaN;
  throw new RowInputError(`${what()}: expected a number or null, got ${Array.isArray(v) ? 'an array' : typeof v}`);
}

/**
 * Writes one row's values into `out` at `offset` (model feature order).
 * @throws RowInputError naming the feature or count at fault.
 */
export function writeRow(names: readonly string[], row: RowValues, out: Float64Array, offset: number, what = 'row'): void {
  const m = names.length;
  if (Array.isArray(row) || ArrayBuffer.isView(row)) {
    const a = row as ArrayLike<unknown>;
    if (a.length !== m) {
      throw new RowInputError(`${what}: expected ${m} values (one per feature, in model order), got ${a.length}`);
    }
    for (let j = 0; j < m; j++) out[offset + j] = numeric(a[j], () => `${what}: feature ${names[j]} (position ${j})`);
    return;
  }
  if (typeof row !== 'object' || row === null) {
    throw new RowInputError(`${what}: expected an array of ${m} values or an object keyed by feature name`);
  }
  const pos = positionOf(names);
  out.fill(NaN, offset, offset + m);
  for (const key of Object.keys(row)) {
    const j = pos.get(key);
    if (j === undefined) {
      const known = names.length <= 8 ? names.join(', ') : `${names.slice(0, 8).join(', ')}, … (${names.length} in all)`;
      throw new RowInputError(`${what}: unknown feature ${JSON.stringify(key)} (the model's features: ${known})`);
    }
    out[offset + j] = numeric((row as Record<string, unknown>)[key], () => `${what}: feature ${key}`);
  }
}

/** Rows given as values or as feature columns, as one row-major `n × m` buffer. */
export function rowMajor(names: readonly string[], rows: readonly RowValues[] | readonly FeatureColumn[], columns: boolean): Float64Array {
  const m = names.length;
  if (columns) {
    const cols = rows as readonly FeatureColumn[];
    const n = cols[0]?.length ?? 0;
    const out = new Float64Array(n * m);
    for (let j = 0; j < m; j++) {
      const c = cols[j];
      for (let r = 0; r < n; r++) out[r * m + j] = c[r];
    }
    return out;
  }
  const list = rows as readonly RowValues[];
  const out = new Float64Array(list.length * m);
  list.forEach((row, r) => writeRow(names, row, out, r * m, `row ${r}`));
  return out;
}

/**
 * Transposes the addon's row-major result (`entries × width`) into the batch calls'
 * column-major layout (`width` columns of `entries` values): for SHAP values `entries`
 * is rows × outputs and `width` features + 1; for interactions rows × outputs × features
 * and features.
 */
export function columnMajor(values: Float64Array, entries: number, width: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < entries; i++) {
    for (let j = 0; j < width; j++) out[j * entries + i] = values[i * width + j];
  }
  return out;
}
