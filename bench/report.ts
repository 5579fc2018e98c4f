/**
 * Report build time and page size on a synthetic run of a given shape (default: the `paper`
 * preset's: 1250 evaluation examples = 5000 tokens, 3000 iterations, a checkpoint every 5 = 601
 * checkpoints, a basis vector every 100 = 30 vectors), and the time headless Chromium takes to draw
 * the page. `node --import tsx bench/report.ts [evalSize iterations checkpointEvery basisEvery]`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ArtifactStore, LocalBackend } from '../artifacts/index.ts';
import { makeRun } from './report-fixture.ts';
import { buildReportWithData, writeReport } from '../report/build.ts';
import { loadReportData } from '../report/data.ts';

const [evalSize, iterations, checkpointEvery, basisEvery] = (
  process.argv.slice(2).length ? process.argv.slice(2) : ['1250', '3000', '5', '100']
).map(Number);
const dir = mkdtempSync(join(tmpdir(), 'polca-report-bench-'));
try {
  const store = new ArtifactStore(new LocalBackend(join(dir, 'store')));
  let t = performance.now();
  const record = await makeRun(store, {
    name: 'bench',
    evalSize,
    iterations,
    checkpointEvery,
    basisEvery,
    variant: 'path',
    polcaVectors: 1,
  });
  const fixtureS = (performance.now() - t) / 1000;
  t = performance.now();
  await loadReportData(store, record);
  const loadS = (performance.now() - t) / 1000;
  t = performance.now();
  const built = await buildReportWithData(store, record);
  const buildS = (performance.now() - t) / 1000;
  const index = await writeReport(built.files, join(dir, 'report'));
  const sizes = Object.entries(built.files);
  const htmlBytes = built.files['index.html'].byteLength;
  const svgBytes = sizes.filter(([k]) => k.endsWith('.svg')).reduce((s, [, v]) => s + v.byteLength, 0);
  const pngBytes = sizes.filter(([k]) => k.endsWith('.png')).reduce((s, [, v]) => s + v.byteLength, 0);
  let browserS = Number.NaN;
  try {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    const page = await browser.newPage();
    t = performance.now();
    await page.goto(pathToFileURL(index).href);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 300_000 });
    browserS = (performance.now() - t) / 1000;
    await browser.close();
  } catch (e) {
    console.error(`browser timing skipped: ${(e as Error).message}`);
  }
  const T1 = built.data.checkpointIterations.length;
  console.log(
    JSON.stringify(
      {
        shape: { tokens: evalSize * 4, checkpoints: T1, basisVectors: built.data.basis.length, figures: built.figures.length },
        fixtureS: +fixtureS.toFixed(1),
        loadS: +loadS.toFixed(2),
        buildS: +buildS.toFixed(2),
        htmlMB: +(htmlBytes / 1e6).toFixed(2),
        specsMB: +((htmlBytes - 772_000) / 1e6).toFixed(2),
        svgMB: +(svgBytes / 1e6).toFixed(2),
        pngMB: +(pngBytes / 1e6).toFixed(2),
        browserDrawS: +browserS.toFixed(2),
        rssMB: Math.round(process.memoryUsage().rss / 1e6),
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
