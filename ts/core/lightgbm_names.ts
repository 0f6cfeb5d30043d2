/**
 * LightGBM's stored feature names matched to the user's columns.
 *
 * When LightGBM builds a Dataset it replaces every space (`' '`, U+0020, and no other
 * character) in a feature name with `_` (`Dataset::set_feature_names`, since 2.0:
 * "Found whitespace in feature_names, replace with underlines"), and refuses names
 * holding `"`, `,`, `:`, `[`, `]`, `{` or `}` (since 3.0: "Do not support special JSON
 * characters in feature name"); the Python package only turns column labels into
 * strings (`str(col)`). So a model trained on a column `Marital Status` stores
 * `Marital_Status`, while the user's data still has `Marital Status`.
 *
 * The rule, per model feature: a column with the feature's own name is read as is
 * (exact names first); otherwise, for a LightGBM model, the one column LightGBM would
 * have stored under that name is read, and the tables name the feature as that column.
 * Two columns that both become the stored name are an error naming both.
 */
import type { TreeModel } from '../native/tree_model.ts';

/** One stored name read from a differently named user column. */
export interface NameMapping {
  /** The name in the LightGBM model file. */
  stored: string;
  /** The user's column it is read from (and the name the output tables use). */
  column: string;
}

/** The columns a model's features are read from in one table, and the LightGBM matches among them. */
export interface MatchedColumns {
  /** Per model feature (model order): the column to read (the feature's name when no column matched: reported missing). */
  columns: string[];
  /** The features read from a column LightGBM stores under another name. */
  mapping: NameMapping[];
}

/** The name LightGBM stores for a column name: every space replaced by `_`. */
export function lightgbmStoredName(column: string): string {
  return column.replaceAll(' ', '_');
}

/** Whether the model's feature names are LightGBM's stored (mangled) names. */
function mangledNames(model: Pick<TreeModel, 'source'>): boolean {
  return model.source === 'lightgbm-text';
}

/**
 * For each feature of `model`: the column of `columns` it is read from — its current
 * name, else the name stored in the file (a renamed model reading a table with the
 * stored names), else, for a LightGBM model, the one column whose name LightGBM turns
 * into the stored name. A feature with none keeps its name (the column check then
 * reports it missing).
 * @throws when two columns both become one stored name (naming both and `source`).
 */
export function matchColumns(
  model: Pick<TreeModel, 'source' | 'featureNames' | 'storedFeatureNames'>,
  columns: readonly string[],
  source = 'the data',
): MatchedColumns {
  const present = new Set(columns);
  const stored = model.storedFeatureNames;
  const mapping: NameMapping[] = [];
  const out = model.featureNames.map((name, j) => {
    if (present.has(name)) return name;
    const s = stored[j];
    if (present.has(s)) return s;
    if (!mangledNames(model)) return name;
    const candidates = [...new Set(columns.filter((c) => lightgbmStoredName(c) === s))];
    if (candidates.length > 1) {
      throw new Error(
        `${source}: columns ${candidates.map((c) => `\`${c}\``).join(' and ')} both become LightGBM feature \`${s}\` ` +
          '(LightGBM stores every space in a feature name as `_`), so the model cannot tell which it was trained on; ' +
          `rename the other one, or name the column \`${s}\``,
      );
    }
    if (candidates.length === 0) return name;
    mapping.push({ stored: s, column: candidates[0] });
    return candidates[0];
  });
  return { columns: out, mapping };
}

/**
 * `model` under the user's column names ({@link matchColumns} over `columns`), so it
 * reads those columns and every table names its features as the user does; the same
 * model when nothing was matched under another name. The mappings are returned to be
 * reported (see {@link describeMapping}).
 * @throws as {@link matchColumns}.
 */
export function modelForColumns(model: TreeModel, columns: readonly string[], source?: string): { model: TreeModel; mapping: NameMapping[] } {
  const matched = matchColumns(model, columns, source);
  if (matched.mapping.length === 0) return { model, mapping: [] };
  const to = new Map(matched.mapping.map((m) => [m.stored, m.column]));
  return { model: model.withFeatureNames(model.storedFeatureNames.map((s, j) => to.get(s) ?? model.featureNames[j])), mapping: matched.mapping };
}

/** One line reporting the mappings: ``LightGBM feature names matched to your columns: `Marital_Status` ← `Marital Status`, …``. */
export function describeMapping(mapping: readonly NameMapping[]): string {
  return (
    'LightGBM feature names matched to your columns (LightGBM stores spaces as `_`; the tables use your names): ' +
    mapping.map((m) => `\`${m.stored}\` ← \`${m.column}\``).join(', ')
  );
}
