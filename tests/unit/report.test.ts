/**
 * The report of a synthetic run (bench/report-fixture.ts) in a temporary local store:
 * every figure rendered as SVG with marks and as a PNG, the page self-contained (no remote script
 * or link, only relative figure links, every spec with inline data), and the aggregated numbers
 * the figures draw checked against DuckDB queries over the same Parquet files.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { ArtifactStore, LocalBackend, type RunRecord } from '../../artifacts/index.ts';
import { reportCommand } from '../../cli/report.ts';
import { buildReportWithData } from '../../report/build.ts';
import { bins, DIGIT_NAMES, groupName, loadReportData, quantileSelect, quantileSorted, selectKth, thin } from '../../report/data.ts';
import { logAxis } from '../../report/figures.ts';
import { type ClaimFamily, claimChecks as checkClaims } from '../../report/claims.ts';
import { claimChecks } from '../../report/metrics.ts';
import { textWidth } from '../../report/render.ts';
import { buildSweepReport } from '../../report/sweep.ts';
import { makeRun } from '../../bench/report-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'polca-report-unit-'));
const root = join(dir, 'store');
const store = new ArtifactStore(new LocalBackend(root));
const record = await makeRun(store, { name: 'report-unit' });
const built = await buildReportWithData(store, record);
const html = Buffer.from(built.files['index.html']).toString('utf8');
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
after(() => {
  con.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

const file = (step: string, name: string) => join(root, 'objects', record.steps[step], name);
const files = (prefix: string, name: string) =>
  `[${Object.keys(record.steps)
    .filter((s) => s.startsWith(prefix))
    .map((s) => `'${file(s, name)}'`)
    .join(', ')}]`;
async function sql(q: string): Promise<Record<string, unknown>[]> {
  return (await con.runAndReadAll(q)).getRowObjects() as Record<string, unknown>[];
}
const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

const m = Object.keys(record.steps).filter((s) => s.startsWith('basis/')).length;

test('every figure is rendered: an SVG with marks and a PNG of positive size', () => {
  const expected = [
    'training-loss',
    'eval-by-digit',
    'fig1a-absdloss-clusters',
    'fig1b-polca-top-clusters',
    'fig1c-ground-truth',
    'fig2-loss-by-digit',
    'fig3-absdloss-by-digit',
    'homogeneity-loss',
    'homogeneity-dloss',
    'homogeneity-absdloss',
    ...Array.from({ length: m }, (_, j) => `homogeneity-polca-${j}`),
    'basis',
    'completeness',
    'claim',
  ];
  assert.deepEqual(built.figures.map((f) => f.name).sort(), [...expected].sort());
  for (const f of built.figures) {
    assert.ok(f.caption.length > 40, `${f.name} has a caption`);
    const svg = Buffer.from(built.files[`figures/${f.name}.svg`]).toString('utf8');
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, f.name);
    const marks = svg.match(/class="mark-[a-z]+ role-mark/g) ?? [];
    assert.ok(marks.length > 0, `${f.name} SVG has mark groups`);
    assert.match(svg, /<text[^>]*>[^<]+<\/text>/, `${f.name} SVG has text`);
    const png = built.files[`figures/${f.name}.png`];
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${f.name} is a PNG`);
    const view = new DataView(png.buffer, png.byteOffset);
    const [w, h] = [view.getUint32(16), view.getUint32(20)];
    const svgW = Number(/width="(\d+)"/.exec(svg)![1]);
    assert.equal(w, svgW * 2, `${f.name} PNG is twice the SVG's width`);
    assert.ok(h > 50 && png.byteLength > 5000, `${f.name} PNG ${w}×${h}, ${png.byteLength} bytes`);
  }
  assert.deepEqual(
    Object.keys(built.files).sort(),
    ['index.html', ...built.figures.flatMap((f) => [`figures/${f.name}.png`, `figures/${f.name}.svg`])].sort(),
  );
});

test('the page is self-contained: inline scripts only, relative links, every spec with inline data', () => {
  // no element refers to anything over the network or by an absolute path
  for (const m of html.matchAll(/<(script|link|img|a|iframe|source)\b[^>]*>/gi)) {
    const tag = m[0];
    const ref = /\b(?:src|href)\s*=\s*"([^"]*)"/i.exec(tag)?.[1];
    if (ref === undefined) continue;
    assert.doesNotMatch(ref, /^(?:[a-z][a-z0-9+.-]*:|\/)/i, `${tag} must be a relative reference`);
  }
  assert.doesNotMatch(html, /<script[^>]+\bsrc=/i);
  assert.doesNotMatch(html, /<link\b/i);
  // vega and vega-lite are inlined
  assert.ok(html.includes(readFileSync('node_modules/vega/build/vega.min.js', 'utf8').slice(0, 2000)));
  assert.ok(html.includes(readFileSync('node_modules/vega-lite/build/vega-lite.min.js', 'utf8').slice(0, 2000)));
  // each figure: a container, its spec, links to its files
  for (const f of built.figures) {
    assert.ok(html.includes(`id="fig-${f.name}"`), f.name);
    assert.ok(html.includes(`href="figures/${f.name}.svg"`) && html.includes(`href="figures/${f.name}.png"`), f.name);
    const json = new RegExp(`<script type="application/json" id="spec-${f.name}">([^<]*)</script>`).exec(html);
    assert.ok(json, `spec of ${f.name}`);
    const spec = JSON.parse(json[1]);
    assert.deepEqual(spec, JSON.parse(JSON.stringify(f.spec)));
    const datas: { values?: unknown[]; url?: string }[] = [];
    const walk = (o: unknown) => {
      if (!o || typeof o !== 'object') return;
      if (Array.isArray(o)) return o.forEach(walk);
      for (const [k, v] of Object.entries(o)) {
        if (k === 'data' && v && typeof v === 'object') datas.push(v as { values?: unknown[] });
        walk(v);
      }
    };
    walk(spec);
    assert.ok(datas.length > 0, `${f.name} has data`);
    for (const d of datas) {
      assert.equal(d.url, undefined, `${f.name}: data inline, not fetched`);
      assert.ok(Array.isArray(d.values) && d.values.length > 0, `${f.name}: non-empty inline values`);
    }
  }
  assert.ok(html.length < 3_000_000, `page ${html.length} bytes`);
});

test('evaluation curves per digit match DuckDB over the eval and token tables', async () => {
  const evalFiles = files('train/', 'eval.parquet');
  const tokens = `'${file('data', 'tokens.parquet')}'`;
  const rows = await sql(
    `SELECT e.iteration AS it, t.digit AS digit, avg(e.loss::DOUBLE) AS loss, avg(e.correct::INT) AS acc, stddev_pop(e.loss::DOUBLE) AS sd
     FROM read_parquet(${evalFiles}) e JOIN read_parquet(${tokens}) t USING (token) GROUP BY 1, 2`,
  );
  assert.equal(rows.length, built.data.checkpointIterations.length * 4);
  for (const r of rows) {
    const digit = DIGIT_NAMES[Number(r.digit)];
    const ev = built.data.evalByDigit.find((e) => e.iteration === Number(r.it) && e.digit === digit)!;
    close(ev.loss, Number(r.loss));
    close(ev.accuracy, Number(r.acc));
    const ls = built.data.lossByDigit.find((e) => e.iteration === Number(r.it) && e.digit === digit)!;
    close(ls.std, Number(r.sd), 1e-7);
  }
  const absd = await sql(
    `WITH e AS (SELECT e.iteration, e.token, e.loss::DOUBLE AS loss, t.digit, dense_rank() OVER (ORDER BY e.iteration) AS k
                FROM read_parquet(${evalFiles}) e JOIN read_parquet(${tokens}) t USING (token))
     SELECT b.iteration AS it, b.digit AS digit, avg(abs(b.loss - a.loss)) AS mean, stddev_pop(abs(b.loss - a.loss)) AS sd
     FROM e a JOIN e b ON a.token = b.token AND b.k = a.k + 1 GROUP BY 1, 2`,
  );
  assert.equal(absd.length, (built.data.checkpointIterations.length - 1) * 4);
  for (const r of absd) {
    const p = built.data.absdByDigit.find((e) => e.iteration === Number(r.it) && e.digit === DIGIT_NAMES[Number(r.digit)])!;
    close(p.mean, Number(r.mean));
    close(p.std, Number(r.sd), 1e-7);
  }
  const groups = await sql(
    `SELECT e.iteration AS it, t.digit AS digit, t.carry AS carry, avg(e.loss::DOUBLE) AS mean, count(*) AS n
     FROM read_parquet(${evalFiles}) e JOIN read_parquet(${tokens}) t USING (token) GROUP BY 1, 2, 3`,
  );
  assert.equal(groups.length, built.data.lossByGroup.length);
  for (const r of groups) {
    const g = built.data.lossByGroup.find(
      (e) => e.iteration === Number(r.it) && e.group === groupName(Number(r.digit), r.carry as boolean),
    )!;
    close(g.mean, Number(r.mean));
  }
  const [fin] = await sql(
    `WITH last AS (SELECT * FROM read_parquet(${evalFiles}) WHERE iteration = (SELECT max(iteration) FROM read_parquet(${evalFiles})))
     SELECT avg(l.loss::DOUBLE) AS loss, avg(l.correct::INT) AS acc,
            (SELECT avg(ok::INT) FROM (SELECT bool_and(l2.correct) AS ok FROM last l2 JOIN read_parquet(${tokens}) t USING (token) GROUP BY t.example)) AS exact
     FROM last l`,
  );
  close(built.data.final!.loss, Number(fin.loss));
  close(built.data.final!.accuracy, Number(fin.acc));
  close(built.data.final!.exactMatch, Number(fin.exact));
  const [tl] = await sql(`SELECT count(*) AS n, avg(loss::DOUBLE) AS mean FROM read_parquet(${files('train/', 'train_loss.parquet')})`);
  assert.equal(built.data.trainLoss.length, Number(tl.n));
  close(built.data.trainLoss.reduce((s, r) => s + r.loss, 0) / built.data.trainLoss.length, Number(tl.mean));
});

test('completeness quantiles and histogram match DuckDB over the completeness tables', async () => {
  const c = built.data.completeness!;
  assert.deepEqual(c.variants, ['paper', 'exact-curvature', 'path']);
  const comp = files('polca/', 'completeness.parquet');
  const per = await sql(`SELECT variant, interval, max(abs(error::DOUBLE)) AS mx, count(*) AS n FROM read_parquet(${comp}) GROUP BY 1, 2`);
  assert.equal(per.length, c.perInterval.length);
  for (const r of per) {
    const p = c.perInterval.find((q) => q.variant === r.variant && q.interval === Number(r.interval))!;
    close(p.max, Number(r.mx), 1e-7);
    assert.ok(p.q50 <= p.q90 && p.q90 <= p.max);
  }
  const tot = await sql(
    `SELECT variant, count(*) AS n, max(abs(error::DOUBLE)) AS mx, sum(CASE WHEN abs(error) < 1e-10 THEN 1 ELSE 0 END) AS small,
            sum(CASE WHEN abs(error) >= 1e-4 AND abs(error) < 10 ^ -3.75 THEN 1 ELSE 0 END) AS bin24
     FROM read_parquet(${comp}) GROUP BY 1`,
  );
  for (const r of tot) {
    const h = c.histogram.find((x) => x.variant === r.variant)!;
    assert.equal(
      h.counts.reduce((s, k) => s + k, 0),
      Number(r.n),
    );
    assert.equal(h.counts[0], Number(r.small));
    assert.equal(h.counts[24], Number(r.bin24)); // [-4, -3.75)
    const o = c.overall.find((x) => x.variant === r.variant)!;
    assert.equal(o.pairs, Number(r.n));
    close(o.max, Number(r.mx), 1e-7);
  }
  // overall nearest-rank quantiles: the value of rank round(q·(n−1)) in ascending order
  const ranked = await sql(
    `WITH r AS (SELECT variant, abs(error::DOUBLE) AS e, row_number() OVER (PARTITION BY variant ORDER BY abs(error)) - 1 AS k,
                       count(*) OVER (PARTITION BY variant) AS n FROM read_parquet(${comp}))
     SELECT variant, max(CASE WHEN k = round(0.5 * (n - 1)) THEN e END) AS q50, max(CASE WHEN k = round(0.99 * (n - 1)) THEN e END) AS q99
     FROM r GROUP BY 1`,
  );
  assert.equal(ranked.length, 3);
  for (const r of ranked) {
    const o = c.overall.find((x) => x.variant === r.variant)!;
    close(o.q50, Number(r.q50), 1e-7);
    close(o.q99, Number(r.q99), 1e-7);
  }
  const sum = await sql(
    `SELECT variant, count(*) AS n, sum(fallbacks) AS fb, max(max_abs_error) AS mx FROM read_parquet(${files('polca/', 'summary.parquet')}) GROUP BY 1`,
  );
  for (const r of sum) {
    const s = c.summary.find((x) => x.variant === r.variant)!;
    assert.equal(s.intervals, Number(r.n));
    assert.equal(s.fallbacks, Number(r.fb));
    close(s.maxAbsError, Number(r.mx));
  }
});

test('basis, cluster tables and the claim checks come from the stored tables', async () => {
  const last = `basis/${m - 1}`;
  const b = await sql(`SELECT * FROM '${file(last, 'basis.parquet')}' ORDER BY vector`);
  assert.equal(built.data.basis.length, b.length);
  b.forEach((r, i) => {
    assert.equal(built.data.basis[i].iteration, Number(r.iteration));
    assert.equal(built.data.basis[i].eigenvalue, Number(r.eigenvalue));
    assert.equal(built.data.basis[i].residual, Number(r.residual));
    assert.equal(built.data.basis[i].converged, Boolean(r.converged));
  });
  // a vector whose residual missed basis.tol is named in the run table
  const missed = b.filter((r) => !r.converged).map((r) => Number(r.vector));
  assert.ok(missed.length > 0 && missed.length < b.length, `fixture: ${missed.length} of ${b.length} vectors missed the tolerance`);
  assert.ok(html.includes(`residual above basis.tol for vectors ${missed.join(', ')}`), 'run table names the unconverged vectors');
  const ami = async (step: string, skill: string) =>
    Number((await sql(`SELECT ami FROM '${file(step, 'summary.parquet')}' WHERE skill = '${skill}' AND scope = 'all'`))[0].ami);
  // the claim checks, recomputed from the stored summary tables read by DuckDB
  const families: ClaimFamily[] = [];
  for (const step of Object.keys(record.steps).filter((k) => k.startsWith('cluster/'))) {
    const rows = await sql(`SELECT * FROM '${file(step, 'summary.parquet')}'`);
    families.push({
      family: String(rows[0].family),
      vector: Number(rows[0].vector),
      summary: rows.map((r) => ({
        scope: String(r.scope),
        skill: String(r.skill),
        coincidesWith: String(r.coincidesWith),
        coverage: Number(r.coverage),
        ami: Number(r.ami),
        amiWithOutliers: Number(r.amiWithOutliers),
        amiShuffledMean: Number(r.amiShuffledMean),
        amiShuffledSd: Number(r.amiShuffledSd),
      })),
    });
  }
  const checks = claimChecks(built.data);
  const fromSql = checkClaims(families);
  assert.deepEqual(
    checks.map((c) => [c.id, c.verdict, c.metric]),
    fromSql.map((c) => [c.id, c.verdict, c.metric]),
  );
  assert.ok(checks.every((c) => c.verdict !== 'not checked'));
  let best = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < m; j++) best = Math.max(best, await ami(`cluster/polca/${j}`, 'carry'));
  assert.equal(built.metrics['ami.polcaBest.carry'], best);
  assert.equal(built.metrics['claims.held'], checks.filter((c) => c.holds).length);
  // Figure 1b: the three largest clusters of each vector, by the sizes in skills.parquet
  const fig = built.figures.find((f) => f.name === 'fig1b-polca-top-clusters')!;
  const values = (fig.spec as unknown as { data: { values: { vector: number; cluster: number; rank: number }[] } }).data.values;
  for (let j = 0; j < m; j++) {
    const top = await sql(
      `SELECT cluster FROM '${file(`cluster/polca/${j}`, 'skills.parquet')}' WHERE skill = 'carry' AND cluster >= 0 ORDER BY size DESC, cluster LIMIT 3`,
    );
    const shown = [...new Set(values.filter((v) => v.vector === j).map((v) => `${v.rank}:${v.cluster}`))].sort();
    assert.deepEqual(
      shown,
      top.map((t, i) => `${i + 1}:${t.cluster}`),
    );
  }
  // every row of the claim table is present
  for (const f of built.data.families)
    for (const s of f.summary) assert.ok(html.includes(`<td>${f.label.replace(/&/g, '&amp;')}</td><td>${s.scope}</td><td>${s.skill}</td>`));
});

test('a run without some steps still gets a report of what it has', async () => {
  const steps = Object.fromEntries(Object.entries(record.steps).filter(([k]) => !k.startsWith('cluster/') && !k.startsWith('polca/')));
  const partial: RunRecord = { ...record, name: 'report-unit-partial', steps };
  const r = await buildReportWithData(store, partial);
  assert.deepEqual([...r.data.missing].sort(), ['cluster/*', 'polca/*']);
  assert.deepEqual(r.figures.map((f) => f.name).sort(), [
    'basis',
    'eval-by-digit',
    'fig1c-ground-truth',
    'fig2-loss-by-digit',
    'fig3-absdloss-by-digit',
    'training-loss',
  ]);
  const page = Buffer.from(r.files['index.html']).toString('utf8');
  const warn = /Not in this run’s record[^<]*/.exec(page)?.[0] ?? '';
  assert.ok(warn.includes('cluster/*') && warn.includes('polca/*'), warn);
});

