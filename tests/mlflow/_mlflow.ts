/**
 * Shared by the MLflow specs: the test server's URI, its seed (real models
 * logged by MLflow, see seed_registry.py) and a counting proxy.
 *
 * The server comes from `MLFLOW_TEST_URI` (scripts/test.sh starts one with
 * scripts/mlflow-server.sh and sets it). Without it the server specs fail in CI
 * (`CI=true`) and are skipped, with a log line saying so, elsewhere.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');

/** The MLflow server the specs run against, or undefined. */
export const MLFLOW_URI: string | undefined = process.env.MLFLOW_TEST_URI?.replace(/\/+$/, '') || undefined;

/** Registers one spec. */
export type Spec = (title: string, impl: (t: ExecutionContext) => unknown) => void;

/**
 * `test` (and `test.serial`) when a server is given, else their `skip` — after
 * registering, in CI, one failing test that says the server is missing, or,
 * locally, logging why the specs of `file` are skipped.
 */
export function serverSpecs(file: string): { it: Spec; serial: Spec } {
  if (MLFLOW_URI) return { it: test, serial: test.serial };
  const why =
    'MLFLOW_TEST_URI is not set: the MLflow registry specs need a server ' +
    '(`bash scripts/setup-python.sh && bash scripts/mlflow-server.sh start`, then ' +
    'MLFLOW_TEST_URI=$(cat .mlflow/uri) npx ava tests/mlflow; `npm test` does all of this)';
  if (process.env.CI === 'true') {
    test(`${file}: MLflow server available`, (t) => t.fail(`${why}. In CI these specs must run, not skip.`));
  } else {
    console.log(`# skipping the MLflow server specs of ${file}: ${why}`);
  }
  return { it: test.skip, serial: test.serial.skip };
}

/** One seeded model: its registered name, aliases, and the library's contribs per version. */
export interface SeededModel {
  name: string;
  aliases: Record<string, number>;
  versions: Record<string, { model_format?: string; contribs?: number[][]; raw?: number[]; rounds?: number; inputs?: string; feature_names?: string[] }>;
}

/** What seed_registry.py wrote. */
export interface Seed {
  dir: string;
  uri: string;
  prefix: string;
  features: string[];
  /** Absolute path of the inputs (Parquet). */
  inputs: string;
  versions: Record<string, string>;
  models: Record<'xgb' | 'xgbcls' | 'lgb' | 'sklearn' | 'raw' | 'legacy' | 'pipeline', SeededModel>;
}

/** A stable id of the server's database: its URI and when its Default experiment was created. */
async function serverIdentity(uri: string): Promise<string> {
  const res = await fetch(`${uri}/api/2.0/mlflow/experiments/get?experiment_id=0`);
  if (!res.ok) throw new Error(`MLflow server ${uri} does not answer experiments/get: HTTP ${res.status}`);
  const body = (await res.json()) as { experiment?: { creation_time?: number } };
  return createHash('sha256')
    .update(`${uri}|${body.experiment?.creation_time ?? ''}`)
    .digest('hex')
    .slice(0, 16);
}

/**
 * Seeds the server once (per server database): every spec file calls this; the
 * first one runs seed_registry.py under a lock folder, the others wait for its
 * manifest. Seeds live in `MLFLOW_TEST_SEED_DIR` (default: the OS temp dir).
 */
export async function seeded(uri = MLFLOW_URI!): Promise<Seed> {
  const id = await serverIdentity(uri);
  const dir = join(process.env.MLFLOW_TEST_SEED_DIR || tmpdir(), `arrowshap-mlflow-seed-${id}`);
  const manifest = join(dir, 'manifest.json');
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 5 * 60_000;
  await mkdir(dirname(dir), { recursive: true });
  while (!existsSync(manifest)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for the MLflow seed in ${dir} (lock ${lock})`);
    try {
      await mkdir(lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Someone else seeds; a lock older than 10 minutes is left by a killed run.
      const info = await stat(lock).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > 10 * 60_000) await rm(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (existsSync(manifest)) break;
      if (!existsSync(PYTHON)) throw new Error(`no ${PYTHON}: run \`bash scripts/setup-python.sh\` first`);
      await promisify(execFile)(
        PYTHON,
        [join(import.meta.dirname, 'seed_registry.py'), uri, dir, '--prefix', `s${randomBytes(3).toString('hex')}`],
        { cwd: ROOT, maxBuffer: 16 << 20, env: { ...process.env, MLFLOW_DISABLE_TELEMETRY: 'true' } },
      ).catch((err: Error & { stderr?: string }) => {
        throw new Error(`seed_registry.py failed: ${err.message}\n${err.stderr ?? ''}`);
      });
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
  const seed = JSON.parse(await readFile(manifest, 'utf8')) as Omit<Seed, 'dir'>;
  return { ...seed, dir, inputs: join(dir, seed.inputs) };
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** A loopback HTTP proxy to `target` that records the paths requested; `fail` can answer instead. */
export interface CountingProxy {
  uri: string;
  /** `GET /api/…?…` of every request, in order. */
  requests: string[];
  /** Answer a request with this status instead of forwarding it (when it returns a number). */
  fail?: (path: string) => number | undefined;
  close(): Promise<void>;
}

export async function countingProxy(target: string): Promise<CountingProxy> {
  const to = new URL(target);
  const proxy: CountingProxy = { uri: '', requests: [], close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    proxy.requests.push(`${req.method} ${path}`);
    const status = proxy.fail?.(path);
    if (status !== undefined) {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: 'INTERNAL_ERROR', message: 'injected by the test proxy' }));
      return;
    }
    const upstream = httpRequest(
      { host: to.hostname, port: to.port, path, method: req.method, headers: { ...req.headers, host: to.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return proxy;
}
