/**
 * The report's first screen and the run summary's first lines state three readings side by side
 * (basis capture, the published protocol's verdict, polca's claim rule), and a claim-rule
 * "reproduced" for the POLCA finding is never shown alone next to a basis that carries none (or
 * little) of the learning. On report data: the synthetic run of bench/report-fixture.ts, whose
 * clusterings reproduce all three findings under the claim rule, completed with capture and
 * protocol tables as the capture and protocol steps write them — once as the default `small` run
 * measured them (capture −0.266, no POLCA carry cluster), once with a basis that carries the learning.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ArtifactStore, type Column, encodeParquet, LocalBackend, type RunRecord } from '../../artifacts/index.ts';
import { makeRun } from '../../bench/report-fixture.ts';
import { summaryLines } from '../../cli/run.ts';
import type { FamilyReading } from '../../core/cluster/protocol.ts';
import { buildReportWithData } from '../../report/build.ts';
import { BASIS_CARRIES, basisReading, headlineLines, loadClaimChecks, shownVerdict } from '../../report/headline.ts';
import { claimChecks } from '../../report/metrics.ts';
import type { ExperimentResult } from '../../pipeline/dag.ts';

const dir = mkdtempSync(join(tmpdir(), 'polca-headline-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const store = new ArtifactStore(new LocalBackend(join(dir, 'store')));
const base = await makeRun(store, { name: 'headline' });

const col = (name: string, type: Column['type'], values: Column['values']): Column => ({ name, type, values });

/**
 * The run with a capture step whose per-interval sums give Σ POLCA / Σ ΔL = `capture` (ΔL −2.536
 * per token as in the default run; first and second order as given), and protocol steps for the
 * loss and POLCA families; POLCA has a top-1 carry cluster only when `polcaTop` is given.
 */
async function withReadings(
  name: string,
  capture: number,
  polcaTop?: { homogeneity: number; recall: number; f1: number },
): Promise<RunRecord> {
  const tokens = 400;
  const dloss = -2.536 * tokens;
  const second = -2.913 * dloss * (capture < 0 ? 1 : 0);
  const first = capture * dloss - second;
  const steps = { ...base.steps };
  const put = async (step: string, files: Record<string, Column[]>) => {
    const bytes = Object.fromEntries(Object.entries(files).map(([f, cols]) => [f, encodeParquet(cols)]));
    const kind = step.split('/')[0];
    steps[step] = (await store.put({ step: kind, version: 'headline-1', params: { name, step }, inputs: {} }, bytes)).key;
  };
  // two intervals splitting the totals
  await put('capture', {
    'intervals.parquet': [
      col('interval', 'int32', Int32Array.of(0, 1)),
      col('iteration', 'int32', Int32Array.of(0, 100)),
      col('next_iteration', 'int32', Int32Array.of(100, 200)),
      col('dloss', 'float64', Float64Array.of(dloss * 0.7, dloss * 0.3)),
      col('first', 'float64', Float64Array.of(first * 0.5, first * 0.5)),
      col('second', 'float64', Float64Array.of(second * 0.5, second * 0.5)),
      col('polca', 'float64', Float64Array.of((first + second) * 0.5, (first + second) * 0.5)),
      col('capture', 'float64', Float64Array.of(capture, capture)),
      col('motion_in_span', 'float64', Float64Array.of(0.001, 0.001)),
      col('motion', 'float64', Float64Array.of(1, 1)),
    ],
    'vectors.parquet': [
      col('vector', 'int32', Int32Array.of(0)),
      col('first', 'float64', Float64Array.of(first)),
      col('second', 'float64', Float64Array.of(second)),
      col('polca', 'float64', Float64Array.of(first + second)),
      col('share', 'float64', Float64Array.of(1)),
      col('rising', 'boolean', [first + second > 0]),
    ],
  });
  for (const [family, top] of [
    ['loss', { homogeneity: 0.151, recall: 0.155, f1: 0.153 }],
    ['polca', polcaTop],
  ] as const) {
    await put(`protocol/${family}${family === 'polca' ? '/0' : ''}`, {
      'summary.parquet': [
        col('family', 'utf8', [family]),
        col('member', 'int32', Int32Array.of(family === 'polca' ? 0 : -1)),
        col('dropped', 'boolean', [false]),
        col('total', 'float64', Float64Array.of(-1)),
        col('tokens', 'int32', Int32Array.of(tokens)),
        col('kept', 'int32', Int32Array.of(tokens)),
        col('clustered', 'int32', Int32Array.of(top ? 100 : 0)),
        col('clusters', 'int32', Int32Array.of(top ? 2 : 0)),
        col('min_cluster_size', 'int32', Int32Array.of(12)),
        col('min_samples', 'int32', Int32Array.of(26)),
        col('lag', 'int32', Int32Array.of(2)),
        col('hidden_after', 'int32', Int32Array.of(20)),
        col('hidden', 'int32', Int32Array.of(0)),
        col('top_cluster', 'int32', Int32Array.of(top ? 0 : -1)),
        col('top_homogeneity', 'float64', Float64Array.of(top?.homogeneity ?? Number.NaN)),
        col('top_recall', 'float64', Float64Array.of(top?.recall ?? Number.NaN)),
        col('top_f1', 'float64', Float64Array.of(top?.f1 ?? Number.NaN)),
      ],
    });
  }
  return { ...base, name, steps };
}

