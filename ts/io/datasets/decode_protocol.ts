/**
 * The messages between a reader and a decoder worker (see `isolated_decoder.ts`):
 * requests go one at a time, each answered by one reply. Table data travels as
 * Arrow IPC stream bytes (transferred, not copied).
 *
 * A task whose bytes the reader serves ({@link DecodeTask.served}: an `s3://`
 * object, a file of a Parquet dataset) is read by the worker through
 * {@link FetchRequest}s while a request is pending: the reader answers each with
 * a {@link FetchReply} holding the bytes it read through its own storage client.
 */

/** What a decoder worker decodes. */
export type DecodeFormat = 'parquet' | 'arrow';

/** A file to decode: its path, format and the reader's row limit. */
export interface DecodeTask {
  path: string;
  format: DecodeFormat;
  limit?: number;
  /** Parquet: only these row groups (ascending), default all of them. */
  rowGroups?: number[];
  /**
   * The reader serves the file's bytes (Parquet only): the worker asks for byte
   * ranges of a file of `size` bytes instead of opening `path` itself.
   */
  served?: { size: number };
}

/**
 * A request:
 * - `read`: the whole file (the first `limit` rows) as one IPC stream;
 * - `count`: the rows the file holds (Parquet footer), or `null` when the format does not tell;
 * - `layout`: the rows of each row group (Parquet footer);
 * - `schema`: the file's schema (an IPC stream of no rows);
 * - `open`: starts streaming batches of at most `batchRows` rows; answers with the schema (an IPC stream of no rows);
 * - `next`: the next batch of the stream opened, or `done`;
 * - `reset`: drops the stream opened (closes the file); answers `done`.
 */
export type DecodeRequest =
  | { op: 'read'; task: DecodeTask }
  | { op: 'count'; task: DecodeTask }
  | { op: 'layout'; task: DecodeTask }
  | { op: 'schema'; task: DecodeTask }
  | { op: 'open'; task: DecodeTask; batchRows: number }
  | { op: 'next' }
  | { op: 'reset' };

/**
 * A reply: IPC stream bytes, a number, row group sizes, the end of the stream, or
 * the decoder's error message (`fatal`: a WebAssembly trap, after which the
 * worker is not reused).
 */
export type DecodeReply =
  | { ok: true; ipc: Uint8Array }
  | { ok: true; count: number | null }
  | { ok: true; rowGroupRows: number[] }
  | { ok: true; done: true }
  | { ok: false; message: string; fatal?: boolean };

/** The worker asks the reader for bytes `[start, end)` of a served file (answered by a {@link FetchReply} with the same `fetch` id). */
export interface FetchRequest {
  fetch: number;
  start: number;
  end: number;
}

/** The reader's answer to a {@link FetchRequest}: the bytes, or why they could not be read. */
export type FetchReply = { fetched: number; bytes: Uint8Array } | { fetched: number; message: string };

/** The message a worker posts once it has started (the request clock starts then). */
export const READY = { ready: true } as const;

/** Whether a worker's message is {@link READY}. */
export function isReady(message: unknown): message is typeof READY {
  return typeof message === 'object' && message !== null && (message as { ready?: unknown }).ready === true;
}

/** Whether a worker's message is a {@link FetchRequest}. */
export function isFetchRequest(message: unknown): message is FetchRequest {
  return typeof message === 'object' && message !== null && typeof (message as { fetch?: unknown }).fetch === 'number';
}

/** Whether a message to the worker is a {@link FetchReply}. */
export function isFetchReply(message: unknown): message is FetchReply {
  return typeof message === 'object' && message !== null && typeof (message as { fetched?: unknown }).fetched === 'number';
}
