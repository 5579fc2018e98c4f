/**
 * The report of a language-modelling run (a task with part-of-speech tags, core/tasks/english/task.ts):
 * training, the evaluation loss per target tag over training (when each tag's loss falls: the
 * counterpart of the arithmetic report's per-digit curves), the basis and its capture, and the
 * part-of-speech reading of every protocol clustering (core/tasks/english/tag-reading.ts): per family, the
 * members with a simply-labelled cluster against chance's count; per member, its largest clusters
 * with their tag labels, mean curves, most frequent target words and the contexts of the 10 tokens
 * nearest each cluster's medoid, as text.
 */
import { DATA_TABLES, TOKEN_COLUMNS } from '../artifacts/tables.ts';
import type { ArtifactStore, RunRecord, Table } from '../artifacts/index.ts';
import { type TagFamilyReading, type TagMemberReading, tagFamilies } from '../core/tasks/english/tag-families.ts';
import { TAG_POSITIONS } from '../core/tasks/english/spec.ts';
import { type Figure, r4, spec } from './figures.ts';
import { fmt } from './format.ts';
import { escapeHtml, type PageSection, page } from './html.ts';
import { indexedSteps, stepTableReader } from './data.ts';
import { ablationFigures, ablationHtml, ablationMetrics, type AblationData, loadAblation } from './ablation.ts';
import { captureFigures } from './readings-view.ts';
import { type CaptureData, loadCapture, readingMetrics } from './readings.ts';
import { renderSvg, svgToPng } from './render.ts';

/** Clusters shown per member, largest first. */
export const SHOWN_CLUSTERS = 3;
/** Tags drawn as their own curve: those of at least this share of the evaluation targets. */
const TAG_CURVE_SHARE = 0.02;

const num = (col: Table[string] | undefined, i: number): number => Number((col as ArrayLike<unknown>)[i]);

export interface TagCluster {
  cluster: number;
  size: number;
  simple: boolean;
  label: string;
  topWords: string;
  breakthrough: number;
  hidden: boolean;
  contexts: string[];
  curve: number[];
}

export interface TagMember extends TagMemberReading {
  step: string;
  shown: TagCluster[];
}

export interface EnglishReportData {
  config: Record<string, unknown> | undefined;
  tokens: number;
  checkpoints: number[];
  trainLoss: { iteration: number; loss: number }[];
  /** Mean evaluation loss per target tag at each checkpoint. */
  tagLoss: { tag: string; share: number; loss: number[] }[];
  finalLoss: number;
  eigenvalues: number[];
  capture?: CaptureData;
  /** The ablation's reading (config `ablate`; absent without one). */
  ablation?: AblationData;
  members: TagMember[];
  families: TagFamilyReading[];
  missing: string[];
}

