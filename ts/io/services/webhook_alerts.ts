/**
 * Alerts POSTed to a Slack-compatible incoming webhook (Slack, Mattermost,
 * Rocket.Chat, or anything that accepts `{text, blocks}` JSON).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { AlertFields, Alerts } from './alerts.ts';

/** `{KIND: WebhookAlerts, url, timeout_ms?}` */
export const WebhookAlertsConfig = z
  .object({
    KIND: z.literal('WebhookAlerts'),
    /** The webhook URL (http or https). */
    url: z.url({ protocol: /^https?$/ }),
    /** Per-attempt timeout (default 5000 ms). */
    timeout_ms: z.number().int().positive().default(5000),
  })
  .strict();
/** `{KIND: WebhookAlerts, url, timeout_ms?}` */
export type WebhookAlertsConfig = z.input<typeof WebhookAlertsConfig>;

/** A Slack block (the subset used here). */
type Block =
  | { type: 'header'; text: { type: 'plain_text'; text: string } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'section'; fields: { type: 'mrkdwn'; text: string }[] };

/** The JSON body POSTed for one alert. */
export interface WebhookBody {
  /** Fallback text (notifications, clients without blocks). */
  text: string;
  blocks: Block[];
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The Slack-compatible body of an alert: `text` = `title: message`, then a header
 * block (title), a section (message) and sections of at most 10 fields each
 * (`*key*\nvalue`), clipped to Slack's length limits.
 */
export function webhookBody(title: string, message: string, fields: AlertFields = {}): WebhookBody {
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(title, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(message || ' ', 3000) } },
  ];
  const entries = Object.entries(fields).map(([k, v]) => ({ type: 'mrkdwn' as const, text: clip(`*${k}*\n${v}`, 2000) }));
  for (let i = 0; i < entries.length; i += 10) blocks.push({ type: 'section', fields: entries.slice(i, i + 10) });
  return { text: `${title}: ${message}`, blocks };
}

/**
 * The URL as shown in errors and logs: webhook URLs carry their secret in the
 * path (Slack: `/services/T…/B…/SECRET`) or query, so only the origin and the
 * first two path segments are shown, and credentials and query are dropped.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const segments = u.pathname.split('/').filter(Boolean);
    const path = segments.length > 2 ? `/${segments.slice(0, 2).join('/')}/…` : u.pathname;
    return `${u.origin}${path}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * What a server answered, safe to put in a log line: at most `max` characters,
 * quoted and escaped as a JSON string, so that a hostile body cannot inject
 * lines, terminal escapes or fake log fields.
 */
export function quoteAnswer(text: string, max = 200): string {
  return JSON.stringify(clip(text.trim(), max)).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function parseUrl(href: string, base: string): URL | undefined {
  try {
    return new URL(href, base);
  } catch {
    return undefined;
  }
}

/** Redirects followed at most per attempt (same origin, 307/308 only). */
const MAX_REDIRECTS = 3;

/** Why one attempt failed, and whether a retry may help. */
interface AttemptFailure {
  reason: string;
  retry: boolean;
}

/**
 * POSTs each alert as JSON to a webhook with `fetch`, each attempt bounded by
 * `timeout_ms`. A network error, a timeout or a 5xx answer is retried once after a
 * short delay; then (or at once for a 4xx) the error names the URL and the status.
 */
export class WebhookAlerts implements Alerts {
  readonly url: string;
  readonly timeoutMs: number;
  /** Delay before the single retry, ms. */
  readonly retryDelayMs: number;
  private readonly timeoutSignal: (ms: number) => AbortSignal;

  /**
   * @param opts.retryDelayMs delay before the retry (default 1 s).
   * @param opts.timeoutSignal the signal bounding one attempt, given `timeout_ms`
   *   (default `AbortSignal.timeout`; tests pass one they fire themselves).
   */
  constructor(
    config: { url: string; timeout_ms?: number },
    opts: { retryDelayMs?: number; timeoutSignal?: (ms: number) => AbortSignal } = {},
  ) {
    this.url = config.url;
    this.timeoutMs = config.timeout_ms ?? 5000;
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
    this.timeoutSignal = opts.timeoutSignal ?? ((ms) => AbortSignal.timeout(ms));
  }

  async notify(title: string, message: string, fields: AlertFields = {}): Promise<void> {
    const body = JSON.stringify(webhookBody(title, message, fields));
    let failure = await this.attempt(body);
    if (failure?.retry) {
      await sleep(this.retryDelayMs);
      failure = await this.attempt(body);
    }
    if (failure) throw new Error(`webhook alert to ${redactUrl(this.url)} failed: ${failure.reason}`);
  }

  /**
   * One POST, following at most {@link MAX_REDIRECTS} redirects that keep the
   * method and body (307/308) and stay on the webhook's origin: the alert (and
   * the secret in the URL's path) is never re-posted to another server.
   */
  private async attempt(body: string): Promise<AttemptFailure | undefined> {
    let res: Response;
    try {
      const signal = this.timeoutSignal(this.timeoutMs);
      let url = this.url;
      for (let hop = 0; ; hop++) {
        res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal, redirect: 'manual' });
        if (res.status < 300 || res.status >= 400) break;
        await res.body?.cancel().catch(() => undefined);
        const location = res.headers.get('location');
        const next = location === null ? undefined : parseUrl(location, url);
        if (!next) return { reason: `HTTP ${res.status} redirect without a valid Location`, retry: false };
        if (next.origin !== new URL(this.url).origin) {
          return { reason: `HTTP ${res.status} redirect to another origin (${next.origin}), not followed`, retry: false };
        }
        if (res.status !== 307 && res.status !== 308) {
          return { reason: `HTTP ${res.status} redirect would turn the POST into a GET, not followed`, retry: false };
        }
        if (hop + 1 > MAX_REDIRECTS) return { reason: `more than ${MAX_REDIRECTS} redirects`, retry: false };
        url = next.href;
      }
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        return { reason: `timed out after ${this.timeoutMs} ms`, retry: true };
      }
      return { reason: e.cause?.code ?? e.cause?.message ?? e.message, retry: true };
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return undefined;
    const detail = text.trim() ? `: ${quoteAnswer(text)}` : '';
    const statusText = clip(res.statusText.replace(/[^\x20-\x7e]/g, '?'), 60);
    const status = statusText ? ` ${statusText}` : '';
    return { reason: `HTTP ${res.status}${status}${detail}`, retry: res.status >= 500 };
  }

  describe(): string {
    return `WebhookAlerts(${redactUrl(this.url)})`;
  }
}
