/**
 * Reading a clustering against the task's skills (digit, carry, value):
 *  - per cluster and skill, the dominant value and its share of the cluster ("dominant skill
 *    homogeneity", the paper's Fig. 4–10); ties go to the smallest value;
 *  - the size-weighted homogeneity over clusters: Σ_c |c|·share_c / Σ_c |c|;
 *  - the same for skill labels shuffled among the clustered tokens (seeded Fisher–Yates
 *    permutations), averaged over `shuffles` permutations: the baseline a clustering must beat;
 *  - adjusted mutual information between cluster labels and the skill, as sklearn's
 *    adjusted_mutual_info_score (arithmetic normalisation, exact expected MI).
 * Outliers: as in the paper, HDBSCAN's outliers (label −1) are not a cluster. They are left out
 * of the per-cluster table, of the homogeneity, of the shuffled baseline (only clustered tokens'
 * skills are permuted) and of `ami`, which is computed on the clustered tokens only.
 * `amiWithOutliers` is also reported: −1 counted as one more label, which is what
 * adjusted_mutual_info_score gives when handed HDBSCAN's raw labels. With no clustered token,
 * homogeneity, baseline and ami are NaN.
 */
import { randInt, STREAMS } from '../rng.ts';

export interface ClusterSkill {
  cluster: number;
  size: number;
  dominant: number;
  share: number;
}

export function dominantPerCluster(labels: ArrayLike<number>, skill: ArrayLike<number>): ClusterSkill[] {
  const counts = new Map<number, Map<number, number>>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c < 0) continue;
    let m = counts.get(c);
    if (!m) counts.set(c, (m = new Map()));
    m.set(skill[i], (m.get(skill[i]) ?? 0) + 1);
  }
  return [...counts.keys()]
    .sort((a, b) => a - b)
    .map((cluster) => {
      const m = counts.get(cluster)!;
      let size = 0;
      let dominant = Number.POSITIVE_INFINITY;
      let best = -1;
      for (const [v, k] of m) {
        size += k;
        if (k > best || (k === best && v < dominant)) {
          best = k;
          dominant = v;
        }
      }
      return { cluster, size, dominant, share: best / size };
    });
}

export function weightedHomogeneity(labels: ArrayLike<number>, skill: ArrayLike<number>): number {
  const per = dominantPerCluster(labels, skill);
  const total = per.reduce((s, c) => s + c.size, 0);
  return total === 0 ? Number.NaN : per.reduce((s, c) => s + c.size * c.share, 0) / total;
}

/**
 * The seeded shuffles of the baselines: for s = 0 … shuffles−1, a Fisher–Yates permutation of
 * `skill` (j = randInt(i+1, seed, STREAMS.shuffle, s, i) for i = n−1 … 1), passed to `f` (the same
 * buffer each time).
 */
