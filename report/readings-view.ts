/**
 * How the report shows the paper's table: the basis-capture figure (cumulative loss change against
 * what the basis explains, over training, and each vector's share) and the published protocol's
 * table with the paper's numbers beside this run's.
 */
import { fmt } from './format.ts';
import { type Figure, r4, spec } from './figures.ts';
import { escapeHtml } from './html.ts';
import { type CaptureData, captureTotals, PAPER_ROWS, type ProtocolData } from './readings.ts';

export function captureFigures(c: CaptureData | undefined): Figure[] {
  if (!c || c.intervals.length === 0) return [];
  const n = c.tokens || 1;
  const long: Record<string, unknown>[] = [];
  let d = 0;
  let f = 0;
  let s = 0;
  let p = 0;
  const step = Math.max(1, Math.ceil(c.intervals.length / 300));
  const SERIES = ['ΔL (the loss change)', 'Σ_b POLCA (the basis)', 'first-order part', 'second-order part'];
  for (const series of SERIES) long.push({ iteration: c.intervals[0].iteration, series, value: 0 });
  c.intervals.forEach((r, i) => {
    d += r.dloss / n;
    f += r.first / n;
    s += r.second / n;
    p += r.polca / n;
    if (i % step !== 0 && i !== c.intervals.length - 1) return;
    const it = r.nextIteration;
    long.push({ iteration: it, series: 'ΔL (the loss change)', value: r4(d) });
    long.push({ iteration: it, series: 'Σ_b POLCA (the basis)', value: r4(p) });
    long.push({ iteration: it, series: 'first-order part', value: r4(f) });
    long.push({ iteration: it, series: 'second-order part', value: r4(s) });
  });
  const bars = c.vectors.map((v) => ({ vector: `b${v.vector}`, part: 'first order', value: r4(v.first / n) }));
  for (const v of c.vectors) bars.push({ vector: `b${v.vector}`, part: 'second order', value: r4(v.second / n) });
  const t = captureTotals(c);
  const rising = c.vectors.filter((v) => v.rising).map((v) => `b${v.vector}`);
  return [
    {
      name: 'capture',
      section: 'capture',
      title: 'Basis capture: the loss change the basis explains, over training',
      caption: `(a) Cumulative per-token sums over the evaluation tokens, from the first checkpoint: the loss change ΔL, the POLCA of all basis vectors together, and its first- and second-order parts. Overall capture Σ POLCA / Σ ΔL = ${fmt(t.capture)} (first order ${fmt(t.first)}, second order ${fmt(t.second)}); the loss changed by ${fmt(t.dloss / n)} per token, the basis explains ${fmt(t.polca / n)}. The basis spans ${fmt(t.motionShare)} of the parameters’ motion (Σ_t ‖BᵀΔ_t‖² / Σ_t ‖Δ_t‖²). (b) Each vector’s summed first- and second-order terms per token; ${rising.length ? `rising (summed POLCA > 0, dropped by the published protocol): ${rising.join(', ')}` : 'no vector rises'}.`,
      spec: spec({
        resolve: { scale: { color: 'independent', strokeDash: 'independent' } },
        hconcat: [
          {
            width: 420,
            height: 240,
            title: '(a) cumulative loss change per token',
            data: { values: long },
            mark: { type: 'line', strokeWidth: 1.5 },
            encoding: {
              x: { field: 'iteration', type: 'quantitative' },
              y: { field: 'value', type: 'quantitative', title: 'cumulative, per token' },
              color: {
                field: 'series',
                type: 'nominal',
                title: null,
                legend: { orient: 'bottom', columns: 2 },
                scale: { domain: SERIES, range: ['#222222', '#4c78a8', '#72b7b2', '#e45756'] },
              },
              strokeDash: {
                field: 'series',
                type: 'nominal',
                title: null,
                legend: { orient: 'bottom', columns: 2 },
                scale: {
                  domain: SERIES,
                  range: [
                    [1, 0],
                    [1, 0],
                    [5, 3],
                    [5, 3],
                  ],
                },
              },
              tooltip: [{ field: 'series' }, { field: 'iteration' }, { field: 'value' }],
            },
          },
          {
            width: 300,
            height: 240,
            title: '(b) per vector: summed terms per token',
            data: { values: bars },
            mark: { type: 'bar' },
            encoding: {
              x: { field: 'vector', type: 'nominal', sort: null, title: 'basis vector' },
              xOffset: { field: 'part' },
              y: { field: 'value', type: 'quantitative', title: 'Σ over tokens and intervals / tokens' },
              color: {
                field: 'part',
                type: 'nominal',
                title: null,
                scale: { domain: ['first order', 'second order'], range: ['#72b7b2', '#e45756'] },
              },
              tooltip: [{ field: 'vector' }, { field: 'part' }, { field: 'value' }],
            },
          },
        ],
      }),
    },
  ];
}

