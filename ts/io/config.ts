/**
 * Config validation shared by every `ts/io` family.
 *
 * Each config is a strict zod object (unknown keys are errors, like the seed's
 * pydantic `extra="forbid"`); each family is a discriminated union on `KIND`.
 * {@link parseConfig} turns zod issues into one readable message that names the
 * key path at fault, e.g. `invalid reader config: inputs_samples.limit: …`.
 */
import { z } from 'zod';

/** A path through a config, as zod reports it. */
type IssuePath = ReadonlyArray<PropertyKey>;

/** Joins a key path as `a.b[0].c` under an optional prefix. */
export function formatPath(path: IssuePath, prefix = ''): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** One line per zod issue, each naming its key path (relative to `prefix`). */
export function formatIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const at = formatPath(issue.path, prefix);
      const where = at === '' ? '' : `${at}: `;
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => formatPath([k], at));
        return `${keys.length === 1 ? 'unknown key' : 'unknown keys'} ${keys.map((k) => `\`${k}\``).join(', ')}`;
      }
      return `${where}${issue.message}`;
    })
    .join('; ');
}

/** The error thrown for an invalid config; `issues` keeps zod's detail. */
export class ConfigError extends Error {
  /** The zod issues behind the message. */
  readonly issues: z.core.$ZodIssue[];
  constructor(message: string, issues: z.core.$ZodIssue[]) {
    super(message);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Validates `value` against `schema`; throws a {@link ConfigError} naming every key at fault.
 * @param what what is being configured, for the message (`reader config`).
 * @param prefix key path of `value` inside a larger config (`job.inputs_samples`).
 */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, what: string, prefix = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ConfigError(`invalid ${what}: ${formatIssues(result.error, prefix)}`, result.error.issues);
  }
  return result.data;
}
