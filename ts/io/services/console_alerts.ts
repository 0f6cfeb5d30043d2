/** Alerts printed to stderr. */
import type { Writable } from 'node:stream';
import { z } from 'zod';
import type { AlertFields, Alerts } from './alerts.ts';

/** `{KIND: ConsoleAlerts}` */
export const ConsoleAlertsConfig = z.object({ KIND: z.literal('ConsoleAlerts') }).strict();
/** `{KIND: ConsoleAlerts}` */
export type ConsoleAlertsConfig = z.input<typeof ConsoleAlertsConfig>;

/**
 * Prints each alert as a block on stderr (never stdout):
 * ```
 * [alert] Explanations done: bikes@Champion on 1000 samples
 *   rows: 1000
 *   seconds: 1.2
 * ```
 */
export class ConsoleAlerts implements Alerts {
  private readonly stream: Writable;

  /** @param opts.stream where to print instead of stderr (tests). */
  constructor(opts: { stream?: Writable } = {}) {
    this.stream = opts.stream ?? process.stderr;
  }

  async notify(title: string, message: string, fields: AlertFields = {}): Promise<void> {
    const lines = [`[alert] ${title}: ${message}`, ...Object.entries(fields).map(([k, v]) => `  ${k}: ${v}`)];
    this.stream.write(`${lines.join('\n')}\n`);
  }

  describe(): string {
    return 'ConsoleAlerts';
  }
}
