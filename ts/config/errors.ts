/**
 * Config validation shared by every config in the project: the job config
 * (`job.ts`) and each `ts/io` family (readers, writers, registries, loaders,
 * logger, alerts).
 *
 * Every config is a strict zod object (unknown keys are errors, like the seed's
 * pydantic `extra="forbid"`); each family is a discriminated union on `KIND`.
 * {@link validate} parses a value and, on failure, throws one {@link ConfigError}
 * whose lines each name the key path at fault.
 */
import { z } from 'zod';
import { findUnsafeKey } from './unsafe_keys.ts';

/** An invalid config: one line per issue, each starting with its key path. */
export class ConfigError extends Error {
  /** One entry per issue (`job.inputs_samples.limit: expected integer, received string`). */
  readonly lines: string[];
  /** What was invalid, without the issues (`invalid config job.yaml`, `invalid reader config`). */
  readonly head: string;
  /** The zod issues behind the lines. */
  readonly issues: z.core.$ZodIssue[];
  constructor(head: string, lines: string[], opts: { issues?: z.core.$ZodIssue[]; message?: string } = {}) {
    super(opts.message ?? `${head}:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.head = head;
    this.lines = lines;
    this.issues = opts.issues ?? [];
  }
}

/** `a.b.c`, with `[i]` for array indices, under an optional prefix. */
export function joinPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return kindOf(value);
}

/* eslint-disable @typescript-eslint/no-explicit-any */
/** Per-parse zod error map: short messages (`expected integer, received string`). */
function errorMap(iss: any): string | undefined {
  const input = iss.input;
  switch (iss.code) {
    case 'invalid_type': {
      const expected = iss.expected === 'int' || iss.inst?.isInt ? 'integer' : String(iss.expected);
      if (input === undefined) return `required (expected ${expected})`;
      return `expected ${expected}, received ${typeof input === 'number' ? String(input) : kindOf(input)}`;
    }
    case 'invalid_union': {
      if (iss.discriminator) {
        const options = (iss.options ?? []).map(String).join(' | ');
        if (input === undefined) return `required (expected one of ${options})`;
        if (input === null || typeof input !== 'object' || Array.isArray(input)) {
          return `expected a mapping with ${iss.discriminator}: ${options}, received ${shown(input)}`;
        }
        const kind = (input as Record<string, unknown>)[iss.discriminator];
        return kind === undefined ? `required (expected one of ${options})` : `expected one of ${options}, received ${shown(kind)}`;
      }
      const alternatives = (iss.errors ?? [])
        .map((errs: any[]) => errs[0])
        .filter((e: any) => e?.code === 'invalid_type')
        .map((e: any) => (e.expected === 'int' || e.expected === 'number' ? 'integer' : String(e.expected)));
      if (alternatives.length > 0) return `expected ${[...new Set(alternatives)].join(' or ')}, received ${shown(input)}`;
      return undefined;
    }
    case 'invalid_value': {
      const values = (iss.values ?? []).map((v: unknown) => JSON.stringify(v)).join(' | ');
      return `expected ${(iss.values ?? []).length === 1 ? values : `one of ${values}`}, received ${shown(input)}`;
    }
    case 'too_small':
    case 'too_big': {
      const op = iss.code === 'too_small' ? (iss.inclusive ? '>=' : '>') : iss.inclusive ? '<=' : '<';
      const bound = iss.code === 'too_small' ? iss.minimum : iss.maximum;
      if (iss.origin === 'string') return `expected a string of length ${op} ${bound}, received ${shown(input)}`;
      if (iss.origin === 'number') return `expected a number ${op} ${bound}, received ${shown(input)}`;
      return undefined;
    }
    case 'invalid_format':
      return `expected ${iss.format === 'url' ? 'a URL' : `a ${iss.format}`}, received ${shown(input)}`;
    case 'unrecognized_keys': {
      const shape = iss.inst?._zod?.def?.shape ?? iss.inst?.shape;
      return shape ? `allowed keys: ${Object.keys(shape).join(', ')}` : '';
    }
    default:
      return undefined;
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** How {@link formatIssues} writes an unknown key. */
export type IssueStyle = 'lines' | 'inline';

/**
 * One line per zod issue, each starting with the key path at fault (under `prefix`).
 * Unknown keys: `a.b: unknown key (allowed keys: …)` in the `lines` style (the job
 * config), ``unknown key `a.b` `` in the `inline` style (one family's config).
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix = '', style: IssueStyle = 'lines'): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const at = joinPath([...issue.path, key], prefix);
        if (style === 'inline') {
          lines.push(`unknown key \`${at}\``);
        } else {
          const allowed = issue.message.startsWith('allowed keys: ') ? ` (${issue.message})` : '';
          lines.push(`${at}: unknown key${allowed}`);
        }
      }
    } else {
      const at = joinPath(issue.path, prefix);
      const message = issue.message.replace(/^Invalid input: /, '');
      lines.push(style === 'inline' && at === '' ? message : `${at || '(root)'}: ${message}`);
    }
  }
  return lines;
}

/** How {@link validate} names what it validates. */
export interface ValidateOptions {
  /** Key path of the value inside a larger config (`job.inputs_samples`). */
  prefix?: string;
  /**
   * What is configured, for a one-line message (`reader config` →
   * ``invalid reader config: unknown key `limt` ``); without it the message is
   * `invalid config[ SOURCE]:` then one line per issue.
   */
  what?: string;
  /** The file the value came from (named in the message). */
  source?: string;
}

/**
 * Validates `value` against `schema` (applying its defaults).
 * @throws {ConfigError} naming every key at fault.
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, opts: ValidateOptions = {}): z.output<S> {
  const unsafe = findUnsafeKey(value, opts.prefix ?? '');
  if (unsafe !== undefined) {
    const line = `${unsafe}: this key name is not allowed in a config`;
    const head = opts.what !== undefined ? `invalid ${opts.what}` : opts.source ? `invalid config ${opts.source}` : 'invalid config';
    return fail(new ConfigError(head, [line], opts.what !== undefined ? { message: `${head}: ${line}` } : {}));
  }
  const result = schema.safeParse(value, { error: errorMap });
  if (result.success) return result.data;
  const issues = result.error.issues;
  if (opts.what !== undefined) {
    const head = `invalid ${opts.what}`;
    const inline = formatIssues(issues, opts.prefix, 'inline');
    return fail(new ConfigError(head, formatIssues(issues, opts.prefix), { issues, message: `${head}: ${inline.join('; ')}` }));
  }
  return fail(new ConfigError(opts.source ? `invalid config ${opts.source}` : 'invalid config', formatIssues(issues, opts.prefix), { issues }));
}

function fail(err: ConfigError): never {
  throw err;
}
