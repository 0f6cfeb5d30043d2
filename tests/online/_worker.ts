/**
 * Worker thread of tests/online/online.test.ts: reaches the main thread's model by its
 * share id and explains rows one at a time, as a service's worker would.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TreeModel } from '../../ts/native/tree_model.ts';

const { id, rows, m, rounds } = workerData as { id: number; rows: Float64Array; m: number; rounds: number };
const model = TreeModel.fromShared(id);
const n = rows.length / m;
const out: Float64Array[] = [];
for (let round = 0; round < rounds; round++) {
  for (let r = 0; r < n; r++) {
    const v = model.explainRowSync(rows.subarray(r * m, (r + 1) * m));
    if (round === 0) out.push(v);
    else if (v.some((x, i) => !Object.is(x, out[r][i]))) throw new Error(`row ${r} changed in round ${round}`);
  }
}
parentPort!.postMessage(out);
