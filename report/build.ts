/**
 * `buildReport(store, record)`: the report of one run as files — `index.html` (self-contained,
 * opens offline) and `figures/<name>.svg` + `figures/<name>.png` for every figure — ready to store
 * as the `report` step or to write to a folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ArtifactStore, RunRecord } from '../artifacts/index.ts';
import { describeSchedule, type ScheduleConfig } from '../core/train/schedule.ts';
import { taskReads } from '../core/tasks/specs.ts';
import { loadReportData, type LoadOptions, type ReportData, stepTableReader } from './data.ts';
import { buildFigures, type Figure, SECTIONS } from './figures.ts';
import { escapeHtml, type PageSection, page } from './html.ts';
import { follows, MIN_AMI, MIN_COVERAGE, SIGMAS, threshold } from './claims.ts';
import { type ClaimShown, captureLine, claimRuleLine, polcaFindingLine, protocolLine, type Readings, shownVerdict } from './headline.ts';
import { claimChecks, headlineMetrics } from './metrics.ts';
import { fmt } from './format.ts';
import { type AblationData, ablationFigures, ablationHtml, ablationMetrics, loadAblation } from './ablation.ts';
import { captureFigures, protocolHtml } from './readings-view.ts';
import { captureTotals, readingMetrics } from './readings.ts';
import { renderSvg, svgToPng } from './render.ts';

export interface BuildOptions extends LoadOptions {
  /** PNG scale relative to the SVG (default 2). */
  pngScale?: number;
}

export interface BuiltReport {
  files: Record<string, Uint8Array>;
  figures: Figure[];
  data: ReportData;
  metrics: Record<string, number>;
}

/** The run's checkpoint schedule in words (core/train/schedule.ts), from its stored config. */
function scheduleText(c: Record<string, unknown>): string {
  const t = (c.train ?? {}) as Partial<ScheduleConfig>;
  return typeof t.checkpointEvery === 'number'
    ? describeSchedule({ iterations: Number(t.iterations), checkpointEvery: t.checkpointEvery, denseCheckpoints: t.denseCheckpoints })
    : '–';
}

export { fmt } from './format.ts';

function row(cells: (string | number | undefined)[], cls = ''): string {
  return `<tr${cls ? ` class="${cls}"` : ''}>${cells.map((c) => (typeof c === 'number' || c === undefined ? `<td class="num">${fmt(c)}</td>` : `<td>${c}</td>`)).join('')}</tr>`;
}

/** The three readings of a run (report/headline.ts) from its report data. */
function readingsOf(data: ReportData): Readings {
  return {
    capture: data.capture ? captureTotals(data.capture).capture : undefined,
    protocol: data.protocol?.families,
    claims: claimChecks(data),
  };
}

