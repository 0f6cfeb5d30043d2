/**
 * LightGBM's stored feature names matched to the user's columns.
 *
 * LightGBM replaces every space in a feature name with `_` when it builds a Dataset
 * (`Dataset::set_feature_names`, "Found whitespace in feature_names, replace with
 * underlines"), so a model trained on a column `Marital Status` stores
 * `Marital_Status`. The user's data still has `Marital Status`: each stored name with no
 * column of its own is matched to the one column that LightGBM's rule turns into it,
 * and the model then reads, and the tables name, the user's column.
 */
import type { TreeModel } from '../native/tree_model.ts';

/** One stored name read from a differently named user column. */
export interface NameMapping {
  /** The name in the LightGBM model file. */
  stored: string;
  /** The user's column it is read from (and the name the output tables use). */
  column: string;
}

/** The name LightGBM stores for a column name: every space replaced by `_`. */
export function lightgbmStoredName(column: string): string {
  return column.replace(/ /g, '_');
}

/**
 * The mappings from stored names that are not columns of the data to the one column
 * LightGBM's rule turns into each. A stored name no column turns into is left out (the
 * column check reports it missing).
 * @throws when two columns both become the same stored name (the model cannot tell which it was trained on).
 */
export function matchLightgbmNames(stored: readonly string[], columns: readonly string[], source = 'the data'): NameMapping[] {
  const present = new Set(columns);
  const out: NameMapping[] = [];
  for (const name of stored) {
    if (present.has(name)) continue;
    const candidates = columns.filter((c) => lightgbmStoredName(c) === name);
    if (candidates.length > 1) {
      throw new Error(
        `${source}: columns ${candidates.map((c) => `\`${c}\``).join(', ')} all become LightGBM feature \`${name}\` ` +
          '(LightGBM stores spaces as `_`); rename all but the one the model was trained on',
      );
    }
    if (candidates.length === 1) out.push({ stored: name, column: candidates[0] });
  }
  return out;
}

/**
 * For a LightGBM model: matches its stored feature names to `columns` ({@link matchLightgbmNames})
 * and renames the model's features to the user's columns, so the model reads them and every
 * table names them as the user does. Returns the mappings applied (none for other models).
 */
export function adoptLightgbmColumnNames(model: TreeModel, columns: readonly string[], source?: string): NameMapping[] {
  if (model.source !== 'lightgbm-text') return [];
  const mapping = matchLightgbmNames(model.featureNames, columns, source);
  if (mapping.length > 0) {
    const to = new Map(mapping.map((m) => [m.stored, m.column]));
    model.renameFeatures(model.featureNames.map((n) => to.get(n) ?? n));
  }
  return mapping;
}