test('long series are averaged over bins, and small helpers do what they say', () => {
  const rows = Array.from({ length: 1001 }, (_, i) => ({ x: i, y: i * i }));
  const t = thin(rows, 100, ['x', 'y']);
  const k = Math.ceil(1001 / 100);
  assert.equal(t.length, Math.ceil(1001 / k));
  for (let b = 0; b < t.length; b++) {
    const part = rows.slice(b * k, (b + 1) * k);
    close(t[b].x, part.reduce((s, r) => s + r.x, 0) / part.length);
    close(t[b].y, part.reduce((s, r) => s + r.y, 0) / part.length);
  }
  assert.equal(thin(rows.slice(0, 50), 100, ['x']).length, 50);
  const covered = bins(1001, 100).flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i));
  assert.deepEqual(
    covered,
    rows.map((r) => r.x),
  );
  // quickselect against a full sort, with ties, on several sizes
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (const n of [1, 2, 3, 10, 101, 1000]) {
    const a = Float32Array.from({ length: n }, () => Math.floor(rnd() * 20) / 4);
    const sorted = Float32Array.from(a).sort();
    for (const k of [0, Math.floor(n / 2), n - 1]) assert.equal(selectKth(Float32Array.from(a), k), sorted[k], `n=${n} k=${k}`);
    for (const q of [0, 0.5, 0.9, 0.99, 1])
      assert.equal(quantileSelect(Float32Array.from(a), q), quantileSorted(sorted, q), `n=${n} q=${q}`);
  }
  assert.deepEqual(logAxis([3e-6, 0.5]).values, [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]);
  assert.equal(logAxis([0.02, 2.3]).values, undefined);
  // DejaVu Sans: 'm' is 974/1000 em, 'i' 278/1000, so at 10 px "mi" is 12.52 px
  close(textWidth('mi', 10), 12.52);
  close(textWidth('Δ', 20), 13.68);
});

