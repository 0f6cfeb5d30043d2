/**
 * The job's logger (winston). Everything goes to stderr, so stdout stays clean
 * for command output (tables, `registry list`, …).
 *
 * - `pretty`: `12:00:01.234 info  message key=value …`, colorized when stderr is a
 *   terminal (and `NO_COLOR` is unset).
 * - `json`: one JSON object per line: `{"level","message","timestamp",…meta}`.
 */
import type { Writable } from 'node:stream';
import winston from 'winston';
import { z } from 'zod';
import { validate } from '../../config/errors.ts';

/** Log levels, most severe first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

/** `{level?: error|warn|info|debug = info, format?: pretty|json = pretty}` */
export const LoggerConfig = z
  .object({
    /** Least severe level written. */
    level: z.enum(LOG_LEVELS).default('info'),
    /** `pretty` for people, `json` for log collectors. */
    format: z.enum(['pretty', 'json']).default('pretty'),
  })
  .strict();
/** Logger config as written. */
export type LoggerConfig = z.input<typeof LoggerConfig>;
/** Logger config, validated. */
export type ValidLoggerConfig = z.output<typeof LoggerConfig>;

/** Options of {@link createLogger} beyond the config (for tests and embedding). */
export interface LoggerOptions {
  /** Where to write instead of stderr. */
  stream?: Writable;
  /** Colorize `pretty` output (default: stderr is a TTY and `NO_COLOR` is unset; never for a custom stream). */
  colors?: boolean;
}

/** `key=value` pairs of the metadata winston carries beside the message. */
function metaText(info: winston.Logform.TransformableInfo): string {
  const skip = new Set(['level', 'message', 'timestamp']);
  const parts: string[] = [];
  for (const [k, v] of Object.entries(info)) {
    if (skip.has(k)) continue;
    const text = typeof v === 'string' ? v : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
    parts.push(`${k}=${/\s/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.length ? ` ${parts.join(' ')}` : '';
}

/**
 * A winston logger writing to stderr (or `opts.stream`) per `config`, validated
 * first (the library's boundary; a job builds from its validated config with
 * {@link loggerOf}).
 * @param prefix key path of the config inside a larger one, for error messages.
 */
export function createLogger(config: unknown = {}, opts: LoggerOptions = {}, prefix = ''): winston.Logger {
  return loggerOf(validate(LoggerConfig, config ?? {}, { what: 'logger config', prefix }), opts);
}

/** The logger of a validated config. */
export function loggerOf(cfg: ValidLoggerConfig, opts: LoggerOptions = {}): winston.Logger {
  const { format } = winston;
  const colors = opts.colors ?? (opts.stream === undefined && process.stderr.isTTY === true && !process.env.NO_COLOR);
  const lineFormat =
    cfg.format === 'json'
      ? format.combine(format.timestamp(), format.json())
      : format.combine(
          format.timestamp({ format: 'HH:mm:ss.SSS' }),
          format.printf((info) => {
            const level = info.level.padEnd(5);
            const shown = colors ? winston.format.colorize().colorize(info.level, level) : level;
            return `${String(info.timestamp)} ${shown} ${String(info.message)}${metaText(info)}`;
          }),
        );
  const transport = opts.stream
    ? new winston.transports.Stream({ stream: opts.stream })
    : new winston.transports.Console({ stderrLevels: [...LOG_LEVELS] });
  return winston.createLogger({
    levels: winston.config.npm.levels,
    level: cfg.level,
    format: lineFormat,
    transports: [transport],
  });
}
