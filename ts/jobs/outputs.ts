/**
 * The job's outputs, committed together: each table is streamed to a temporary
 * file beside its target, and only when all are complete are they renamed into
 * place. A failure or an abort before that leaves no output file, never a
 * partial one.
 */
import type * as arrow from 'apache-arrow';
import { abortError } from '../core/abort.ts';
import { writerOf, type TableOutput, type ValidWriterConfig } from '../io/datasets/writer.ts';

/** One output of the run: its config key (`samples_explanations`), writer config and schema. */
export interface OutputSpec {
  key: string;
  config: ValidWriterConfig;
  schema: arrow.Schema;
  /** Rows per Parquet row group (a batch's rows). */
  rowGroupRows?: number;
}

/** The run's outputs, opened together, then finished and committed together (or aborted). */
export class JobOutputs {
  private readonly opened = new Map<string, TableOutput>();

  constructor(readonly specs: readonly OutputSpec[]) {}

  /** Paths of the outputs, for logs. */
  paths(keys?: readonly string[]): string {
    return this.specs.filter((s) => !keys || keys.includes(s.key)).map((s) => s.config.path).join(', ');
  }

  /** The open output of `key` (undefined when the run does not write it). */
  get(key: string): TableOutput | undefined {
    return this.opened.get(key);
  }

  /** Opens every output (a temporary file beside each target); the caller aborts on failure. */
  async open(): Promise<void> {
    for (const s of this.specs) {
      const options = s.rowGroupRows === undefined ? {} : { rowGroupRows: s.rowGroupRows };
      this.opened.set(s.key, await writerOf(s.config).open(s.schema, options));
    }
  }

  /** Finishes every output, then (unless aborted meanwhile) renames them all into place. */
  async commit(signal?: AbortSignal): Promise<Record<string, string>> {
    for (const output of this.opened.values()) await output.finish();
    if (signal?.aborted) throw abortError(signal);
    for (const output of this.opened.values()) await output.commit();
    return Object.fromEntries([...this.opened].map(([key, output]) => [key, output.path]));
  }

  /** Removes every temporary (outputs already committed are kept). */
  async abort(): Promise<void> {
    await Promise.all([...this.opened.values()].map((o) => o.abort()));
  }
}
