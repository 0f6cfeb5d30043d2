/**
 * The `device` option of the tree explainers (`auto` / `cpu` / `gpu`) through the native
 * addon. Without a GPU: `gpu` is one clear error, `auto` runs on the CPU. The GPU-only
 * checks (GPU values equal the CPU's within 1e-6) log that they skipped when no GPU is usable.
 */
import test from 'ava';
import { explainSamples } from '../../ts/core/explainers.ts';
import { gpuInfo, type FeatureColumn } from '../../ts/native/addon.ts';
import { fixture } from './_fixtures.ts';

const info = gpuInfo();

function worstRelative(a: Float64Array, b: Float64Array): number {
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return w;
}

/** The fixture's columns repeated `times` over (more rows, same values). */
function repeat(columns: FeatureColumn[], times: number): Float64Array[] {
  return columns.map((c) => {
    const out = new Float64Array(c.length * times);
    for (let i = 0; i < times; i++) out.set(c, i * c.length);
    return out;
  });
}

test('gpuInfo says whether a GPU is usable, and why not', (t) => {
  t.is(typeof info.available, 'boolean');
  if (info.available) {
    t.true(info.name!.length > 0);
    t.regex(info.computeCapability!, /^\d+\.\d+$/);
    t.true(info.memory! > 0);
    t.is(info.reason, undefined);
  } else {
    t.true(info.reason!.length > 0);
    t.is(info.name, undefined);
  }
  t.deepEqual(gpuInfo(), info, 'the answer is kept');
});

test('cpu and auto give the CPU values on small calls, and say where they ran', async (t) => {
  const fx = await fixture('xgb_multi_softprob');
  const cpu = await fx.model.shapPathDependent(fx.columns, { device: 'cpu' });
  const auto = await fx.model.shapPathDependent(fx.columns, { device: 'auto' });
  const byDefault = await fx.model.shapPathDependent(fx.columns);
  t.is(cpu.device, 'cpu');
  t.is(auto.device, 'cpu', 'a small call stays on the CPU');
  t.deepEqual(auto.values, cpu.values);
  t.deepEqual(byDefault.values, cpu.values);
  const inter = await fx.model.shapInteractions(fx.columns, { device: 'cpu' });
  t.is(inter.device, 'cpu');
  t.deepEqual((await fx.model.shapInteractions(fx.columns)).values, inter.values);
});

test('an unknown device name is refused by the native core', async (t) => {
  const fx = await fixture('xgb_reg_nan');
  await t.throwsAsync(fx.model.shapPathDependent(fx.columns, { device: 'tpu' as never }), {
    message: 'invalid input: device must be auto, cpu or gpu, got `tpu`',
  });
});

test('device gpu without a usable GPU is one clear error, from the model and from explainSamples', async (t) => {
  if (info.available) {
    t.log(`skipped: a GPU is usable here (${info.name})`);
    t.pass();
    return;
  }
  const fx = await fixture('xgb_reg_nan');
  await t.throwsAsync(fx.model.shapPathDependent(fx.columns, { device: 'gpu' }), { message: `GPU: ${info.reason}` });
  await t.throwsAsync(fx.model.shapInteractions(fx.columns, { device: 'gpu' }), { message: `GPU: ${info.reason}` });
  await t.throwsAsync(explainSamples(fx.model, fx.columns, { device: 'gpu' }), {
    message: `explainer.device "gpu" requested but no GPU is usable: ${info.reason}`,
  });
  const s = await explainSamples(fx.model, fx.columns, { device: 'auto' });
  t.is(s.device, 'cpu');
});

test('GPU values equal the CPU values within 1e-6 (GPU only)', async (t) => {
  if (!info.available) {
    t.log(`skipped: no usable GPU (${info.reason})`);
    t.pass();
    return;
  }
  for (const name of ['xgb_multi_softprob', 'lgb_multiclass_cat', 'xgb_categorical', 'xgb_reg_nan']) {
    const fx = await fixture(name);
    const columns = repeat(fx.columns, 50);
    const cpu = await fx.model.shapPathDependent(columns, { device: 'cpu' });
    const gpu = await fx.model.shapPathDependent(columns, { device: 'gpu' });
    t.is(gpu.device, 'gpu');
    t.true(worstRelative(gpu.values, cpu.values) <= 1e-6, `${name}: path-dependent`);
    const icpu = await fx.model.shapInteractions(columns, { device: 'cpu' });
    const igpu = await fx.model.shapInteractions(columns, { device: 'gpu' });
    t.true(worstRelative(igpu.values, icpu.values) <= 1e-6, `${name}: interactions`);
    const s = await explainSamples(fx.model, columns, { device: 'gpu', interactions: true });
    t.is(s.device, 'gpu');
  }
});
