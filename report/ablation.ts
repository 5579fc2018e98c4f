/**
 * The ablation in the report (config `ablate`; the `ablate/reading` step, core/train/ablation-reading.ts):
 * read from its tables, turned into headline metrics, one figure per ablated vector (per cluster of
 * POLCA along it, the cluster's mean loss unablated, with the vector removed and with random
 * directions removed) and the table that answers whether removing b hurts the tokens POLCA grouped
 * along b more than the others, and more than removing random directions does.
 */
import type { Table } from '../artifacts/index.ts';
import type { ClusterQuestion, CurvePoint, GroupRow } from '../core/train/ablation-reading.ts';
import { ablationReadingName } from '../pipeline/plan.ts';
import { fmt } from './format.ts';
import { type Figure, r4, spec } from './figures.ts';
import { escapeHtml } from './html.ts';

export interface AblationData {
  from: number;
  vectors: number[];
  /** core/train/ablation-reading.ts's rows as groups.parquet, clusters.parquet and curves.parquet hold them. */
  groups: (Omit<GroupRow, 'kind'> & { kind: string })[];
  questions: ClusterQuestion[];
  curves: (Omit<CurvePoint, 'kind' | 'skill' | 'value'> & { kind: string })[];
}

type Read = (step: string, file: string) => Promise<Table | undefined>;
const num = (col: Table[string] | undefined, i: number): number => Number((col as ArrayLike<unknown>)[i]);
const str = (col: Table[string] | undefined, i: number): string => String((col as ArrayLike<unknown>)[i]);

/** The ablation's tables; undefined for a run without one. */
export async function loadAblation(steps: Record<string, string>, config: unknown, read: Read): Promise<AblationData | undefined> {
  if (!steps[ablationReadingName]) return undefined;
  const g = await read(ablationReadingName, 'groups.parquet');
  const q = await read(ablationReadingName, 'clusters.parquet');
  const c = await read(ablationReadingName, 'curves.parquet');
  if (!g || !q || !c) return undefined;
  const a = ((config ?? {}) as { ablate?: { from?: number; vectors?: number[] } }).ablate ?? {};
  return {
    from: Number(a.from),
    vectors: a.vectors ?? [],
    groups: Array.from({ length: g.arm.length }, (_, i) => ({
      arm: str(g.arm, i),
      kind: str(g.kind, i),
      vector: num(g.vector, i),
      cluster: num(g.cluster, i),
      skill: str(g.skill, i),
      value: str(g.value, i),
      tokens: num(g.tokens, i),
      delta: num(g.delta, i),
      deltaFinal: num(g.delta_final, i),
      control: num(g.control, i),
      ablated: num(g.ablated, i),
    })),
    questions: Array.from({ length: q.vector.length }, (_, i) => ({
      vector: num(q.vector, i),
      cluster: num(q.cluster, i),
      tokens: num(q.tokens, i),
      delta: num(q.delta, i),
      deltaOthers: num(q.delta_others, i),
      deltaRandom: num(q.delta_random, i),
      excessOthers: num(q.excess_others, i),
      excessRandom: num(q.excess_random, i),
    })),
    curves: Array.from({ length: c.arm.length }, (_, i) => ({
      arm: str(c.arm, i),
      kind: str(c.kind, i),
      vector: num(c.vector, i),
      cluster: num(c.cluster, i),
      iteration: num(c.iteration, i),
      control: num(c.control, i),
      ablated: num(c.ablated, i),
    })),
  };
}

/** Flat headline metrics of an ablation (NaN-free), for the report and sweep tables. */
export function ablationMetrics(a: AblationData | undefined): Record<string, number> {
  const m: Record<string, number> = {};
  if (!a) return m;
  const set = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) m[k] = v;
  };
  set('ablation.from', a.from);
  set('ablation.directions', a.vectors.length);
  for (const g of a.groups) if (g.kind === 'all') set(`ablation.delta.${g.arm}`, g.delta);
  const q = a.questions;
  const tokens = q.reduce((s, x) => s + x.tokens, 0);
  set('ablation.clusters', q.length);
  set('ablation.hurtMoreThanOthers', q.filter((x) => x.excessOthers > 0).length);
  set('ablation.hurtMoreThanRandom', q.filter((x) => x.excessRandom > 0).length);
  set('ablation.hurtMoreThanBoth', q.filter((x) => x.excessOthers > 0 && x.excessRandom > 0).length);
  if (tokens > 0) {
    set('ablation.excessOthers', q.reduce((s, x) => s + x.tokens * x.excessOthers, 0) / tokens);
    set('ablation.excessRandom', q.reduce((s, x) => s + x.tokens * x.excessRandom, 0) / tokens);
  }
  return m;
}