/** The report's first screen: everything before the first section (the header). */
const firstScreen = (html: string) => html.slice(0, html.indexOf('<section'));
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;|&rsquo;|’/g, "'")
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

describe('the report of a run whose basis carries none of the learning (capture −0.266, no POLCA carry cluster)', async () => {
  const record = await withReadings('none', -0.266);
  const built = await buildReportWithData(store, record);
  const html = Buffer.from(built.files['index.html']).toString('utf8');
  const head = firstScreen(html);

  test('the claim rule reproduces all three findings on these clusterings (the case to guard)', () => {
    assert.deepEqual(
      claimChecks(built.data).map((c) => c.holds),
      [true, true, true],
    );
    assert.equal(built.metrics['claims.held'], 3, 'the sweep metric is unchanged');
  });

  test('the first screen states the three readings side by side, in order', () => {
    assert.ok(head.length > 0 && head.length < html.length, 'a header before the sections');
    const t = text(head);
    const at = (s: string) => {
      const i = t.indexOf(s);
      assert.ok(i >= 0, `first screen says ${JSON.stringify(s)}:\n${t}`);
      return i;
    };
    const a = at('Basis capture');
    const b = at('The published protocol');
    const c = at("polca's claim rule");
    assert.ok(a < b && b < c, 'capture, protocol, claim rule');
    at('basis capture -0.266: the basis explains none of the loss change');
    at('published protocol: no qualifying POLCA carry cluster');
    at("polca's claim rule: 3 of 3 findings reproduced (loss → digit reproduced; |ΔL| → value reproduced; POLCA → carry claim rule only)");
    at(
      "The paper's POLCA finding: not shown by this run — the basis carries none of the learning, the published protocol finds no POLCA carry cluster, and polca's claim rule alone finds POLCA clusters that follow the carry",
    );
  });

  test('the POLCA finding is nowhere shown as plainly reproduced', () => {
    // every verdict cell/list item of the POLCA finding carries the caveat, on the first screen and in the claim table
    const polcaItems = html.split(/<li>|<tr>/).filter((s) => s.includes('some POLCA basis vector follow the carry'));
    assert.ok(polcaItems.length >= 2, 'in the list on the first screen and in the claim table');
    for (const s of polcaItems) {
      assert.doesNotMatch(s, /<span class="yes">reproduced<\/span>/);
      assert.match(s, /<span class="caveat">reproduced by the claim rule only/);
    }
    // the two findings that do not depend on the basis stay reproduced
    assert.equal((head.match(/<span class="yes">reproduced<\/span>/g) ?? []).length, 2);
  });
});

describe('a basis that carries most of the learning and a protocol that agrees', async () => {
  const record = await withReadings('most', 0.82, { homogeneity: 0.95, recall: 0.7, f1: 0.8 });
  const built = await buildReportWithData(store, record);
  const head = firstScreen(Buffer.from(built.files['index.html']).toString('utf8'));

  test('the POLCA finding is shown reproduced, by all three readings', () => {
    const t = text(head);
    assert.ok(t.includes('basis capture 0.820: the basis explains 0.820 of the loss change'), t);
    assert.ok(
      t.includes(
        'published protocol: POLCA top-1 carry cluster homogeneity / recall / F1 0.950 / 0.700 / 0.800 (the paper: 0.973 / 0.736 / 0.838)',
      ),
      t,
    );
    assert.ok(t.includes("The paper's POLCA finding: shown by all three readings"), t);
    assert.equal((head.match(/<span class="yes">reproduced<\/span>/g) ?? []).length, 3);
    assert.doesNotMatch(head, /class="caveat"/);
  });
});

