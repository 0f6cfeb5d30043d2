/**
 * A small typed client for the parts of MLflow's REST API that `MlflowRegistry`
 * needs (written against MLflow 3.x; the endpoints exist since MLflow 2.3):
 *
 * | method | endpoint |
 * |---|---|
 * | {@link MlflowClient.getModelVersionByAlias} | `GET /api/2.0/mlflow/registered-models/alias?name=&alias=` |
 * | {@link MlflowClient.getModelVersion} | `GET /api/2.0/mlflow/model-versions/get?name=&version=` |
 * | {@link MlflowClient.getModelVersionDownloadUri} | `GET /api/2.0/mlflow/model-versions/get-download-uri?name=&version=` |
 * | {@link MlflowClient.getRegisteredModel} | `GET /api/2.0/mlflow/registered-models/get?name=` |
 * | {@link MlflowClient.searchModelVersions} | `GET /api/2.0/mlflow/model-versions/search?filter=name='…'` |
 * | {@link MlflowClient.searchRegisteredModels} | `GET /api/2.0/mlflow/registered-models/search` |
 * | {@link MlflowClient.getLoggedModel} | `GET /api/2.0/mlflow/logged-models/<id>` (MLflow 3 `models:/m-…` sources) |
 * | {@link MlflowClient.listArtifacts} | `GET /api/2.0/mlflow-artifacts/artifacts?path=` (the server's artifact proxy) |
 * | {@link MlflowClient.downloadArtifact} | `GET /api/2.0/mlflow-artifacts/artifacts/<path>` |
 *
 * Auth, like MLflow's own client: `MLFLOW_TRACKING_TOKEN` (bearer) or
 * `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` (basic); credentials in
 * the URI (`https://user:pass@host`) are used as basic auth too. Credentials
 * never appear in messages.
 *
 * Network failures, timeouts, 429 and 5xx answers are retried with exponential
 * backoff; then one error names the server URI, the request and the cause.
 * HTTP errors carry MLflow's `error_code` and message ({@link MlflowHttpError}).
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Options of an {@link MlflowClient}. */
export interface MlflowClientOptions {
  /** Tracking server URI, `http(s)://host[:port][/prefix]`. */
  uri: string;
  /** Bearer token (`MLFLOW_TRACKING_TOKEN`). */
  token?: string;
  /** Basic auth user (`MLFLOW_TRACKING_USERNAME`). */
  username?: string;
  /** Basic auth password (`MLFLOW_TRACKING_PASSWORD`). */
  password?: string;
  /** Retries after the first attempt for network errors, timeouts, 429 and 5xx (default 3). */
  retries?: number;
  /** Wait before the first retry, doubled for each next one (default 500 ms). */
  backoffMs?: number;
  /** Timeout of one request (default 30 s; downloads: until the body starts). */
  timeoutMs?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** A model version as MLflow returns it (`version` is a string on the wire). */
export interface MlflowModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  /** Where the version's artifacts come from: `models:/m-…` (MLflow 3), `runs:/…`, `mlflow-artifacts:/…`, `s3://…`. */
  source?: string;
  run_id?: string;
  /** `READY`, `PENDING_REGISTRATION`, `FAILED_REGISTRATION`. */
  status?: string;
  status_message?: string;
  aliases?: string[];
  tags?: { key: string; value: string }[];
}

/** A registered model as MLflow returns it. */
export interface MlflowRegisteredModel {
  name: string;
  description?: string;
  aliases?: { alias: string; version: string }[];
  latest_versions?: MlflowModelVersion[];
}

/** One entry of an artifact listing (`path` is relative to the listed folder). */
export interface MlflowArtifactFile {
  path: string;
  is_dir?: boolean;
  file_size?: number | string;
}

/** Environment variables read by {@link MlflowClient.fromEnv}. */
export type MlflowEnv = Partial<
  Record<'MLFLOW_TRACKING_URI' | 'MLFLOW_TRACKING_TOKEN' | 'MLFLOW_TRACKING_USERNAME' | 'MLFLOW_TRACKING_PASSWORD', string>
>;

