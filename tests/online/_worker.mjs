// Worker entry of tests/online/online.test.ts: Node 20 workers do not inherit the
// parent's `--import tsx` hooks, so register tsx here, then run the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./_worker.ts');
