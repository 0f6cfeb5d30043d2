/** Aborting long work: the one error every cancelled step (reading, native work, writing) rejects with. */

/** The error a run rejects with when its signal aborts it: named `AbortError`, carrying the reason's message. */
export function abortError(signal?: AbortSignal): Error {
  const reason = signal?.reason;
  const err = new Error(reason instanceof Error ? reason.message : 'the operation was aborted');
  err.name = 'AbortError';
  return err;
}

/** Throws {@link abortError} when `signal` is aborted. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}
