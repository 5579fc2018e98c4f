/**
 * The paper's table over a sweep: for every group of points that differ only in the seed, each
 * trajectory family's top-1 carry homogeneity / recall / F1 and hidden-breakthrough fraction
 * (the published protocol, `protocol.<family>.*` headline metrics) as mean ± sample sd over the
 * seeds, with the paper's own single-run numbers beside them; then POLCA per basis kind (the
 * paper's ablation rows, when the sweep varies `basis.kind`); and the basis capture of each group
 * (`capture.*`), so that a reader sees whether the basis carries the learning where the table is
 * read. A mean over fewer seeds than the group has says so (n of N): a seed without a qualifying
 * carry cluster has no homogeneity, and is left out of that mean.
 */
import { fmt } from './format.ts';
import { escapeHtml } from './html.ts';
import { PAPER_BASES, PAPER_ROWS } from './readings.ts';
import { meanOf, type SweepPoint, sdOf, seedGroups } from './sweep-claims.ts';

export interface Spread {
  mean: number;
  sd: number;
  /** Seeds with a value, of the group's seeds. */
  n: number;
  of: number;
}

export function spread(points: SweepPoint[], metric: string): Spread {
  const xs = points.map((p) => p.metrics[metric]).filter((v): v is number => v !== undefined && Number.isFinite(v));
  return { mean: meanOf(xs), sd: sdOf(xs), n: xs.length, of: points.length };
}

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '–');
function cell(s: Spread): string {
  if (s.n === 0) return `<td class="na">– (0 of ${s.of})</td>`;
  return `<td class="num">${f3(s.mean)} ± ${f3(s.sd)}${s.n < s.of ? ` (${s.n} of ${s.of})` : ''}</td>`;
}

/** Whether any point carries protocol metrics (runs made before the protocol existed do not). */
export function hasTableMetrics(points: SweepPoint[]): boolean {
  return points.some((p) => Object.keys(p.metrics).some((k) => k.startsWith('protocol.') || k.startsWith('capture.')));
}

function title(group: Record<string, unknown>): string {
  const g = Object.entries(group);
  return g.length ? g.map(([k, v]) => `${escapeHtml(k)} = ${escapeHtml(JSON.stringify(v))}`).join(', ') : 'all points';
}

/** The English reading's families (report/english.ts) and what the paper reports for them. */
const TAG_ROWS: { family: string; label: string; paper: string }[] = [
  { family: 'polca', label: 'POLCA, published protocol', paper: '22 of 26 kept vectors' },
  { family: 'loss', label: 'exact loss, published protocol', paper: 'almost nothing (repeated tokens, multi-token nouns)' },
  { family: 'cluster:polca', label: 'POLCA, polca’s own clustering', paper: '–' },
  { family: 'cluster:loss', label: 'exact loss, polca’s own clustering', paper: '–' },
];

/** A group of English points: members with a simply-labelled cluster against chance's count. */
function tagRows(ps: SweepPoint[]): string {
  const rows = TAG_ROWS.filter((r) => spread(ps, `tags.${r.family}.kept`).n > 0)
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.label)}</td><td>${escapeHtml(r.paper)}</td>${['withSimple', 'kept', 'chance'].map((m) => cell(spread(ps, `tags.${r.family}.${m}`))).join('')}</tr>`,
    )
    .join('');
  return `<table class="data"><tr><th>trajectories clustered</th><th>paper: members with a simply-labelled cluster</th><th>ours: with a simply-labelled cluster</th><th>kept</th><th>chance (shuffled tags)</th></tr>${rows}</table>`;
}

export function paperTableHtml(points: SweepPoint[]): string {
  const groups = seedGroups(points);
  const families = groups
    .map(({ group, points: ps }) => {
      const tagged = ps.some((p) => Object.keys(p.metrics).some((k) => k.startsWith('tags.')));
      const rows = PAPER_ROWS.map((r) => {
        const paper = `<tr><td>${escapeHtml(r.label)}</td><td class="num">${f3(r.homogeneity)} / ${f3(r.recall)} / ${f3(r.f1)}</td><td class="num">${f3(r.hidden)}</td>`;
        // a family no point of the group computed (not in its protocol.families), as against one without a cluster
        if (spread(ps, `protocol.${r.family}.kept`).n === 0)
          return `${paper}<td class="na" colspan="4">not computed in these runs</td></tr>`;
        return `${paper}${['homogeneity', 'recall', 'f1', 'hiddenFraction'].map((m) => cell(spread(ps, `protocol.${r.family}.${m}`))).join('')}</tr>`;
      }).join('');
      const cap = ['capture.total', 'capture.first', 'capture.second', 'capture.risingVectors', 'capture.motionShare']
        .map((m) => cell(spread(ps, m)))
        .join('');
      const table = tagged
        ? tagRows(ps)
        : `<table class="data"><tr><th>trajectories clustered</th><th>paper: homogeneity / recall / F1</th><th>paper: hidden</th><th>ours: homogeneity</th><th>recall</th><th>F1</th><th>hidden fraction</th></tr>${rows}</table>`;
      return `<h3>${title(group)} (${ps.length} seed${ps.length === 1 ? '' : 's'})</h3>