function header(data: ReportData): string {
  const c = (data.config ?? {}) as Record<string, Record<string, unknown> | unknown>;
  const g = (path: string): string => {
    let cur: unknown = c;
    for (const p of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
    return cur === undefined ? '–' : escapeHtml(typeof cur === 'object' ? JSON.stringify(cur) : String(cur));
  };
  const T1 = data.checkpointIterations.length;
  const meta: [string, string][] = [
    // Both only when given: the stored report step leaves them out, its key does not cover them.
    ...(data.name ? ([['run', escapeHtml(data.name)]] as [string, string][]) : []),
    ...(data.workflowId ? ([['workflow', escapeHtml(data.workflowId)]] as [string, string][]) : []),
    ...(data.createdAt ? ([['created', escapeHtml(data.createdAt)]] as [string, string][]) : []),
    ['preset', g('preset')],
    ['model', `${g('model.nLayers')} layers, d_model ${g('model.dModel')}, ${g('model.nHeads')} heads, MLP ${g('model.dMlp')}`],
    [
      'training',
      `${g('train.iterations')} iterations, batch ${g('train.batchSize')}, lr ${g('train.lr')} (${g('train.schedule')}), checkpoints ${escapeHtml(scheduleText(c))}`,
    ],
    ['evaluation tokens', data.tokens ? String(data.tokens.n) : '–'],
    ['checkpoints / intervals', T1 ? `${T1} / ${T1 - 1}` : '–'],
    ['basis', `${data.basis.length} vectors (${g('basis.k')} every ${g('basis.every')} iterations)${basisConvergence(data.basis)}`],
    ['POLCA', `variant ${g('polca.variant')}; completeness recorded for ${data.completeness?.variants.join(', ') || '–'}`],
    [
      'clustering',
      `HDBSCAN min cluster size ${g('cluster.minClusterSize')}, selection ${g('cluster.selection')}, scaling ${g('cluster.scaling')}`,
    ],
  ];
  if (data.final)
    meta.push([
      'final checkpoint',
      `iteration ${data.final.iteration}: loss ${fmt(data.final.loss)}, token accuracy ${fmt(data.final.accuracy)}, exact match ${fmt(data.final.exactMatch)}`,
    ]);
  const readings = readingsOf(data);
  const checks = readings.claims ?? [];
  return `<h1>POLCA report${data.name ? `: ${escapeHtml(data.name)}` : ''}</h1>
<p>Hidden breakthroughs in training: per-token loss changes decomposed along Hessian eigenvectors (POLCA) and clustered with HDBSCAN, read against the arithmetic task’s skills (digit, carry, value).</p>
<table class="meta">${meta.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>
<div class="readings"><p><b>The paper’s findings in this run: three readings, side by side</b> (none of them is the finding alone).</p>
<ol>
<li><b>Basis capture</b> (<a href="#capture">the loss change the basis explains</a>): ${escapeHtml(captureLine(readings.capture))}.</li>
<li><b>The published protocol</b> (<a href="#protocol">the paper’s table</a>): ${escapeHtml(protocolLine(readings.protocol))}.</li>
<li><b>polca’s claim rule</b> (<a href="#claim">the claim in numbers</a>): ${escapeHtml(claimRuleLine(readings))}.</li>
</ol>
<p><b>${escapeHtml(polcaFindingLine(readings).replace(/^the paper's/, 'The paper’s'))}.</b></p></div>
<ul>${checks.map((k) => `<li>${verdict(shownVerdict(k, readings))}: ${escapeHtml(k.statement)} ${escapeHtml(k.measured)}.</li>`).join('')}</ul>
${data.missing.length ? `<p class="warn">Not in this run’s record (figures that need them are left out): ${data.missing.map(escapeHtml).join(', ')}.</p>` : ''}`;
}

function verdict(v: ClaimShown): string {
  if (v === 'not checked') return '<span class="na">not checked</span>';
  if (v === 'reproduced') return '<span class="yes">reproduced</span>';
  if (v === 'claim rule only')
    return '<span class="caveat">reproduced by the claim rule only (the basis does not carry most of the learning, or the published protocol disagrees)</span>';
  return '<span class="no">not reproduced</span>';
}

function claimTables(data: ReportData): string {
  const readings = readingsOf(data);
  const checks = readings.claims ?? [];
  const rows: string[] = [];
  for (const f of data.families)
    for (const s of f.summary)
      rows.push(
        row(
          [
            escapeHtml(f.label),
            escapeHtml(s.scope),
            escapeHtml(s.skill),
            escapeHtml(s.coincidesWith),
            s.tokens,
            s.coverage,
            s.clusters,
            s.homogeneity,
            s.baseline,
            s.ami,
            s.amiWithOutliers,
            s.amiShuffledMean,
            s.amiShuffledSd,
            threshold(s),
          ],
          follows(s) ? 'best' : '',
        ),
      );
  return `<table class="data"><tr><th>the paper’s finding</th><th>measured</th><th>in this run</th></tr>${checks
    .map(
      (k) => `<tr><td>${escapeHtml(k.statement)}</td><td>${escapeHtml(k.measured)}</td><td>${verdict(shownVerdict(k, readings))}</td></tr>`,
    )
    .join('')}</table>
<p>The rule (report/claims.ts; docs/artifacts.md shows how to recompute every number from the stored tables): a clustering <i>follows</i> a skill on a scope when at least ${MIN_COVERAGE} of the scope’s tokens are clustered, its AMI on the clustered tokens is at least ${MIN_AMI}, and that AMI exceeds the mean + ${SIGMAS} sd of the AMI the same clusters reach with the skill shuffled among their tokens. Carry is read within the hundreds and tens only (on the thousands digit it is the value, the ones digit never receives one); value within each digit position where it is not the carry. Loss: follows digit over all tokens and carry nowhere. |ΔL|: follows value in at least half of the digit positions and carry nowhere. POLCA: some vector follows carry within the hundreds or tens.</p>
<p>Every clustering against every skill, over all tokens and within each digit position where the skill varies (“same as”: another skill with the same partition there). Coverage: share of the scope’s tokens clustered. Homogeneity: size-weighted share of each cluster’s tokens holding its dominant value (clustered tokens); baseline: the same with the skill shuffled among the clustered tokens. AMI: adjusted mutual information on the clustered tokens; with outliers: over all the scope’s tokens, outliers as one more label; shuffled: mean and sd over the same permutations; needs: the AMI the rule asks for. Shaded rows follow their skill.</p>
<table class="data"><tr><th>clustering</th><th>scope</th><th>skill</th><th>same as</th><th>tokens</th><th>coverage</th><th>clusters</th><th>homogeneity</th><th>baseline</th><th>AMI</th><th>AMI with outliers</th><th>shuffled AMI mean</th><th>shuffled AMI sd</th><th>needs</th></tr>${rows.join('')}</table>`;
}

function completenessTable(data: ReportData): string {
  const c = data.completeness;
  if (!c || c.overall.length === 0) return '';
  const sum = new Map(c.summary.map((s) => [s.variant, s]));
  return `<table class="data"><tr><th>variant</th><th>(token, interval) pairs</th><th>median |error|</th><th>99% |error|</th><th>max |error|</th><th>exact zeros</th><th>median |ΔL|</th><th>intervals</th><th>ratio fallbacks</th><th>mean Simpson panels</th><th>max out_of_span</th><th>mean share within pathTol</th></tr>${c.overall
    .map((o) => {
      const s = sum.get(o.variant);
      return row([
        escapeHtml(o.variant),
        o.pairs,
        o.q50,
        o.q99,
        o.max,
        o.zeros,
        o.medAbsDloss,
        s?.intervals,
        s?.fallbacks,
        s?.panelsMean,
        s?.outOfSpanMax,
        s?.withinTolMean,
      ]);
    })
    .join('')}</table>
<p>Ratio fallbacks: intervals × vectors where the paper’s second-order ratio had a vanishing denominator and fell back to the per-token curvature. Panels: Simpson panels the path variant used. Per-interval values are in the run’s polca/*/summary.parquet.</p>`;
}

export async function buildReportWithData(store: ArtifactStore, record: RunRecord, opts: BuildOptions = {}): Promise<BuiltReport> {
  const data = await loadReportData(store, record, opts);
  const ablation = await loadRunAblation(store, record, data);
  const figures = [...buildFigures(data), ...captureFigures(data.capture), ...ablationFigures(ablation)];
  const metrics = { ...headlineMetrics(data), ...readingMetrics(data.capture, data.protocol), ...ablationMetrics(ablation) };
  const files: Record<string, Uint8Array> = {};
  for (const f of figures) {
    const svg = await renderSvg(f.spec);
    files[`figures/${f.name}.svg`] = new Uint8Array(Buffer.from(svg, 'utf8'));
    files[`figures/${f.name}.png`] = svgToPng(svg, opts.pngScale ?? 2);
  }
  const sections: PageSection[] = SECTIONS.map((s) => ({ id: s.id, title: s.title, figures: figures.filter((f) => f.section === s.id) }));
  const sec = (id: string) => sections.find((s) => s.id === id)!;
  sec('completeness').outro = completenessTable(data);
  sec('claim').outro = claimTables(data);
  sec('protocol').outro = protocolHtml(data.protocol);
  sec('ablation').intro = ablationHtml(ablation);
  if (!data.capture) sec('capture').intro = '<p class="na">This run has no capture step (made before it existed).</p>';
  sec('homogeneity').intro =
    '<p>One figure per clustering, in the layout of the paper’s Figures 4–10: a bar per cluster, its height the share of the cluster’s tokens that hold the dominant value of the skill, its colour that value.</p>';
  const html = page({
    title: data.name ? `POLCA report: ${data.name}` : 'POLCA report',
    header: header(data),
    sections,
    withFigures: true,
    footer: `<section id="config"><h2>Configuration</h2><details><summary>The run’s resolved configuration</summary><pre>${escapeHtml(JSON.stringify(data.config ?? null, null, 2))}</pre></details>
<details><summary>Artifacts of this run (step → key)</summary><pre>${escapeHtml(
      Object.entries(data.steps)
        .map(([k, v]) => `${k}  ${v}`)
        .join('\n'),
    )}</pre></details>
<details><summary>Headline metrics (as in sweep tables)</summary><table class="data">${Object.entries(metrics)
      .map(([k, v]) => row([`<code>${escapeHtml(k)}</code>`, v]))
      .join('')}</table></details></section>`,
  });
  files['index.html'] = new Uint8Array(Buffer.from(html, 'utf8'));
  return { files, figures, data, metrics };
}

/** A run of a task with part-of-speech tags (English) has its own report: report/english.ts. */
const isTagged = (record: RunRecord): boolean => taskReads((record.config ?? {}) as { task?: { name: string } }).tags;

/** index.html plus figures/<name>.svg and figures/<name>.png for every figure. */
export async function buildReport(store: ArtifactStore, record: RunRecord, opts: BuildOptions = {}): Promise<Record<string, Uint8Array>> {
  if (isTagged(record)) return (await (await import('./english.ts')).buildEnglishReport(store, record, opts)).files;
  return (await buildReportWithData(store, record, opts)).files;
}

/** Write report files under `dir`; returns the path of index.html. */
export async function writeReport(files: Record<string, Uint8Array>, dir: string): Promise<string> {
  for (const [name, bytes] of Object.entries(files)) {
    const p = join(dir, name);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, bytes);
  }
  return join(dir, 'index.html');
}