export async function loadEnglishReportData(store: ArtifactStore, record: RunRecord): Promise<EnglishReportData> {
  const steps = record.steps ?? {};
  const missing: string[] = [];
  const read = stepTableReader(store, steps, missing);
  const tok = await read('data', DATA_TABLES.tokens, [TOKEN_COLUMNS.token, 'pos']);
  const n = tok ? tok.token.length : 0;
  const pos = tok ? (tok.pos as string[]) : [];
  const trainLoss: EnglishReportData['trainLoss'] = [];
  const evalRows: { iteration: number; token: number; loss: number }[] = [];
  for (const s of indexedSteps(steps, 'train/')) {
    const tl = await read(s.step, 'train_loss.parquet');
    if (tl) for (let i = 0; i < tl.iteration.length; i++) trainLoss.push({ iteration: num(tl.iteration, i), loss: num(tl.loss, i) });
    const ev = await read(s.step, 'eval.parquet', ['iteration', 'token', 'loss']);
    if (ev)
      for (let i = 0; i < ev.iteration.length; i++)
        evalRows.push({ iteration: num(ev.iteration, i), token: num(ev.token, i), loss: num(ev.loss, i) });
  }
  trainLoss.sort((a, b) => a.iteration - b.iteration);
  const checkpoints = [...new Set(evalRows.map((r) => r.iteration))].sort((a, b) => a - b);
  const ci = new Map(checkpoints.map((it, t) => [it, t]));
  const tagCount = new Map<string, number>();
  for (const t of pos) tagCount.set(t, (tagCount.get(t) ?? 0) + 1);
  const shown = [...tagCount.entries()].filter(([, k]) => k >= TAG_CURVE_SHARE * n).sort((a, b) => b[1] - a[1]);
  const idx = new Map(shown.map(([t], i) => [t, i]));
  const sums = shown.map(() => new Float64Array(checkpoints.length));
  const counts = shown.map(() => new Float64Array(checkpoints.length));
  const total = new Float64Array(checkpoints.length);
  for (const r of evalRows) {
    const t = ci.get(r.iteration) as number;
    total[t] += r.loss;
    const k = idx.get(pos[r.token]);
    if (k === undefined) continue;
    sums[k][t] += r.loss;
    counts[k][t]++;
  }
  const tagLoss = shown.map(([tag, k], i) => ({ tag, share: k / n, loss: Array.from(sums[i], (s, t) => s / counts[i][t]) }));
  const basisSteps = indexedSteps(steps, 'basis/');
  const b = basisSteps.length ? await read(basisSteps[basisSteps.length - 1].step, 'basis.parquet') : undefined;
  const eigenvalues = b ? Array.from({ length: b.vector.length }, (_, i) => num(b.eigenvalue, i)) : [];
  const capture = await loadCapture(steps, read, n);
  const members: TagMember[] = [];
  for (const step of Object.keys(steps).filter((s) => s.startsWith('tags/'))) {
    const s = await read(step, 'summary.parquet');
    const cl = await read(step, 'clusters.parquet');
    const cx = await read(step, 'contexts.parquet');
    const cu = await read(step, 'curves.parquet');
    if (!s || !cl || !cx || !cu) continue;
    const m: TagMember = {
      step,
      // polca's own clusterings read as `cluster:<family>`, the protocol's as the family
      family: `${s.source && String((s.source as unknown[])[0]) === 'cluster' ? 'cluster:' : ''}${String((s.family as unknown[])[0])}`,
      member: num(s.member, 0),
      dropped: Boolean((s.dropped as unknown[])[0]),
      clusters: num(s.clusters, 0),
      simpleClusters: num(s.simple_clusters, 0),
      hasSimple: Boolean((s.has_simple as unknown[])[0]),
      shuffledHits: num(s.shuffled_hits, 0),
      shuffles: num(s.shuffles, 0),
      shown: [],
    };
    const rows = Array.from({ length: cl.cluster.length }, (_, i) => i).sort(
      (a, c) => num(cl.size, c) - num(cl.size, a) || num(cl.cluster, a) - num(cl.cluster, c),
    );
    for (const i of rows.slice(0, SHOWN_CLUSTERS)) {
      const id = num(cl.cluster, i);
      const contexts: { rank: number; text: string }[] = [];
      for (let j = 0; j < cx.cluster.length; j++)
        if (num(cx.cluster, j) === id) contexts.push({ rank: num(cx.rank, j), text: String((cx.context as unknown[])[j]) });
      const curve: { t: number; v: number }[] = [];
      for (let j = 0; j < cu.cluster.length; j++)
        if (num(cu.cluster, j) === id) curve.push({ t: num(cu.checkpoint, j), v: num(cu.mean, j) });
      m.shown.push({
        cluster: id,
        size: num(cl.size, i),
        simple: Boolean((cl.simple as unknown[])[i]),
        label: String((cl.label as unknown[])[i]),
        topWords: String((cl.top_words as unknown[])[i]),
        breakthrough: num(cl.breakthrough_iteration, i),
        hidden: Boolean((cl.hidden as unknown[])[i]),
        contexts: contexts.sort((a, c) => a.rank - c.rank).map((c) => c.text),
        curve: curve.sort((a, c) => a.t - c.t).map((p) => p.v),
      });
    }
    members.push(m);
  }
  const famOrder = (f: string) => ['loss', 'dloss', 'polca', 'cluster:loss', 'cluster:polca'].indexOf(f);
  members.sort((a, c) => famOrder(a.family) - famOrder(c.family) || a.family.localeCompare(c.family) || a.member - c.member);
  const last = checkpoints.length - 1;
  return {
    config: record.config as Record<string, unknown> | undefined,
    tokens: n,
    checkpoints,
    trainLoss,
    tagLoss,
    finalLoss: last >= 0 && n > 0 ? total[last] / n : Number.NaN,
    eigenvalues,
    capture,
    ablation: await loadAblation(steps, record.config, read),
    members,
    families: tagFamilies(members),
    missing,
  };
}

/** Headline metrics: final loss, capture, and per family the tag reading. */
export function englishMetrics(d: EnglishReportData): Record<string, number> {
  const out: Record<string, number> = {
    'final.evalLoss': d.finalLoss,
    ...readingMetrics(d.capture, undefined),
    ...ablationMetrics(d.ablation),
  };
  for (const f of d.families) {
    out[`tags.${f.family}.kept`] = f.kept;
    out[`tags.${f.family}.withSimple`] = f.withSimple;
    out[`tags.${f.family}.chance`] = f.chance;
  }
  return out;
}

const memberName = (m: TagMemberReading) => (m.member < 0 ? m.family : `${m.family} b${m.member}`);

