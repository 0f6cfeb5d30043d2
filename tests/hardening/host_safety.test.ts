/**
 * Nothing a caller or a file can do takes down the host process: detached
 * input buffers, throwing callbacks, absurd thread counts, hostile model
 * shapes and prototype-polluting config keys each end in one clear error (or
 * the right result), with the process alive.
 */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../ts/config/errors.ts';
import { applySet, parseConfig, parseConfigText } from '../../ts/config/load.ts';
import { TreeModel } from '../../ts/native/tree_model.ts';
import { fixture } from '../core/_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

test('detaching an input buffer while the native call runs changes nothing (inputs are owned by the call)', async (t) => {
  const fx = await fixture('xgb_binary_depth6');
  const expected = await fx.model.shapPathDependent(fx.columns);
  const copies = fx.columns.map((c) => c.slice());
  const pending = fx.model.shapPathDependent(copies);
  // transfer every buffer away (its memory now belongs to another owner, which
  // may free or overwrite it at once), and overwrite it: a call that borrowed
  // the memory instead of owning a copy would read garbage or freed memory
  const moved = copies.map((c) => structuredClone(c.buffer, { transfer: [c.buffer] }));
  t.true(copies.every((c) => c.length === 0), 'the inputs are detached');
  for (const buffer of moved) new Uint8Array(buffer).fill(0xff); // NaN in float32 and float64 alike
  const got = await pending;
  t.deepEqual(Array.from(got.values), Array.from(expected.values));
});

test('a throwing onProgress rejects the call with its error instead of killing the host', async (t) => {
  const fx = await fixture('xgb_binary_depth6');
  const boom = new Error('progress sink is broken');
  const err = await t.throwsAsync(
    fx.model.shapPathDependent(fx.columns, {
      progressIntervalMs: 1,
      onProgress: () => {
        throw boom;
      },
    }),
  );
  t.is(err, boom);
  // the model is still usable afterwards
  const again = await fx.model.shapPathDependent(fx.columns);
  t.is(again.rows, fx.expected.rows);
});

for (const threads of [-1, 1.5, 4_294_967_295, Number.NaN]) {
  test(`threads ${threads} is refused with one clear error`, async (t) => {
    const fx = await fixture('xgb_reg_nan');
    const err = await t.throwsAsync(fx.model.shapPathDependent(fx.columns, { threads }));
    t.regex(err!.message, /^threads: expected a whole number from 0 \(all cores\) to 1024, got /);
  });
}

/** A LightGBM text model holding one chain-shaped tree `depth` levels deep. */
function deepLightgbmModel(depth: number): string {
  const seq = (n: number, f: (i: number) => string | number) => Array.from({ length: n }, (_, i) => String(f(i))).join(' ');
  const leaves = depth + 1;
  const tree = [
    'Tree=0',
    `num_leaves=${leaves}`,
    'num_cat=0',
    `split_feature=${seq(depth, () => 0)}`,
    `split_gain=${seq(depth, () => 1)}`,
    `threshold=${seq(depth, (i) => 0.5 + i * 1e-6)}`,
    `decision_type=${seq(depth, () => 2)}`,
    `left_child=${seq(depth, (i) => (i + 1 < depth ? i + 1 : -depth - 1))}`,
    `right_child=${seq(depth, (i) => -i - 1)}`,
    `leaf_value=${seq(leaves, () => 0.1)}`,
    `leaf_weight=${seq(leaves, () => 1)}`,
    `leaf_count=${seq(leaves, () => 1)}`,
    `internal_value=${seq(depth, () => 0)}`,
    `internal_weight=${seq(depth, (i) => leaves - i)}`,
    `internal_count=${seq(depth, (i) => leaves - i)}`,
    'is_linear=0',
    'shrinkage=1',
    '',
    '',
  ].join('\n');
  const header = [
    'tree',
    'version=v4',
    'num_class=1',
    'num_tree_per_iteration=1',
    'label_index=0',
    'max_feature_idx=1',
    'objective=regression',
    'feature_names=a b',
    'feature_infos=[0:1] [0:1]',
    `tree_sizes=${tree.length}`,
    '',
    '',
  ].join('\n');
  return `${header}${tree}end of trees\n`;
}

test('a 50,000-level tree is refused at load with the tree and the limit named (no stack overflow)', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'deep.txt');
  await writeFile(file, deepLightgbmModel(50_000));
  const err = t.throws(() => TreeModel.fromFile(file));
  t.regex(err!.message, /deep\.txt: invalid model field `trees\[0\]`: deeper than 4096 levels/);
});

test('a tree at the documented depth limit loads and is explained, additive on every row', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'deep.txt');
  await writeFile(file, deepLightgbmModel(4096));
  const model = TreeModel.fromFile(file);
  t.is(model.maxDepth, 4096);
  const columns = [new Float64Array([0.1, 0.5000005, 0.9, Number.NaN]), new Float64Array(4)];
  const [shap, raw] = await Promise.all([model.shapPathDependent(columns), model.predictRaw(columns)]);
  const n = shap.rows * shap.outputs;
  for (let r = 0; r < shap.rows; r++) {
    const sum = shap.values[r] + shap.values[n + r] + shap.values[2 * n + r];
    t.true(Math.abs(sum - raw[r]) < 1e-9, `row ${r}: ${sum} vs ${raw[r]}`);
  }
});

test('__proto__, constructor and prototype keys are refused in config text, --set paths and values, and objects', (t) => {
  const before = Object.getOwnPropertyNames(Object.prototype).sort();
  const text = parseConfigText('job:\n  KIND: ExplanationsJob\n  __proto__:\n    polluted: 1\n', 'job.yaml');
  const fromText = t.throws(() => parseConfig(text), { instanceOf: ConfigError });
  t.regex(fromText!.message, /job\.__proto__: this key name is not allowed in a config/);

  const target: Record<string, unknown> = {};
  t.throws(() => applySet(target, '__proto__.polluted=1'), { message: /--set __proto__\.polluted: the key "__proto__" is not allowed/ });
  t.throws(() => applySet(target, 'job.constructor.prototype.x=1'), { message: /the key "constructor" is not allowed/ });
  t.throws(() => applySet(target, 'job.explainer={__proto__: {x: 1}}'), { message: /--set job\.explainer\.__proto__: this key name is not allowed/ });

  const json = JSON.parse('{"job": {"KIND": "ExplanationsJob", "explainer": {"prototype": {}}}}');
  t.throws(() => parseConfig(json), { message: /job\.explainer\.prototype: this key name is not allowed/ });
  t.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), before);
  t.is(({} as Record<string, unknown>).polluted, undefined);
});
