/**
 * The report's figures as Vega-Lite specs with their (aggregated) data inlined. Each figure has a
 * file-safe name, a title, a caption saying what it shows, and the section it belongs to. One
 * module per section under report/figures/, their shared helpers in report/figures/common.ts.
 */
import { GROUP_DOMAIN, groupName, type ReportData } from './data.ts';
import { clustersBySize, dominant, type Figure, GROUP_COLORS } from './figures/common.ts';
import { trainingFigures } from './figures/training.ts';
import { figure1Figures } from './figures/figure1.ts';
import { figures2to3Figures } from './figures/figures2-3.ts';
import { figures4to10Figures } from './figures/figures4-10.ts';
import { basisFigures } from './figures/basis.ts';
import { completenessFigures } from './figures/completeness.ts';
import { claimFigures } from './figures/claim.ts';

export { type Figure, logAxis, r4, SECTIONS, spec } from './figures/common.ts';

export function buildFigures(data: ReportData): Figure[] {
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
  const shared = { T1, groupScale };
  return [
    ...trainingFigures(data, shared),
    ...figure1Figures(data, shared),
    ...figures2to3Figures(data, shared),
    ...figures4to10Figures(data, shared),
    ...basisFigures(data, shared),
    ...completenessFigures(data, shared),
    ...claimFigures(data, shared),
  ];
}
