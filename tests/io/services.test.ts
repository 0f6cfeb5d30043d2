import test, { type ExecutionContext } from 'ava';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import {
  ConsoleAlerts,
  createAlerts,
  WebhookAlerts,
} from '../../ts/io/services/alerts.ts';
import { redactUrl, webhookBody } from '../../ts/io/services/webhook_alerts.ts';
import { createLogger } from '../../ts/io/services/logger.ts';

/** Collects what is written to a stream. */
function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Waits for winston to flush. */
const tick = () => new Promise((r) => setImmediate(r));

test('json logger: one JSON object per line, level filtered', async (t) => {
  const out = sink();
  const logger = createLogger({ level: 'info', format: 'json' }, { stream: out.stream });
  logger.debug('hidden');
  logger.info('read inputs', { rows: 3, path: 'a b.csv' });
  logger.error('boom');
  await tick();
  const lines = out.text().trim().split('\n').map((l) => JSON.parse(l));
  t.is(lines.length, 2);
  t.like(lines[0], { level: 'info', message: 'read inputs', rows: 3, path: 'a b.csv' });
  t.like(lines[1], { level: 'error', message: 'boom' });
  t.true(!Number.isNaN(Date.parse(lines[0].timestamp)));
});

test('pretty logger: time level message key=value, no colors on a stream', async (t) => {
  const out = sink();
  const logger = createLogger({ level: 'debug' }, { stream: out.stream });
  logger.debug('loaded', { model: 'bikes@Champion', trees: 100 });
  logger.warn('slow "path"');
  await tick();
  const lines = out.text().trim().split('\n');
  t.regex(lines[0], /^\d\d:\d\d:\d\d\.\d{3} debug loaded model=bikes@Champion trees=100$/);
  t.regex(lines[1], /^\d\d:\d\d:\d\d\.\d{3} warn  slow "path"$/);
  t.false(out.text().includes('\u001b['));
});

test('pretty logger with colors colorizes the level', async (t) => {
  const out = sink();
  const logger = createLogger({}, { stream: out.stream, colors: true });
  logger.info('hello');
  await tick();
  t.true(out.text().includes('\u001b['));
});

test('logger config is strict, with defaults', (t) => {
  t.is(createLogger().level, 'info');
  t.is(createLogger({ level: 'debug' }).level, 'debug');
  t.throws(() => createLogger({ level: 'info', colour: true }, {}, 'job.logger'), {
    message: 'invalid logger config: unknown key `job.logger.colour`',
  });
  t.throws(() => createLogger({ level: 'trace' }, {}, 'job.logger'), { message: /^invalid logger config: job\.logger\.level: / });
});

test('ConsoleAlerts prints a block with the fields', async (t) => {
  const out = sink();
  await new ConsoleAlerts({ stream: out.stream }).notify('Explanations done', 'bikes@Champion', { rows: 1000, file: 'o.parquet' });
  t.is(out.text(), '[alert] Explanations done: bikes@Champion\n  rows: 1000\n  file: o.parquet\n');
});

test('alerts configs: ConsoleAlerts by default, strict, URL checked', (t) => {
  t.true(createAlerts() instanceof ConsoleAlerts);
  t.true(createAlerts(undefined) instanceof ConsoleAlerts);
  const hook = createAlerts({ KIND: 'WebhookAlerts', url: 'https://hooks.example.com/services/T1/B2/SECRET' }) as WebhookAlerts;
  t.is(hook.timeoutMs, 5000);
  t.is(hook.describe(), 'WebhookAlerts(https://hooks.example.com/services/T1/…)');
  t.throws(() => createAlerts({ KIND: 'WebhookAlerts', url: 'https://x.test', channel: '#ops' }, 'job.alerts'), {
    message: 'invalid alerts config: unknown key `job.alerts.channel`',
  });
  t.throws(() => createAlerts({ KIND: 'WebhookAlerts', url: 'not a url' }, 'job.alerts'), { message: /^invalid alerts config: job\.alerts\.url: / });
  t.throws(() => createAlerts({ KIND: 'WebhookAlerts', url: 'ftp://x.test/a' }), { message: /^invalid alerts config: url: / });
  t.throws(() => createAlerts({ KIND: 'WebhookAlerts', url: 'https://x.test', timeout_ms: 0 }), { message: /timeout_ms/ });
});

