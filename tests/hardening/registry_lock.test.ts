/**
 * Concurrent registry writes lose nothing: aliases set at once, from one
 * process or from many, are all kept (their read-modify-write runs under a
 * lock file), and a lock left by a dead process is taken over.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalRegistry } from '../../ts/io/registries/registry.ts';
import { withFileLock } from '../../ts/io/lock.ts';
import { FIXTURES, ROOT } from '../core/_fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const MODEL = join(FIXTURES, 'xgb_reg_nan', 'model.json');

test('20 aliases set concurrently in one process are all kept', async (t) => {
  const dir = await tempDir(t);
  const registry = new LocalRegistry({ path: dir, name: 'm' });
  await registry.register(MODEL);
  await registry.register(MODEL);
  const names = Array.from({ length: 20 }, (_, i) => `a${i}`);
  await Promise.all(names.map((a, i) => registry.setAlias(a, 1 + (i % 2))));
  const { aliases } = await registry.list();
  t.deepEqual(Object.keys(aliases).sort(), [...names].sort());
  t.is(aliases.a3, 2);
});

function run(args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    // the CLI from its TypeScript source, as tests/cli does (no build of dist/ needed)
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'ts', 'cli.ts'), ...args], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

test('`registry register --alias` from 8 processes at once keeps every version and alias', async (t) => {
  const dir = await tempDir(t);
  const codes = await Promise.all(
    Array.from({ length: 8 }, (_, i) => run(['registry', 'register', '--model', MODEL, '--registry', dir, '--name', 'm', '--alias', `p${i}`])),
  );
  t.deepEqual(codes, Array(8).fill(0));
  const listing = await new LocalRegistry({ path: dir, name: 'm' }).list();
  t.deepEqual(listing.versions.map((v) => v.version), [1, 2, 3, 4, 5, 6, 7, 8]);
  t.deepEqual(Object.keys(listing.aliases).sort(), Array.from({ length: 8 }, (_, i) => `p${i}`).sort());
  t.deepEqual(new Set(Object.values(listing.aliases)).size, 8, 'each process aliased its own version');
});

test("a lock left by a process that no longer runs is taken over; a live owner's lock is waited for, then named", async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, 'aliases.json');
  await writeFile(`${target}.lock`, '999999999');
  t.is(await withFileLock(target, async () => 'done'), 'done');
  await writeFile(`${target}.lock`, String(process.ppid));
  await t.throwsAsync(
    withFileLock(target, async () => 'never', { timeoutMs: 50 }),
    { message: `cannot lock ${target}: ${target}.lock is held by process ${process.ppid}` },
  );
});
