/**
 * The `arrowshap` command line (yargs 17):
 *
 * - `arrowshap run CONFIG [--set k=v …] [--schema]`
 * - `arrowshap explain --model FILE --inputs FILE --samples-out FILE [--model-out FILE]
 *   [--interactions-out FILE] [--algorithm A] [--background FILE] [--nsamples N]
 *   [--limit N] [--id-column NAME] [--threads N] [--include-inputs] [--raw-columns] [--report FILE]
 *   [--model-output raw|probability]`
 * - `arrowshap registry register|alias|list --registry DIR --name NAME …`
 *
 * Errors: one line `arrowshap: MESSAGE` on stderr per problem (a config with
 * several invalid keys gives one line per key; a mistyped command or option is
 * named with a suggestion, `./usage.ts`), exit code 1; `--verbose` adds the stack.
 * `-h`/`--help` and `--version` work on every command. Ctrl-C aborts the native work: nothing is written, exit code 130.
 * A run killed or interrupted after some batches resumes after the last one when run
 * again (`run`, `explain`; `--restart` starts over: `../jobs/checkpoint.ts`).
 * A progress bar is drawn on stderr while samples are explained, when stderr
 * is a terminal.
 */
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import yargs, { type Argv } from 'yargs';
import { ConfigError } from '../config/errors.ts';
import type { ExplanationsJobConfigInput } from '../config/job.ts';
import type { CompareJobConfigInput } from '../config/compare.ts';
import { configJsonSchema, loadAnyConfig } from '../config/load.ts';
import { CompareJob } from '../jobs/compare.ts';
import { ALGORITHMS, MODEL_OUTPUTS } from '../core/explainers.ts';
import { readerConfigForPath } from '../io/datasets/reader.ts';
import { writerConfigForPath } from '../io/datasets/writer.ts';
import { LocalRegistry } from '../io/registries/registry.ts';
import { ExplanationsJob } from '../jobs/explanations.ts';
import { ShardedExplanationsJob } from '../shard/job.ts';
import { mergeShards } from '../shard/merge.ts';
import { packageJson } from '../package.ts';
import { scopeOf, usageProblems } from './usage.ts';

/** Where the CLI writes (replaceable in tests). */
export interface CliStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Exit code after Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** Usage problems (from yargs, or found in a command's handler): one error line each. */
class UsageError extends Error {
  readonly lines: string[];
  constructor(lines: string | string[]) {
    const all = ([] as string[]).concat(lines);
    super(all.join('; '));
    this.lines = all;
  }
}

/** True when `argv` asks for the version with a bare `--version` (no value after it). */
function bareVersion(argv: string[]): boolean {
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  const i = args.indexOf('--version');
  return i >= 0 && (i + 1 === args.length || args[i + 1].startsWith('-'));
}

/** Checks integer flags: `--threads` ≥ 0, every other ≥ 1. @throws {UsageError} naming the flag. */
function checkIntegerFlags(args: Record<string, unknown>, flags: readonly string[]): void {
  for (const flag of flags) {
    const v = args[flag];
    const min = flag === 'threads' ? 0 : 1;
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
      throw new UsageError(`--${flag}: expected an integer >= ${min}, got ${String(v)}`);
    }
  }
}

/**
 * Signals that stop a run the way Ctrl-C does (the job aborts, removes its
 * temporaries and commits nothing), with their numbers: the exit code is
 * 128 + the number. A second signal exits at once.
 */
export const STOP_SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

/** `--restart` of `run` and `explain`. */
const RESTART_OPTION = {
  type: 'boolean',
  default: false,
  describe: 'discard the checkpoint of an interrupted run of the same config and start from the first batch (a rerun resumes by default)',
} as const;