test('webhookBody is Slack-compatible: text, header, message, fields in sections of 10', (t) => {
  const fields = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, i]));
  const body = webhookBody('Done', 'all good', fields);
  t.is(body.text, 'Done: all good');
  t.deepEqual(body.blocks[0], { type: 'header', text: { type: 'plain_text', text: 'Done' } });
  t.deepEqual(body.blocks[1], { type: 'section', text: { type: 'mrkdwn', text: 'all good' } });
  t.is(body.blocks.length, 4);
  t.deepEqual((body.blocks[2] as { fields: unknown[] }).fields[0], { type: 'mrkdwn', text: '*k0*\n0' });
  t.is((body.blocks[3] as { fields: unknown[] }).fields.length, 2);
  t.is((webhookBody('x'.repeat(400), 'm').blocks[0] as { text: { text: string } }).text.text.length, 150);
});

test('redactUrl hides webhook secrets', (t) => {
  t.is(redactUrl('https://hooks.slack.com/services/T000/B000/XXXXSECRET'), 'https://hooks.slack.com/services/T000/…');
  t.is(redactUrl('http://user:pw@127.0.0.1:8080/hook?token=abc'), 'http://127.0.0.1:8080/hook?…');
  t.is(redactUrl('http://127.0.0.1:9/hook'), 'http://127.0.0.1:9/hook');
});

/** A local HTTP server answering with `respond`; records every request. */
async function server(
  t: ExecutionContext,
  respond: (n: number, req: IncomingMessage, res: ServerResponse) => void,
) {
  const requests: { method?: string; url?: string; type?: string; body: string }[] = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, type: req.headers['content-type'], body });
      respond(requests.length, req, res);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`, requests };
}

test('WebhookAlerts POSTs the Slack JSON body', async (t) => {
  const { url, requests } = await server(t, (_n, _req, res) => res.end('ok'));
  await new WebhookAlerts({ url }).notify('Explanations done', 'bikes v2 on 3 rows', { rows: 3, seconds: 0.25 });
  t.is(requests.length, 1);
  t.is(requests[0].method, 'POST');
  t.is(requests[0].url, '/hook');
  t.is(requests[0].type, 'application/json');
  t.deepEqual(JSON.parse(requests[0].body), {
    text: 'Explanations done: bikes v2 on 3 rows',
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: 'Explanations done' } },
      { type: 'section', text: { type: 'mrkdwn', text: 'bikes v2 on 3 rows' } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*rows*\n3' },
          { type: 'mrkdwn', text: '*seconds*\n0.25' },
        ],
      },
    ],
  });
});

test('WebhookAlerts retries once after a 500, then succeeds', async (t) => {
  const { url, requests } = await server(t, (n, _req, res) => {
    res.statusCode = n === 1 ? 500 : 200;
    res.end(n === 1 ? 'busy' : 'ok');
  });
  await new WebhookAlerts({ url }, { retryDelayMs: 10 }).notify('t', 'm');
  t.is(requests.length, 2);
  t.is(requests[0].body, requests[1].body);
});

test('WebhookAlerts gives up after the retry, naming the URL and the status', async (t) => {
  const { url, requests } = await server(t, (_n, _req, res) => {
    res.statusCode = 503;
    res.end('down for maintenance');
  });
  await t.throwsAsync(new WebhookAlerts({ url }, { retryDelayMs: 10 }).notify('t', 'm'), {
    message: `webhook alert to ${url} failed: HTTP 503 Service Unavailable: "down for maintenance"`,
  });
  t.is(requests.length, 2);
});

test('WebhookAlerts does not retry a 4xx', async (t) => {
  const { url, requests } = await server(t, (_n, _req, res) => {
    res.statusCode = 404;
    res.end('no_service');
  });
  await t.throwsAsync(new WebhookAlerts({ url }, { retryDelayMs: 10 }).notify('t', 'm'), {
    message: `webhook alert to ${url} failed: HTTP 404 Not Found: "no_service"`,
  });
  t.is(requests.length, 1);
});

test('WebhookAlerts to an unreachable port: the error names the URL', async (t) => {
  // a port that was just free: listen, note it, close
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const url = `http://127.0.0.1:${port}/hook`;
  await t.throwsAsync(new WebhookAlerts({ url }, { retryDelayMs: 10 }).notify('t', 'm'), {
    message: `webhook alert to ${url} failed: ECONNREFUSED`,
  });
});

