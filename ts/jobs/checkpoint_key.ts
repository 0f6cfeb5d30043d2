/**
 * What a run's checkpoint is valid for (`checkpoint.ts`): the same arrowshap
 * version, the same validated config (logger and alerts aside: they change no
 * output byte), the same model files and the same input files. A rerun resumes
 * only when all four match; otherwise it starts over and says which changed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { canonical } from '../config/canonical.ts';
import type { ExplanationsJobConfig } from '../config/job.ts';
import type { ModelVersion } from '../io/registries/registry.ts';
import { isDirectoryPath } from '../io/storage/files.ts';
import { listObjects, objectSize } from '../io/storage/s3.ts';
import { isObjectUrl } from '../io/storage/url.ts';
import { packageJson } from '../package.ts';

/** The four parts of a checkpoint's key, each a SHA-256 (hex) but `arrowshap`, the version. */
export interface CheckpointKey {
  /** The arrowshap version that wrote the checkpoint (the writers' bytes may change between versions). */
  arrowshap: string;
  /** The validated job config, keys sorted, without `logger` and `alerts`. */
  config: string;
  /** The model: its URI, version, and the content of every file of the version. */
  model: string;
  /** The inputs (samples and background): path, size, modification time and inode of every file. */
  inputs: string;
}

/** What each part of the key is, in words (for the log line of a checkpoint set aside). */
const PARTS: Record<keyof CheckpointKey, string> = {
  arrowshap: 'the arrowshap version',
  config: 'the config',
  model: 'the model',
  inputs: 'the input files',
};

/** The key of a run: config, model version and input fingerprint. */
export async function checkpointKey(config: ExplanationsJobConfig, modelVersion: ModelVersion): Promise<CheckpointKey> {
  const { logger: _logger, alerts: _alerts, ...rest } = config;
  const inputs = [config.inputs_samples.path, ...(config.explainer.background ? [config.explainer.background.path] : [])];
  const [model, fingerprints] = await Promise.all([modelDigest(modelVersion), Promise.all(inputs.map(fingerprint))]);
  return {
    arrowshap: packageJson().version,
    config: sha256(JSON.stringify(canonical(rest))),
    model,
    inputs: sha256(JSON.stringify(fingerprints)),
  };
}

/** The parts of `want` that `have` does not match, in words (empty when it matches). */
export function keyDifferences(have: Partial<CheckpointKey> | undefined, want: CheckpointKey): string[] {
  return (Object.keys(PARTS) as (keyof CheckpointKey)[]).filter((k) => have?.[k] !== want[k]).map((k) => PARTS[k]);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** SHA-256 over the version's URI and number and each of its files (name and content, in order). */
async function modelDigest(mv: ModelVersion): Promise<string> {
  const hash = createHash('sha256').update(`${mv.uri}\n${mv.version}\n`);
  for (const file of [...mv.files].sort()) {
    hash.update(`${file}\n`);
    for await (const chunk of createReadStream(join(mv.dir, file))) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * One line per input file: path, size, modification time and inode (a local
 * file), or URL and size (an object). A directory (a Parquet dataset) lists the
 * files in it, hidden (`.`) and `_` names aside.
 */
async function fingerprint(path: string): Promise<string[]> {
  if (isObjectUrl(path)) {
    const urls = isDirectoryPath(path) ? await listObjects(path) : [path];
    return Promise.all(urls.map(async (u) => `${u} ${await objectSize(u)}`));
  }
  const info = await stat(path);
  if (!info.isDirectory()) return [`${path} ${info.size} ${info.mtimeMs} ${info.ino}`];
  const names = (await readdir(path)).filter((n) => !n.startsWith('.') && !n.startsWith('_')).sort();
  return (await Promise.all(names.map((n) => fingerprint(join(path, n))))).flat();
}