test('the sweep page: a row per grid point with parameters, metrics and a relative report link', () => {
  const out = buildSweepReport([
    {
      point: { 'train.lr': 0.001, 'cluster.minClusterSize': 10 },
      workflowId: 'wf-a',
      reportPath: 'points/wf-a/index.html',
      metrics: { 'final.loss': 0.25, 'ami.loss.digit': 0.5 },
    },
    { point: { 'train.lr': 0.003, 'cluster.minClusterSize': 10 }, workflowId: 'wf-<b>', metrics: { 'final.loss': 0.125 } },
  ]);
  assert.deepEqual(Object.keys(out), ['index.html']);
  const page = Buffer.from(out['index.html']).toString('utf8');
  const body = page.slice(page.indexOf('<table class="data">'));
  const trs = body.split('<tr>').slice(1);
  assert.equal(trs.length, 3);
  assert.match(
    trs[0],
    /<th>train\.lr<\/th><th>cluster\.minClusterSize<\/th><th>workflow<\/th><th>report<\/th><th>final\.loss<\/th><th>ami\.loss\.digit<\/th>/,
  );
  assert.match(
    trs[1],
    /<td class="num">0\.001<\/td><td class="num">10<\/td><td><code>wf-a<\/code><\/td><td><a href="points\/wf-a\/index\.html">report<\/a><\/td><td class="num">0\.25<\/td><td class="num">0\.5<\/td>/,
  );
  assert.match(trs[2], /<code>wf-&lt;b&gt;<\/code><\/td><td class="na">–<\/td><td class="num">0\.125<\/td><td class="num">–<\/td>/);
  assert.doesNotMatch(page, /<script/);
});

