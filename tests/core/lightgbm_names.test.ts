/**
 * LightGBM's feature-name rule (spaces stored as `_`) matched to the user's columns:
 * the pure matching, over model-shaped objects (no native addon needed).
 */
import test from 'ava';
import { describeMapping, lightgbmStoredName, matchColumns } from '../../ts/core/lightgbm_names.ts';

/** A model-shaped object: its source, current names and the names its file stores. */
function model(stored: string[], source = 'lightgbm-text', current = stored) {
  return { source, featureNames: current, storedFeatureNames: stored };
}

test('lightgbmStoredName replaces every space, and only spaces, with _', (t) => {
  t.is(lightgbmStoredName('Marital Status'), 'Marital_Status');
  t.is(lightgbmStoredName(' two  spaces '), '_two__spaces_');
  t.is(lightgbmStoredName('tab\there'), 'tab\there');
  t.is(lightgbmStoredName('a-b.c/d'), 'a-b.c/d');
  t.is(lightgbmStoredName('age'), 'age');
});

test('stored names with no column of their own are read from the column LightGBM turns into them', (t) => {
  const m = model(['Marital_Status', 'Annual_Income', 'age', 'Years_at_Job']);
  const got = matchColumns(m, ['id', 'Years at Job', 'age', 'Marital Status', 'Annual Income']);
  t.deepEqual(got.columns, ['Marital Status', 'Annual Income', 'age', 'Years at Job']);
  t.deepEqual(got.mapping, [
    { stored: 'Marital_Status', column: 'Marital Status' },
    { stored: 'Annual_Income', column: 'Annual Income' },
    { stored: 'Years_at_Job', column: 'Years at Job' },
  ]);
  t.is(
    describeMapping(got.mapping),
    'LightGBM feature names matched to your columns (LightGBM stores spaces as `_`; the tables use your names): ' +
      '`Marital_Status` ← `Marital Status`, `Annual_Income` ← `Annual Income`, `Years_at_Job` ← `Years at Job`',
  );
});

test('an exact name is preferred to a column that LightGBM would mangle into it', (t) => {
  const got = matchColumns(model(['Marital_Status', 'age']), ['Marital Status', 'Marital_Status', 'age']);
  t.deepEqual(got.columns, ['Marital_Status', 'age']);
  t.deepEqual(got.mapping, []);
});

test('two columns that both become one stored name are an error naming both and the source', (t) => {
  const err = t.throws(() => matchColumns(model(['Years_at_Job', 'age']), ['Years at Job', 'age', 'Years_at Job'], 'data/x.csv'));
  t.is(
    err!.message,
    'data/x.csv: columns `Years at Job` and `Years_at Job` both become LightGBM feature `Years_at_Job` (LightGBM stores every ' +
      'space in a feature name as `_`), so the model cannot tell which it was trained on; rename the other one, or name the column `Years_at_Job`',
  );
  // an exact column settles it
  t.deepEqual(matchColumns(model(['Years_at_Job']), ['Years at Job', 'Years_at Job', 'Years_at_Job']).columns, ['Years_at_Job']);
});

test('other libraries keep their names exactly; an unmatched feature keeps its name (reported missing later)', (t) => {
  const xgb = matchColumns(model(['Marital_Status'], 'xgboost-json'), ['Marital Status']);
  t.deepEqual(xgb, { columns: ['Marital_Status'], mapping: [] });
  t.deepEqual(matchColumns(model(['a_b']), ['a-b', 'c']), { columns: ['a_b'], mapping: [] });
});

test('a renamed model reads the user names, or the stored names when a table has those (a background)', (t) => {
  const renamed = model(['Marital_Status', 'age'], 'lightgbm-text', ['Marital Status', 'age']);
  t.deepEqual(matchColumns(renamed, ['Marital Status', 'age']), { columns: ['Marital Status', 'age'], mapping: [] });
  t.deepEqual(matchColumns(renamed, ['Marital_Status', 'age']), { columns: ['Marital_Status', 'age'], mapping: [] });
});
