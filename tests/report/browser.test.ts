/**
 * The HTML reports opened in headless Chromium: no console error, no request
 * beyond the file itself (nothing from a CDN), every chart an SVG with marks, and a
 * full-page screenshot (kept in ARROWSHAP_SCREENSHOT_DIR when set).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'puppeteer-core';
import { ReportCollector } from '../../ts/report/collector.ts';
import { buildCompareReport } from '../../ts/report/compare_report.ts';
import { compareExplanations } from '../../ts/report/drift.ts';
import { Explanation } from '../../ts/report/explanation.ts';
import { buildReport, writeReport } from '../../ts/report/report.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { tempDir } from '../helpers/tmp.ts';
import { DIABETES, explainFile, SOFTPROB } from './_report.ts';

let browser: Browser | undefined;
test.before(async () => {
  browser = await launchChromium();
});
test.after.always(async () => {
  await browser?.close();
});

interface Opened {
  errors: string[];
  requests: string[];
  charts: { id: string; svgs: number; marks: number; width: number; height: number }[];
  screenshot: Uint8Array;
}

/** Opens `file` in Chromium and reads what the page shows. */
async function open(file: string, screenshotName: string): Promise<Opened> {
  const page = await browser!.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${String(e)}`));
  page.on('requestfailed', (r) => errors.push(`requestfailed: ${r.url()}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.setViewport({ width: 1300, height: 900 });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  // closed <details> (the other classes' views) are not laid out: open them to measure every chart
  await page.$$eval('details', (all) => all.forEach((d) => (d.open = true)));
  const charts = await page.$$eval('figure.chart', (figs) =>
    figs.map((f) => {
      const svg = f.querySelector('svg');
      const box = svg?.getBoundingClientRect();
      // marks: the items Vega drew in its mark groups (bars, dots, rules, text), axes and legends excluded
      const marks = f.querySelectorAll('g.role-mark > *').length;
      return { id: f.id, svgs: f.querySelectorAll('svg').length, marks, width: box?.width ?? 0, height: box?.height ?? 0 };
    }),
  );
  const dir = process.env.ARROWSHAP_SCREENSHOT_DIR;
  const screenshot = await page.screenshot({ fullPage: true, ...(dir ? { path: join(dir, screenshotName) as `${string}.png` } : {}) });
  await page.close();
  return { errors, requests, charts, screenshot };
}

function checkOpened(t: import('ava').ExecutionContext, opened: Opened, file: string, expectedCharts: string[]) {
  t.deepEqual(opened.errors, [], 'no console errors');
  t.deepEqual(opened.requests, [pathToFileURL(file).href], 'one request: the file itself (no CDN, no asset)');
  t.deepEqual(opened.charts.map((c) => c.id).sort(), [...expectedCharts].sort());
  for (const c of opened.charts) {
    t.is(c.svgs, 1, `${c.id}: one svg`);
    t.true(c.marks > 0, `${c.id}: marks drawn`);
    t.true(c.width > 100 && c.height > 50, `${c.id}: visible (${c.width}×${c.height})`);
  }
  // a PNG with content (a blank page compresses to a few KB)
  t.deepEqual([...opened.screenshot.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  t.true(opened.screenshot.length > 50_000, `screenshot ${opened.screenshot.length} bytes`);
}

test('single-output report with interactions: every chart rendered in Chromium, no console error', async (t) => {
  const run = await explainFile(DIABETES.model, DIABETES.inputs, { interactions: true });
  const collector = new ReportCollector(run.model.featureNames, 1, { sampleRows: 300 });
  collector.add(run.samples.batches[0], run.columns, run.interactions!.batches[0]);
  const html = await buildReport({
    card: { modelUri: 'models:/diabetes@Champion', version: 1, algorithm: 'tree-path-dependent', objective: run.model.objective, trees: run.model.numTrees },
    sample: collector.result(),
    importances: run.modelsTable,
  });
  const file = join(await tempDir(t), 'report.html');
  await writeReport(file, html);
  t.is(readFileSync(file, 'utf8'), html);
  t.notRegex(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'no script, no external URL');
  t.regex(html, /300 of 442 rows \(uniform reservoir sample\)/);
  const opened = await open(file, 'report-diabetes.png');
  const dependence = opened.charts.filter((c) => c.id.startsWith('dependence-')).map((c) => c.id);
  t.is(dependence.length, 4);
  checkOpened(t, opened, file, ['bar', 'beeswarm', ...dependence, 'waterfall-0', 'waterfall-1', 'waterfall-2']);
  t.regex(html, /\(strongest interaction\)/);
});

test('multi-output report: per-class views, each rendered', async (t) => {
  const run = await explainFile(SOFTPROB.model, SOFTPROB.inputs);
  const collector = new ReportCollector(run.model.featureNames, 3, { outputNames: ['setosa', 'versicolor', 'virginica'], rows: [0, 7] });
  collector.add(run.samples.batches[0], run.columns);
  const html = await buildReport({ card: { modelUri: 'file:model.json', algorithm: 'tree-path-dependent' }, sample: collector.result(), importances: run.modelsTable, dependencePlots: 2 });
  const file = join(await tempDir(t), 'multi.html');
  await writeReport(file, html);
  const opened = await open(file, 'report-multiclass.png');
  const expected = ['bar'];
  for (let o = 0; o < 3; o++) {
    expected.push(`beeswarm-${o}`, `waterfall-${o}-0`, `waterfall-${o}-1`);
    expected.push(...opened.charts.filter((c) => c.id.startsWith(`dependence-${o}-`)).map((c) => c.id));
  }
  t.is(expected.length, 1 + 3 * 5);
  checkOpened(t, opened, file, expected);
  t.regex(html, /<details id="output-1"><summary>versicolor<\/summary>/);
});

test('drift report of a model and its retrained version: rendered, the dropped feature highlighted', async (t) => {
  const a = await explainFile('tests/fixtures/drift/champion.json', 'tests/fixtures/drift/inputs.csv');
  const b = await explainFile('tests/fixtures/drift/challenger.json', 'tests/fixtures/drift/inputs.csv');
  const ea = Explanation.fromTables(a.samples, { inputs: a.columns });
  const eb = Explanation.fromTables(b.samples, { inputs: b.columns });
  const drift = compareExplanations(ea, eb, { labels: ['Champion', 'Challenger'] });
  const html = await buildCompareReport({
    drift,
    cards: [
      { modelUri: 'models:/drift@Champion', version: 1, algorithm: 'tree-path-dependent' },
      { modelUri: 'models:/drift@Challenger', version: 2, algorithm: 'tree-path-dependent' },
    ],
    samples: [ea, eb],
  });
  const file = join(await tempDir(t), 'compare.html');
  await writeReport(file, html);
  const opened = await open(file, 'report-compare.png');
  checkOpened(t, opened, file, ['compare', 'beeswarm-0', 'beeswarm-1']);
  t.regex(html, /<tr class="alert"><td>f2 \(not in Challenger\)<\/td>/);
  t.regex(html, /f2: absent from Challenger/);
});
