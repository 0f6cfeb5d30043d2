/**
 * A worker thread of the example service (`--workers N`): reaches the main thread's
 * loaded model by its share id (the same native model, no copy) and explains the rows
 * the main thread posts, one message per request.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RowInputError, TreeModel, type RowValues } from '../../ts/index.ts';

/** What the main thread posts: a request id and the request's `features`. */
export interface Job {
  id: number;
  features: RowValues;
}
/** What the worker answers: the values, or the message of a row that does not fit. */
export type Answer = { id: number; values: Float64Array } | { id: number; error: string; badInput: boolean };

const model = TreeModel.fromShared((workerData as { modelId: number }).modelId);
parentPort!.on('message', ({ id, features }: Job) => {
  try {
    const values = model.explainRowSync(features);
    parentPort!.postMessage({ id, values } satisfies Answer);
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    parentPort!.postMessage({ id, error, badInput: e instanceof RowInputError } satisfies Answer);
  }
});
