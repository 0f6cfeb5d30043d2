/**
 * An online explanation service over `node:http`: one row per request, JSON in and out,
 * every invalid request answered 400 with one readable message.
 *
 * ```
 * POST /explain   {"features": {"age": 0.03, "bmi": 0.06, …}}      by feature name
 *                 {"features": [0.03, 0.06, …]}                    or by position
 * 200             {"outputs": [{"raw_prediction": …, "base_value": …, "shap": {"age": …, …}}]}
 * GET  /health    {"status": "ok", "features": […], "outputs": K}
 * ```
 * Absent or `null` features are missing values. The SHAP values are path-dependent
 * TreeSHAP in the raw margin space (XGBoost `pred_contribs`); for each output,
 * `base_value` + the sum of `shap` = `raw_prediction`. Rows are explained with
 * {@link TreeModel.explainRowSync} (plans built once at start): on the request's own
 * thread, or with `workers: N` on N worker threads that share the one loaded model
 * (`shareId` / `fromShared`, no copy) while this thread only does HTTP and JSON.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Worker } from 'node:worker_threads';
import { RowInputError, TreeModel, type RowValues } from '../../ts/index.ts';
import type { Answer } from './explain_worker.ts';

/** Largest request body accepted (bytes). */
export const MAX_BODY = 1 << 20;

/** A request the service refuses: the status and the message sent back. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new HttpError(413, `request body larger than ${MAX_BODY} bytes`));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The response body for one explained row: per output, raw prediction, base value, SHAP by name. */
function explanation(names: readonly string[], outputs: number, v: Float64Array) {
  const m = names.length;
  const out = [];
  for (let k = 0; k < outputs; k++) {
    const shap: Record<string, number> = {};
    let raw = v[k * (m + 1) + m];
    for (let j = 0; j < m; j++) {
      const x = v[k * (m + 1) + j];
      shap[names[j]] = x;
      raw += x;
    }
    out.push({ raw_prediction: raw, base_value: v[k * (m + 1) + m], shap });
  }
  return { outputs: out };
}

/** Explains one row: on this thread, or on a worker thread. */
type Explain = (features: RowValues) => Float64Array | Promise<Float64Array>;

/** `n` worker threads sharing `model`, dispatched round robin; `close` ends them. */
function workerPool(model: TreeModel, n: number): { explain: Explain; close: () => Promise<void> } {
  const modelId = model.shareId();
  const pending = new Map<number, { resolve: (v: Float64Array) => void; reject: (e: Error) => void }>();
  const workers = Array.from({ length: n }, () => {
    const w = new Worker(new URL('./explain_worker.mjs', import.meta.url), { workerData: { modelId } });
    w.on('message', (a: Answer) => {
      const p = pending.get(a.id);
      pending.delete(a.id);
      if (!p) return;
      if ('values' in a) p.resolve(a.values);
      else p.reject(a.badInput ? new RowInputError(a.error) : new Error(a.error));
    });
    w.on('error', (e) => pending.forEach((p) => p.reject(e)));
    return w;
  });
  let next = 0;
  return {
    explain: (features) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        workers[id % n].postMessage({ id, features });
      }),
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

async function handle(model: TreeModel, explain: Explain, names: readonly string[], req: IncomingMessage, res: ServerResponse) {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/health') {
    if (req.method !== 'GET') throw new HttpError(405, 'use GET /health');
    return send(res, 200, { status: 'ok', features: names, outputs: model.numOutputs });
  }
  if (path !== '/explain') throw new HttpError(404, `no route ${path} (POST /explain, GET /health)`);
  if (req.method !== 'POST') throw new HttpError(405, 'use POST /explain with a JSON body');
  const text = await readBody(req);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `the body is not JSON: ${(e as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('features' in body)) {
    throw new HttpError(400, 'expected a JSON object {"features": {name: value, …} or [values in model order]}');
  }
  const extra = Object.keys(body).filter((k) => k !== 'features');
  if (extra.length > 0) throw new HttpError(400, `unknown key ${JSON.stringify(extra[0])} (only "features")`);
  const features = (body as { features: unknown }).features;
  if (typeof features !== 'object' || features === null) {
    throw new HttpError(400, '"features" must be an object keyed by feature name or an array of values');
  }
  const v = await explain(features as RowValues);
  send(res, 200, explanation(names, model.numOutputs, v));
}

/** Options of {@link createExplainServer}. */
export interface ExplainServerOptions {
  /** Worker threads explaining the rows (0, the default: explain on the HTTP thread). */
  workers?: number;
}

/**
 * A `node:http` server explaining one row per request with `model` (call `listen` on it;
 * closing the server ends its worker threads). Invalid requests get 400 (bad JSON,
 * unknown feature, wrong value count or type), 404, 405 or 413 with `{"error": message}`;
 * anything unexpected 500.
 */
export function createExplainServer(model: TreeModel, opts: ExplainServerOptions = {}): Server {
  model.prepare();
  const names = model.featureNames;
  const workers = opts.workers ?? 0;
  if (!(Number.isInteger(workers) && workers >= 0)) throw new Error(`workers must be a non-negative integer, got ${workers}`);
  const pool = workers > 0 ? workerPool(model, workers) : undefined;
  const explain: Explain = pool ? pool.explain : (features) => model.explainRowSync(features);
  const server = createServer((req, res) => {
    handle(model, explain, names, req, res).catch((e: unknown) => {
      if (e instanceof HttpError) send(res, e.status, { error: e.message });
      else if (e instanceof RowInputError) send(res, 400, { error: e.message });
      else send(res, 500, { error: e instanceof Error ? e.message : String(e) });
    });
  });
  if (pool) server.on('close', () => void pool.close());
  return server;
}
