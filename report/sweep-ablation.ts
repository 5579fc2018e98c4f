/**
 * The ablation over a sweep: for every group of points that differ only in the seed and carry an
 * ablation (config `ablate`, the `ablation.*` headline metrics of report/ablation.ts), the loss
 * change over the rest of training with the basis vectors removed and with random directions
 * removed, and the clusters of POLCA along the removed vectors that were hurt more than the other
 * tokens, more than by the random directions, and both, summed over the seeds; the token-weighted
 * excesses as mean ± sample sd over the seeds.
 */
import { escapeHtml } from './html.ts';
import { type SweepPoint, seedGroups } from './sweep-claims.ts';
import { type Spread, spread } from './sweep-table.ts';

const f3 = (v: number) => (Number.isFinite(v) ? (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(4)) : '–');
function cell(s: Spread): string {
  if (s.n === 0) return `<td class="na">– (0 of ${s.of})</td>`;
  return `<td class="num">${f3(s.mean)} ± ${f3(s.sd)}${s.n < s.of ? ` (${s.n} of ${s.of})` : ''}</td>`;
}

export function hasAblationMetrics(points: SweepPoint[]): boolean {
  return points.some((p) => 'ablation.from' in p.metrics);
}

const sum = (ps: SweepPoint[], k: string) => ps.reduce((s, p) => s + (Number.isFinite(p.metrics[k]) ? p.metrics[k] : 0), 0);

export function ablationSweepHtml(points: SweepPoint[]): string {
  const rows = seedGroups(points.filter((p) => 'ablation.from' in p.metrics))
    .map(({ group, points: ps }) => {
      const name = Object.entries(group)
        .map(([k, v]) => `${escapeHtml(k)} = ${escapeHtml(JSON.stringify(v))}`)
        .join(', ');
      const clusters = sum(ps, 'ablation.clusters');
      const count = (k: string) => `<td class="num">${sum(ps, k)} of ${clusters}</td>`;
      return `<tr><td>${name || 'all points'}</td><td class="num">${ps.length}</td>${cell(spread(ps, 'ablation.delta.basis'))}${cell(spread(ps, 'ablation.delta.random'))}${count('ablation.hurtMoreThanOthers')}${count('ablation.hurtMoreThanRandom')}${count('ablation.hurtMoreThanBoth')}${cell(spread(ps, 'ablation.excessOthers'))}${cell(spread(ps, 'ablation.excessRandom'))}</tr>`;
    })
    .join('');
  return `<p>Per group of grid points that differ only in the seed: Δ, the evaluation loss with the directions removed minus without over the rest of training (all tokens; mean ± sample sd over seeds), for the basis vectors and for as many random directions; then over the clusters of POLCA along the removed vectors in every seed, how many were hurt more than the other tokens, more than by the random directions, and both; and the token-weighted excess over the others and over random (mean ± sd over seeds). Removing b matters for the tokens POLCA grouped along it when both excesses are positive across seeds.</p>
<table class="data"><tr><th>group</th><th>seeds</th><th>Δ, basis vectors removed</th><th>Δ, random removed</th><th>clusters hurt more than the others</th><th>more than by random</th><th>both</th><th>excess over the others</th><th>excess over random</th></tr>${rows}</table>`;
}
