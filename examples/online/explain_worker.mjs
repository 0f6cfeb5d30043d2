// Entry of the example's worker threads: Node 20 workers do not inherit the main
// thread's `--import tsx` hooks, so register tsx here, then run the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./explain_worker.ts');
