/** Usage problems (ts/cli/usage.ts): unknown options and commands named, with suggestions. */
import test from 'ava';
import { suggestion, unknownCommand, unknownOptions, usageProblems, type CommandScope } from '../../ts/cli/usage.ts';

const EXPLAIN: CommandScope = {
  path: ['explain'],
  options: ['verbose', 'version', 'help', 'h', 'model', 'inputs', 'samples-out', 'id-column', 'threads', 'algorithm'],
  commands: [],
};
const TOP: CommandScope = { path: [], options: ['verbose', 'version', 'help', 'h'], commands: ['run', 'explain', 'registry'] };
const REGISTRY: CommandScope = { path: ['registry'], options: ['verbose', 'version', 'help', 'h'], commands: ['register', 'alias', 'list'] };

test('suggestion: the closest candidate within a few edits, else none', (t) => {
  t.is(suggestion('modle', ['model', 'inputs']), 'model');
  t.is(suggestion('samples-outt', ['samples-out', 'model-out']), 'samples-out');
  t.is(suggestion('zzzzzz', ['model', 'inputs']), undefined);
  t.is(suggestion('x', []), undefined);
});

test('unknownOptions: declared names, aliases, camelCase, --no-x and --a=b are known; values and negative numbers skipped', (t) => {
  t.deepEqual(unknownOptions(['explain', '--model', 'm', '--samplesOut', 'o', '--no-verbose', '--threads=-1', '-h'], EXPLAIN), []);
  t.deepEqual(unknownOptions(['explain', '--modle', 'm', '--threads', '-1', '--id-colum=x', '--', '--not-an-option'], EXPLAIN), [
    'modle',
    'id-colum',
  ]);
});

test('unknownCommand: the word where a subcommand is expected', (t) => {
  t.is(unknownCommand(['explian', '--model', 'm'], TOP), 'explian');
  t.is(unknownCommand(['--verbose', 'registry', 'alais'], REGISTRY), 'alais');
  t.is(unknownCommand(['registry', 'alias'], REGISTRY), undefined);
  t.is(unknownCommand(['explain'], EXPLAIN), undefined);
});

test('usageProblems: a mistyped option is named with a suggestion even when yargs reports the missing required one', (t) => {
  t.deepEqual(usageProblems(['explain', '--modle', 'm.json', '--inputs', 'x.csv'], EXPLAIN, 'Missing required arguments: model, samples-out'), [
    'explain: unknown option --modle (did you mean --model?)',
    'explain: Missing required arguments: model, samples-out',
  ]);
});

test('usageProblems: yargs messages that only repeat the unknown names are dropped', (t) => {
  t.deepEqual(usageProblems(['explain', '--model', 'm', '--id-colum', 'x'], EXPLAIN, 'Unknown arguments: id-colum, idColum'), [
    'explain: unknown option --id-colum (did you mean --id-column?)',
  ]);
  t.deepEqual(usageProblems(['registry', 'alais'], REGISTRY, 'Unknown argument: alais'), [
    'unknown command registry alais (did you mean registry alias?)',
  ]);
  t.deepEqual(usageProblems(['frobnicate'], TOP, 'Unknown argument: frobnicate'), [
    'unknown command frobnicate (commands: run, explain, registry)',
  ]);
  t.deepEqual(usageProblems(['explain', '-q'], EXPLAIN, 'Unknown argument: q'), ['explain: unknown option -q (see --help)']);
});

test('usageProblems: options after an unknown command are not checked; multi-line yargs messages become one line', (t) => {
  t.deepEqual(usageProblems(['explian', '--model', 'm'], TOP, 'Unknown arguments: model, explian'), [
    'unknown command explian (did you mean explain?)',
  ]);
  t.deepEqual(usageProblems(['explain', '--algorithm', 'magic'], EXPLAIN, 'Invalid values:\n  Argument: algorithm, Given: "magic"'), [
    'explain: Invalid values: Argument: algorithm, Given: "magic"',
  ]);
});