${table}
<table class="data"><tr><th>basis capture (Σ POLCA / Σ ΔL)</th><th>first order</th><th>second order</th><th>rising vectors</th><th>share of the motion spanned</th></tr><tr>${cap}</tr></table>`;
    })
    .join('');
  // a point that does not set the kind has Algorithm 1's basis
  const kindOf = (p: SweepPoint) => String(p.point['basis.kind'] ?? 'hessian');
  const kinds = [...new Set(points.map(kindOf))];
  let bases = '';
  if (kinds.length > 1) {
    // POLCA per basis kind, over the points of each kind that share every other non-seed parameter
    // (the families a point computes do not change its POLCA row)
    const rest = (p: SweepPoint) =>
      JSON.stringify(
        Object.entries(p.point)
          .filter(([k]) => k !== 'seed' && k !== 'basis.kind' && k !== 'protocol.families')
          .sort(([a], [b]) => (a < b ? -1 : 1)),
      );
    const others = [...new Set(points.map(rest))];
    bases = others
      .map((o) => {
        const ps = points.filter((p) => rest(p) === o);
        const rows = kinds
          .map((k) => {
            const kp = ps.filter((p) => kindOf(p) === k);
            const paper = PAPER_BASES.find((b) => b.kind === k);
            const paperCells = paper
              ? `<td class="num">${f3(paper.homogeneity)} / ${f3(paper.recall)} / ${f3(paper.f1)}</td><td class="num">${f3(paper.hidden)}</td>`
              : '<td class="na">–</td><td class="na">–</td>';
            return `<tr><td>${escapeHtml(String(k))}</td>${paperCells}${['homogeneity', 'recall', 'f1', 'hiddenFraction']
              .map((m) => cell(spread(kp, `protocol.polca.${m}`)))
              .join('')}${cell(spread(kp, 'capture.total'))}</tr>`;
          })
          .join('');
        const label = JSON.parse(o) as [string, unknown][];
        return `<h3>POLCA per basis kind${label.length ? `: ${label.map(([k, v]) => `${escapeHtml(k)} = ${escapeHtml(JSON.stringify(v))}`).join(', ')}` : ''}</h3>
<table class="data"><tr><th>basis</th><th>paper: homogeneity / recall / F1</th><th>paper: hidden</th><th>ours: homogeneity</th><th>recall</th><th>F1</th><th>hidden fraction</th><th>basis capture</th></tr>${rows}</table>`;
      })
      .join('');
  }
  return `<p>Ours: mean ± sample sd over the seeds of each group (n of N: seeds that had a value, where fewer than all — a seed whose clusterings hold no qualifying carry cluster has no homogeneity). The paper’s: one run of its 3-layer d_model 512 model at lr 1e-5 (no seeds). Read each row with the group’s basis capture: POLCA along a basis that explains none of the loss change shows how the optimiser moves along those directions, not what the model learns. Rows come from the published protocol (core/cluster/protocol.ts); polca’s own coverage-aware claims are in the section above. ${fmt(points.length)} points.</p>${families}${bases}`;
}