export function forEachShuffle(skill: ArrayLike<number>, shuffles: number, seed: number, f: (perm: Float64Array, s: number) => void): void {
  const n = skill.length;
  const perm = new Float64Array(n);
  for (let s = 0; s < shuffles; s++) {
    for (let i = 0; i < n; i++) perm[i] = skill[i];
    for (let i = n - 1; i > 0; i--) {
      const j = randInt(i + 1, seed, STREAMS.shuffle, s, i);
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    f(perm, s);
  }
}

/**
 * Mean weighted homogeneity over `shuffles` seeded permutations of the skill labels among the
 * clustered tokens (label ≥ 0); outliers keep no skill and do not enter.
 */
export function shuffledBaseline(labels: ArrayLike<number>, skill: ArrayLike<number>, shuffles: number, seed: number): number {
  if (!Number.isInteger(shuffles) || shuffles < 1) throw new Error(`shuffledBaseline: shuffles must be an integer ≥ 1; got ${shuffles}`);
  const clustered = clusteredOnly(labels, skill);
  labels = clustered.labels;
  skill = clustered.skill;
  const n = skill.length;
  if (n === 0) return Number.NaN;
  let sum = 0;
  forEachShuffle(skill, shuffles, seed, (perm) => {
    sum += weightedHomogeneity(labels, perm);
  });
  return sum / shuffles;
}

// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9; relative error ~1e-15)
const LG = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
export function lgamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  x -= 1;
  let a = LG[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LG[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

function contingency(a: ArrayLike<number>, b: ArrayLike<number>) {
  const ai = new Map<number, number>();
  const bi = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if (!ai.has(a[i])) ai.set(a[i], ai.size);
    if (!bi.has(b[i])) bi.set(b[i], bi.size);
  }
  const R = ai.size;
  const C = bi.size;
  const table = new Float64Array(R * C);
  for (let i = 0; i < a.length; i++) table[ai.get(a[i])! * C + bi.get(b[i])!]++;
  const rows = new Float64Array(R);
  const cols = new Float64Array(C);
  for (let r = 0; r < R; r++)
    for (let c = 0; c < C; c++) {
      rows[r] += table[r * C + c];
      cols[c] += table[r * C + c];
    }
  return { table, rows, cols, R, C };
}

function entropy(counts: Float64Array, n: number): number {
  let h = 0;
  for (const k of counts) if (k > 0) h -= (k / n) * Math.log(k / n);
  return h;
}

export function mutualInfo(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const { table, rows, cols, R, C } = contingency(a, b);
  const n = a.length;
  let mi = 0;
  for (let r = 0; r < R; r++)
    for (let c = 0; c < C; c++) {
      const k = table[r * C + c];
      if (k > 0) mi += (k / n) * Math.log((n * k) / (rows[r] * cols[c]));
    }
  return Math.max(mi, 0);
}

export function expectedMutualInfo(rows: Float64Array, cols: Float64Array, n: number): number {
  const lgN = lgamma(n + 1);
  let emi = 0;
  for (const a of rows)
    for (const b of cols) {
      const lo = Math.max(1, a + b - n);
      const hi = Math.min(a, b);
      const fixed = lgamma(a + 1) + lgamma(b + 1) + lgamma(n - a + 1) + lgamma(n - b + 1) - lgN;
      for (let k = lo; k <= hi; k++) {
        const logP = fixed - lgamma(k + 1) - lgamma(a - k + 1) - lgamma(b - k + 1) - lgamma(n - a - b + k + 1);
        emi += (k / n) * Math.log((n * k) / (a * b)) * Math.exp(logP);
      }
    }
  return emi;
}

/**
 * The parts of AMI that depend only on the two labelings' group sizes, not on how the groups
 * overlap: the expected MI under random permutation and the denominator. AMI = (MI − emi) /
 * denom, or 1 when both labelings are a single group (or empty). Shared by every permutation of
 * one labeling (core/cluster/skill-scopes.ts).
 */
export function amiParts(a: ArrayLike<number>, b: ArrayLike<number>): { trivial: boolean; emi: number; denom: number } {
  const { rows, cols, R, C } = contingency(a, b);
  const n = a.length;
  if ((R === 1 && C === 1) || (R === 0 && C === 0)) return { trivial: true, emi: 0, denom: 1 };
  const emi = expectedMutualInfo(rows, cols, n);
  const norm = 0.5 * (entropy(rows, n) + entropy(cols, n));
  let denom = norm - emi;
  const eps = 2.220446049250313e-16;
  denom = denom < 0 ? Math.min(denom, -eps) : Math.max(denom, eps);
  return { trivial: false, emi, denom };
}

export function adjustedMutualInfo(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const p = amiParts(a, b);
  return p.trivial ? 1 : (mutualInfo(a, b) - p.emi) / p.denom;
}

/** The tokens with label ≥ 0, labels and skill alike. */
export function clusteredOnly(labels: ArrayLike<number>, skill: ArrayLike<number>): { labels: Int32Array; skill: Float64Array } {
  if (labels.length !== skill.length) throw new Error(`skills: ${labels.length} labels but ${skill.length} skill values`);
  let m = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) m++;
  const l = new Int32Array(m);
  const s = new Float64Array(m);
  for (let i = 0, j = 0; i < labels.length; i++)
    if (labels[i] >= 0) {
      l[j] = labels[i];
      s[j++] = skill[i];
    }
  return { labels: l, skill: s };
}

export interface SkillSummary {
  skill: string;
  homogeneity: number;
  baseline: number;
  /** AMI over the clustered tokens (outliers left out). */
  ami: number;
  /** AMI with the outliers as one more label (sklearn on raw HDBSCAN labels). */
  amiWithOutliers: number;
  clusters: number;
  outliers: number;
}

export function readSkills(
  labels: ArrayLike<number>,
  skills: Record<string, ArrayLike<number>>,
  shuffles: number,
  seed: number,
): { perCluster: (ClusterSkill & { skill: string })[]; summary: SkillSummary[] } {
  let outliers = 0;
  const ids = new Set<number>();
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) outliers++;
    else ids.add(labels[i]);
  }
  const perCluster: (ClusterSkill & { skill: string })[] = [];
  const summary: SkillSummary[] = [];
  for (const [skill, values] of Object.entries(skills)) {
    if (values.length !== labels.length)
      throw new Error(`readSkills: skill ${skill} has ${values.length} values for ${labels.length} labels`);
    for (const c of dominantPerCluster(labels, values)) perCluster.push({ ...c, skill });
    const inClusters = clusteredOnly(labels, values);
    summary.push({
      skill,
      homogeneity: weightedHomogeneity(labels, values),
      baseline: shuffledBaseline(labels, values, shuffles, seed),
      ami: inClusters.labels.length === 0 ? Number.NaN : adjustedMutualInfo(inClusters.labels, inClusters.skill),
      amiWithOutliers: adjustedMutualInfo(labels, values),
      clusters: ids.size,
      outliers,
    });
  }
  return { perCluster, summary };
}
