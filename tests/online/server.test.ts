/**
 * The online service example (examples/online): explanations that add up to the
 * model's raw prediction and equal `explainRowSync`, by name and by position; every
 * invalid request a 400 (or 404/405/413) with a readable message.
 */
import test from 'ava';
import type { AddressInfo } from 'node:net';
import { createExplainServer, MAX_BODY } from '../../examples/online/service.ts';
import { fixture } from '../core/_fixtures.ts';

test('the example service explains rows and answers invalid requests with 400', async (t) => {
  const fx = await fixture('xgb_multi_softprob');
  const { model, columns } = fx;
  const names = model.featureNames;
  const server = createExplainServer(model);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = async (body: string, path = '/explain') => {
    const res = await fetch(base + path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    return { status: res.status, json: (await res.json()) as any };
  };

  const row = columns.map((c) => c[2]);
  const byName = await post(JSON.stringify({ features: Object.fromEntries(names.map((n, j) => [n, Number.isNaN(row[j]) ? null : row[j]])) }));
  t.is(byName.status, 200);
  const byPos = await post(JSON.stringify({ features: row.map((v) => (Number.isNaN(v) ? null : v)) }));
  t.deepEqual(byPos.json, byName.json);
  const want = model.explainRowSync(row);
  const m = names.length;
  byName.json.outputs.forEach((o: any, k: number) => {
    names.forEach((n, j) => t.is(o.shap[n], want[k * (m + 1) + j]));
    t.is(o.base_value, want[k * (m + 1) + m]);
    const raw = fx.expected.raw[2 * model.numOutputs + k];
    t.true(Math.abs(o.raw_prediction - raw) <= 1e-5 * Math.max(1, Math.abs(raw)));
  });

  const health = await fetch(`${base}/health`);
  t.deepEqual(await health.json(), { status: 'ok', features: names, outputs: model.numOutputs });

  const bad: [string, RegExp][] = [
    ['{not json', /^the body is not JSON/],
    ['[1, 2]', /expected a JSON object/],
    ['{"rows": []}', /expected a JSON object/],
    [JSON.stringify({ features: {}, extra: 1 }), /unknown key "extra"/],
    [JSON.stringify({ features: 3 }), /"features" must be an object/],
    [JSON.stringify({ features: { nope: 1 } }), /unknown feature "nope"/],
    [JSON.stringify({ features: [1, 2] }), new RegExp(`expected ${m} values`)],
    [JSON.stringify({ features: { [names[0]]: 'x' } }), new RegExp(`feature ${names[0]}: expected a number or null, got string`)],
  ];
  for (const [body, message] of bad) {
    const r = await post(body);
    t.is(r.status, 400, body);
    t.regex(r.json.error, message);
  }
  t.is((await post('{}', '/nope')).status, 404);
  t.is((await fetch(`${base}/explain`)).status, 405);
  t.is((await post('x'.repeat(MAX_BODY + 10))).status, 413);
});

test('with worker threads sharing the model, the service answers the same', async (t) => {
  const { model, columns } = await fixture('xgb_reg_nan');
  const server = createExplainServer(model, { workers: 1 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/explain`;
  const m = model.numFeatures;
  const answers = await Promise.all(
    Array.from({ length: 12 }, async (_, r) => {
      const row = columns.map((c) => (Number.isNaN(c[r]) ? null : c[r]));
      const res = await fetch(url, { method: 'POST', body: JSON.stringify({ features: row }) });
      return { r, status: res.status, json: (await res.json()) as any };
    }),
  );
  for (const { r, status, json } of answers) {
    t.is(status, 200);
    const want = model.explainRowSync(columns.map((c) => c[r]));
    model.featureNames.forEach((n, j) => t.is(json.outputs[0].shap[n], want[j]));
    t.is(json.outputs[0].base_value, want[m]);
  }
  const bad = await fetch(url, { method: 'POST', body: JSON.stringify({ features: { nope: 1 } }) });
  t.is(bad.status, 400);
  t.regex(((await bad.json()) as any).error, /unknown feature "nope"/);
  t.throws(() => createExplainServer(model, { workers: -1 }), { message: /workers must be a non-negative integer/ });
});
