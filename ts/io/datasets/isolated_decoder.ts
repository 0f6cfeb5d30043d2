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
 * rejects the pending request with one error naming the file (after a trap or
 * a death the worker is not reused); a request not
 * answered within the time limit ({@link decodeTimeoutMs}) or an aborted signal
 * terminates the worker at once, whatever it is doing.
 *
 * A file the reader serves (`DecodeTask.served`: `s3://` objects, the files of
 * a Parquet dataset) is read by the worker through fetch messages answered here
 * from the reader's {@link BlobLike} (its storage client, its byte counter); each
 * fetch served restarts the request clock (the decoder is making progress).
 *
 * Costs: a worker start (a few hundred milliseconds of CPU: it loads Arrow JS or
 * compiles parquet-wasm) when no idle worker is left, and for Arrow IPC one copy
 * of the data (decoded in the worker, written again for the reader).
 */
import { tableFromIPC, type Table } from 'apache-arrow';
import { abortError, throwIfAborted } from '../../core/abort.ts';
import type { BlobLike } from '../storage/files.ts';
import type { DecodeReply, DecodeRequest, DecodeTask, FetchReply, FetchRequest } from './decode_protocol.ts';
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
  private pending?: { resolve: (reply: DecodeReply) => void; reject: (err: Error) => void; arm: () => void };
  private failure?: Error;
  /** The failure was an error the decoder reported (not a trap, timeout, abort or death): the worker stays usable. */
  private reportedFailure = false;
  private closed = false;

  /**
   * A decoder for `task` (an idle worker, or a new one).
   * @param formatName the format in errors (`Parquet`).
   * @param signal stops the worker and rejects the pending request when aborted.
   * @param blob the file's bytes, when the reader serves them (`task.served`).
   */
  static async start(task: DecodeTask, formatName: string, signal?: AbortSignal, blob?: BlobLike): Promise<IsolatedDecoder> {
    const decoder = new IsolatedDecoder(task, formatName, signal, blob);
    decoder.thread = await acquireDecoder({
      onReply: (reply) => decoder.settle(reply),
      onFetch: (request) => decoder.serve(request),
      onFailure: (message) => decoder.fail(decoder.error(message)),
    });
    signal?.addEventListener('abort', decoder.onAbort, { once: true });
    if (signal?.aborted) decoder.onAbort();
    return decoder;
  }

  private constructor(
    /** The file decoded. */
    readonly task: DecodeTask,
    private readonly formatName: string,
    private readonly signal?: AbortSignal,
    private readonly blob?: BlobLike,
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

  /**
   * The stream's non-empty tables after `open`, `next` by `next`, up to `limit` rows in all
   * (the last one sliced), checking `signal` before each request.
   */
  async *tables(limit: number, signal?: AbortSignal): AsyncGenerator<Table, void, undefined> {
    let left = limit;
    while (left > 0) {
      throwIfAborted(signal);
      let table = await this.table({ op: 'next' });
      if (!table) return;
      if (table.numRows === 0) continue;
      if (table.numRows > left) table = table.slice(0, left);
      left -= table.numRows;
      yield table;
    }
  }

  /** Rows in the file's footer (after `limit`), when the format tells them. */
  async count(): Promise<number | undefined> {
    const reply = await this.request({ op: 'count', task: this.task });
    return 'count' in reply && reply.count !== null ? reply.count : undefined;
  }

  /** Rows of each row group (a Parquet footer). */
  async layout(): Promise<number[]> {
    const reply = await this.request({ op: 'layout', task: this.task });
    if (!('rowGroupRows' in reply)) throw this.error('the decoder answered layout without row groups');
    return reply.rowGroupRows;
  }

  /** Gives the worker back: reused after a read that went well (its stream dropped), else terminated. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    let healthy = (this.failure === undefined || this.reportedFailure) && !this.thread.dead;
    if (healthy) healthy = await this.request({ op: 'reset' }, decodeTimeoutMs(), true).then(() => true, () => false);
    this.failure ??= this.error('the decoder was closed');
    await releaseDecoder(this.thread, healthy);
  }

  /**
   * Sends `request` and waits for the answer (at most `timeoutMs` once the worker
   * has started). `afterFailure`: sent even after a reported failure (the reset of
   * a worker given back).
   */
  private async request(request: DecodeRequest, timeoutMs = decodeTimeoutMs(), afterFailure = false): Promise<DecodeReply & { ok: true }> {
    if (this.signal?.aborted && !afterFailure) throw abortError(this.signal);
    if (this.failure && !(afterFailure && this.reportedFailure)) throw this.failure;
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
        // (re)starts the clock: at the worker's start, and at each fetch served
        arm: () => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            const seconds = Math.round(timeoutMs / 100) / 10;
            this.fail(this.error(`the decoder did not answer within ${seconds} s (a corrupt file?); it was stopped`));
          }, timeoutMs);
          timer.unref();
        },
      };
      this.pending = pending;
      thread.worker.ref();
      thread.worker.postMessage(request);
      // the clock starts once the worker has loaded (slow on a busy machine, and not the file's doing)
      thread.whenReady(() => {
        if (this.pending === pending) pending.arm();
      });
    });
    if (!reply.ok) {
      if (this.failure === undefined) {
        this.failure = this.error(reply.message);
        // an error the library returned leaves it usable; after a trap its state is not trusted
        this.reportedFailure = !reply.fatal;
      }
      throw this.failure;
    }
    return reply;
  }

  private readonly onAbort = () => {
    this.fail(abortError(this.signal));
  };

  /** Answers the worker's fetch of served bytes from {@link blob}. */
  private serve(request: FetchRequest): void {
    const pending = this.pending;
    const { thread } = this;
    const post = (reply: FetchReply) => {
      if (this.pending !== pending || thread.dead) return;
      pending?.arm();
      thread.worker.postMessage(reply, 'bytes' in reply ? [reply.bytes.buffer as ArrayBuffer] : []);
    };
    const { start, end } = request;
    if (!this.blob || !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > this.blob.size) {
      post({ fetched: request.fetch, message: `the decoder asked for bytes ${start}..${end} of a file of ${this.blob?.size ?? 0} bytes` });
      return;
    }
    this.blob
      .slice(start, end)
      .arrayBuffer()
      .then(
        (buffer) => post({ fetched: request.fetch, bytes: new Uint8Array(buffer) }),
        (err: unknown) => post({ fetched: request.fetch, message: describe(err) }),
      );
  }

  private settle(reply: DecodeReply): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(reply);
  }

  /** Records the first failure, rejects the pending request with it and terminates the worker. */
  private fail(err: Error): void {
    this.failure ??= err;
    this.reportedFailure = false;
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