test('WebhookAlerts times out each attempt after timeout_ms', async (t) => {
  // Each attempt's timeout fires once the server holds that attempt's request (it
  // never answers): no race with the wall clock however loaded the machine is.
  const timers: { ms: number; fire: () => void }[] = [];
  const { url, requests } = await server(t, () => timers[timers.length - 1].fire());
  const timeoutSignal = (ms: number) => {
    const controller = new AbortController();
    timers.push({ ms, fire: () => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')) });
    return controller.signal;
  };
  await t.throwsAsync(new WebhookAlerts({ url, timeout_ms: 150 }, { retryDelayMs: 10, timeoutSignal }).notify('t', 'm'), {
    message: `webhook alert to ${url} failed: timed out after 150 ms`,
  });
  t.deepEqual(timers.map((x) => x.ms), [150, 150]);
  t.is(requests.length, 2);
});

test('WebhookAlerts does not follow a redirect to another origin (the alert is not re-posted elsewhere)', async (t) => {
  const other = await server(t, (_n, _req, res) => res.end('ok'));
  const { url, requests } = await server(t, (_n, _req, res) => {
    res.statusCode = 307;
    res.setHeader('location', other.url);
    res.end();
  });
  const otherOrigin = new URL(other.url).origin;
  await t.throwsAsync(new WebhookAlerts({ url }, { retryDelayMs: 10 }).notify('t', 'm'), {
    message: `webhook alert to ${url} failed: HTTP 307 redirect to another origin (${otherOrigin}), not followed`,
  });
  t.is(requests.length, 1);
  t.is(other.requests.length, 0);
});

test('WebhookAlerts follows a same-origin 307 with the same POST body', async (t) => {
  const { url, requests } = await server(t, (n, _req, res) => {
    if (n === 1) {
      res.statusCode = 307;
      res.setHeader('location', '/hook2');
    }
    res.end('ok');
  });
  await new WebhookAlerts({ url }).notify('t', 'm');
  t.deepEqual(
    requests.map((r) => [r.method, r.url]),
    [
      ['POST', '/hook'],
      ['POST', '/hook2'],
    ],
  );
  t.is(requests[0].body, requests[1].body);
});

test("WebhookAlerts quotes, escapes and truncates the server's answer (no injected log lines)", async (t) => {
  const { url } = await server(t, (_n, _req, res) => {
    res.statusCode = 400;
    res.end(`bad\nlevel=error msg="forged"\u001b[31m${'x'.repeat(500)}`);
  });
  const err = await t.throwsAsync(new WebhookAlerts({ url }, { retryDelayMs: 10 }).notify('t', 'm'));
  t.false(err!.message.includes('\n'));
  t.false(err!.message.includes('\u001b'));
  t.true(err!.message.startsWith(`webhook alert to ${url} failed: HTTP 400 Bad Request: "bad\\nlevel=error msg=\\"forged\\"\\u001b[31mxxx`));
  t.true(err!.message.length < url.length + 300, `${err!.message.length} characters`);
});
