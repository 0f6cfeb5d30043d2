/**
 * Object storage locations: `s3://BUCKET/KEY` (AWS S3 and S3-compatible
 * servers). Everything else is a local path. A location ending in `/` (or a
 * key that is a common prefix of objects) is a "directory".
 */

/** A parsed `s3://bucket/key` URL. */
export interface ObjectLocation {
  /** The bucket. */
  bucket: string;
  /** The object key (no leading `/`; may be empty for the bucket's root). */
  key: string;
}

/** True when `path` is an object storage URL (`s3://…`). */
export function isObjectUrl(path: string): boolean {
  return /^s3:\/\//i.test(path);
}

/**
 * Parses `s3://bucket/key`.
 * @throws naming the URL when it has no bucket.
 */
export function parseObjectUrl(url: string): ObjectLocation {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (!m || m[1] === '') throw new Error(`not an object storage URL (s3://BUCKET/KEY): ${url}`);
  return { bucket: m[1], key: m[2] };
}

/** `s3://bucket/key` of a location. */
export function objectUrl(loc: ObjectLocation): string {
  return `s3://${loc.bucket}/${loc.key}`;
}

/** `dir` joined with `name` (a local path or an `s3://` URL). */
export function joinLocation(dir: string, ...names: string[]): string {
  return [dir.replace(/\/+$/, ''), ...names].join('/');
}

/** The last segment of a path or URL (`part-00000-of-00004.parquet`). */
export function baseName(path: string): string {
  return path.replace(/\/+$/, '').split('/').pop() ?? path;
}
