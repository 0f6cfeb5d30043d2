/**
 * The decoder worker: decodes Parquet and Arrow IPC files for readers on the main
 * thread (see `isolated_decoder.ts`) and answers their requests one at a time with
 * Arrow IPC stream bytes. Everything the decoding libraries do — a WebAssembly
 * trap in parquet-wasm, an endless loop in Arrow JS's message reader on a corrupt
 * file, a failed allocation — happens in this thread, which the reader can
 * terminate. A worker serves one read at a time and is reused for the next
 * (its libraries are loaded once, when it starts).
 *
 * Arrow IPC input is decoded here and written again with Arrow JS's writer, so the
 * main thread only ever decodes well-formed messages this worker wrote.
 *
 * A local file is opened here by its path; a file the reader serves (an `s3://`
 * object, a file of a Parquet dataset: `DecodeTask.served`) is read through
 * fetch messages to the reader, which reads the bytes with its storage client.
 */
import { openAsBlob } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import type { RecordBatch } from 'apache-arrow';
import { isFetchReply, READY, type DecodeReply, type DecodeRequest, type DecodeTask, type FetchReply, type FetchRequest } from './decode_protocol.ts';

/** Largest batch asked of the Parquet decoder: it clamps to the rows in the file. */
const ONE_BATCH = 2 ** 31 - 1;

type ParquetWasm = typeof import('parquet-wasm');
type ArrowJs = typeof import('apache-arrow');
let parquetLib: ParquetWasm | undefined;
let arrowLib: ArrowJs | undefined;

/** parquet-wasm, loaded on first use (it compiles its WebAssembly module when imported). */
async function parquet(): Promise<ParquetWasm> {
  return (parquetLib ??= await import('parquet-wasm'));
}

/** Arrow JS with the IPC codecs, loaded on first use. */
async function arrow(): Promise<ArrowJs> {
  if (!arrowLib) {
    const lib = await import('apache-arrow');
    await import('./ipc_codecs.ts');
    arrowLib = lib;
  }
  return arrowLib;
}

/** The fetches of served bytes waiting for the reader's answer, by id. */
const fetches = new Map<number, { resolve: (bytes: ArrayBuffer) => void; reject: (err: Error) => void }>();
let lastFetch = 0;

/**
 * A file whose bytes the reader serves (`DecodeTask.served`), as parquet-wasm
 * reads it: a size and lazy slices (Blob semantics), each read one
 * {@link FetchRequest} to the reader.
 */
class ServedBlob {
  constructor(
    readonly size: number,
    private readonly start = 0,
  ) {}

  slice(start = 0, end = this.size): ServedBlob {
    const clamp = (v: number) => Math.max(0, Math.min(this.size, v < 0 ? this.size + v : v));
    const s = clamp(start);
    return new ServedBlob(Math.max(s, clamp(end)) - s, this.start + s);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.size === 0) return Promise.resolve(new ArrayBuffer(0));
    const id = ++lastFetch;
    return new Promise((resolve, reject) => {
      fetches.set(id, { resolve, reject });
      parentPort!.postMessage({ fetch: id, start: this.start, end: this.start + this.size } satisfies FetchRequest);
    });
  }
}

/** Settles the fetch a {@link FetchReply} answers. */
function settleFetch(reply: FetchReply): void {
  const waiting = fetches.get(reply.fetched);
  fetches.delete(reply.fetched);
  if (!waiting) return;
  if ('bytes' in reply) {
    const { bytes } = reply;
    waiting.resolve(bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer));
  } else {
    waiting.reject(new Error(reply.message));
  }
}

/** A Parquet file opened for random access: only its footer is read here. */
async function openParquet(task: DecodeTask) {
  const blob = task.served ? (new ServedBlob(task.served.size) as unknown as Blob) : await openAsBlob(task.path);
  return (await parquet()).ParquetFile.fromFile(blob);
}

/** The stream of batches opened, and what closes it. */
let stream: { batches: AsyncIterator<Uint8Array>; close: () => Promise<void> } | undefined;

/** `cannot read …: no schema found` for an Arrow input without one. */
function noSchema(task: DecodeTask): Error {
  return new Error(`cannot read ${task.path} as Arrow IPC: no schema found (not an Arrow IPC file or stream?)`);
}

/** The whole file as one IPC stream (Parquet: one record batch, so each column is one contiguous buffer). */
async function readWhole(task: DecodeTask): Promise<Uint8Array> {
  if (task.served || task.rowGroups) throw new Error('a whole read is of a local file');
  const bytes = await readFile(task.path);
  if (task.format === 'parquet') {
    const options = task.limit === undefined ? { batchSize: ONE_BATCH } : { batchSize: ONE_BATCH, limit: task.limit };
    return (await parquet()).readParquet(bytes, options).intoIPCStream();
  }
  const lib = await arrow();
  const table = lib.tableFromIPC(bytes);
  if (table.schema.fields.length === 0 && bytes.length > 0) throw noSchema(task);
  return lib.tableToIPC(task.limit === undefined || table.numRows <= task.limit ? table : table.slice(0, task.limit), 'stream');
}

