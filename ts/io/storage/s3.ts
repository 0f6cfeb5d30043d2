/**
 * S3 and S3-compatible object storage through the AWS SDK for JavaScript v3
 * (`@aws-sdk/client-s3`, `@aws-sdk/lib-storage` for multipart uploads).
 *
 * - Credentials and region come from the SDK's standard chain (environment
 *   `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, `AWS_PROFILE`
 *   and `~/.aws/config`/`credentials`, web identity (EKS IRSA), ECS/EC2 roles).
 * - A custom endpoint (MinIO, SeaweedFS, s3s, GCS's interoperability endpoint…)
 *   from `job.storage.endpoint` or `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`;
 *   with one, path-style addressing is used unless `force_path_style: false`.
 * - Reads are ranged GETs ({@link objectBlob}: a Blob-like whose `slice()` is
 *   fetched lazily, so a Parquet reader fetches the footer and the row groups it
 *   reads, nothing else); writes are multipart uploads that become visible only
 *   when completed ({@link uploadFile}), aborted on failure.
 */
import { createReadStream } from 'node:fs';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { parseObjectUrl } from './url.ts';

type Sdk = typeof import('@aws-sdk/client-s3');
let sdkModule: Promise<Sdk> | undefined;
/** The SDK, loaded on first use (a run without `s3://` paths never loads it). */
function sdk(): Promise<Sdk> {
  // The SDK warns on every process start under Node < 22 about its releases after January 2027; the
  // version locked here supports Node 20 (our engines), so that notice would only add a stderr line to every run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return (sdkModule ??= import('@aws-sdk/client-s3'));
}

