/** `job.storage`: settings of the object storage client (`s3://` paths). */
import { z } from 'zod';
import type { ObjectStorageOptions } from './s3.ts';

/** `{endpoint?, region?, force_path_style?}` — each falls back to the AWS environment/config chain. */
export const StorageConfig = z
  .object({
    /** Endpoint of an S3-compatible server (`http://minio:9000`); default `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`, else AWS. */
    endpoint: z.url().optional(),
    /** Region; default `AWS_REGION`/the profile's (`us-east-1` with a custom endpoint and none set). */
    region: z.string().min(1).optional(),
    /** Path-style addressing (`endpoint/bucket/key`); default true with a custom endpoint. */
    force_path_style: z.boolean().optional(),
  })
  .strict();
/** `job.storage` as validated. */
export type StorageConfig = z.output<typeof StorageConfig>;

/** The client options of a `job.storage` config. */
export function storageOptions(config?: StorageConfig): ObjectStorageOptions {
  return { endpoint: config?.endpoint, region: config?.region, forcePathStyle: config?.force_path_style };
}
