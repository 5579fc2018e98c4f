/** The report's figures of one section: the paper's Figures 4–10: dominant-skill homogeneity per clustering. */
import { clustersBySize, DIGIT_COLORS, familyUnits, type Figure, r4, type Shared, spec } from './common.ts';
import { DIGIT_NAMES, type ReportData, SKILLS, skillValueName } from '../data.ts';

export function figures4to10Figures(data: ReportData, _shared: Shared): Figure[] {
  const figs: Figure[] = [];
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
  return figs;
}