/** An HTTP error answer from the server: status, MLflow's `error_code` and message. */
export class MlflowHttpError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** MLflow's `error_code` (`RESOURCE_DOES_NOT_EXIST`, …), when the body had one. */
  readonly errorCode?: string;
  /** MLflow's message (or the start of a non-JSON body). */
  readonly detail: string;
  /** `GET /api/…` */
  readonly request: string;
  constructor(server: string, request: string, status: number, errorCode: string | undefined, detail: string) {
    const auth = status === 401 || status === 403 ? ' (check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD)' : '';
    super(`MLflow server ${server}: ${request} failed: HTTP ${status}${errorCode ? ` ${errorCode}` : ''}: ${detail}${auth}`);
    this.name = 'MlflowHttpError';
    this.status = status;
    this.errorCode = errorCode;
    this.detail = detail;
    this.request = request;
  }
}

/** The server could not be reached (after the retries). */
export class MlflowUnreachableError extends Error {
  constructor(message: string, cause: unknown) {
    super(message);
    this.name = 'MlflowUnreachableError';
    (this as { cause?: unknown }).cause = cause;
  }
}

/** Where a proxied artifact lives: the server base URL and the path under the artifact root. */
export interface ProxiedArtifacts {
  /** `http(s)://host[:port][/prefix]` of the server that serves them. */
  server: string;
  /** Path under the artifact root, no leading or trailing `/`. */
  path: string;
}

const ARTIFACTS_ANCHOR = '/api/2.0/mlflow-artifacts/artifacts';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `https://user:pass@host/x/` → the URL without credentials or trailing `/`, and the credentials. */
function splitCredentials(uri: string): { base: string; username?: string; password?: string } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new Error(`invalid MLflow tracking URI ${JSON.stringify(uri)}: expected http(s)://host[:port]`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(
      `unsupported MLflow tracking URI ${redact(uri)}: MlflowRegistry talks to a tracking server over http(s)://host[:port] ` +
        '(not a local mlruns folder, a database or databricks)',
    );
  }
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  return { base: url.href.replace(/\/+$/, ''), username, password };
}

/** A URI with any `user:pass@` removed. */
export function redact(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/** Why a fetch failed, in a few words (`connect ECONNREFUSED 127.0.0.1:1`). */
function networkCause(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timed out';
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const errors = (cause as { errors?: unknown[] }).errors;
      if (Array.isArray(errors) && errors[0] instanceof Error) return errors[0].message;
      return cause.message;
    }
    return err.message;
  }
  return String(err);
}

/** The MLflow REST client (see the module doc). */
export class MlflowClient {
  /** The server URI without credentials, e.g. `http://127.0.0.1:5000`. */
  readonly uri: string;
  private readonly headers: Record<string, string>;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(options: MlflowClientOptions) {
    const { base, username, password } = splitCredentials(options.uri);
    this.uri = base;
    this.headers = { accept: 'application/json' };
    const user = options.username ?? username;
    const pass = options.password ?? password;
    if (options.token) this.headers.authorization = `Bearer ${options.token}`;
    else if (user !== undefined) this.headers.authorization = `Basic ${Buffer.from(`${user}:${pass ?? ''}`).toString('base64')}`;
    this.retries = options.retries ?? 3;
    this.backoffMs = options.backoffMs ?? 500;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchFn = options.fetch ?? fetch;
  }

  /**
   * A client for `uri`, else `MLFLOW_TRACKING_URI`, with the auth variables of `env`.
   * @throws when neither names a server.
   */
  static fromEnv(uri?: string, env: MlflowEnv = process.env, options: Partial<MlflowClientOptions> = {}): MlflowClient {
    const target = uri ?? env.MLFLOW_TRACKING_URI;
    if (!target) throw new Error('no MLflow tracking URI: set `uri` in the MlflowRegistry config or the MLFLOW_TRACKING_URI environment variable');
    return new MlflowClient({
      uri: target,
      token: env.MLFLOW_TRACKING_TOKEN || undefined,
      username: env.MLFLOW_TRACKING_USERNAME || undefined,
      password: env.MLFLOW_TRACKING_PASSWORD || undefined,
      ...options,
    });
  }