describe('a basis that carries a small part of the learning', async () => {
  const record = await withReadings('little', 0.35, { homogeneity: 0.95, recall: 0.7, f1: 0.8 });
  const built = await buildReportWithData(store, record);
  const head = firstScreen(Buffer.from(built.files['index.html']).toString('utf8'));

  test('the protocol agrees, yet the claim rule’s POLCA “reproduced” stays its own', () => {
    const t = text(head);
    assert.ok(t.includes(`the basis explains only 0.350 of the loss change (less than ${BASIS_CARRIES})`), t);
    assert.ok(t.includes('POLCA → carry claim rule only'), t);
    assert.ok(t.includes('the basis carries only a small part of the learning, the published protocol finds a POLCA carry cluster'), t);
  });
});

test('basisReading: none at or below 0, little below BASIS_CARRIES, most from it; unknown without a capture', () => {
  assert.equal(basisReading(-0.266), 'none');
  assert.equal(basisReading(0), 'none');
  assert.equal(basisReading(BASIS_CARRIES - 1e-9), 'little');
  assert.equal(basisReading(BASIS_CARRIES), 'most');
  assert.equal(basisReading(undefined), 'unknown');
  assert.equal(basisReading(Number.NaN), 'unknown');
});

test("the run summary's first lines are the three readings, from the stored clusterings", async () => {
  const record = await withReadings('summary', -0.266);
  const claims = await loadClaimChecks(store, record.steps);
  assert.deepEqual(
    claims.map((c) => c.holds),
    [true, true, true],
  );
  const protocol: FamilyReading[] = [
    {
      family: 'loss',
      members: 1,
      kept: 1,
      clusters: 3,
      hiddenFraction: 0.5,
      top: { member: -1, cluster: 0, size: 40, homogeneity: 0.151, recall: 0.155, f1: 0.153 },
    },
    { family: 'polca', members: 10, kept: 4, clusters: 0, hiddenFraction: null },
  ];
  const r = {
    runName: 'summary',
    config: record.config,
    steps: [],
    report: 'report-x',
    metrics: {
      accuracy: 1,
      evalLoss: 3.9e-6,
      eigenvalues: [1, 2],
      clustering: [],
      capture: {
        capture: -0.266,
        captureFirst: 2.647,
        captureSecond: -2.913,
        perToken: { dloss: -2.536, first: -6.711, second: 7.386, polca: 0.675, remainder: -3.21 },
        risingVectors: 6,
        vectors: new Array(10).fill({}),
        motionShare: 0.002,
        displacementShare: 1.6e-4,
      },
      protocol,
    },
  } as unknown as ExperimentResult;
  const lines = summaryLines(r, claims);
  assert.deepEqual(lines.slice(0, 5), [
    'three readings of this run, side by side:',
    '  1. basis capture -0.266: the basis explains none of the loss change',
    '  2. published protocol: no qualifying POLCA carry cluster (4 of 10 vectors kept by its filters; the paper: top-1 carry homogeneity 0.973); best other row: loss 0.151',
    "  3. polca's claim rule: 3 of 3 findings reproduced (loss → digit reproduced; |ΔL| → value reproduced; POLCA → carry claim rule only)",
    "  → the paper's POLCA finding: not shown by this run — the basis carries none of the learning, the published protocol finds no POLCA carry cluster, and polca's claim rule alone finds POLCA clusters that follow the carry",
  ]);
  // the summary's detail lines follow, unchanged
  assert.match(lines[5], /^exact-match accuracy 1\.000/);
  // the claim rule's POLCA verdict is never "reproduced" alone in the summary either
  for (const l of lines) assert.doesNotMatch(l, /POLCA → carry reproduced/);
  // without the stored clusterings the summary says the claim rule was not read
  assert.equal(summaryLines(r)[3], "  3. polca's claim rule: not read");
  // and shownVerdict on the same readings
  const polcaClaim = claims.find((c) => c.id === 'polca-carry')!;
  assert.equal(shownVerdict(polcaClaim, { capture: -0.266, protocol, claims }), 'claim rule only');
  assert.equal(headlineLines({ capture: -0.266, protocol, claims })[4], lines[4]);
});
