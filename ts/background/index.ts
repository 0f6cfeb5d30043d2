/**
 * Background (interventional) explanations of a tree model with the background prepared
 * once: Shapley or Banzhaf values and interaction values against a background sample, in
 * time linear in rows + background rows (the native core counts the background rows per
 * leaf and path pattern, then each row reads its own pattern's entry per leaf).
 *
 * ```ts
 * const bg = await prepareBackgroundTables(model, backgroundColumns, { values: 'shapley', interactions: true });
 * for (const batch of batches) {
 *   const values = await bg.explain(batch);         // layout of TreeModel.shapPathDependent
 *   const pairs = await bg.interactions(batch);     // layout of TreeModel.shapInteractions
 * }
 * ```
 */
import { native, runNative, type FeatureColumn, type NativeModelHandle, type RunOptions, type ShapResult } from '../native/addon.ts';
import type * as Addon from '../../native/node/generated.d.ts';
import type { TreeModel } from '../native/tree_model.ts';

/** Which attribution a background explains with. */
export type BackgroundValues = 'shapley' | 'banzhaf';

/** Options of {@link prepareBackgroundTables}. */
export interface BackgroundOptions extends RunOptions {
  /**
   * `shapley` (default): interventional SHAP values, which add up to the raw prediction
   * with the base value. `banzhaf`: Banzhaf values (every coalition weighs the same);
   * they do not add up to the prediction in general.
   */
  values?: BackgroundValues;
  /** Also prepare the interaction tables, so that {@link BackgroundTables.interactions} can run. */
  interactions?: boolean;
}

type NativeTables = Addon.BackgroundTables;

/** What {@link prepareTables} needs of a model. */
interface ModelFacts {
  readonly featureNames: string[];
  readonly numFeatures: number;
}

function rowsOf(model: ModelFacts, columns: FeatureColumn[], what: string): number {
  if (!Array.isArray(columns) || columns.length !== model.numFeatures) {
    throw new Error(`${what}: the model has ${model.numFeatures} features, got ${Array.isArray(columns) ? columns.length : 'no'} columns`);
  }
  const rows = columns[0]?.length ?? 0;
  columns.forEach((c, j) => {
    if (c.length !== rows) throw new Error(`${what}: column ${j} (${model.featureNames[j]}) has ${c.length} values, column 0 has ${rows}`);
  });
  return rows;
}

/** A background prepared for one model; explains any number of batches against it. */
export class BackgroundTables {
  /** @internal */
  constructor(
    private readonly model: ModelFacts,
    private readonly handle: NativeTables,
  ) {}

  /** Number of background rows. */
  get rows(): number {
    return this.handle.rows;
  }
  /** `shapley` or `banzhaf`. */
  get values(): BackgroundValues {
    return this.handle.values as BackgroundValues;
  }
  /** Base value per output: the mean raw prediction over the background. */
  get baseValue(): Float64Array {
    return this.handle.baseValue;
  }
  /** Bytes of the prepared tables. */
  get tableBytes(): number {
    return this.handle.tableBytes;
  }

  /** Values of every row of `columns` (column-major, M+1 columns of R·K values, base value last). */
  explain(columns: FeatureColumn[], opts: RunOptions = {}): Promise<ShapResult> {
    const rows = rowsOf(this.model, columns, 'background explain');
    return runNative(rows, opts, (run, t) => this.handle.explain(columns, t, run));
  }

  /**
   * Interaction values of every row of `columns` (M columns of R·K·M values, ordered
   * (row, output, feature i)); each row's matrix is symmetric and sums to the values.
   * Needs a background prepared with `interactions: true`.
   */
  interactions(columns: FeatureColumn[], opts: RunOptions = {}): Promise<ShapResult> {
    const rows = rowsOf(this.model, columns, 'background interactions');
    return runNative(rows, opts, (run, t) => this.handle.interactions(columns, t, run));
  }
}

/**
 * Prepares `background` (one typed array per model feature, model order, at least one
 * row) for `model` (same as `model.backgroundTables(background, opts)`). Throws on a
 * values kind other than `shapley`/`banzhaf`, a column count that does not match the
 * model, or an empty background.
 */
export function prepareBackgroundTables(
  model: TreeModel,
  background: FeatureColumn[],
  opts: BackgroundOptions = {},
): Promise<BackgroundTables> {
  return model.backgroundTables(background, opts);
}

/** {@link prepareBackgroundTables} over the addon's model handle (what `TreeModel.backgroundTables` calls). @internal */
export async function prepareTables(
  handle: NativeModelHandle,
  model: ModelFacts,
  background: FeatureColumn[],
  opts: BackgroundOptions = {},
): Promise<BackgroundTables> {
  const rows = rowsOf(model, background, 'background');
  if (rows === 0) throw new Error('background: the background sample has no rows');
  if (opts.values != null && opts.values !== 'shapley' && opts.values !== 'banzhaf') {
    throw new Error(`background: values must be 'shapley' or 'banzhaf', got '${String(opts.values)}'`);
  }
  const tables = await runNative(rows, opts, (run, t) =>
    native().prepareBackgroundTables(handle, background, { values: opts.values, interactions: opts.interactions ?? false }, t, run),
  );
  return new BackgroundTables(model, tables);
}