const SERIES = ['unablated', 'b removed', 'random directions removed'];
/** Clusters drawn per vector (the largest), and vectors drawn. */
const MAX_CLUSTERS = 6;
const MAX_VECTORS = 4;

/** Per ablated vector: its clusters' mean loss over the rest of training, unablated and ablated (both arms). */
export function ablationFigures(a: AblationData | undefined): Figure[] {
  if (!a) return [];
  const out: Figure[] = [];
  for (const b of a.vectors.slice(0, MAX_VECTORS)) {
    const clusters = a.groups
      .filter((g) => g.arm === 'basis' && g.kind === 'cluster' && g.vector === b && g.cluster >= 0)
      .sort((p, q) => q.tokens - p.tokens || p.cluster - q.cluster)
      .slice(0, MAX_CLUSTERS);
    if (clusters.length === 0) continue;
    const size = new Map(clusters.map((g) => [g.cluster, g.tokens]));
    const panel = (c: number) => `cluster ${c} (${size.get(c)} tokens)`;
    const values: Record<string, unknown>[] = [];
    for (const p of a.curves) {
      if (p.kind !== 'cluster' || p.vector !== b || !size.has(p.cluster)) continue;
      if (p.arm === 'basis') {
        values.push({ panel: panel(p.cluster), iteration: p.iteration, series: SERIES[0], loss: r4(p.control) });
        values.push({ panel: panel(p.cluster), iteration: p.iteration, series: SERIES[1], loss: r4(p.ablated) });
      } else if (p.arm === 'random')
        values.push({ panel: panel(p.cluster), iteration: p.iteration, series: SERIES[2], loss: r4(p.ablated) });
    }
    const rows = a.questions.filter((q) => q.vector === b);
    const hurt = rows.filter((q) => q.excessOthers > 0 && q.excessRandom > 0).length;
    out.push({
      name: `ablation-b${b}`,
      section: 'ablation',
      title: `Removing b${b} from iteration ${a.from} on: the loss of the clusters of POLCA along b${b}`,
      caption: `Mean evaluation loss of each cluster’s tokens (the unablated run’s clusters of POLCA along b${b}; the ${clusters.length} largest), from iteration ${a.from} to the end of training: unablated, with every update projected off b${b}${a.vectors.length > 1 ? ` (and the other ${a.vectors.length - 1} ablated vectors)` : ''}, and off as many random orthonormal directions. ${hurt} of ${rows.length} clusters are hurt both more than the other tokens and more than by the random directions.`,
      spec: spec({
        data: { values },
        facet: { field: 'panel', type: 'nominal', title: null, sort: clusters.map((g) => panel(g.cluster)) },
        columns: 3,
        spec: {
          width: 220,
          height: 150,
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: {
            x: { field: 'iteration', type: 'quantitative' },
            y: { field: 'loss', type: 'quantitative', title: 'mean loss', scale: { zero: false } },
            color: {
              field: 'series',
              type: 'nominal',
              title: null,
              legend: { orient: 'bottom' },
              scale: { domain: SERIES, range: ['#222222', '#e45756', '#4c78a8'] },
            },
            // the random control often lies on the unablated curve: dashed, so that both show
            strokeDash: {
              field: 'series',
              type: 'nominal',
              title: null,
              legend: { orient: 'bottom' },
              scale: {
                domain: SERIES,
                range: [
                  [1, 0],
                  [1, 0],
                  [4, 3],
                ],
              },
            },
            tooltip: [{ field: 'series' }, { field: 'iteration' }, { field: 'loss' }],
          },
        },
        resolve: { scale: { y: 'independent' } },
      }),
    });
  }
  return out;
}