function figures(d: EnglishReportData): Figure[] {
  const out: Figure[] = [];
  const step = Math.max(1, Math.ceil(d.trainLoss.length / 400));
  out.push({
    name: 'training-loss',
    section: 'training',
    title: 'Training loss',
    caption: 'Cross-entropy of each training batch (nats per token).',
    spec: spec({
      width: 520,
      height: 220,
      data: { values: d.trainLoss.filter((_, i) => i % step === 0).map((r) => ({ iteration: r.iteration, loss: r4(r.loss) })) },
      mark: { type: 'line', strokeWidth: 1 },
      encoding: { x: { field: 'iteration', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative', title: 'loss' } },
    }),
  });
  const rows: Record<string, unknown>[] = [];
  for (const t of d.tagLoss)
    d.checkpoints.forEach((it, k) => {
      rows.push({ iteration: it, tag: `${t.tag} (${fmt(t.share)})`, loss: r4(t.loss[k]) });
    });
  out.push({
    name: 'tag-loss',
    section: 'training',
    title: 'When each part of speech is learned: evaluation loss by the target’s tag',
    caption: `Mean loss of the evaluation targets with each POS tag (wink-nlp’s Universal POS tags; tags of at least ${TAG_CURVE_SHARE} of the targets, their share in brackets), at every checkpoint. The English counterpart of the arithmetic report’s per-digit curves.`,
    spec: spec({
      width: 520,
      height: 260,
      data: { values: rows },
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'iteration', type: 'quantitative' },
        y: { field: 'loss', type: 'quantitative', title: 'mean loss' },
        color: { field: 'tag', type: 'nominal', title: 'target tag', scale: { scheme: 'tableau20' } },
      },
    }),
  });
  for (const m of d.members) {
    if (m.shown.length === 0) continue;
    const vals: Record<string, unknown>[] = [];
    // the loss is a level per checkpoint; a decomposition is a change per interval, drawn cumulated
    const level = m.family === 'loss' || m.family === 'cluster:loss';
    for (const c of m.shown) {
      let acc = 0;
      c.curve.forEach((v, t) => {
        acc += v;
        const it = d.checkpoints[Math.min(level ? t : t + 1, d.checkpoints.length - 1)];
        vals.push({ iteration: it, cluster: `c${c.cluster}${c.simple ? ' (simple)' : ''}`, value: r4(level ? v : acc) });
      });
    }
    out.push({
      name: `tags-${m.step.replace(/\//g, '-')}`,
      section: 'tags',
      title: `${memberName(m)}: mean curves of its largest clusters`,
      caption: level
        ? 'Mean loss of the cluster’s tokens at each checkpoint.'
        : 'Cumulative mean of the cluster’s trajectories (its decomposed loss change so far).',
      spec: spec({
        width: 420,
        height: 180,
        data: { values: vals },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'iteration', type: 'quantitative' },
          y: { field: 'value', type: 'quantitative', title: level ? 'mean loss' : 'cumulative mean' },
          color: { field: 'cluster', type: 'nominal', title: null },
        },
      }),
    });
  }
  return [...out, ...captureFigures(d.capture), ...ablationFigures(d.ablation)];
}

function tagsHtml(d: EnglishReportData, figs: Figure[]): string {
  const fam = d.families
    .map(
      (f) =>
        `<tr><td>${escapeHtml(f.family)}</td><td class="num">${f.members}</td><td class="num">${f.kept}</td><td class="num">${f.withSimple}</td><td class="num">${fmt(f.chance)}</td><td class="num">${f.simpleClusters} of ${f.clusters}</td></tr>`,
    )
    .join('');
  const parts = d.members.map((m) => {
    const fig = figs.find((f) => f.name === `tags-${m.step.replace(/\//g, '-')}`);
    const head = `<h3>${escapeHtml(memberName(m))}</h3><p>${m.dropped ? 'dropped by the filters (its summed decomposition is positive). ' : ''}${m.clusters} clusters, ${m.simpleClusters} simply labelled; under shuffled tags ${m.shuffledHits} of ${m.shuffles} shuffles give a simply-labelled cluster.</p>`;
    const cl = m.shown
      .map(
        (
          c,
        ) => `<div class="cluster"><p><b>cluster ${c.cluster}</b> (${c.size} tokens${c.simple ? ', <b>simply labelled</b>' : ''}; breakthrough at iteration ${fmt(c.breakthrough)}${c.hidden ? ', hidden' : ''}): <code>${escapeHtml(c.label)}</code> (target · 1st · 2nd · 3rd before)</p>
<p>most frequent targets: ${escapeHtml(c.topWords)}</p>
<ol class="contexts">${c.contexts.map((t) => `<li><code>${escapeHtml(t)}</code></li>`).join('')}</ol></div>`,
      )
      .join('');
    return `${head}${fig ? `<p><a href="#fig-${fig.name}">its curves</a></p>` : ''}${cl}`;
  });
  return `<p>Families <code>loss</code>, <code>polca</code>: the clusterings of the published protocol (its filters, HDBSCAN min_cluster_size and min_samples relative to the token count, raw trajectories); <code>cluster:loss</code>, <code>cluster:polca</code>: polca’s own clusterings (the <code>cluster</code> steps’ settings). Each clustering read against the POS tags of the target and its 3 predecessors (${TAG_POSITIONS.join(', ')}): at each position the smallest set of tags covering the coverage share of the cluster; a cluster is simply labelled when no position needs more than the allowed number of tags. “chance”: the expected number of kept members with a simple cluster when the tag tuples are shuffled among the clustered tokens (the same cluster sizes). The paper: 22 of 26 kept vectors; the loss’s clustering found almost nothing.</p>
<table class="data"><tr><th>family</th><th>members</th><th>kept</th><th>with a simply-labelled cluster</th><th>chance</th><th>simple clusters</th></tr>${fam}</table>
${parts.join('\n')}`;
}

