/**
 * The shape of one experiment's DAG as a pure function of its config: segment, interval, basis
 * and cluster-target counts. Shared by the workflow (deterministic code) and the activities.
 *
 * Segments: segment s trains iterations (s·E, (s+1)·E] with E = basis.every (segment 0 also
 * holds checkpoint 0). Basis extension s is computed at θ_{(s+1)·E}, the end of segment s. POLCA
 * chunk s covers the checkpoint intervals that start in [s·E, (s+1)·E). Checkpoints follow the
 * schedule of core/train/schedule.ts (uniform, or dense early on).
 */
import { basisKind, type Config, type Family, type ProtocolFamily } from '../config/schema.ts';
import { shuffledOrder } from '../core/basis/basis-order.ts';
import { checkpointIterations } from '../core/train/schedule.ts';
import { taskReads } from '../core/tasks/specs.ts';

export function segmentCount(c: Config): number {
  return c.train.iterations / c.basis.every;
}
/** Number of checkpoint intervals T (checkpoints 0..T). */
export function intervalCount(c: Config): number {
  return checkpointIterations(c.train).length - 1;
}
/** The intervals of POLCA chunk s: first, first+1, …, first+count−1 (those starting in [s·E, (s+1)·E)). */
export function segmentIntervals(c: Config, s: number): { first: number; count: number } {
  const its = checkpointIterations(c.train);
  const first = its.indexOf(s * c.basis.every);
  const end = its.indexOf((s + 1) * c.basis.every);
  if (first < 0 || end < 0) throw new Error(`segment ${s}: its boundaries are not checkpoints`);
  return { first, count: end - first };
}
/**
 * The training segment whose artifacts basis extension s reads: s itself (its end state, or for
 * the principal-direction kinds its checkpoints), π(s) for `shuffled` (core/basis/basis-order.ts), none
 * for `random`.
 */
export function basisTrainSegment(c: Config, s: number): number | undefined {
  const kind = basisKind(c.basis);
  if (kind === 'random') return undefined;
  if (kind === 'shuffled') return shuffledOrder(segmentCount(c), c.seed)[s];
  return s;
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

export interface ProtocolTarget {
  family: ProtocolFamily;
  /** Basis vector (polca, polca-first, fisher), parameter rank (lca), or −1 (loss, dloss). */
  member: number;
  /** Step name in the run record. */
  name: string;
}

/**
 * One part-of-speech reading: the clustering of a protocol step (the paper's settings), or of a
 * `cluster` step (polca's own settings) for the loss and each basis vector's POLCA.
 */
export interface TagTarget {
  source: 'protocol' | 'cluster';
  family: ProtocolFamily;
  member: number;
  /** The clustering's step name (`protocol/…` or `cluster/…`). */
  clustering: string;
  /** Step name in the run record: `tags/` + the clustering's name. */
  name: string;
}

/** The part-of-speech readings of a config, for a task with tags: every protocol step, and the loss and POLCA cluster steps. */
export function tagTargets(c: Config): TagTarget[] {
  if (!taskReads(c).tags) return [];
  const out: TagTarget[] = protocolTargets(c).map((t) => ({
    source: 'protocol',
    family: t.family,
    member: t.member,
    clustering: t.name,
    name: `tags/${t.name}`,
  }));
  for (const t of clusterTargets(c))
    if (t.family === 'loss' || t.family === 'polca')
      out.push({ source: 'cluster', family: t.family, member: t.vector, clustering: t.name, name: `tags/${t.name}` });
  return out;
}

/** How many trajectory sets a protocol family has: one per basis vector, per LCA parameter, or one. */
export function protocolMembers(c: Config, f: ProtocolFamily): number {
  if (f === 'loss' || f === 'dloss') return 1;
  if (f === 'lca') return c.protocol.lcaParams;
  return basisSize(c);
}

/** The protocol steps of a config: one per family member. */
export function protocolTargets(c: Config): ProtocolTarget[] {
  const out: ProtocolTarget[] = [];
  for (const f of c.protocol.families) {
    if (f === 'loss' || f === 'dloss') out.push({ family: f, member: -1, name: `protocol/${f}` });
    else for (let j = 0; j < protocolMembers(c, f); j++) out.push({ family: f, member: j, name: `protocol/${f}/${j}` });
  }
  return out;
}

/**
 * The arms of an ablation (core/train/ablate.ts): `basis` removes the basis vectors `ablate.vectors`
 * names, `random` as many random orthonormal directions (the control; alone with `ablate.random`).
 */
export type AblationArm = 'basis' | 'random';
export function ablationArms(c: Config): AblationArm[] {
  if (!c.ablate) return [];
  return c.ablate.vectors ? ['basis', 'random'] : ['random'];
}
/** How many directions each arm removes. */
export function ablationCount(c: Config): number {
  return c.ablate?.vectors?.length ?? c.ablate?.random ?? 0;
}
/** The names of an ablated segment and of the ablation's reading (run record, progress). */
export const ablateName = (arm: AblationArm, s: number): string => `ablate/${arm}/${s}`;
export const ablationReadingName = 'ablate/reading';
/** The first training segment an ablation trains again (the one whose iterations follow `ablate.from`). */
export function ablationFirstSegment(c: Config): number {
  return Math.floor((c.ablate?.from ?? 0) / c.basis.every);
}

export const STAGES = [
  'data',
  'train',
  'basis',
  'polca',
  'trajectories',
  'cluster',
  'capture',
  'fisher',
  'lca',
  'protocol',
  'tags',
  'ablate',
  'report',
] as const;
export type Stage = (typeof STAGES)[number];

export function stageTotals(c: Config): Record<Stage, number> {
  const S = segmentCount(c);
  const fams = c.protocol.families;
  const has = (f: ProtocolFamily) => fams.includes(f);
  return {
    data: 1,
    train: S,
    basis: S,
    polca: S,
    // the assemblies of the first-order, Fisher and LCA trajectories count as trajectories steps
    trajectories: 1 + (has('polca-first') ? 1 : 0) + (has('fisher') ? 1 : 0) + (has('lca') ? 1 : 0),
    fisher: has('fisher') ? S : 0,
    // the parameter selection and one chunk per segment
    lca: has('lca') ? S + 1 : 0,
    cluster: clusterTargets(c).length,
    capture: 1,
    protocol: protocolTargets(c).length,
    tags: tagTargets(c).length,
    // the ablated segments of every arm, and the reading
    ablate: c.ablate ? ablationArms(c).length * (S - ablationFirstSegment(c)) + 1 : 0,
    report: 1,
  };
}
