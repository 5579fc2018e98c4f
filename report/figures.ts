/**
 * The report's figures as Vega-Lite specs with their (aggregated) data inlined. Each figure has a
 * file-safe name, a title, a caption saying what it shows, and the section it belongs to.
 */
import type { TopLevelSpec } from 'vega-lite';
import {
  binFactor,
  DIGIT_NAMES,
  type FamilyData,
  GROUP_DOMAIN,
  groupName,
  HIST_LO,
  HIST_STEP,
  type ReportData,
  SKILLS,
  skillValueName,
  thin,
} from './data.ts';

export interface Figure {
  name: string;
  section: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

export const SECTIONS = [
  { id: 'training', title: 'Training' },
  { id: 'figure1', title: 'Breakthrough clusters (the paper’s Figure 1)' },
  { id: 'digits', title: 'Per-digit curves (Figures 2–3)' },
  { id: 'homogeneity', title: 'Dominant-skill homogeneity (Figures 4–10)' },
  { id: 'basis', title: 'The POLCA basis' },
  { id: 'capture', title: 'Does the basis carry the learning? (basis capture)' },
  { id: 'completeness', title: 'Completeness of the decomposition' },
  { id: 'protocol', title: 'The paper’s table: the published evaluation protocol' },
  { id: 'ablation', title: 'Does a direction matter? Ablating it during training' },
  { id: 'claim', title: 'The claim in numbers' },
] as const;

/** 4 significant digits: enough for a plot, a third of the JSON. */
export const r4 = (v: number): number | null => (Number.isFinite(v) ? Number(v.toPrecision(4)) : null);

const DIGIT_COLORS = ['#4c78a8', '#f58518', '#54a24b', '#e45756'];
// tableau20 pairs: the dark shade for carry, the light one for no carry, one hue per digit
const GROUP_COLORS = ['#1f77b4', '#aec7e8', '#ff7f0e', '#ffbb78', '#2ca02c', '#98df8a', '#d62728', '#ff9896'];
const VARIANT_COLORS: Record<string, string> = { paper: '#4c78a8', 'exact-curvature': '#f58518', path: '#54a24b' };

const BASE_CONFIG = {
  background: 'white',
  padding: 8,
  config: {
    axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const },
    legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const, labelLimit: 240, titleLimit: 300 },
    header: { labelFontSize: 11, titleFontSize: 12 },
    title: { fontSize: 13, anchor: 'start' as const, fontWeight: 'normal' as const },
    view: { stroke: '#ddd' },
  },
};

export function spec(s: Record<string, unknown>): TopLevelSpec {
  return { ...BASE_CONFIG, ...s } as unknown as TopLevelSpec;
}

/** Log-axis ticks at powers of ten when the values span three decades or more (vega crowds them). */
export function logAxis(values: (number | null)[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const pos = values.filter((v): v is number => v !== null && v > 0);
  if (pos.length === 0) return extra;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of pos) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  if (Math.log10(hi / lo) < 2.5) return extra;
  const step = Math.ceil((b - a + 1) / 8);
  const ticks: number[] = [];
  for (let e = a; e <= b; e += step) ticks.push(Number(`1e${e}`));
  return { ...extra, values: ticks, format: '.0e' };
}

function binNote(length: number, max: number, what = 'checkpoints'): string {
  const k = binFactor(length, max);
  return k > 1 ? ` Curves are averaged over bins of ${k} consecutive ${what} to keep the page small.` : '';
}

function scalingNote(data: ReportData): string {
  const scaling = (data.config?.cluster as { scaling?: string } | undefined)?.scaling;
  return scaling && scaling !== 'none'
    ? ` Trajectories were clustered after ${scaling} scaling; cluster means are in the units of the clustered values.`
    : '';
}

/** Iteration of a family's curve point: checkpoint t for loss, the interval's end t+1 for changes. */
function curveIteration(data: ReportData, family: string, t: number): number {
  const its = data.checkpointIterations;
  const idx = family === 'loss' ? t : t + 1;
  return its[idx] ?? (its.length >= 2 ? its[0] + idx * (its[1] - its[0]) : idx);
}