export async function buildEnglishReport(
  store: ArtifactStore,
  record: RunRecord,
  opts: { pngScale?: number } = {},
): Promise<{ files: Record<string, Uint8Array>; figures: Figure[]; metrics: Record<string, number>; data: EnglishReportData }> {
  const d = await loadEnglishReportData(store, record);
  const figs = figures(d);
  const metrics = englishMetrics(d);
  const files: Record<string, Uint8Array> = {};
  for (const f of figs) {
    const svg = await renderSvg(f.spec);
    files[`figures/${f.name}.svg`] = new Uint8Array(Buffer.from(svg, 'utf8'));
    files[`figures/${f.name}.png`] = svgToPng(svg, opts.pngScale ?? 2);
  }
  const c = (d.config ?? {}) as Record<string, Record<string, unknown>>;
  const task = c.task ?? {};
  const sections: PageSection[] = [
    { id: 'training', title: 'Training', figures: figs.filter((f) => f.section === 'training') },
    {
      id: 'basis',
      title: 'The POLCA basis',
      figures: [],
      intro: `<p>${d.eigenvalues.length} vectors; eigenvalues (in extension order): ${d.eigenvalues.map((v) => fmt(v)).join(', ') || '–'}.</p>`,
    },
    { id: 'capture', title: 'Does the basis carry the learning? (basis capture)', figures: figs.filter((f) => f.section === 'capture') },
    {
      id: 'tags',
      title: 'Clusters read against part-of-speech tags',
      figures: figs.filter((f) => f.section === 'tags'),
      intro: tagsHtml(d, figs),
    },
    {
      id: 'ablation',
      title: 'Does a direction matter? Ablating it during training',
      figures: figs.filter((f) => f.section === 'ablation'),
      intro: ablationHtml(d.ablation),
    },
  ];
  const meta: [string, string][] = [
    [
      'task',
      `English language modelling: corpus ${escapeHtml(String(task.corpus ?? 'built-in (Moby-Dick)'))}, vocabulary ${escapeHtml(String(task.vocabSize))}, context ${escapeHtml(String(task.contextLength))}`,
    ],
    ['model', `${c.model?.nLayers} layers, d_model ${c.model?.dModel}, ${c.model?.nHeads} heads, MLP ${c.model?.dMlp}`],
    ['training', `${c.train?.iterations} iterations, batch ${c.train?.batchSize}, lr ${c.train?.lr} (${c.train?.schedule})`],
    ['evaluation tokens', String(d.tokens)],
    ['checkpoints', String(d.checkpoints.length)],
    ['final evaluation loss', fmt(d.finalLoss)],
  ];
  const header = `<h1>POLCA report: English language modelling</h1>
<p>Per-token loss changes decomposed along Hessian eigenvectors (POLCA), clustered with the published protocol, and read against part-of-speech tags.</p>
<table class="meta">${meta.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>
${d.missing.length ? `<p class="warn">Not in this run’s record: ${d.missing.map(escapeHtml).join(', ')}.</p>` : ''}`;
  const html = page({
    title: 'POLCA report: English language modelling',
    header,
    sections,
    withFigures: true,
    footer: `<section id="config"><h2>Configuration</h2><details><summary>The run’s resolved configuration</summary><pre>${escapeHtml(JSON.stringify(d.config ?? null, null, 2))}</pre></details>
<details><summary>Headline metrics</summary><pre>${escapeHtml(JSON.stringify(metrics, null, 2))}</pre></details></section>`,
  });
  files['index.html'] = new Uint8Array(Buffer.from(html, 'utf8'));
  return { files, figures: figs, metrics, data: d };
}