/** Rows in a Parquet file's footer (after `limit`); `null` for Arrow IPC. */
async function countRows(task: DecodeTask): Promise<number | null> {
  if (task.format !== 'parquet') return null;
  const file = await openParquet(task);
  try {
    const rows = file.metadata().fileMetadata().numRows();
    return task.limit === undefined ? rows : Math.min(rows, task.limit);
  } finally {
    file.free();
  }
}

/** Rows of each row group of a Parquet file (its footer). */
async function rowGroupRows(task: DecodeTask): Promise<number[]> {
  if (task.format !== 'parquet') throw new Error('only a Parquet file has row groups');
  const file = await openParquet(task);
  try {
    const meta = file.metadata();
    const rows: number[] = [];
    for (let i = 0; i < meta.numRowGroups(); i++) rows.push(meta.rowGroup(i).numRows());
    return rows;
  } finally {
    file.free();
  }
}

/** A Parquet file's schema as an IPC stream without rows (its footer). */
async function parquetSchema(task: DecodeTask): Promise<Uint8Array> {
  if (task.format !== 'parquet') throw new Error('schema requests are for Parquet files');
  const file = await openParquet(task);
  try {
    return file.schema().intoIPCStream();
  } finally {
    file.free();
  }
}

/** Opens the stream of batches; returns the schema as an IPC stream without rows. */
async function openStream(task: DecodeTask, batchRows: number): Promise<Uint8Array> {
  await closeStream();
  if (task.format === 'parquet') {
    const file = await openParquet(task);
    const schema = file.schema().intoIPCStream();
    const options = {
      batchSize: Math.min(batchRows, ONE_BATCH),
      ...(task.limit === undefined ? {} : { limit: task.limit }),
      ...(task.rowGroups === undefined ? {} : { rowGroups: task.rowGroups }),
    };
    const reader = (await file.stream(options)).getReader();
    stream = {
      batches: (async function* () {
        for (;;) {
          const next = await reader.read();
          if (next.done) return;
          yield next.value.intoIPCStream();
        }
      })(),
      close: async () => {
        await reader.cancel().catch(() => undefined);
        file.free();
      },
    };
    return schema;
  }
  if (task.served) throw new Error('served bytes are for Parquet files');
  const lib = await arrow();
  const handle: FileHandle = await open(task.path, 'r');
  try {
    const size = (await handle.stat()).size;
    const reader = await (await lib.RecordBatchReader.from(handle)).open();
    const schema = reader.schema;
    if ((!schema || schema.fields.length === 0) && size > 0) throw noSchema(task);
    stream = {
      batches: (async function* () {
        // tables of at most `batchRows` rows (zero-copy slices), the first `limit` rows
        let left = task.limit ?? Infinity;
        for await (const batch of reader as AsyncIterable<RecordBatch>) {
          for (let start = 0; start < batch.numRows && left > 0; ) {
            const take = Math.min(batchRows, batch.numRows - start, left);
            yield lib.tableToIPC(new lib.Table(batch.slice(start, start + take)), 'stream');
            start += take;
            left -= take;
          }
          if (left <= 0) return;
        }
      })(),
      close: () => handle.close(),
    };
    return lib.tableToIPC(new lib.Table(schema), 'stream');
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/** Drops the stream opened, if any. */
async function closeStream(): Promise<void> {
  const closing = stream;
  stream = undefined;
  await closing?.close().catch(() => undefined);
}

/** Answers one request. */
async function answer(request: DecodeRequest): Promise<DecodeReply> {
  switch (request.op) {
    case 'read':
      return { ok: true, ipc: await readWhole(request.task) };
    case 'count':
      return { ok: true, count: await countRows(request.task) };
    case 'layout':
      return { ok: true, rowGroupRows: await rowGroupRows(request.task) };
    case 'schema':
      return { ok: true, ipc: await parquetSchema(request.task) };
    case 'open':
      return { ok: true, ipc: await openStream(request.task, request.batchRows) };
    case 'next': {
      if (!stream) throw new Error('no stream is open');
      const next = await stream.batches.next();
      if (!next.done) return { ok: true, ipc: next.value };
      await closeStream();
      return { ok: true, done: true };
    }
    case 'reset':
      await closeStream();
      return { ok: true, done: true };
  }
}

/** An error as one line: `RuntimeError: unreachable`, a plain error's message. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.name === 'Error' ? err.message : `${err.name}: ${err.message}`;
}

parentPort!.on('message', (request: DecodeRequest | FetchReply) => {
  if (isFetchReply(request)) {
    settleFetch(request);
    return;
  }
  answer(request).then(
    (reply) => parentPort!.postMessage(reply, 'ipc' in reply ? [reply.ipc.buffer as ArrayBuffer] : []),
    (err: unknown) =>
      parentPort!.postMessage({ ok: false, message: describe(err), fatal: err instanceof WebAssembly.RuntimeError } satisfies DecodeReply),
  );
});
// both libraries are loaded before READY: the request clock never counts their loading (slow on a busy machine)
await Promise.all([parquet(), arrow()]);
parentPort!.postMessage(READY);