function familyUnits(family: string): string {
  if (family === 'loss') return 'loss';
  if (family === 'dloss') return 'ΔL';
  if (family === 'absdloss') return '|ΔL|';
  return 'POLCA';
}

function dominant(fd: FamilyData, cluster: number, skill: string): { dominant: number; share: number } | undefined {
  return fd.skills.find((s) => s.cluster === cluster && s.skill === skill);
}

function clustersBySize(fd: FamilyData): number[] {
  return [...fd.sizes.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([c]) => c);
}

export function buildFigures(data: ReportData): Figure[] {
  const figs: Figure[] = [];
  const T1 = data.checkpointIterations.length;
  // digit × carry colours shared by Figure 1b and 1c, for the groups that occur (the ones digit
  // never receives a carry)
  const groupsSeen = new Set(data.lossByGroup.map((r) => r.group));
  for (const fd of data.families)
    if (fd.family === 'polca')
      for (const c of clustersBySize(fd).slice(0, 3)) {
        const d = dominant(fd, c, 'digit');
        const k = dominant(fd, c, 'carry');
        groupsSeen.add(d && k ? groupName(d.dominant, k.dominant) : 'unknown');
      }
  const groupDomain = [...GROUP_DOMAIN, 'unknown'].filter((g) => groupsSeen.has(g));
  const groupScale = { domain: groupDomain, range: groupDomain.map((g) => GROUP_COLORS[GROUP_DOMAIN.indexOf(g)] ?? '#999') };

  // ---- training
  if (data.trainLoss.length > 0) {
    figs.push({
      name: 'training-loss',
      section: 'training',
      title: 'Training loss',
      caption:
        'Training loss (mean cross-entropy of the batch’s output tokens) per optimizer iteration, log scale, and the learning-rate schedule.' +
        (data.trainLossBin > 1 ? ` Averaged over bins of ${data.trainLossBin} consecutive iterations to keep the page small.` : ''),
      spec: spec({
        data: { values: data.trainLoss.filter((r) => r.loss > 0).map((r) => ({ iteration: r.iteration, loss: r4(r.loss), lr: r4(r.lr) })) },
        hconcat: [
          {
            width: 520,
            height: 220,
            mark: { type: 'line', strokeWidth: 1.2 },
            encoding: {
              x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
              y: {
                field: 'loss',
                type: 'quantitative',
                scale: { type: 'log' },
                title: 'training loss',
                axis: logAxis(data.trainLoss.map((r) => r.loss)),
              },
              tooltip: [{ field: 'iteration' }, { field: 'loss' }],
            },
          },
          {
            width: 220,
            height: 220,
            mark: { type: 'line', color: '#888' },
            encoding: {
              x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
              y: { field: 'lr', type: 'quantitative', title: 'learning rate', axis: { format: '.1e' } },
            },
          },
        ],
      }),
    });
  }
  if (data.evalByDigit.length > 0) {
    const colorDigits = {
      field: 'digit',
      type: 'nominal',
      title: 'digit',
      scale: { domain: [...DIGIT_NAMES, 'all'], range: [...DIGIT_COLORS, '#222'] },
    };
    const values = data.evalByDigit.map((r) => ({ iteration: r.iteration, digit: r.digit, loss: r4(r.loss), accuracy: r4(r.accuracy) }));
    figs.push({
      name: 'eval-by-digit',
      section: 'training',
      title: 'Evaluation loss and accuracy per digit',
      caption:
        `Mean per-token loss (log scale) and token accuracy (argmax equals the target digit) on the ${data.tokens?.n ?? ''} evaluation tokens at each checkpoint, per output digit and over all tokens (black).` +
        (data.final
          ? ` At the last checkpoint (iteration ${data.final.iteration}): loss ${r4(data.final.loss)}, token accuracy ${r4(data.final.accuracy)}, exact match (all four digits right) ${r4(data.final.exactMatch)}.`
          : '') +
        binNote(T1, 400),
      spec: spec({
        data: { values },
        hconcat: [
          {
            width: 360,
            height: 220,
            mark: { type: 'line', strokeWidth: 1.5 },
            encoding: {
              x: { field: 'iteration', type: 'quantitative' },
              y: {
                field: 'loss',
                type: 'quantitative',
                scale: { type: 'log' },
                title: 'mean evaluation loss',
                axis: logAxis(values.map((r) => r.loss)),
              },
              color: colorDigits,
              tooltip: [{ field: 'iteration' }, { field: 'digit' }, { field: 'loss' }, { field: 'accuracy' }],
            },
          },
          {
            width: 360,
            height: 220,
            mark: { type: 'line', strokeWidth: 1.5 },
            encoding: {
              x: { field: 'iteration', type: 'quantitative' },
              y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'token accuracy' },
              color: colorDigits,
              tooltip: [{ field: 'iteration' }, { field: 'digit' }, { field: 'accuracy' }],
            },
          },
        ],
      }),
    });
  }

  // ---- Figure 1
  const absd = data.families.find((f) => f.family === 'absdloss');
  if (absd && absd.sizes.size > 0) {
    const maxLines = 20;
    const chosen = clustersBySize(absd).slice(0, maxLines);
    const values: Record<string, unknown>[] = [];
    for (const c of chosen) {
      const carry = dominant(absd, c, 'carry');
      const carryShare = carry ? (carry.dominant ? carry.share : 1 - carry.share) : Number.NaN;
      const rows = (absd.curves.get(c) ?? []).map((p) => ({ iteration: curveIteration(data, 'absdloss', p.checkpoint), mean: p.mean }));
      for (const p of thin(rows, 300, ['iteration', 'mean']))
        values.push({ cluster: c, size: absd.sizes.get(c), carryShare: r4(carryShare), iteration: r4(p.iteration), mean: r4(p.mean) });
    }
    figs.push({
      name: 'fig1a-absdloss-clusters',
      section: 'figure1',
      title: '(a) Mean |ΔL| trajectories of the |ΔL| clusters',
      caption:
        `Mean |ΔL| trajectory of each HDBSCAN cluster of the per-token loss-change magnitudes (${absd.sizes.size} clusters${absd.sizes.size > maxLines ? `, the ${maxLines} largest shown` : ''}; outliers excluded), coloured by the share of the cluster’s tokens that receive a carry. A change over the interval t → t+1 is drawn at the iteration of checkpoint t+1.` +
        scalingNote(data) +
        binNote(T1 - 1, 300),
      spec: spec({
        width: 560,
        height: 260,
        data: { values },
        mark: { type: 'line', strokeWidth: 1.6, opacity: 0.9 },
        encoding: {
          x: { field: 'iteration', type: 'quantitative' },
          y: { field: 'mean', type: 'quantitative', title: 'cluster mean |ΔL|' },
          detail: { field: 'cluster', type: 'nominal' },
          color: { field: 'carryShare', type: 'quantitative', title: 'carry share', scale: { domain: [0, 1], scheme: 'viridis' } },
          tooltip: [
            { field: 'cluster' },
            { field: 'size' },
            { field: 'carryShare', title: 'carry share' },
            { field: 'iteration' },
            { field: 'mean' },
          ],
        },
      }),
    });
  }
  const polcaFams = data.families.filter((f) => f.family === 'polca' && f.sizes.size > 0);
  if (polcaFams.length > 0) {
    const values: Record<string, unknown>[] = [];
    for (const fd of polcaFams) {
      clustersBySize(fd)
        .slice(0, 3)
        .forEach((c, rank) => {
          const d = dominant(fd, c, 'digit');
          const k = dominant(fd, c, 'carry');
          const group = d && k ? groupName(d.dominant, k.dominant) : 'unknown';
          const rows = (fd.curves.get(c) ?? []).map((p) => ({ iteration: curveIteration(data, 'polca', p.checkpoint), mean: p.mean }));
          for (const p of thin(rows, 100, ['iteration', 'mean']))
            values.push({
              vector: fd.vector,
              rank: rank + 1,
              cluster: c,
              size: fd.sizes.get(c),
              group,
              iteration: r4(p.iteration),
              mean: r4(p.mean),
            });
        });
    }
    const cols = Math.min(4, polcaFams.length);
    figs.push({
      name: 'fig1b-polca-top-clusters',
      section: 'figure1',
      title: '(b) Top three POLCA clusters of each basis vector',
      caption:
        'For each basis vector b, the mean POLCA(x, b, ·) trajectory of its three largest HDBSCAN clusters, coloured by the cluster’s dominant digit and carry (same colours as (c)); the tooltip gives the cluster’s size and rank. Each panel has its own y scale.' +
        scalingNote(data) +
        binNote(T1 - 1, 100),
      spec: spec({
        data: { values },
        facet: { field: 'vector', type: 'ordinal', title: null, header: { labelExpr: "'b' + datum.value" } },
        columns: cols,
        spec: {
          width: 170,
          height: 110,
          mark: { type: 'line', strokeWidth: 1.4 },
          encoding: {
            x: { field: 'iteration', type: 'quantitative', axis: { tickCount: 4 } },
            y: { field: 'mean', type: 'quantitative', title: 'mean POLCA', axis: { tickCount: 4, format: '.1e' } },
            detail: { field: 'cluster', type: 'nominal' },
            color: { field: 'group', type: 'nominal', title: 'dominant digit · carry', scale: groupScale },
            tooltip: [
              { field: 'vector' },
              { field: 'rank' },
              { field: 'cluster' },
              { field: 'size' },
              { field: 'group' },
              { field: 'iteration' },
              { field: 'mean' },
            ],
          },
        },
        resolve: { scale: { y: 'independent' }, axis: { x: 'independent' } },
      }),
    });
  }
  if (data.lossByGroup.length > 0) {
    const sizes = new Map<string, number>();
    for (const r of data.lossByGroup) sizes.set(r.group, r.tokens);
    figs.push({
      name: 'fig1c-ground-truth',
      section: 'figure1',
      title: '(c) Ground truth: mean loss by digit × carry',
      caption:
        'Mean per-token evaluation loss of the tokens of each (digit, carry into the digit) subset — the skills a clustering should recover. Dark shades: with a carry; light: without. The ones digit never receives a carry.' +
        ` Subset sizes: ${[...sizes.entries()].map(([g, k]) => `${g} ${k}`).join(', ')}.` +
        binNote(T1, 400),
      spec: spec({
        width: 560,
        height: 260,
        data: { values: data.lossByGroup.map((r) => ({ iteration: r.iteration, group: r.group, mean: r4(r.mean), tokens: r.tokens })) },
        mark: { type: 'line', strokeWidth: 1.6 },
        encoding: {
          x: { field: 'iteration', type: 'quantitative' },
          y: { field: 'mean', type: 'quantitative', title: 'mean loss' },
          color: { field: 'group', type: 'nominal', title: 'digit · carry', scale: groupScale },
          tooltip: [{ field: 'group' }, { field: 'tokens' }, { field: 'iteration' }, { field: 'mean' }],
        },
      }),
    });
  }

  // ---- Figures 2–3
  const meanStd = (name: string, title: string, caption: string, rows: ReportData['lossByDigit'], yTitle: string): Figure => ({
    name,
    section: 'digits',
    title,
    caption,
    spec: spec({
      width: 560,
      height: 260,
      data: {
        values: rows.map((r) => ({
          iteration: r.iteration,
          digit: r.digit,
          mean: r4(r.mean),
          lo: r4(r.mean - r.std),
          hi: r4(r.mean + r.std),
          std: r4(r.std),
        })),
      },
      encoding: {
        x: { field: 'iteration', type: 'quantitative' },
        color: { field: 'digit', type: 'nominal', scale: { domain: [...DIGIT_NAMES], range: DIGIT_COLORS } },
      },
      layer: [
        {
          mark: { type: 'area', opacity: 0.15 },
          encoding: { y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' } },
        },
        {
          mark: { type: 'line', strokeWidth: 1.6 },
          encoding: {
            y: { field: 'mean', type: 'quantitative' },
            tooltip: [{ field: 'digit' }, { field: 'iteration' }, { field: 'mean' }, { field: 'std' }],
          },
        },
      ],
    }),
  });
  if (data.lossByDigit.length > 0)
    figs.push(
      meanStd(
        'fig2-loss-by-digit',
        'Figure 2: loss per digit, mean ± standard deviation',
        'Mean (line) and ± one standard deviation (band) over the evaluation tokens of each output digit of the per-token loss at each checkpoint.' +
          binNote(T1, 400),
        data.lossByDigit,
        'per-token loss',
      ),
    );
  if (data.absdByDigit.length > 0)
    figs.push(
      meanStd(
        'fig3-absdloss-by-digit',
        'Figure 3: |ΔL| per digit, mean ± standard deviation',
        'Mean (line) and ± one standard deviation (band) over the tokens of each digit of the loss-change magnitude |ℓ_x(θ_{t+1}) − ℓ_x(θ_t)|, drawn at the iteration of checkpoint t+1.' +
          binNote(T1 - 1, 400),
        data.absdByDigit,
        'per-token |ΔL|',
      ),
    );

  // ---- Figures 4–10
  for (const fd of data.families) {
    if (fd.sizes.size === 0) continue;
    const order = clustersBySize(fd);
    const rank = new Map(order.map((c, i) => [c, i]));
    const values = fd.skills
      .filter((s) => s.cluster >= 0)
      .map((s) => ({
        skill: s.skill,
        cluster: s.cluster,
        rank: rank.get(s.cluster) ?? 0,
        size: s.size,
        dominant: skillValueName(s.skill, s.dominant),
        share: r4(s.share),
      }));
    const many = order.length > 30;
    const overall = fd.summary.filter((s) => s.scope === 'all');
    const panels = SKILLS.filter((k) => overall.some((s) => s.skill === k) || fd.skills.some((s) => s.skill === k)).map((skill) => {
      const sum = overall.find((s) => s.skill === skill);
      const domain =
        skill === 'carry' ? ['carry', 'no carry'] : skill === 'digit' ? [...DIGIT_NAMES] : Array.from({ length: 10 }, (_, v) => String(v));
      const range = skill === 'carry' ? ['#2ca02c', '#bbbbbb'] : skill === 'digit' ? DIGIT_COLORS : { scheme: 'category10' };
      return {
        title: sum ? `${skill}: homogeneity ${r4(sum.homogeneity)}, baseline ${r4(sum.baseline)}, AMI ${r4(sum.ami)}` : skill,
        width: 250,
        height: 180,
        layer: [
          {
            transform: [{ filter: { field: 'skill', equal: skill } }],
            mark: { type: 'bar' },
            encoding: {
              x: {
                field: 'cluster',
                type: 'ordinal',
                sort: { field: 'rank' },
                title: 'cluster (largest first)',
                axis: many ? { labels: false, ticks: false } : { labelAngle: 0 },
              },
              y: { field: 'share', type: 'quantitative', scale: { domain: [0, 1] }, title: 'dominant share' },
              color: {
                field: 'dominant',
                type: 'nominal',
                title: skill,
                scale: Array.isArray(range) ? { domain, range } : { domain, ...range },
              },
              tooltip: [{ field: 'cluster' }, { field: 'size' }, { field: 'dominant' }, { field: 'share' }],
            },
          },
          ...(sum && Number.isFinite(sum.baseline)
            ? [
                {
                  data: { values: [{ baseline: r4(sum.baseline) }] },
                  mark: { type: 'rule', strokeDash: [4, 3], color: '#333' },
                  encoding: { y: { field: 'baseline', type: 'quantitative' } },
                },
              ]
            : []),
        ],
      };
    });
    const s0 = overall[0];
    const fig = fd.family === 'polca' ? `POLCA vector b${fd.vector}` : fd.label;
    figs.push({
      name: `homogeneity-${fd.step.slice('cluster/'.length).replace(/\//g, '-')}`,
      section: 'homogeneity',
      title: `Dominant-skill homogeneity: ${fig} clusters`,
      caption: `For each HDBSCAN cluster of the ${familyUnits(fd.family)} trajectories${fd.family === 'polca' ? ` along b${fd.vector}` : ''} (${fd.sizes.size} clusters, largest first${s0 ? `, ${s0.outliers} outlier tokens excluded: coverage ${r4(s0.coverage)}` : ''}), the share of its tokens holding the cluster’s most common value of a skill, coloured by that value; one panel per skill: carry into the digit, the digit, the target value. The dashed line is the size-weighted homogeneity the same clusters reach with the skill labels shuffled across tokens.`,
      spec: spec({ data: { values }, hconcat: panels, resolve: { scale: { color: 'independent' } } }),
    });
  }

  // ---- basis
  if (data.basis.length > 0) {
    const values = data.basis.map((b) => ({
      vector: b.vector,
      iteration: b.iteration,
      eigenvalue: r4(b.eigenvalue),
      residual: r4(b.residual),
      relative: r4(b.residual / Math.abs(b.eigenvalue)),
      lanczos: b.lanczosIterations,
      converged: b.converged === undefined ? 'not recorded' : b.converged ? 'yes' : 'no',
    }));
    const tol = (data.config?.basis as { tol?: number } | undefined)?.tol;
    const tip = [
      { field: 'vector' },
      { field: 'iteration', title: 'source iteration' },
      { field: 'eigenvalue' },
      { field: 'residual' },
      { field: 'relative' },
      { field: 'lanczos', title: 'Lanczos iterations' },
      { field: 'converged', title: 'residual within tolerance' },
    ];
    figs.push({
      name: 'basis',
      section: 'basis',
      title: 'Basis vectors: eigenvalue, source checkpoint, Lanczos residual',
      caption:
        `The ${data.basis.length} basis vectors in the order they were added: (a) the eigenvalue λ of P·H_S·P each came with (the largest algebraic eigenvalue of the Hessian projected off the earlier vectors); (b) the iteration of the checkpoint it was computed at; (c) its Lanczos residual ‖PHPv − λv‖, absolute and relative to |λ|` +
        (tol ? ` (dashed: the tolerance ${tol} on the relative residual).` : '.'),
      spec: spec({
        data: { values },
        hconcat: [
          {
            width: 230,
            height: 180,
            title: '(a) eigenvalue',
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'vector', type: 'quantitative', axis: { tickMinStep: 1 } },
              y: { field: 'eigenvalue', type: 'quantitative' },
              tooltip: tip,
            },
          },
          {
            width: 230,
            height: 180,
            title: '(b) source checkpoint',
            mark: { type: 'point', filled: true },
            encoding: {
              x: { field: 'vector', type: 'quantitative', axis: { tickMinStep: 1 } },
              y: { field: 'iteration', type: 'quantitative', title: 'iteration' },
              tooltip: tip,
            },
          },
          {
            width: 230,
            height: 180,
            title: '(c) Lanczos residual',
            layer: [
              {
                transform: [{ fold: ['residual', 'relative'], as: ['kind', 'value'] }, { filter: 'datum.value > 0' }],
                mark: { type: 'line', point: true },
                encoding: {
                  x: { field: 'vector', type: 'quantitative', axis: { tickMinStep: 1 } },
                  y: {
                    field: 'value',
                    type: 'quantitative',
                    scale: { type: 'log' },
                    title: 'residual',
                    axis: logAxis(values.flatMap((v) => [v.residual, v.relative])),
                  },
                  color: {
                    field: 'kind',
                    type: 'nominal',
                    title: null,
                    scale: { domain: ['residual', 'relative'], range: ['#4c78a8', '#e45756'] },
                  },
                  tooltip: tip,
                },
              },
              ...(tol
                ? [
                    {
                      data: { values: [{ tol }] },
                      mark: { type: 'rule', strokeDash: [4, 3], color: '#e45756' },
                      encoding: { y: { field: 'tol', type: 'quantitative' } },
                    },
                  ]
                : []),
            ],
          },
        ],
      }),
    });
  }

  // ---- completeness
  const comp = data.completeness;
  if (comp && comp.perInterval.length > 0) {
    const its = data.checkpointIterations;
    const at = (iv: number) => its[iv + 1] ?? iv + 1;
    const long: Record<string, unknown>[] = [];
    for (const v of comp.variants) {
      const rows = comp.perInterval
        .filter((r) => r.variant === v)
        .map((r) => ({ iteration: at(r.interval), q50: r.q50, q90: r.q90, max: r.max, d: r.medAbsDloss }));
      for (const r of thin(rows, 300, ['iteration', 'q50', 'q90', 'max', 'd'])) {
        long.push({ variant: v, stat: 'median', iteration: r4(r.iteration), value: r4(r.q50) });
        long.push({ variant: v, stat: '90%', iteration: r4(r.iteration), value: r4(r.q90) });
        long.push({ variant: v, stat: 'max', iteration: r4(r.iteration), value: r4(r.max) });
        if (v === comp.variants[0]) long.push({ variant: 'median |ΔL|', stat: 'median', iteration: r4(r.iteration), value: r4(r.d) });
      }
    }
    const hist: Record<string, unknown>[] = [];
    for (const h of comp.histogram) {
      const total = h.counts.reduce((s, c) => s + c, 0);
      h.counts.forEach((c, b) => {
        hist.push({ variant: h.variant, log10: HIST_LO + b * HIST_STEP, share: r4(c / total) });
      });
    }
    const colorDomain = [...comp.variants, 'median |ΔL|'];
    const colorRange = [...comp.variants.map((v) => VARIANT_COLORS[v] ?? '#9467bd'), '#999'];
    const ov = comp.overall.map((o) => `${o.variant}: median ${r4(o.q50)}, 99% ${r4(o.q99)}, max ${r4(o.max)}`).join('; ');
    figs.push({
      name: 'completeness',
      section: 'completeness',
      title: 'Completeness error of each POLCA variant',
      caption:
        `The completeness error ΔL_x(t) − Σ_b POLCA(x, b, t) (for path, with the out-of-span row) per token and interval — what the decomposition leaves unexplained. (a) Its median, 90% quantile and maximum in absolute value over the tokens of each interval (log scale), with the median |ΔL| for scale (grey), drawn at the interval’s end; (b) the distribution of log10|error| over all (token, interval) pairs, as shares per bin of ${HIST_STEP} (errors below 10^${HIST_LO}, exact zeros included, fall in the first bin). Overall |error|: ${ov}.` +
        binNote(T1 - 1, 300, 'intervals'),
      spec: spec({
        hconcat: [
          {
            width: 400,
            height: 240,
            title: '(a) |error| quantiles per interval',
            data: { values: long },
            transform: [{ filter: 'datum.value > 0' }],
            mark: { type: 'line', strokeWidth: 1.3 },
            encoding: {
              x: { field: 'iteration', type: 'quantitative' },
              y: {
                field: 'value',
                type: 'quantitative',
                scale: { type: 'log' },
                title: '|error|',
                axis: logAxis(long.map((r) => r.value as number | null)),
              },
              color: { field: 'variant', type: 'nominal', scale: { domain: colorDomain, range: colorRange } },
              strokeDash: {
                field: 'stat',
                type: 'nominal',
                title: 'quantile',
                scale: {
                  domain: ['median', '90%', 'max'],
                  range: [
                    [1, 0],
                    [5, 3],
                    [1, 2],
                  ],
                },
              },
              tooltip: [{ field: 'variant' }, { field: 'stat' }, { field: 'iteration' }, { field: 'value' }],
            },
          },
          {
            width: 320,
            height: 240,
            title: '(b) distribution of log10|error|',
            data: { values: hist },
            mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
            encoding: {
              x: { field: 'log10', type: 'quantitative', title: 'log10 |error|' },
              y: { field: 'share', type: 'quantitative', title: 'share of (token, interval) pairs' },
              color: { field: 'variant', type: 'nominal', scale: { domain: colorDomain, range: colorRange } },
              tooltip: [{ field: 'variant' }, { field: 'log10' }, { field: 'share' }],
            },
          },
        ],
        resolve: { scale: { color: 'shared' } },
      }),
    });
  }

  // ---- claim
  const rows = data.families.flatMap((fd, order) =>
    fd.summary
      .filter((s) => s.scope === 'all')
      .map((s) => ({ family: fd.label, kind: fd.family === 'polca' ? 'POLCA' : fd.label, order, ...s })),
  );
  if (rows.length > 0) {
    const values = rows.map((r) => ({
      family: r.family,
      kind: r.kind,
      order: r.order,
      skill: r.skill,
      homogeneity: r4(r.homogeneity),
      baseline: r4(r.baseline),
      ami: r4(r.ami),
      coverage: r4(r.coverage),
      amiWithOutliers: r4(r.amiWithOutliers),
    }));
    const kinds = ['loss', 'ΔL', '|ΔL|', 'POLCA'];
    const panel = (skill: string, measure: 'homogeneity' | 'ami') => ({
      width: Math.max(200, Math.min(360, 14 * data.families.length)),
      height: 150,
      title: `${skill}: ${measure === 'ami' ? 'AMI' : 'homogeneity vs shuffled baseline'}`,
      transform: [{ filter: { field: 'skill', equal: skill } }],
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'family', type: 'nominal', sort: { field: 'order', op: 'min' }, title: null, axis: { labelAngle: -60 } },
            y: {
              field: measure,
              type: 'quantitative',
              title: measure === 'ami' ? 'AMI' : 'homogeneity',
              ...(measure === 'homogeneity' ? { scale: { domain: [0, 1] } } : {}),
            },
            color: {
              field: 'kind',
              type: 'nominal',
              title: 'family',
              scale: { domain: kinds, range: ['#4c78a8', '#72b7b2', '#f58518', '#54a24b'] },
            },
            tooltip: [
              { field: 'family' },
              { field: 'skill' },
              { field: 'homogeneity' },
              { field: 'baseline' },
              { field: 'ami', title: 'AMI' },
              { field: 'coverage' },
              { field: 'amiWithOutliers', title: 'AMI with outliers' },
            ],
          },
        },
        ...(measure === 'homogeneity'
          ? [
              {
                mark: { type: 'tick', color: '#222', thickness: 2 },
                encoding: {
                  x: { field: 'family', type: 'nominal', sort: { field: 'order', op: 'min' } },
                  y: { field: 'baseline', type: 'quantitative' },
                },
              },
            ]
          : []),
      ],
    });
    const skills = SKILLS.filter((k) => rows.some((r) => r.skill === k));
    figs.push({
      name: 'claim',
      section: 'claim',
      title: 'Homogeneity and AMI per family and skill',
      caption:
        'Over all tokens. Top: the size-weighted dominant-skill homogeneity of each clustering (bars) against the same clusters with shuffled skill labels (black ticks); bottom: adjusted mutual information between the cluster labels and the skill on the clustered tokens (coverage and the AMI with outliers as one more label in the tooltip). Over all tokens carry and value are confounded with the digit (on the thousands digit carry is the value): the claim checks read them within digit positions, in the table below. The paper’s finding: loss clusters follow the digit, |ΔL| clusters the value, and the clusters of some POLCA vectors the carry.',
      spec: spec({
        data: { values },
        vconcat: [{ hconcat: skills.map((k) => panel(k, 'homogeneity')) }, { hconcat: skills.map((k) => panel(k, 'ami')) }],
      }),
    });
  }
  return figs;
}
