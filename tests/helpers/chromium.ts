/**
 * Headless Chromium for the report specs (puppeteer-core driving the system's
 * Chromium — Debian's `chromium`, which scripts/ensure-chromium.sh installs; or
 * `CHROMIUM_PATH`). There is no skip: without a browser the specs fail, naming the
 * script that installs one.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

const ROOT = join(import.meta.dirname, '..', '..');

/** The Chromium executable: `CHROMIUM_PATH`, else the one on PATH (installed by scripts/ensure-chromium.sh when absent). */
export function chromiumPath(): string {
  const env = process.env.CHROMIUM_PATH;
  if (env && existsSync(env)) return env;
  try {
    return execFileSync('bash', [join(ROOT, 'scripts', 'ensure-chromium.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`no headless Chromium for the report specs: ${stderr || (err as Error).message} (see scripts/ensure-chromium.sh)`);
  }
}

/** Starts headless Chromium (no sandbox: CI containers run as root). */
export async function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
}