/** Which basis vectors missed the Lanczos residual tolerance, for the run table. */
function basisConvergence(basis: ReportData['basis']): string {
  if (basis.length === 0 || basis.every((b) => b.converged === undefined)) return '';
  const missed = basis.filter((b) => b.converged === false).map((b) => b.vector);
  return missed.length === 0
    ? '; every residual within basis.tol'
    : `; <strong>residual above basis.tol for vector${missed.length > 1 ? 's' : ''} ${missed.join(', ')}</strong>`;
}

/** The headline metrics of a run (for sweep tables) without rendering figures. */
export async function runMetrics(store: ArtifactStore, record: RunRecord): Promise<Record<string, number>> {
  if (isTagged(record)) {
    const { englishMetrics, loadEnglishReportData } = await import('./english.ts');
    return englishMetrics(await loadEnglishReportData(store, record));
  }
  const data = await loadReportData(store, record);
  return {
    ...headlineMetrics(data),
    ...readingMetrics(data.capture, data.protocol),
    ...ablationMetrics(await loadRunAblation(store, record, data)),
  };
}

/** The run's ablation reading (config `ablate`), its missing tables noted with the report's. */
function loadRunAblation(store: ArtifactStore, record: RunRecord, data: ReportData): Promise<AblationData | undefined> {
  return loadAblation(record.steps ?? {}, record.config, stepTableReader(store, record.steps ?? {}, data.missing));
}