/** Options of `arrowshap explain`. */
export interface ExplainArgs {
  model: string;
  inputs: string;
  samplesOut: string;
  modelOut?: string;
  interactionsOut?: string;
  algorithm?: (typeof ALGORITHMS)[number];
  background?: string;
  nsamples?: number;
  limit?: number;
  idColumn?: string;
  threads?: number;
  batchRows?: number;
  /** Add the feature values to the samples table (`input.<feature>` columns). */
  includeInputs?: boolean;
  /** scikit-learn pipelines: add the roll-up to raw input columns (`raw.<column>` columns). */
  rawColumns?: boolean;
  /** Write the HTML report here. */
  report?: string;
  /** `raw` or `probability` (tree-interventional): `explainer.model_output`. */
  modelOutput?: (typeof MODEL_OUTPUTS)[number];
  verbose?: boolean;
}

/**
 * The job config `arrowshap explain` runs: the model file through a
 * `FileRegistry`, formats chosen by extension, paths relative to the current
 * directory, logging at `warn` (`debug` with `--verbose`).
 */
export function explainJobConfig(args: ExplainArgs): ExplanationsJobConfigInput {
  const abs = (p: string) => resolve(p);
  return {
    KIND: 'ExplanationsJob',
    inputs_samples: readerConfigForPath(abs(args.inputs), args.limit),
    samples_explanations: writerConfigForPath(abs(args.samplesOut)),
    ...(args.modelOut ? { models_explanations: writerConfigForPath(abs(args.modelOut)) } : {}),
    ...(args.interactionsOut ? { interactions_explanations: writerConfigForPath(abs(args.interactionsOut)) } : {}),
    registry: { KIND: 'FileRegistry', path: abs(args.model) },
    explainer: {
      ...(args.algorithm ? { algorithm: args.algorithm } : {}),
      ...(args.background ? { background: readerConfigForPath(abs(args.background)) } : {}),
      ...(args.nsamples !== undefined ? { nsamples: args.nsamples } : {}),
      ...(args.interactionsOut ? { interactions: true } : {}),
      ...(args.threads !== undefined ? { threads: args.threads } : {}),
      ...(args.batchRows !== undefined ? { batch_rows: args.batchRows } : {}),
      ...(args.idColumn ? { id_column: args.idColumn } : {}),
      ...(args.includeInputs ? { include_inputs: true } : {}),
      ...(args.rawColumns ? { raw_columns: true } : {}),
      ...(args.modelOutput ? { model_output: args.modelOutput } : {}),
    },
    ...(args.report ? { report: { KIND: 'HtmlReport', path: abs(args.report) } } : {}),
    logger: { level: args.verbose ? 'debug' : 'warn' },
  } as ExplanationsJobConfigInput;
}

/** Progress bar (cli-progress) on stderr, only when it is a terminal. */
function progressBar(streams: CliStreams): { onProgress?: (done: number, total: number) => void; stop(): void } {
  if (!streams.stderr.isTTY) return { stop() {} };
  let bar: cliProgress.SingleBar | undefined;
  let finished = false;
  const started = Date.now();
  return {
    onProgress(done, total) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            stream: streams.stderr as NodeJS.WriteStream,
            format: 'explaining |{bar}| {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}',
            hideCursor: true,
            clearOnComplete: false,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { rate: '0' });
      }
      if (finished) return;
      // the total grows batch by batch when the input's row count is not known up front
      if (total !== bar.getTotal()) bar.setTotal(total);
      const seconds = (Date.now() - started) / 1000;
      bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds).toLocaleString('en-US') : '0' });
      if (done >= total) {
        // done: release the line before the job logs or alerts again
        finished = true;
        bar.stop();
      }
    },
    stop() {
      if (!finished) bar?.stop();
      finished = true;
    },
  };
}

