/**
 * Starts the online explanation service of ./service.ts.
 *
 *     npx tsx examples/online/server.ts [MODEL] [--port N] [--host H] [--workers N]
 *
 * MODEL defaults to the bundled diabetes model (examples/models/diabetes.ubj); port 8080
 * (0 = any free port); `--workers N` explains on N worker threads sharing the model
 * (default 0: on the HTTP thread). Prints `listening on http://HOST:PORT` once ready.
 */
import { join } from 'node:path';
import { TreeModel } from '../../ts/index.ts';
import { createExplainServer } from './service.ts';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  if (v === undefined) throw new Error(`${name} needs a value`);
  return v;
};
const port = Number(flag('--port', '8080'));
const host = flag('--host', '127.0.0.1');
const workers = Number(flag('--workers', '0'));
const modelPath = args[0] ?? join(import.meta.dirname, '..', 'models', 'diabetes.ubj');
const server = createExplainServer(TreeModel.fromFile(modelPath), { workers });
server.listen(port, host, () => {
  const a = server.address();
  console.log(`listening on http://${host}:${typeof a === 'object' && a ? a.port : port} (model ${modelPath}, ${workers} worker threads)`);
});
