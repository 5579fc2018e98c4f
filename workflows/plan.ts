/**
 * The shape of one experiment's DAG as a pure function of its config: segment, interval, basis
 * and cluster-target counts. Shared by the workflow (deterministic code) and the activities.
 *
 * Segments: segment s trains iterations (s·E, (s+1)·E] with E = basis.every (segment 0 also
 * holds checkpoint 0). Basis extension s is computed at θ_{(s+1)·E}, the end of segment s. POLCA
 * chunk s covers the checkpoint intervals that start in [s·E, (s+1)·E).
 */
import type { Config, Family } from '../config/schema.ts';

export function segmentCount(c: Config): number {
  return c.train.iterations / c.basis.every;
}
export function checkpointsPerSegment(c: Config): number {
  return c.basis.every / c.train.checkpointEvery;
}
/** Number of checkpoint intervals T (checkpoints 0..T). */
export function intervalCount(c: Config): number {
  return c.train.iterations / c.train.checkpointEvery;
}
export function basisSize(c: Config): number {
  return segmentCount(c) * c.basis.k;
}

export interface ClusterTarget {
  family: Family;
  /** Basis vector for the `polca` family, −1 otherwise. */
  vector: number;
  /** Step name in the run record. */
  name: string;
}

/** The cluster steps of a config: one per family, and one per basis vector for `polca`. */
export function clusterTargets(c: Config): ClusterTarget[] {
  const out: ClusterTarget[] = [];
  for (const f of c.cluster.families) {
    if (f === 'polca') for (let j = 0; j < basisSize(c); j++) out.push({ family: f, vector: j, name: `cluster/polca/${j}` });
    else out.push({ family: f, vector: -1, name: `cluster/${f}` });
  }
  return out;
}

export const STAGES = ['data', 'train', 'basis', 'polca', 'trajectories', 'cluster', 'report'] as const;
export type Stage = (typeof STAGES)[number];

export function stageTotals(c: Config): Record<Stage, number> {
  const S = segmentCount(c);
  return {
    data: 1,
    train: S,
    basis: S,
    polca: S,
    trajectories: 1,
    cluster: clusterTargets(c).length,
    report: 1,
  };
}
