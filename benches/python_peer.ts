/**
 * A long-lived Python worker of the benches (benches/peer.py, benches/latency_peer.py):
 * one JSON command per line on its stdin, one JSON answer per line on its stdout, run
 * with the project's `.venv` Python (or `$ARROWSHAP_BENCH_PYTHON`: another interpreter with the
 * peers installed).
 */
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The Python of the bench peers: `$ARROWSHAP_BENCH_PYTHON`, else the project's `.venv`. */
export const benchPython = process.env.ARROWSHAP_BENCH_PYTHON || join(root, '.venv', 'bin', 'python');

/** One Python peer process. */
export class PythonPeer {
  private proc;
  private lines;

  /** Starts `benches/<script>` with {@link benchPython}. */
  constructor(script: string) {
    this.proc = spawn(benchPython, [join(root, 'benches', script)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.proc.stdout! })[Symbol.asyncIterator]();
  }

  /** Sends one command and waits for its answer; an answer with `error` rejects. */
  async call(cmd: object): Promise<any> {
    this.proc.stdin!.write(JSON.stringify(cmd) + '\n');
    const { value, done } = await this.lines.next();
    if (done) throw new Error('the Python peer exited');
    const res = JSON.parse(value);
    if (res.error) throw new Error(`peer: ${res.error}`);
    return res;
  }

  /** Ends the worker (it exits at the end of its input). */
  close() {
    this.proc.stdin!.end();
  }
}