test('`polca report` writes the folder and returns the path of its index.html', async () => {
  const prev = { store: process.env.POLCA_STORE, dir: process.env.POLCA_STORE_DIR };
  process.env.POLCA_STORE = 'local';
  process.env.POLCA_STORE_DIR = root;
  try {
    const out = join(dir, 'out');
    const index = await reportCommand(record.name, { out });
    assert.equal(index, join(out, 'index.html'));
    // the same inputs give the same bytes
    assert.ok(readFileSync(index).equals(Buffer.from(built.files['index.html'])));
    for (const f of built.figures) assert.ok(existsSync(join(out, 'figures', `${f.name}.png`)), f.name);
    assert.ok(readFileSync(join(out, 'figures', 'basis.svg')).equals(Buffer.from(built.files['figures/basis.svg'])));
    await assert.rejects(reportCommand('no-such-run', { out }), /no run record "no-such-run".*report-unit/);
    await assert.rejects(reportCommand(record.name, { out, stored: true }), /has no stored report step/);
  } finally {
    if (prev.store === undefined) delete process.env.POLCA_STORE;
    else process.env.POLCA_STORE = prev.store;
    if (prev.dir === undefined) delete process.env.POLCA_STORE_DIR;
    else process.env.POLCA_STORE_DIR = prev.dir;
  }
});

test('maxPoints bounds every per-checkpoint series', async () => {
  const data = await loadReportData(store, record, { maxPoints: 10 });
  const T1 = data.checkpointIterations.length;
  assert.equal(T1, 41);
  // 41 checkpoints in bins of 5: 9 points per series
  for (const d of DIGIT_NAMES) {
    assert.equal(data.lossByDigit.filter((r) => r.digit === d).length, 9);
    assert.equal(data.evalByDigit.filter((r) => r.digit === d).length, 9);
  }
  assert.equal(data.evalByDigit.filter((r) => r.digit === 'all').length, 9);
  // the first bin averages checkpoints 0..4 (iterations 0, 5, …, 20)
  assert.equal(data.lossByDigit[0].iteration, 10);
});
