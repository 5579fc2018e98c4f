/**
 * Headline numbers of a run (for the report's header and for sweep tables) and the paper's
 * three findings (method notes, "The finding to reproduce") checked against the run's clusterings.
 * Adjusted mutual information is the measure: unlike homogeneity it is comparable across skills
 * with different numbers of values (a binary skill has a high homogeneity by chance).
 */
import { type ClaimCheck, claimChecks as checkClaims } from './claims.ts';
import type { FamilyData, ReportData } from './data.ts';

export type { ClaimCheck };

/** The claim checks of report/claims.ts on a report's clusterings. */
export function claimChecks(data: ReportData): ClaimCheck[] {
  return checkClaims(data.families);
}

function ami(f: FamilyData | undefined, skill: string): number {
  return f?.summary.find((s) => s.scope === 'all' && s.skill === skill)?.ami ?? Number.NaN;
}

function bestPolca(data: ReportData, skill: string): { vector: number; ami: number } | undefined {
  let best: { vector: number; ami: number } | undefined;
  for (const f of data.families)
    if (f.family === 'polca') {
      const a = ami(f, skill);
      if (Number.isFinite(a) && (!best || a > best.ami)) best = { vector: f.vector, ami: a };
    }
  return best;
}

/** Flat numeric headline metrics (NaN-free: a metric the run cannot give is left out). */
export function headlineMetrics(data: ReportData): Record<string, number> {
  const m: Record<string, number> = {};
  const set = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) m[k] = v;
  };
  set('final.loss', data.final?.loss);
  set('final.accuracy', data.final?.accuracy);
  set('final.exactMatch', data.final?.exactMatch);
  set('basis.vectors', data.basis.length);
  for (const o of data.completeness?.overall ?? []) {
    set(`completeness.${o.variant}.median`, o.q50);
    set(`completeness.${o.variant}.max`, o.max);
  }
  for (const f of data.families) {
    if (f.family === 'polca') continue;
    for (const s of f.summary) {
      if (s.scope === 'all') set(`ami.${f.family}.${s.skill}`, s.ami);
      else if (s.coincidesWith === '') set(`ami.${f.family}.${s.skill}.${s.scope}`, s.ami);
    }
    set(`coverage.${f.family}`, f.summary.find((s) => s.scope === 'all')?.coverage);
  }
  for (const skill of ['carry', 'digit', 'value']) {
    const b = bestPolca(data, skill);
    if (b) {
      set(`ami.polcaBest.${skill}`, b.ami);
      set(`ami.polcaBest.${skill}.vector`, b.vector);
    }
  }
  const checks = claimChecks(data);
  for (const c of checks) {
    set(`claim.${c.id}.ami`, c.metric);
    set(`claim.${c.id}.shuffled`, c.shuffled);
    set(`claim.${c.id}.threshold`, c.threshold);
    if (c.holds !== undefined) set(`claim.${c.id}.reproduced`, c.holds ? 1 : 0);
  }
  set('claims.held', checks.filter((c) => c.holds === true).length);
  set('claims.checked', checks.filter((c) => c.holds !== undefined).length);
  return m;
}
