/**
 * The paper's claims over the points of a sweep (typically seeds): the points are grouped by
 * every varied parameter except `seed`, and for each group and claim (report/claims.ts) the
 * deciding AMI per point, its mean and sample standard deviation (n − 1; 0 for one point), the
 * mean shuffled-label AMI and mean threshold of the same rows, and in how many points the claim
 * was reproduced. Read from the points' headline metrics `claim.<id>.ami|shuffled|threshold|
 * reproduced` (report/metrics.ts).
 */
import { CLAIM_IDS, type ClaimId } from './claims.ts';

export interface SweepPoint {
  point: Record<string, unknown>;
  workflowId: string;
  metrics: Record<string, number>;
}

export interface ClaimSpread {
  /** The group's parameters (the point without `seed`). */
  group: Record<string, unknown>;
  claim: ClaimId;
  /** Per point of the group, in sweep order. */
  seeds: unknown[];
  values: number[];
  thresholds: number[];
  reproduced: boolean[];
  mean: number;
  sd: number;
  shuffledMean: number;
  thresholdMean: number;
  /** Points where the claim was checked, and where it was reproduced. */
  checked: number;
  held: number;
}

const finite = (xs: number[]) => xs.filter(Number.isFinite);
export const meanOf = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
/** Sample standard deviation (n − 1; 0 for one value). */
export function sdOf(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  if (xs.length === 1) return 0;
  const m = meanOf(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** Whether any point carries claim metrics (older runs and synthetic rows may not). */
export function hasClaimMetrics(points: SweepPoint[]): boolean {
  return points.some((p) => CLAIM_IDS.some((id) => `claim.${id}.ami` in p.metrics));
}

/** The points grouped by every varied parameter except `seed`, in first-seen order. */
export function seedGroups(points: SweepPoint[]): { group: Record<string, unknown>; points: SweepPoint[] }[] {
  const groups = new Map<string, { group: Record<string, unknown>; points: SweepPoint[] }>();
  for (const p of points) {
    const group = Object.fromEntries(Object.entries(p.point).filter(([k]) => k !== 'seed'));
    const key = JSON.stringify(Object.entries(group).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { group, points: [] }));
    g.points.push(p);
  }
  return [...groups.values()];
}

export function claimSpread(points: SweepPoint[]): ClaimSpread[] {
  const out: ClaimSpread[] = [];
  for (const { group, points: ps } of seedGroups(points))
    for (const claim of CLAIM_IDS) {
      const m = (p: SweepPoint, k: string) => p.metrics[`claim.${claim}.${k}`] ?? Number.NaN;
      const values = ps.map((p) => m(p, 'ami'));
      const thresholds = ps.map((p) => m(p, 'threshold'));
      const rep = ps.map((p) => m(p, 'reproduced'));
      out.push({
        group,
        claim,
        seeds: ps.map((p, i) => p.point.seed ?? i),
        values,
        thresholds,
        reproduced: rep.map((r) => r === 1),
        mean: meanOf(finite(values)),
        sd: sdOf(finite(values)),
        shuffledMean: meanOf(finite(ps.map((p) => m(p, 'shuffled')))),
        thresholdMean: meanOf(finite(thresholds)),
        checked: rep.filter(Number.isFinite).length,
        held: rep.filter((r) => r === 1).length,
      });
    }
  return out;
}
