/** The report's figures of one section: the paper's claims, per clustering and scope. */
import { type Figure, r4, type Shared, spec } from './common.ts';
import { type ReportData, SKILLS } from '../data.ts';

export function claimFigures(data: ReportData, _shared: Shared): Figure[] {
  const figs: Figure[] = [];
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
