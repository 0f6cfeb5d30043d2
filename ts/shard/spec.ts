/**
 * Which shard this process is: `I/N` (0-based index I of N shards) from
 * `--shard` / `explainer.shard`, or `auto`: from the environment an array-job
 * scheduler sets.
 *
 * | scheduler | index | count |
 * |---|---|---|
 * | Kubernetes Indexed Job | `JOB_COMPLETION_INDEX` | `ARROWSHAP_SHARD_COUNT` (the Job's `completions`; Kubernetes does not export it) |
 * | Slurm job array | `SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN`, ÷ `SLURM_ARRAY_TASK_STEP` | `SLURM_ARRAY_TASK_COUNT` |
 * | AWS Batch array job | `AWS_BATCH_JOB_ARRAY_INDEX` | `AWS_BATCH_JOB_ARRAY_SIZE` or `ARROWSHAP_SHARD_COUNT` |
 * | any other | `ARROWSHAP_SHARD_INDEX` | `ARROWSHAP_SHARD_COUNT` |
 */
import { z } from 'zod';

/** A shard: index (0-based) of count. */
export interface Shard {
  /** 0-based index, < count. */
  index: number;
  /** Number of shards, ≥ 1. */
  count: number;
  /** Where it came from (`--shard 2/4`, `JOB_COMPLETION_INDEX=2, ARROWSHAP_SHARD_COUNT=4`), for logs and errors. */
  source: string;
}

/** `explainer.shard`: `I/N` or `auto`. */
export const ShardConfig = z
  .string()
  .regex(/^(auto|\d+\/\d+)$/, 'expected I/N (0-based shard I of N, e.g. 3/8) or auto (from the scheduler environment)')
  .refine((s) => {
    if (s === 'auto') return true;
    const [i, n] = s.split('/').map(Number);
    return n >= 1 && i < n && n <= 99999;
  }, 'expected I/N with 0 <= I < N <= 99999');

/** Largest shard count (five digits in the part names). */
export const MAX_SHARDS = 99999;

/** Parses `I/N`. @throws naming `what` when malformed. */
export function parseShard(text: string, what = 'explainer.shard'): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`${what}: expected I/N (0-based shard I of N) or auto, got ${JSON.stringify(text)}`);
  return checked(Number(m[1]), Number(m[2]), `${what} ${text}`);
}

function checked(index: number, count: number, source: string): Shard {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) throw new Error(`${source}: the shard count must be 1..${MAX_SHARDS}, got ${count}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) throw new Error(`${source}: the shard index must be 0..${count - 1}, got ${index}`);
  return { index, count, source };
}

/** An environment variable as a non-negative integer (undefined when unset). @throws naming it when not an integer. */
function intVar(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v.trim())) throw new Error(`${name}=${v}: expected a non-negative integer`);
  return Number(v.trim());
}

/**
 * The shard a scheduler assigned through the environment (see the module doc).
 * @throws naming the variables when none is set, or a count is missing.
 */
export function shardFromEnvironment(env: NodeJS.ProcessEnv = process.env): Shard {
  const count = intVar(env, 'ARROWSHAP_SHARD_COUNT');
  const k8s = intVar(env, 'JOB_COMPLETION_INDEX');
  if (k8s !== undefined) {
    if (count === undefined) throw new Error('JOB_COMPLETION_INDEX is set but not ARROWSHAP_SHARD_COUNT: set it to the Job\'s completions (see deploy/job.yaml)');
    return checked(k8s, count, `JOB_COMPLETION_INDEX=${k8s}, ARROWSHAP_SHARD_COUNT=${count}`);
  }
  const slurm = intVar(env, 'SLURM_ARRAY_TASK_ID');
  if (slurm !== undefined) {
    const n = intVar(env, 'SLURM_ARRAY_TASK_COUNT') ?? count;
    if (n === undefined) throw new Error('SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT (nor ARROWSHAP_SHARD_COUNT)');
    const min = intVar(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    const step = intVar(env, 'SLURM_ARRAY_TASK_STEP') ?? 1;
    const offset = slurm - min;
    if (offset < 0 || step < 1 || offset % step !== 0) {
      throw new Error(`SLURM_ARRAY_TASK_ID=${slurm} is not on the array's grid (min ${min}, step ${step})`);
    }
    return checked(offset / step, n, `SLURM_ARRAY_TASK_ID=${slurm}, SLURM_ARRAY_TASK_COUNT=${n}`);
  }
  const batch = intVar(env, 'AWS_BATCH_JOB_ARRAY_INDEX');
  if (batch !== undefined) {
    const n = intVar(env, 'AWS_BATCH_JOB_ARRAY_SIZE') ?? count;
    if (n === undefined) throw new Error('AWS_BATCH_JOB_ARRAY_INDEX is set but not AWS_BATCH_JOB_ARRAY_SIZE (nor ARROWSHAP_SHARD_COUNT): pass the array size');
    return checked(batch, n, `AWS_BATCH_JOB_ARRAY_INDEX=${batch}, size ${n}`);
  }
  const own = intVar(env, 'ARROWSHAP_SHARD_INDEX');
  if (own !== undefined && count !== undefined) return checked(own, count, `ARROWSHAP_SHARD_INDEX=${own}, ARROWSHAP_SHARD_COUNT=${count}`);
  throw new Error(
    'shard auto: no scheduler index in the environment (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX, or ARROWSHAP_SHARD_INDEX with ARROWSHAP_SHARD_COUNT)',
  );
}

/** The shard of `explainer.shard` (`I/N`, or `auto` from the environment). */
export function resolveShard(value: string, env: NodeJS.ProcessEnv = process.env): Shard {
  return value === 'auto' ? shardFromEnvironment(env) : parseShard(value);
}

/** `part-00007-of-00032` (the part's name without extension). */
export function partName(shard: Pick<Shard, 'index' | 'count'>): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `part-${pad(shard.index)}-of-${pad(shard.count)}`;
}
