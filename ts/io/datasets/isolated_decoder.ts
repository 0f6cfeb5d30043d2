/**
 * Decoding in a worker thread: how the Parquet and Arrow IPC readers keep a
 * hostile file from taking down the host process.
 *
 * The decoding libraries are not robust against corrupt input: parquet-wasm traps
 * (`RuntimeError: unreachable`, thrown asynchronously, so no `try` can catch it
 * and the process dies) or leaves a read that never settles, and Arrow JS's IPC
 * reader can loop forever on a corrupt message (synchronously: no timer, signal
 * handler or Ctrl-C runs again). A validation pass before decoding could only
 * catch the failures someone thought of; a worker catches all of them. Each read
 * uses one worker (`decode_worker.ts`, from `decoder_pool.ts`) that decodes the
 * file and answers one request at a time with Arrow IPC stream bytes
 * (transferred, no copy); the reader's thread only decodes those well-formed
 * messages. Any failure of the worker — an error, a trap, its heap limit —
 * rejects the pending request with one error naming the file; a request not
 * answered within the time limit ({@link decodeTimeoutMs}) or an aborted signal
 * terminates the worker at once, whatever it is doing.
 *
 * Costs: a worker start (a few hundred milliseconds of CPU: it loads Arrow JS or
 * compiles parquet-wasm) when no idle worker is left, and for Arrow IPC one copy
 * of the data (decoded in the worker, written again for the reader).
 */
import { tableFromIPC, type Table } from 'apache-arrow';
import { abortError } from '../../core/abort.ts';
import type { DecodeReply, DecodeRequest, DecodeTask } from './decode_protocol.ts';
import { acquireDecoder, describe, releaseDecoder, type DecoderThread } from './decoder_pool.ts';

/** Default time a decoder may take to answer one request (a batch, the footer) before it is stopped. */
export const DEFAULT_DECODE_TIMEOUT_MS = 60_000;

/** Extra time allowed per byte of the file for a whole-file read (10 MB/s). */
const WHOLE_READ_MS_PER_BYTE = 1 / 10_000;

/**
 * The time a decoder may take for one request (one batch, the footer, or a whole
 * file of `bytes` bytes: 1 ms more per 10 KB): `ARROWSHAP_DECODE_TIMEOUT_MS` when
 * set (a positive number), else {@link DEFAULT_DECODE_TIMEOUT_MS}.
 */
export function decodeTimeoutMs(bytes = 0): number {
  const env = Number(process.env.ARROWSHAP_DECODE_TIMEOUT_MS);
  const base = env > 0 ? env : DEFAULT_DECODE_TIMEOUT_MS;
  return base + bytes * WHOLE_READ_MS_PER_BYTE;
}

/**
 * One read's decoder (see the module doc). Requests go one at a time;
 * {@link IsolatedDecoder.close} gives the worker back (idempotent). Errors read
 * `cannot read PATH as FORMAT: …`.
 */
export class IsolatedDecoder {
  private thread!: DecoderThread;
  private pending?: { resolve: (reply: DecodeReply) => void; reject: (err: Error) => void };
  private failure?: Error;
  private closed = false;

  /**
   * A decoder for `task` (an idle worker, or a new one).
   * @param formatName the format in errors (`Parquet`).
   * @param signal stops the worker and rejects the pending request when aborted.
   */
  static async start(task: DecodeTask, formatName: string, signal?: AbortSignal): Promise<IsolatedDecoder> {
    const decoder = new IsolatedDecoder(task, formatName, signal);
    decoder.thread = await acquireDecoder({
      onReply: (reply) => decoder.settle(reply),
      onFailure: (message) => decoder.fail(decoder.error(message)),
    });
    signal?.addEventListener('abort', decoder.onAbort, { once: true });
    if (signal?.aborted) decoder.onAbort();
    return decoder;
  }

  private constructor(
    private readonly task: DecodeTask,
    private readonly formatName: string,
    private readonly signal?: AbortSignal,
  ) {}

  /** Sends a request answered with a table (`read`, `open`, `next`): the table, or `undefined` at the end of the stream. */
  async table(request: DecodeRequest, timeoutMs?: number): Promise<Table | undefined> {
    const reply = await this.request(request, timeoutMs);
    if ('done' in reply) return undefined;
    if (!('ipc' in reply)) throw this.error(`the decoder answered ${request.op} without a table`);
    try {
      return tableFromIPC(reply.ipc);
    } catch (err) {
      throw this.error(describe(err));
    }
  }

  /** Rows in the file's footer (after `limit`), when the format tells them. */
  async count(): Promise<number | undefined> {
    const reply = await this.request({ op: 'count', task: this.task });
    return 'count' in reply && reply.count !== null ? reply.count : undefined;
  }

  /** Gives the worker back: reused after a read that went well (its stream dropped), else terminated. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    let healthy = this.failure === undefined;
    if (healthy) healthy = await this.request({ op: 'reset' }, decodeTimeoutMs()).then(() => true, () => false);
    this.failure ??= this.error('the decoder was closed');
    await releaseDecoder(this.thread, healthy);
  }

  /** Sends `request` and waits for the answer (at most `timeoutMs` once the worker has started). */
  private async request(request: DecodeRequest, timeoutMs = decodeTimeoutMs()): Promise<DecodeReply & { ok: true }> {
    if (this.signal?.aborted) throw abortError(this.signal);
    if (this.failure) throw this.failure;
    if (this.pending) throw new Error(`${this.task.path}: one decoder request at a time`);
    const { thread } = this;
    const reply = await new Promise<DecodeReply>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        thread.worker.unref();
      };
      const pending = {
        resolve: (r: DecodeReply) => (done(), resolve(r)),
        reject: (e: Error) => (done(), reject(e)),
      };
      this.pending = pending;
      thread.worker.ref();
      thread.worker.postMessage(request);
      // the clock starts once the worker has loaded (slow on a busy machine, and not the file's doing)
      thread.whenReady(() => {
        if (this.pending !== pending) return;
        timer = setTimeout(() => {
          const seconds = Math.round(timeoutMs / 100) / 10;
          this.fail(this.error(`the decoder did not answer within ${seconds} s (a corrupt file?); it was stopped`));
        }, timeoutMs);
        timer.unref();
      });
    });
    if (!reply.ok) {
      // the libraries' state after a failure is not trusted: this worker is not reused
      this.failure ??= this.error(reply.message);
      throw this.failure;
    }
    return reply;
  }

  private readonly onAbort = () => {
    this.fail(abortError(this.signal));
  };

  private settle(reply: DecodeReply): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(reply);
  }

  /** Records the first failure, rejects the pending request with it and terminates the worker. */
  private fail(err: Error): void {
    this.failure ??= err;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(this.failure);
    void this.thread.terminate();
  }

  /** `cannot read PATH as FORMAT: message` (a message already naming the file is kept). */
  private error(message: string): Error {
    if (message.startsWith(`cannot read ${this.task.path}`)) return new Error(message);
    // a WebAssembly trap (a panic in parquet-wasm): say what it means
    if (message.startsWith('RuntimeError: ')) message = `the decoder crashed on it (${message}): the file is corrupt or not supported`;
    return new Error(`cannot read ${this.task.path} as ${this.formatName}: ${message}`);
  }
}
