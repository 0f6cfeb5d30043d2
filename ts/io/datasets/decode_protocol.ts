/**
 * The messages between a reader and a decoder worker (see `isolated_decoder.ts`):
 * requests go one at a time, each answered by one reply. Table data travels as
 * Arrow IPC stream bytes (transferred, not copied).
 */

/** What a decoder worker decodes. */
export type DecodeFormat = 'parquet' | 'arrow';

/** A file to decode: its path, format and the reader's row limit. */
export interface DecodeTask {
  path: string;
  format: DecodeFormat;
  limit?: number;
}

/**
 * A request:
 * - `read`: the whole file (the first `limit` rows) as one IPC stream;
 * - `count`: the rows the file holds (Parquet footer), or `null` when the format does not tell;
 * - `open`: starts streaming batches of at most `batchRows` rows; answers with the schema (an IPC stream of no rows);
 * - `next`: the next batch of the stream opened, or `done`;
 * - `reset`: drops the stream opened (closes the file); answers `done`.
 */
export type DecodeRequest =
  | { op: 'read'; task: DecodeTask }
  | { op: 'count'; task: DecodeTask }
  | { op: 'open'; task: DecodeTask; batchRows: number }
  | { op: 'next' }
  | { op: 'reset' };

/** A reply: IPC stream bytes, a number, the end of the stream, or the decoder's error message. */
export type DecodeReply =
  | { ok: true; ipc: Uint8Array }
  | { ok: true; count: number | null }
  | { ok: true; done: true }
  | { ok: false; message: string };

/** The message a worker posts once it has started (the request clock starts then). */
export const READY = { ready: true } as const;

/** Whether a worker's message is {@link READY}. */
export function isReady(message: unknown): message is typeof READY {
  return typeof message === 'object' && message !== null && (message as { ready?: unknown }).ready === true;
}