const f3 = (v: number | undefined | null) => (v === undefined || v === null || !Number.isFinite(v) ? '–' : v.toFixed(3));

/** The published protocol's table: per family the paper's numbers and this run's, then every member's reading. */
export function protocolHtml(p: ProtocolData | undefined): string {
  if (!p) return '<p class="na">This run has no protocol readings (made before they existed).</p>';
  const m0 = p.members[0];
  const fam = new Map(p.families.map((f) => [f.family, f]));
  const rows = PAPER_ROWS.map((r) => {
    const f = fam.get(r.family);
    const ours = f
      ? `<td class="num">${f3(f.top?.homogeneity)}</td><td class="num">${f3(f.top?.recall)}</td><td class="num">${f3(f.top?.f1)}</td><td class="num">${f3(f.hiddenFraction)}</td><td class="num">${f.kept} of ${f.members}</td><td class="num">${f.top && f.top.member >= 0 ? f.top.member : '–'}</td>`
      : '<td class="na" colspan="6">not computed (add it to protocol.families)</td>';
    return `<tr><td>${escapeHtml(r.label)}</td><td class="num">${f3(r.homogeneity)} / ${f3(r.recall)} / ${f3(r.f1)}</td><td class="num">${f3(r.hidden)}</td>${ours}</tr>`;
  }).join('');
  const members = p.members
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.family)}</td><td class="num">${r.member}</td><td>${r.dropped ? 'dropped (rising)' : 'kept'}</td><td class="num">${fmt(r.total)}</td><td class="num">${r.kept}</td><td class="num">${r.minSamples}</td><td class="num">${r.clusters}</td><td class="num">${f3(r.top?.homogeneity)}</td><td class="num">${f3(r.top?.recall)}</td><td class="num">${f3(r.top?.f1)}</td><td class="num">${r.hidden}</td></tr>`,
    )
    .join('');
  return `<p>The full paper’s protocol (core/cluster/protocol.ts; docs/findings.md): decomposition families (POLCA, first-order POLCA, LCA) drop a member whose summed decomposed loss rises and, along a kept member, every token whose own summed decomposed loss rises; HDBSCAN on the raw trajectories of the kept tokens with min_cluster_size ${m0 ? m0.minClusterSize : '–'} (a share of the ${m0 ? m0.tokens : '–'} evaluation tokens) and min_samples = kept tokens / divisor; per clustering, the cluster of highest carry homogeneity among those with more than the set share of their carry tokens in the tens or hundreds place, with its recall over all carry tokens and F1; over the family, the best such cluster and the share of clusters whose breakthrough (argmax of the second difference of the cluster’s mean curve at lag ${m0 ? m0.lag : '–'} iterations) comes after iteration ${m0 ? m0.hiddenAfter : '–'}. The paper’s numbers are one run of its 3-layer d_model 512 model at lr 1e-5; ours are this run.</p>
<table class="data"><tr><th>trajectories clustered</th><th>paper: homogeneity / recall / F1</th><th>paper: hidden</th><th>this run: homogeneity</th><th>recall</th><th>F1</th><th>hidden fraction</th><th>members kept</th><th>best member</th></tr>${rows}</table>
<details><summary>Every member’s reading</summary><table class="data"><tr><th>family</th><th>member</th><th>filter</th><th>summed decomposed loss</th><th>tokens kept</th><th>min_samples</th><th>clusters</th><th>top-1 homogeneity</th><th>recall</th><th>F1</th><th>hidden clusters</th></tr>${members}</table></details>`;
}
