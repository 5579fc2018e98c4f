/**
 * Headline numbers of a run (for the report's header and for sweep tables) and the paper's
 * three findings (method notes, "The finding to reproduce") checked against the run's clusterings.
 * Adjusted mutual information is the measure: unlike homogeneity it is comparable across skills
 * with different numbers of values (a binary skill has a high homogeneity by chance).
 */
import type { FamilyData, ReportData } from './data.ts';

export interface ClaimCheck {
  statement: string;
  measured: string;
  /** undefined when the run lacks the clusterings the check needs. */
  holds: boolean | undefined;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '–');

function ami(f: FamilyData | undefined, skill: string): number {
  return f?.summary.find((s) => s.skill === skill)?.ami ?? Number.NaN;
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

export function claimChecks(data: ReportData): ClaimCheck[] {
  const fam = (name: string) => data.families.find((f) => f.family === name);
  const loss = fam('loss');
  const absd = fam('absdloss');
  const out: ClaimCheck[] = [];
  const lDigit = ami(loss, 'digit');
  const lCarry = ami(loss, 'carry');
  out.push({
    statement: 'Clusters of loss trajectories follow the digit more than the carry (AMI digit > AMI carry).',
    measured: `AMI digit ${fmt(lDigit)}, carry ${fmt(lCarry)}`,
    holds: loss && Number.isFinite(lDigit) && Number.isFinite(lCarry) ? lDigit > lCarry : undefined,
  });
  const aValue = ami(absd, 'value');
  const aCarry = ami(absd, 'carry');
  out.push({
    statement: 'Clusters of |ΔL| trajectories follow the target value more than the carry (AMI value > AMI carry).',
    measured: `AMI value ${fmt(aValue)}, carry ${fmt(aCarry)}`,
    holds: absd && Number.isFinite(aValue) && Number.isFinite(aCarry) ? aValue > aCarry : undefined,
  });
  const best = bestPolca(data, 'carry');
  const ref = Math.max(
    Number.isFinite(lCarry) ? lCarry : Number.NEGATIVE_INFINITY,
    Number.isFinite(aCarry) ? aCarry : Number.NEGATIVE_INFINITY,
  );
  out.push({
    statement:
      'The clusters of some POLCA vector follow the carry better than the loss and |ΔL| clusters do (max over b of AMI carry > both).',
    measured: best ? `best b${best.vector}: AMI carry ${fmt(best.ami)}; loss ${fmt(lCarry)}, |ΔL| ${fmt(aCarry)}` : 'no POLCA clusterings',
    holds: best && Number.isFinite(ref) ? best.ami > ref : undefined,
  });
  return out;
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
    for (const s of f.summary) set(`ami.${f.family}.${s.skill}`, s.ami);
  }
  for (const skill of ['carry', 'digit', 'value']) {
    const b = bestPolca(data, skill);
    if (b) {
      set(`ami.polcaBest.${skill}`, b.ami);
      set(`ami.polcaBest.${skill}.vector`, b.vector);
    }
  }
  const checks = claimChecks(data);
  set('claims.held', checks.filter((c) => c.holds === true).length);
  set('claims.checked', checks.filter((c) => c.holds !== undefined).length);
  return m;
}