  /** `GET /api/2.0/mlflow/registered-models/alias` */
  async getModelVersionByAlias(name: string, alias: string, signal?: AbortSignal): Promise<MlflowModelVersion> {
    const r = await this.getJson<{ model_version: MlflowModelVersion }>('/api/2.0/mlflow/registered-models/alias', { name, alias }, signal);
    return r.model_version;
  }

  /** `GET /api/2.0/mlflow/model-versions/get` */
  async getModelVersion(name: string, version: number | string, signal?: AbortSignal): Promise<MlflowModelVersion> {
    const r = await this.getJson<{ model_version: MlflowModelVersion }>('/api/2.0/mlflow/model-versions/get', { name, version: String(version) }, signal);
    return r.model_version;
  }

  /** `GET /api/2.0/mlflow/model-versions/get-download-uri`: where the version's artifacts are. */
  async getModelVersionDownloadUri(name: string, version: number | string, signal?: AbortSignal): Promise<string> {
    const r = await this.getJson<{ artifact_uri: string }>(
      '/api/2.0/mlflow/model-versions/get-download-uri',
      { name, version: String(version) },
      signal,
    );
    return r.artifact_uri;
  }

  /** `GET /api/2.0/mlflow/registered-models/get` */
  async getRegisteredModel(name: string, signal?: AbortSignal): Promise<MlflowRegisteredModel> {
    const r = await this.getJson<{ registered_model: MlflowRegisteredModel }>('/api/2.0/mlflow/registered-models/get', { name }, signal);
    return r.registered_model;
  }

  /** `GET /api/2.0/mlflow/model-versions/search` for one model, all pages. */
  async searchModelVersions(name: string, signal?: AbortSignal): Promise<MlflowModelVersion[]> {
    const out: MlflowModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.getJson<{ model_versions?: MlflowModelVersion[]; next_page_token?: string }>(
        '/api/2.0/mlflow/model-versions/search',
        { filter: `name='${name.replace(/'/g, "\\'")}'`, max_results: '1000', ...(pageToken ? { page_token: pageToken } : {}) },
        signal,
      );
      out.push(...(r.model_versions ?? []));
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  /** `GET /api/2.0/mlflow/registered-models/search`: the first `maxResults` model names (and whether there are more). */
  async searchRegisteredModels(maxResults = 100, signal?: AbortSignal): Promise<{ names: string[]; more: boolean }> {
    const r = await this.getJson<{ registered_models?: MlflowRegisteredModel[]; next_page_token?: string }>(
      '/api/2.0/mlflow/registered-models/search',
      { max_results: String(maxResults) },
      signal,
    );
    return { names: (r.registered_models ?? []).map((m) => m.name), more: Boolean(r.next_page_token) };
  }

  /** `GET /api/2.0/mlflow/logged-models/<id>`: an MLflow 3 logged model's artifact URI. */
  async getLoggedModel(modelId: string, signal?: AbortSignal): Promise<{ model_id: string; artifact_uri: string }> {
    const r = await this.getJson<{ model: { info: { model_id: string; artifact_uri: string } } }>(
      `/api/2.0/mlflow/logged-models/${encodeURIComponent(modelId)}`,
      {},
      signal,
    );
    return r.model.info;
  }

  /**
   * Where an artifact URI is served through an MLflow artifact proxy, or
   * `undefined` when it is not a proxied URI: `mlflow-artifacts:/PATH` (this
   * server), `mlflow-artifacts://HOST:PORT/PATH` (that server, same scheme), or
   * `http(s)://…/api/2.0/mlflow-artifacts/artifacts/PATH`.
   */
  proxiedArtifacts(artifactUri: string): ProxiedArtifacts | undefined {
    const trim = (p: string) => decodeURIComponent(p).replace(/^\/+|\/+$/g, '');
    const m = /^mlflow-artifacts:(\/\/([^/]*))?(\/.*)?$/.exec(artifactUri);
    if (m) {
      const host = m[2];
      const server = host ? `${new URL(this.uri).protocol}//${host}` : this.uri;
      return { server, path: trim(m[3] ?? '') };
    }
    if (/^https?:\/\//.test(artifactUri)) {
      const at = artifactUri.indexOf(ARTIFACTS_ANCHOR);
      if (at >= 0) {
        const server = splitCredentials(artifactUri.slice(0, at)).base;
        return { server, path: trim(artifactUri.slice(at + ARTIFACTS_ANCHOR.length)) };
      }
    }
    return undefined;
  }

  /** `GET /api/2.0/mlflow-artifacts/artifacts?path=`: one folder's entries (not recursive). */
  async listArtifacts(at: ProxiedArtifacts, signal?: AbortSignal): Promise<MlflowArtifactFile[]> {
    const r = await this.getJson<{ files?: MlflowArtifactFile[] }>(ARTIFACTS_ANCHOR, at.path ? { path: at.path } : {}, signal, at.server);
    return r.files ?? [];
  }

  /**
   * `GET /api/2.0/mlflow-artifacts/artifacts/<path>`: streams one artifact to `dest`.
   * @returns the bytes written.
   */
  async downloadArtifact(at: ProxiedArtifacts, dest: string, signal?: AbortSignal): Promise<number> {
    const encoded = at.path.split('/').map(encodeURIComponent).join('/');
    const res = await this.request(`${ARTIFACTS_ANCHOR}/${encoded}`, {}, signal, at.server, 'application/octet-stream');
    if (!res.body) throw new Error(`MLflow server ${at.server}: GET ${ARTIFACTS_ANCHOR}/${encoded} returned no body`);
    let bytes = 0;
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => (bytes += chunk.length));
    await pipeline(body, createWriteStream(dest), signal ? { signal } : {});
    return bytes;
  }