/** Settings of the object storage client (`job.storage`; each falls back to the environment). */
export interface ObjectStorageOptions {
  /** Endpoint URL of an S3-compatible server (default: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, else AWS). */
  endpoint?: string;
  /** Region (default: the SDK's chain, `AWS_REGION`…; `us-east-1` with a custom endpoint and none set). */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`); default true with a custom endpoint, false on AWS. */
  forcePathStyle?: boolean;
}

/** Multipart part size: 16 MiB (S3's minimum is 5 MiB, at most 10,000 parts: objects up to 160 GB). */
const PART_SIZE = 16 * 1024 * 1024;

let settings: ObjectStorageOptions = {};
let client: S3Client | undefined;

/** Sets the client settings for this process (a job calls it with `job.storage`); the next call builds a new client. */
export function configureObjectStorage(options: ObjectStorageOptions = {}): void {
  settings = { ...options };
  client?.destroy();
  client = undefined;
}

/** The shared S3 client, built on first use from the settings and the standard chain. */
export async function s3Client(): Promise<S3Client> {
  const { S3Client } = await sdk();
  if (client) return client;
  const endpoint = settings.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const region = settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const config: S3ClientConfig = {};
  if (endpoint) {
    config.endpoint = endpoint;
    config.forcePathStyle = settings.forcePathStyle ?? true;
    // S3-compatible servers do not all know the newer default checksums: send them only when an API requires one.
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
    config.region = region ?? 'us-east-1';
  } else {
    if (settings.forcePathStyle !== undefined) config.forcePathStyle = settings.forcePathStyle;
    if (region) config.region = region;
  }
  client = new S3Client(config);
  return client;
}

/** `s3 URL: message` for an SDK error (its code, e.g. `NoSuchKey`, `AccessDenied`). */
function s3Error(url: string, doing: string, err: unknown): Error {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  const what = e?.name && e.name !== 'Error' ? `${e.name}${status ? ` (HTTP ${status})` : ''}` : '';
  const message = [what, e?.message && e.message !== 'UnknownError' ? e.message : ''].filter(Boolean).join(': ');
  return new Error(`${doing} ${url}: ${message || String(err)}`);
}

/** Size in bytes of the object at `url`, or `undefined` when there is none. */
export async function objectSize(url: string): Promise<number | undefined> {
  const { bucket, key } = parseObjectUrl(url);
  try {
    const { HeadObjectCommand } = await sdk();
    const out = await (await s3Client()).send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return out.ContentLength ?? 0;
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404) return undefined;
    throw s3Error(url, 'cannot read', err);
  }
}

/** The whole object at `url`. @throws `object not found: URL` when absent. */
export async function getObject(url: string): Promise<Uint8Array> {
  return getRange(url);
}

/** Bytes `[start, end)` of the object at `url` (all of it without a range), by one ranged GET. */
export async function getRange(url: string, start?: number, end?: number): Promise<Uint8Array> {
  const { bucket, key } = parseObjectUrl(url);
  const Range = start === undefined ? undefined : `bytes=${start}-${end === undefined ? '' : end - 1}`;
  try {
    const { GetObjectCommand } = await sdk();
    const out = await (await s3Client()).send(new GetObjectCommand({ Bucket: bucket, Key: key, Range }));
    return await out.Body!.transformToByteArray();
  } catch (err) {
    const e = err as { name?: string };
    if (e?.name === 'NoSuchKey') throw new Error(`object not found: ${url}`);
    throw s3Error(url, 'cannot read', err);
  }
}

/** Counts the bytes fetched through {@link objectBlob} / local blobs (for figures and tests). */
export interface ByteCounter {
  /** Bytes read so far. */
  bytes: number;
  /** Read requests made so far. */
  requests: number;
}

/**
 * A read-only, Blob-like view of the object at `url` (`size`, `slice`,
 * `arrayBuffer`): slicing costs nothing, reading a slice is one ranged GET.
 * Made for parquet-wasm's `ParquetFile.fromFile`, which only reads slices.
 */
export class ObjectBlob {
  constructor(
    readonly url: string,
    readonly size: number,
    private readonly start = 0,
    private readonly counter?: ByteCounter,
  ) {}

  /** A lazy sub-range (Blob semantics: negative offsets count from the end, clamped). */
  slice(start = 0, end = this.size): ObjectBlob {
    const clamp = (v: number) => Math.max(0, Math.min(this.size, v < 0 ? this.size + v : v));
    const s = clamp(start);
    const e = Math.max(s, clamp(end));
    return new ObjectBlob(this.url, e - s, this.start + s, this.counter);
  }

  /** Fetches this range. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    if (this.size === 0) return new ArrayBuffer(0);
    const bytes = await getRange(this.url, this.start, this.start + this.size);
    if (this.counter) {
      this.counter.bytes += bytes.byteLength;
      this.counter.requests++;
    }
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
}

/** A Blob-like view of the object at `url` (see {@link ObjectBlob}). @throws `input file not found: URL`. */
export async function objectBlob(url: string, counter?: ByteCounter): Promise<ObjectBlob> {
  const size = await objectSize(url);
  if (size === undefined) throw new Error(`input file not found: ${url}`);
  return new ObjectBlob(url, size, 0, counter);
}

/** URLs of the objects under the prefix `url` (a "directory": `/` is added), sorted by key. */
export async function listObjects(url: string): Promise<string[]> {
  const { bucket, key } = parseObjectUrl(url);
  const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
  const keys: string[] = [];
  let token: string | undefined;
  try {
    const { ListObjectsV2Command } = await sdk();
    const s3 = await s3Client();
    do {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  } catch (err) {
    throw s3Error(url, 'cannot list', err);
  }
  return keys.sort().map((k) => `s3://${bucket}/${k}`);
}

/** Writes `data` as the object `url` in one PUT (small files: metadata, summaries). */
export async function putObject(url: string, data: string | Uint8Array): Promise<void> {
  const { bucket, key } = parseObjectUrl(url);
  try {
    const { PutObjectCommand } = await sdk();
    await (await s3Client()).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data }));
  } catch (err) {
    throw s3Error(url, 'cannot write', err);
  }
}

/**
 * Uploads the local file `path` as the object `url`: a multipart upload
 * (parts of 16 MiB, 4 at a time) for large files, one PUT for small ones. The
 * object appears only when the upload completes; on failure the multipart
 * upload is aborted and no object (or the previous one) is there.
 */
export async function uploadFile(path: string, url: string): Promise<void> {
  const { bucket, key } = parseObjectUrl(url);
  const { Upload } = await import('@aws-sdk/lib-storage');
  const upload = new Upload({
    client: await s3Client(),
    params: { Bucket: bucket, Key: key, Body: createReadStream(path) },
    partSize: PART_SIZE,
    queueSize: 4,
    leavePartsOnError: false,
  });
  try {
    await upload.done();
  } catch (err) {
    throw s3Error(url, 'cannot write', err);
  }
}

/** Removes the object `url` (no error when absent). */
export async function deleteObject(url: string): Promise<void> {
  const { bucket, key } = parseObjectUrl(url);
  try {
    const { DeleteObjectCommand } = await sdk();
    await (await s3Client()).send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    throw s3Error(url, 'cannot delete', err);
  }
}
