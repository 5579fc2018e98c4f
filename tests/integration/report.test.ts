/**
 * The report in a real browser: a run's report is built, stored as the run's `report` artifact,
 * copied out of the store into a plain folder (as a download would), and opened from disk
 * (file://) in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) with every
 * network request refused. It must draw every figure (SVG mark elements inside each figure's
 * container), log no console error, request nothing but local files, and link only to figure files
 * that exist in the folder. A full-page screenshot goes to test-output/report.png.
 *
 * The run comes from `runSource`: a real `tiny` run of the pipeline (tests/unit/report.test.ts
 * covers the synthetic fixture of bench/report-fixture.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
import { ArtifactStore, LocalBackend } from '../../artifacts/index.ts';
import { buildReport, writeReport } from '../../report/build.ts';
import { runLocal } from '../../activities/local.ts';
import { resolveConfig } from '../../config/index.ts';
import type { RunSource } from '../../bench/report-fixture.ts';

// A real `tiny` run of the pipeline (the same steps the workflow runs, in this process).
const runSource: RunSource = async (store) => {
  await runLocal(resolveConfig({ preset: 'tiny' }), store, 'report-browser');
  const record = await store.getRun('report-browser');
  assert.ok(record, 'the run record');
  return record;
};

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'polca-report-browser-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Build, store, download and open a run's report in Chromium; every figure drawn, nothing fetched. */
async function openInChromium(
  store: ArtifactStore,
  record: Awaited<ReturnType<RunSource>>,
  name: string,
  minFigures: number,
  check: (page: import('playwright-core').Page) => Promise<void>,
): Promise<void> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (scripts/setup.mjs does it under npm test)`);
  const files = await buildReport(store, record);
  const figureNames = Object.keys(files)
    .filter((f) => f.endsWith('.svg'))
    .map((f) => f.slice('figures/'.length, -'.svg'.length))
    .sort();
  assert.ok(figureNames.length >= minFigures, `${figureNames.length} figures`);

  // store it as the run's report step and copy it out, as `polca artifacts download` would
  const manifest = await store.put({ step: 'report', version: 'test', params: null, inputs: { run: record.name } }, files);
  await store.putRun(record.name, { ...record, steps: { ...record.steps, report: manifest.key } });
  const copy: Record<string, Uint8Array> = {};
  for (const f of manifest.files) copy[f.name] = await store.get(manifest.key, f.name);
  const index = await writeReport(copy, join(dir, `downloaded-${name}`));

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => {
      requests.push(r.url());
    });
    await page.route(/^https?:/, (route) => route.abort());
    await page.goto(pathToFileURL(index).href);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 120_000 });

    const figures = await page.$$eval('figure.figure', (els) =>
      els.map((el) => ({
        id: el.id,
        failed: el.classList.contains('failed'),
        rendered: el.classList.contains('rendered'),
        marks: el.querySelectorAll('.chart svg g.role-mark > *').length,
        links: Array.from(el.querySelectorAll('a'), (a) => a.getAttribute('href') ?? ''),
      })),
    );
    assert.deepEqual(figures.map((f) => f.id.slice('fig-'.length)).sort(), figureNames);
    for (const f of figures) {
      assert.ok(f.rendered && !f.failed, `${f.id} rendered`);
      assert.ok(f.marks > 0, `${f.id} has ${f.marks} drawn mark elements`);
      for (const href of f.links) assert.ok(existsSync(resolve(dirname(index), href)), `${f.id} links to ${href}, which exists`);
    }
    assert.deepEqual(errors, []);
    const remote = requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'));
    assert.deepEqual(remote, [], 'the page requests nothing over the network');

    mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: `test-output/${name}.png`, fullPage: true });
    await check(page);
  } finally {
    await browser.close();
  }
}

test('the report opens offline in Chromium, draws every figure and logs no error', { timeout: 240_000 }, async () => {
  const store = new ArtifactStore(new LocalBackend(join(dir, 'store')));
  const record = await runSource(store);
  await openInChromium(store, record, 'report', 10, async (page) => {
    await page.locator('#fig-fig1b-polca-top-clusters').screenshot({ path: 'test-output/report-fig1b.png' });
  });
});

test('an English run’s report: every figure drawn, each shown cluster with its label and its nearest contexts as text', {
  timeout: 300_000,
}, async () => {
  const store = new ArtifactStore(new LocalBackend(join(dir, 'store-english')));
  await runLocal(resolveConfig({ preset: 'english-tiny' }), store, 'report-english');
  const record = await store.getRun('report-english');
  assert.ok(record, 'the run record');
  await openInChromium(store, record, 'report-english', 3, async (page) => {
    const clusters = await page.$$eval('#tags .cluster', (els) =>
      els.map((el) => ({ label: el.querySelector('code')?.textContent ?? '', contexts: el.querySelectorAll('ol.contexts li').length })),
    );
    assert.ok(clusters.length > 0, 'clusters shown');
    for (const c of clusters) {
      assert.match(c.label, /^[A-Z,]+( · [A-Z,]+){3}$/, `a tag label per position: ${c.label}`);
      assert.ok(c.contexts > 0 && c.contexts <= 10, `${c.contexts} contexts`);
    }
    const text = await page.locator('#tags').innerText();
    assert.match(text, /⟦.+⟧/, 'contexts shown as text with the target marked');
  });
});
