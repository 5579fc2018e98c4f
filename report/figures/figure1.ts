/** The report's figures of one section: the paper's Figure 1 (a) |ΔL| cluster means, (b) the top clusters of each POLCA basis vector, (c) loss by carry × digit. */
import { binNote, clustersBySize, curveIteration, dominant, type Figure, r4, scalingNote, type Shared, spec } from './common.ts';
import { groupName, type ReportData, thin } from '../data.ts';

export function figure1Figures(data: ReportData, shared: Shared): Figure[] {
  const figs: Figure[] = [];
  const { T1, groupScale } = shared;
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
  return figs;
}