/** Error lines (`arrowshap: …`) for an error; one per config issue. */
export function errorLines(err: unknown, verbose = false): string[] {
  if (err instanceof UsageError) return err.lines.map((l) => `arrowshap: ${l}`);
  if (err instanceof ConfigError) {
    return err.lines.map((l) => `arrowshap: ${err.head}: ${l}`);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  if (e.name === 'AbortError') return ['arrowshap: interrupted: no output written'];
  const message = e.message.replace(/\s*\n\s*/g, ' ').trim() || e.name;
  const lines = [`arrowshap: ${message}`];
  if (verbose && e.stack) lines.push(...e.stack.split('\n').slice(1));
  return lines;
}

function withRegistryOptions<T>(y: Argv<T>) {
  return y
    .option('registry', { type: 'string', default: 'registry', describe: 'local registry directory' })
    .option('name', { type: 'string', demandOption: true, describe: 'registered model name' });
}

/**
 * Runs the CLI on `argv` (without `node` and the script) and returns the exit code.
 * Errors never escape: they are printed as `arrowshap: …` lines.
 */
export async function main(argv: string[], streams: CliStreams = process): Promise<number> {
  const controller = new AbortController();
  let stoppedBy: keyof typeof STOP_SIGNALS | undefined;
  const onSignal = (signal: keyof typeof STOP_SIGNALS) => {
    if (stoppedBy) process.exit(128 + STOP_SIGNALS[stoppedBy]);
    stoppedBy = signal;
    controller.abort(new Error(signal === 'SIGINT' ? 'interrupted (Ctrl-C)' : `interrupted (${signal})`));
  };
  const signals = Object.keys(STOP_SIGNALS) as (keyof typeof STOP_SIGNALS)[];
  for (const signal of signals) process.on(signal, onSignal);
  const out = (s: string) => streams.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  let verbose = argv.includes('--verbose');
  const bar = progressBar(streams);
  const version = packageJson().version;
  // `registry alias --version N` sets a model version: a bare --version prints arrowshap's there too
  if (bareVersion(argv)) {
    out(version);
    return 0;
  }
  // the command being parsed: its builder records its yargs instance (for usage problems)
  let scope: unknown;
  const track = <T>(y: Argv<T>): Argv<T> => {
    scope = y;
    return y;
  };

  const cli = yargs(argv)
    .scriptName('arrowshap')
    .usage('$0 <command> [options]')
    .option('verbose', { type: 'boolean', default: false, describe: 'debug logs, and stack traces on errors' })
    .command(
      'run [config]',
      'run the explanations job a config file (YAML or JSON) describes',
      (y) =>
        track(y)
          .positional('config', { type: 'string', describe: 'the config file' })
          .option('set', {
            type: 'string',
            describe: 'override a config key: --set job.inputs_samples.limit=100 (repeatable)',
          })
          .option('schema', { type: 'boolean', default: false, describe: 'print the config JSON schema and exit' })
          .option('shard', {
            type: 'string',
            describe: 'run shard I of N (0-based, e.g. 3/8), or auto: from JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX',
          })
          .option('restart', RESTART_OPTION),
      async (args) => {
        if (args.schema) {
          out(JSON.stringify(configJsonSchema(), null, 2));
          return;
        }
        if (!args.config) throw new UsageError('run: missing CONFIG (the config file), or --schema');
        const sets = args.set === undefined ? [] : ([] as string[]).concat(args.set as string | string[]);
        if (args.shard !== undefined) sets.push(`job.explainer.shard=${JSON.stringify(String(args.shard))}`);
        const config = await loadAnyConfig(args.config, sets);
        if (args.verbose) config.job.logger.level = 'debug';
        if (config.job.KIND === 'CompareJob') {
          if (args.restart) throw new UsageError('--restart: a CompareJob keeps no checkpoint (only an ExplanationsJob resumes)');
          await new CompareJob(config.job, { signal: controller.signal }).execute();
          return;
        }
        const Kind = config.job.explainer.shard !== undefined ? ShardedExplanationsJob : ExplanationsJob;
        const job = new Kind(config.job, { signal: controller.signal, onProgress: bar.onProgress, restart: args.restart });
        await job.execute();
      },
    )
    .command(
      'merge [config]',
      'complete a sharded run: check every shard, write the model explanations, send the alert',
      (y) =>
        track(y)
          .positional('config', { type: 'string', describe: 'the config file the shards ran' })
          .option('set', { type: 'string', describe: 'override a config key, as for run (repeatable)' }),
      async (args) => {
        if (!args.config) throw new UsageError('merge: missing CONFIG (the config file the shards ran)');
        const sets = args.set === undefined ? [] : ([] as string[]).concat(args.set as string | string[]);
        const config = await loadAnyConfig(args.config, sets);
        if (config.job.KIND !== 'ExplanationsJob') throw new UsageError(`merge: ${args.config} is a ${config.job.KIND}, not a sharded ExplanationsJob`);
        if (args.verbose) config.job.logger.level = 'debug';
        const merged = await mergeShards(config.job);
        out(`merged ${merged.shards} shards: ${merged.samples.rows} rows${merged.modelsPath ? `; model explanations ${merged.modelsPath}` : ''}`);
      },
    )
    .command(
      'explain',
      'explain samples with a model file (no registry); formats by extension',
      (y) =>
        track(y)
          .option('model', { type: 'string', demandOption: true, describe: 'model file (XGBoost JSON/UBJ, LightGBM text)' })
          .option('inputs', { type: 'string', demandOption: true, describe: 'samples (.parquet, .csv, .arrow, .feather, .arrows)' })
          .option('samples-out', { type: 'string', demandOption: true, describe: 'samples explanations output' })
          .option('model-out', { type: 'string', describe: 'model explanations output' })
          .option('interactions-out', { type: 'string', describe: 'SHAP interaction values output' })
          .option('algorithm', { choices: ALGORITHMS, default: 'auto' as const, describe: 'SHAP algorithm' })
          .option('background', { type: 'string', describe: 'background sample (tree-interventional, kernel)' })
          .option('nsamples', { type: 'number', describe: 'coalitions sampled per row (kernel)' })
          .option('limit', { type: 'number', describe: 'explain the first N rows' })
          .option('id-column', { type: 'string', describe: 'carry this column instead of `row`' })
          .option('threads', { type: 'number', describe: 'native threads (0 = all cores)' })
          .option('batch-rows', { type: 'number', describe: 'rows per native call (default 65536)' })
          .option('include-inputs', { type: 'boolean', describe: 'add the feature values to the samples table (input.<feature> columns)' })
          .option('raw-columns', { type: 'boolean', describe: 'scikit-learn pipelines: add one raw.<column> column per raw input column (sum of its encoded features\' SHAP)' })
          .option('report', { type: 'string', describe: 'write a self-contained HTML report (charts, model card) here' })
          .option('model-output', { choices: MODEL_OUTPUTS, describe: 'raw (margin, default) or probability (tree-interventional, as shap model_output="probability")' })
          .option('restart', RESTART_OPTION),
      async (args) => {
        checkIntegerFlags(args, ['limit', 'threads', 'nsamples', 'batch-rows']);
        const job = new ExplanationsJob(explainJobConfig(args), {
          signal: controller.signal,
          onProgress: bar.onProgress,
          restart: args.restart,
        });
        await job.execute();
      },
    )
    .command(
      'compare',
      'explain two model files on the same samples and write the per-feature explanation drift',
      (y) =>
        y
          .option('champion', { type: 'string', demandOption: true, describe: 'model file compared against (A)' })
          .option('challenger', { type: 'string', demandOption: true, describe: 'candidate model file (B)' })
          .option('inputs', { type: 'string', demandOption: true, describe: 'samples both explain' })
          .option('out', { type: 'string', demandOption: true, describe: 'drift table output (.parquet, .csv, .arrow, …)' })
          .option('report', { type: 'string', describe: 'write the drift report page (HTML) here' })
          .option('labels', { type: 'string', default: 'Champion,Challenger', describe: 'names of A and B, comma-separated' })
          .option('algorithm', { choices: ALGORITHMS, default: 'auto' as const, describe: 'SHAP algorithm (both)' })
          .option('background', { type: 'string', describe: 'background sample (tree-interventional, kernel)' })
          .option('limit', { type: 'number', describe: 'compare on the first N rows' })
          .option('threads', { type: 'number', describe: 'native threads (0 = all cores)' }),
      async (args) => {
        const labels = args.labels.split(',').map((s) => s.trim());
        if (labels.length !== 2 || labels.some((l) => l === '')) throw new UsageError(`--labels: expected two names A,B, got ${args.labels}`);
        checkIntegerFlags(args, ['limit', 'threads']);
        const side = (file: string, label: string) => ({ alias_or_version: label, label, registry: { KIND: 'FileRegistry', path: resolve(file) } });
        const config = {
          KIND: 'CompareJob',
          inputs_samples: readerConfigForPath(resolve(args.inputs), args.limit),
          champion: side(args.champion, labels[0]),
          challenger: side(args.challenger, labels[1]),
          drift_explanations: writerConfigForPath(resolve(args.out)),
          ...(args.report ? { report: { KIND: 'HtmlReport', path: resolve(args.report) } } : {}),
          explainer: {
            algorithm: args.algorithm,
            ...(args.background ? { background: readerConfigForPath(resolve(args.background)) } : {}),
            ...(args.threads !== undefined ? { threads: args.threads } : {}),
          },
          logger: { level: args.verbose ? 'debug' : 'warn' },
        } as CompareJobConfigInput;
        await new CompareJob(config, { signal: controller.signal }).execute();
      },
    )
    .command('registry', 'manage a local model registry', (y) =>
      track(y)
        .command(
          'register',
          'register a model file (or directory) as the next version; prints the version number',
          (yy) =>
            withRegistryOptions(track(yy))
              .option('model', { type: 'string', demandOption: true, describe: 'model file or directory' })
              .option('alias', { type: 'string', describe: 'point this alias at the new version' })
              .option('description', { type: 'string', describe: 'free text kept with the version' }),
          async (args) => {
            const reg = new LocalRegistry({ path: args.registry, name: args.name });
            const mv = await reg.register(args.model, {
              ...(args.alias ? { alias: args.alias } : {}),
              ...(args.description ? { description: args.description } : {}),
            });
            out(String(mv.version));
          },
        )
        .command(
          'alias',
          'point an alias at a version',
          (yy) =>
            withRegistryOptions(track(yy))
              .option('alias', { type: 'string', demandOption: true, describe: 'alias name' })
              .version(false)
              .option('version', {
                type: 'number',
                demandOption: true,
                describe: "the model version the alias points at (--version alone prints arrowshap's version)",
              }),
          async (args) => {
            const reg = new LocalRegistry({ path: args.registry, name: args.name });
            if (!Number.isInteger(args.version)) throw new UsageError(`--version must be an integer, got ${args.version}`);
            await reg.setAlias(args.alias, args.version);
            out(`${args.alias} -> ${args.version}`);
          },
        )
        .command(
          'list',
          'list versions and aliases',
          (yy) => withRegistryOptions(track(yy)).option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
          async (args) => {
            const reg = new LocalRegistry({ path: args.registry, name: args.name });
            const listing = await reg.list();
            if (args.json) {
              out(JSON.stringify(listing, null, 2));
              return;
            }
            const rows = [
              ['version', 'aliases', 'file', 'created'],
              ...listing.versions.map((v) => [String(v.version), v.aliases.join(',') || '-', v.file ?? '-', v.created]),
            ];
            const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
            for (const r of rows) out(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
          },
        )
        .demandCommand(1, 'name a subcommand: register, alias or list')
        .strict(),
    )
    .demandCommand(1, 'name a command: run, explain, compare, merge or registry (see --help)')
    .strict()
    .version(version)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, yargs().terminalWidth()))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(usageProblems(argv, scopeOf(scope ?? cli), msg));
    });

  try {
    const parsed = await cli.parseAsync();
    verbose = Boolean((parsed as { verbose?: boolean }).verbose);
    return 0;
  } catch (err) {
    bar.stop();
    if ((err as Error)?.name === 'AbortError' || stoppedBy) {
      streams.stderr.write(`${errorLines(Object.assign(new Error('interrupted'), { name: 'AbortError' }))[0]}\n`);
      return stoppedBy ? 128 + STOP_SIGNALS[stoppedBy] : EXIT_INTERRUPTED;
    }
    const lines = errorLines(err, verbose);
    streams.stderr.write(`${lines.join('\n')}\n`);
    return 1;
  } finally {
    bar.stop();
    for (const signal of signals) process.removeListener(signal, onSignal);
  }
}