  /** GET `path` with a JSON answer. */
  private async getJson<T>(path: string, query: Record<string, string>, signal?: AbortSignal, server = this.uri): Promise<T> {
    const res = await this.request(path, query, signal, server, 'application/json');
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`MLflow server ${server}: GET ${path} answered with something other than JSON: ${snippet(text)}`);
    }
  }

  /**
   * One GET with retries (network errors, timeouts, 429, 5xx) and MLflow's error
   * decoding; resolves to an OK response.
   */
  private async request(path: string, query: Record<string, string>, signal: AbortSignal | undefined, server: string, accept: string): Promise<Response> {
    const qs = new URLSearchParams(query).toString();
    const url = `${server}${path}${qs ? `?${qs}` : ''}`;
    const shown = `GET ${path}${qs ? `?${qs}` : ''}`;
    const started = performance.now();
    let lastCause: unknown;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await sleep(this.backoffMs * 2 ** (attempt - 1));
      signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(this.timeoutMs);
      let res: Response;
      try {
        res = await this.fetchFn(url, {
          headers: { ...this.headers, accept },
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          redirect: 'follow',
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        if (networkCause(err) === 'bad port') {
          throw new MlflowUnreachableError(
            `cannot reach the MLflow server at ${server}: fetch refuses port ${new URL(server).port} (one of the Fetch standard's ` +
              'blocked "bad ports"); run the server on another port',
            err,
          );
        }
        lastCause = err;
        lastError = undefined;
        continue;
      }
      if (res.ok) return res;
      const text = await res.text().catch(() => '');
      let errorCode: string | undefined;
      let detail = snippet(text) || res.statusText || 'no message';
      try {
        const body = JSON.parse(text) as { error_code?: unknown; message?: unknown };
        if (typeof body.error_code === 'string') errorCode = body.error_code;
        if (typeof body.message === 'string') detail = body.message;
      } catch {
        /* not JSON: keep the text */
      }
      const error = new MlflowHttpError(server, shown, res.status, errorCode, detail);
      if (res.status !== 429 && (res.status < 500 || res.status === 501)) throw error;
      lastError = error;
      lastCause = error;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const attempts = `${this.retries + 1} attempt${this.retries === 0 ? '' : 's'} in ${seconds}s`;
    if (lastError) throw new Error(`${lastError.message} (${attempts})`, { cause: lastError });
    throw new MlflowUnreachableError(
      `cannot reach the MLflow server at ${server} (${shown}: ${networkCause(lastCause)}; ${attempts}); ` +
        'check registry.uri / MLFLOW_TRACKING_URI and that the server is running',
      lastCause,
    );
  }
}

/** The start of a text body on one line, HTML tags dropped. */
function snippet(text: string): string {
  const flat = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
