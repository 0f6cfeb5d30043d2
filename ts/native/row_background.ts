/**
 * A background set kept in native memory with its model, for interventional SHAP of a
 * few rows at a time (`TreeModel.prepareBackground`).
 */
import type { NativeBackgroundHandle } from './addon.ts';
import { rowMajor, writeRow, type RowValues } from './rows.ts';

/** Interventional SHAP of single rows against one background, prepared once. */
export class RowBackground {
  /** @internal built by `TreeModel.prepareBackground`. */
  constructor(
    private readonly handle: NativeBackgroundHandle,
    private readonly names: string[],
    private readonly outputs: number,
  ) {}

  /** Background rows. */
  get rows(): number {
    return this.handle.rows;
  }

  /**
   * Interventional SHAP values of one row, synchronously on the calling thread:
   * `outputs × (features + 1)` row-major, the base value (mean raw prediction over the
   * background) last; the values of `TreeModel.shapInterventional` with this background.
   * @throws RowInputError when the row does not fit the model.
   */
  explainRowSync(row: RowValues): Float64Array {
    const x = new Float64Array(this.names.length);
    writeRow(this.names, row, x, 0);
    return this.handle.shapRowsSync(x);
  }

  /** {@link RowBackground.explainRowSync} of a few rows: `rows × outputs × (features + 1)`. */
  explainRowsSync(rows: readonly RowValues[]): Float64Array {
    return this.handle.shapRowsSync(rowMajor(this.names, rows, false));
  }

  /** Model outputs (each row's result holds this many groups). */
  get numOutputs(): number {
    return this.outputs;
  }
}
