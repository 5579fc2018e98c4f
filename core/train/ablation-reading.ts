/**
 * The reading of an ablation: per group of evaluation tokens (all of them, each value of each
 * skill, each cluster of the unablated run's POLCA along an ablated vector b), the evaluation loss
 * of its tokens over the rest of training, ablated minus unablated, for each arm of the ablation
 * (the basis vectors removed, and random directions of the same count removed).
 *
 * For checkpoints it_0 = from < it_1 < … < it_K (the rest of training) and a group G:
 *
 *   Δ_t(G)  = (1/|G|) Σ_{x∈G} (L_abl(x, it_t) − L_ctl(x, it_t)),
 *   ΔG      = Σ_{t=1..K} w_t·Δ_t(G) / Σ_t w_t,   w_t = it_t − it_{t−1},
 *
 * the time average of the loss difference with each checkpoint standing for the iterations it
 * closes (a dense early schedule does not outweigh the rest), and Δ_K(G) at the last checkpoint.
 * The means of the two losses over the same span are given beside it.
 *
 * The question, per ablated vector b and cluster C of POLCA along b (clusters ≥ 0; HDBSCAN's
 * outliers are reported but not asked about): does removing b hurt C more than the other tokens,
 * excessOthers = ΔC − Δ(not C) under the basis arm, and more than removing random directions does,
 * excessRandom = ΔC(basis) − ΔC(random)? Both positive: removing b hurts the tokens POLCA grouped
 * along it specifically. Δ(not C) follows from the group means by linearity:
 * Δ(not C) = (n·Δ(all) − |C|·ΔC) / (n − |C|).
 */

export type GroupKind = 'all' | 'skill' | 'cluster';

export interface TokenGroup {
  kind: GroupKind;
  /** Ablated basis vector whose POLCA clusters this is (cluster groups), else −1. */
  vector: number;
  /** Cluster label (−1: HDBSCAN's outliers) for cluster groups, else −1. */
  cluster: number;
  /** Skill column and value (skill groups), else ''. */
  skill: string;
  value: string;
  /** Evaluation token indices. */
  tokens: Int32Array;
}

export interface ArmLosses {
  arm: string;
  /** Per checkpoint it_1 … it_K (not it_0 = from, where the arms equal the control): per-token loss. */
  loss: Float32Array[];
}

export interface ReadingInput {
  /** it_0 = from, it_1, …, it_K. */
  iterations: number[];
  /** The unablated run's per-token loss at it_0 … it_K. */
  control: Float32Array[];
  arms: ArmLosses[];
  groups: TokenGroup[];
}

export interface GroupRow {
  arm: string;
  kind: GroupKind;
  vector: number;
  cluster: number;
  skill: string;
  value: string;
  tokens: number;
  /** Time-weighted mean of Δ_t over it_1 … it_K. */
  delta: number;
  /** Δ_K. */
  deltaFinal: number;
  /** Time-weighted means of the group's unablated and ablated loss over the same span. */
  control: number;
  ablated: number;
}

export interface ClusterQuestion {
  vector: number;
  cluster: number;
  tokens: number;
  /** ΔC under the basis arm, Δ of the other tokens under it, ΔC under the random arm. */
  delta: number;
  deltaOthers: number;
  deltaRandom: number;
  excessOthers: number;
  excessRandom: number;
}

export interface CurvePoint {
  arm: string;
  kind: GroupKind;
  vector: number;
  cluster: number;
  skill: string;
  value: string;
  iteration: number;
  control: number;
  ablated: number;
}

export interface AblationReading {
  rows: GroupRow[];
  questions: ClusterQuestion[];
  curves: CurvePoint[];
}

function groupMean(loss: Float32Array, tokens: Int32Array): number {
  let s = 0;
  for (let i = 0; i < tokens.length; i++) s += loss[tokens[i]];
  return s / tokens.length;
}