const f4 = (v: number) => (Number.isFinite(v) ? fmt(v) : '–');
const verdict = (yes: boolean) => (yes ? '<span class="yes">yes</span>' : '<span class="no">no</span>');

/** The table of the question, and every group's numbers. */
export function ablationHtml(a: AblationData | undefined): string {
  if (!a) return '';
  const all = (arm: string) => a.groups.find((g) => g.arm === arm && g.kind === 'all');
  const rows = a.questions
    .map(
      (q) =>
        `<tr><td class="num">b${q.vector}</td><td class="num">${q.cluster}</td><td class="num">${q.tokens}</td><td class="num">${f4(q.delta)}</td><td class="num">${f4(q.deltaOthers)}</td><td class="num">${f4(q.deltaRandom)}</td><td class="num">${f4(q.excessOthers)}</td><td class="num">${f4(q.excessRandom)}</td><td>${verdict(q.excessOthers > 0)}</td><td>${verdict(q.excessRandom > 0)}</td></tr>`,
    )
    .join('');
  const groups = a.groups
    .filter((g) => g.arm === 'basis' || !a.groups.some((x) => x.arm === 'basis'))
    .map((g) => {
      const r = a.groups.find(
        (x) =>
          x.arm === 'random' &&
          x.kind === g.kind &&
          x.vector === g.vector &&
          x.cluster === g.cluster &&
          x.skill === g.skill &&
          x.value === g.value,
      );
      const name =
        g.kind === 'all'
          ? 'all tokens'
          : g.kind === 'skill'
            ? `${escapeHtml(g.skill)} = ${escapeHtml(g.value)}`
            : `b${g.vector} cluster ${g.cluster < 0 ? 'outliers' : g.cluster}`;
      return `<tr><td>${name}</td><td class="num">${g.tokens}</td><td class="num">${f4(g.control)}</td><td class="num">${f4(g.arm === 'basis' ? g.delta : Number.NaN)}</td><td class="num">${f4(g.arm === 'basis' ? g.deltaFinal : Number.NaN)}</td><td class="num">${f4(r ? r.delta : g.arm === 'random' ? g.delta : Number.NaN)}</td><td class="num">${f4(r ? r.deltaFinal : g.arm === 'random' ? g.deltaFinal : Number.NaN)}</td></tr>`;
    })
    .join('');
  const b = all('basis');
  const r = all('random');
  return `<p>From iteration ${a.from} on, training went on with every AdamW update projected off ${a.vectors.length ? `the basis vector${a.vectors.length > 1 ? 's' : ''} ${a.vectors.map((j) => `b${j}`).join(', ')}` : 'no basis vector'} (θ ← θ + (I − AAᵀ)Δθ, weight decay included; Adam’s moments see the full gradient) and, as the control, off as many random orthonormal directions, from the same state with the same data order. Δ: the evaluation loss of a group’s tokens with the directions removed minus without, averaged over the rest of training (each checkpoint weighted by the iterations it closes); “final”: at the last checkpoint. Over all tokens Δ = ${f4(b ? b.delta : Number.NaN)} removing the basis vectors, ${f4(r ? r.delta : Number.NaN)} removing random directions.</p>
${
  a.questions.length
    ? `<p>Does removing b hurt the tokens POLCA grouped along b more than the others, and more than removing random directions does? Per cluster of the unablated run’s POLCA along b (outliers left out):</p>
<table class="data"><tr><th>vector</th><th>cluster</th><th>tokens</th><th>Δ, b removed</th><th>Δ of the other tokens</th><th>Δ, random removed</th><th>more than the others by</th><th>more than random by</th><th>hurt more than the others</th><th>hurt more than random</th></tr>${rows}</table>`
    : '<p class="na">No clusters to ask about (no basis vector ablated, or no cluster along it).</p>'
}
<details><summary>Every group: all tokens, each skill value, each cluster (groups.parquet)</summary><table class="data"><tr><th>group</th><th>tokens</th><th>unablated mean loss</th><th>Δ, b removed</th><th>final</th><th>Δ, random removed</th><th>final</th></tr>${groups}</table></details>`;
}
