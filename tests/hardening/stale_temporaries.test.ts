/**
 * Temporaries left by a crashed run (SIGKILL, OOM) are removed by the next
 * write of the same output; those of a process still running are kept.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../ts/io/atomic.ts';
import { tempDir } from '../helpers/tmp.ts';

/** The pid of a process that has exited (so no process has it, barring reuse). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

test("a dead run's temporaries are removed by the next write; a live process's are kept", async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, 'samples.csv');
  const dead = `.samples.csv.${deadPid()}.0badcafe.tmp`;
  const live = `.samples.csv.${process.ppid}.00c0ffee.tmp`;
  const other = `.other.csv.${deadPid()}.0badcafe.tmp`;
  for (const name of [dead, live, other]) await writeFile(join(dir, name), 'partial');
  await writeFileAtomic(target, 'row\n1\n');
  t.deepEqual((await readdir(dir)).sort(), [live, other, 'samples.csv'].sort());
  t.is(await readFile(target, 'utf8'), 'row\n1\n');
});