export function readAblation(input: ReadingInput): AblationReading {
  const { iterations: its, control, arms, groups } = input;
  const K = its.length - 1;
  if (K < 1) throw new Error('ablation reading: no checkpoint after `from`');
  if (control.length !== K + 1) throw new Error(`ablation reading: ${control.length} control checkpoints for ${K + 1} iterations`);
  for (const a of arms)
    if (a.loss.length !== K) throw new Error(`ablation reading: arm ${a.arm} has ${a.loss.length} checkpoints after from, expected ${K}`);
  for (let t = 1; t <= K; t++) if (!(its[t] > its[t - 1])) throw new Error('ablation reading: iterations must increase');
  const n = control[0].length;
  const w = Array.from({ length: K }, (_, t) => its[t + 1] - its[t]);
  const W = w.reduce((a, b) => a + b, 0);
  const rows: GroupRow[] = [];
  const curves: CurvePoint[] = [];
  for (const a of arms)
    for (const g of groups) {
      if (g.tokens.length === 0) continue;
      let delta = 0;
      let ctl = 0;
      let abl = 0;
      let last = 0;
      const base = { arm: a.arm, kind: g.kind, vector: g.vector, cluster: g.cluster, skill: g.skill, value: g.value };
      const c0 = groupMean(control[0], g.tokens);
      curves.push({ ...base, iteration: its[0], control: c0, ablated: c0 });
      for (let t = 0; t < K; t++) {
        const c = groupMean(control[t + 1], g.tokens);
        const l = groupMean(a.loss[t], g.tokens);
        delta += w[t] * (l - c);
        ctl += w[t] * c;
        abl += w[t] * l;
        last = l - c;
        curves.push({ ...base, iteration: its[t + 1], control: c, ablated: l });
      }
      rows.push({ ...base, tokens: g.tokens.length, delta: delta / W, deltaFinal: last, control: ctl / W, ablated: abl / W });
    }
  const find = (arm: string, kind: GroupKind, vector: number, cluster: number) =>
    rows.find((r) => r.arm === arm && r.kind === kind && r.vector === vector && r.cluster === cluster);
  const questions: ClusterQuestion[] = [];
  const all = find('basis', 'all', -1, -1);
  if (all)
    for (const r of rows) {
      if (r.arm !== 'basis' || r.kind !== 'cluster' || r.cluster < 0) continue;
      const rand = find('random', 'cluster', r.vector, r.cluster);
      const deltaOthers = r.tokens < n ? (n * all.delta - r.tokens * r.delta) / (n - r.tokens) : Number.NaN;
      const deltaRandom = rand ? rand.delta : Number.NaN;
      questions.push({
        vector: r.vector,
        cluster: r.cluster,
        tokens: r.tokens,
        delta: r.delta,
        deltaOthers,
        deltaRandom,
        excessOthers: r.delta - deltaOthers,
        excessRandom: r.delta - deltaRandom,
      });
    }
  return { rows, questions, curves };
}

export interface AblationSummary {
  /** Δ over all tokens per arm. */
  deltaAll: Record<string, number>;
  clusters: number;
  /** Clusters hurt more than the other tokens, more than by random directions, and both. */
  hurtMoreThanOthers: number;
  hurtMoreThanRandom: number;
  hurtMoreThanBoth: number;
  /** Token-weighted means over the clusters. */
  excessOthers: number;
  excessRandom: number;
}

/** The one-line answer of a reading: counts over the clusters and their token-weighted excesses. */
export function summariseAblation(r: AblationReading): AblationSummary {
  const deltaAll: Record<string, number> = {};
  for (const row of r.rows) if (row.kind === 'all') deltaAll[row.arm] = row.delta;
  const q = r.questions;
  const tokens = q.reduce((s, x) => s + x.tokens, 0);
  const wmean = (f: (x: ClusterQuestion) => number) => (tokens ? q.reduce((s, x) => s + x.tokens * f(x), 0) / tokens : Number.NaN);
  return {
    deltaAll,
    clusters: q.length,
    hurtMoreThanOthers: q.filter((x) => x.excessOthers > 0).length,
    hurtMoreThanRandom: q.filter((x) => x.excessRandom > 0).length,
    hurtMoreThanBoth: q.filter((x) => x.excessOthers > 0 && x.excessRandom > 0).length,
    excessOthers: wmean((x) => x.excessOthers),
    excessRandom: wmean((x) => x.excessRandom),
  };
}
