/**
 * The decoder workers of this process (see `isolated_decoder.ts`): a read takes
 * an idle worker or starts one, and gives it back when it ended well (the next
 * read then skips the start-up: loading Arrow JS or compiling parquet-wasm's
 * WebAssembly) — also after the decoder reported an error in the file (a plain
 * error leaves the libraries usable). A worker that trapped, died, timed out or
 * was aborted is terminated, never reused. Idle workers do not keep the process alive and are terminated
 * after {@link IDLE_MS} (releasing their memory, WebAssembly memory included).
 */
import { Worker } from 'node:worker_threads';
import { isFetchRequest, isReady, type DecodeReply, type FetchRequest, type READY } from './decode_protocol.ts';
import { workerScriptUrl } from './worker_script.ts';

/** Heap limit of a decoder worker (its data lives in ArrayBuffers and WebAssembly memory, outside this heap). */
const WORKER_HEAP_MB = 1024;
/** Most idle workers kept. */
const MAX_IDLE = 4;
/** An idle worker is terminated after this long. */
const IDLE_MS = 5_000;

/** What a decoder thread reports to the read using it. */
export interface DecoderOwner {
  /** A reply to the pending request. */
  onReply(reply: DecodeReply): void;
  /** The worker asks for bytes of the file the reader serves. */
  onFetch(request: FetchRequest): void;
  /** The worker died (an uncaught error, a trap, its heap limit, an exit): `message` says how. */
  onFailure(message: string): void;
}

/** One decoder worker: its thread, whether it has started, and the read using it. */
export class DecoderThread {
  /** The worker thread. */
  readonly worker: Worker;
  /** The read using it (replies and failures go there). */
  owner?: DecoderOwner;
  /** The worker died or was terminated. */
  dead = false;
  private ready = false;
  private readonly readyWaiters: (() => void)[] = [];
  private idleTimer?: NodeJS.Timeout;

  constructor(script: URL) {
    this.worker = new Worker(script, {
      // plain JavaScript, no loader needed: none of the host's flags (`--import tsx`, `--input-type`) is passed on
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      stdout: true, // a library's console output (a panic message) stays out of the host's
      stderr: true,
    });
    this.worker.stdout.resume();
    this.worker.stderr.resume();
    this.worker.unref();
    this.worker.on('message', (message: DecodeReply | FetchRequest | typeof READY) => {
      if (isReady(message)) {
        this.ready = true;
        for (const fn of this.readyWaiters.splice(0)) fn();
      } else if (isFetchRequest(message)) {
        this.owner?.onFetch(message);
      } else {
        this.owner?.onReply(message);
      }
    });
    this.worker.on('error', (err) => this.died(describe(err)));
    this.worker.on('exit', (code) => this.died(`the decoder stopped (exit code ${code})`));
  }

  /** Runs `fn` once the worker has started (now, if it has). */
  whenReady(fn: () => void): void {
    if (this.ready) fn();
    else this.readyWaiters.push(fn);
  }

  /** Terminates the worker (idempotent). */
  async terminate(): Promise<void> {
    this.dead = true;
    this.owner = undefined;
    clearTimeout(this.idleTimer);
    await this.worker.terminate().catch(() => undefined);
  }

  private died(message: string): void {
    if (this.dead) return;
    this.dead = true;
    const owner = this.owner;
    this.owner = undefined;
    owner?.onFailure(message);
    removeIdle(this);
  }

  /** Parks the worker in the idle list. */
  park(): void {
    this.owner = undefined;
    this.worker.unref();
    this.idleTimer = setTimeout(() => {
      removeIdle(this);
      void this.terminate();
    }, IDLE_MS);
    this.idleTimer.unref();
  }

  /** Takes the worker out of the idle list's timer. */
  unpark(owner: DecoderOwner): void {
    clearTimeout(this.idleTimer);
    this.owner = owner;
  }
}

const idle: DecoderThread[] = [];

function removeIdle(thread: DecoderThread): void {
  const at = idle.indexOf(thread);
  if (at >= 0) idle.splice(at, 1);
}

/** An idle decoder worker, or a new one, now used by `owner`. */
export async function acquireDecoder(owner: DecoderOwner): Promise<DecoderThread> {
  for (let thread = idle.pop(); thread; thread = idle.pop()) {
    if (thread.dead) continue;
    thread.unpark(owner);
    return thread;
  }
  const thread = new DecoderThread(await workerScriptUrl(import.meta.url, 'decode_worker', 'io/datasets'));
  thread.owner = owner;
  return thread;
}

/**
 * Gives a worker back after a read: parked for reuse when `healthy`, else
 * terminated (not awaited: a thread stuck in a loop may take a while to stop,
 * and the read's error need not wait for it).
 */
export async function releaseDecoder(thread: DecoderThread, healthy: boolean): Promise<void> {
  if (!healthy || thread.dead || idle.length >= MAX_IDLE) {
    void thread.terminate();
    return;
  }
  thread.park();
  idle.push(thread);
}

/** An error as one line: `RuntimeError: unreachable`, a plain error's message. */
export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'Error' || err.message.startsWith(`${err.name}:`)) return err.message;
  return `${err.name}: ${err.message}`;
}
