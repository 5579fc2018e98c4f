import { adjustedMutualInfo, amiParts, forEachShuffle, mutualInfo, weightedHomogeneity } from './skills.ts';

export interface ScopedSkillRow {
  /** `all` (every token), or a task's subset of the tokens (arithmetic: a digit place, core/tasks/arithmetic/scopes.ts). */
  scope: string;
  /** A skill column: the arithmetic task's digit, carry, value, or another task's label column. */
  skill: string;
  /** Other skills with the same partition of this scope's tokens, comma-separated; '' if none. */
  coincidesWith: string;
  tokens: number;
  clustered: number;
  coverage: number;
  clusters: number;
  outliers: number;
  homogeneity: number;
  baseline: number;
  ami: number;
  amiWithOutliers: number;
  amiShuffledMean: number;
  amiShuffledSd: number;
}

/** True when `a` and `b` group the tokens identically (a bijection between their values). */
export function samePartition(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    const x = ab.get(a[i]);
    const y = ba.get(b[i]);
    if (x === undefined && y === undefined) {
      ab.set(a[i], b[i]);
      ba.set(b[i], a[i]);
    } else if (x !== b[i] || y !== a[i]) return false;
  }
  return true;
}

export function isConstant(v: ArrayLike<number>): boolean {
  for (let i = 1; i < v.length; i++) if (v[i] !== v[0]) return false;
  return true;
}

/**
 * Homogeneity baseline and shuffled AMI from one set of permutations: permutation s is the
 * seeded Fisher–Yates shuffle of core/cluster/skills.ts `shuffledBaseline` (j = randInt(i+1, seed,
 * STREAMS.shuffle, s, i) for i = n−1 … 1), applied to the clustered tokens' skill values.
 */
export function shuffledStats(
  labels: ArrayLike<number>,
  skill: ArrayLike<number>,
  shuffles: number,
  seed: number,
): { baseline: number; amiMean: number; amiSd: number } {
  if (!Number.isInteger(shuffles) || shuffles < 1) throw new Error(`shuffledStats: shuffles must be an integer ≥ 1; got ${shuffles}`);
  const n = skill.length;
  if (n === 0) return { baseline: Number.NaN, amiMean: Number.NaN, amiSd: Number.NaN };
  // a permutation keeps the group sizes: the expected MI and the denominator are shared
  const parts = amiParts(labels, skill);
  let hSum = 0;
  const amis: number[] = [];
  forEachShuffle(skill, shuffles, seed, (perm) => {
    hSum += weightedHomogeneity(labels, perm);
    amis.push(parts.trivial ? 1 : (mutualInfo(labels, perm) - parts.emi) / parts.denom);
  });
  const mean = amis.reduce((a, b) => a + b, 0) / shuffles;
  const sd = Math.sqrt(amis.reduce((a, b) => a + (b - mean) ** 2, 0) / shuffles);
  return { baseline: hSum / shuffles, amiMean: mean, amiSd: sd };
}

export function pick(v: ArrayLike<number>, idx: number[]): Float64Array {
  return Float64Array.from(idx, (i) => v[i]);
}

export function skillRow(
  scope: string,
  skill: ScopedSkillRow['skill'],
  coincidesWith: string,
  labels: Float64Array,
  values: Float64Array,
  shuffles: number,
  seed: number,
): ScopedSkillRow {
  const tokens = labels.length;
  const inL: number[] = [];
  const inS: number[] = [];
  for (let i = 0; i < tokens; i++)
    if (labels[i] >= 0) {
      inL.push(labels[i]);
      inS.push(values[i]);
    }
  const clustered = inL.length;
  const nan = Number.NaN;
  const stats = clustered > 0 ? shuffledStats(inL, inS, shuffles, seed) : { baseline: nan, amiMean: nan, amiSd: nan };
  return {
    scope,
    skill,
    coincidesWith,
    tokens,
    clustered,
    coverage: tokens === 0 ? nan : clustered / tokens,
    clusters: new Set(inL).size,
    outliers: tokens - clustered,
    homogeneity: clustered > 0 ? weightedHomogeneity(inL, inS) : nan,
    baseline: stats.baseline,
    ami: clustered > 0 ? adjustedMutualInfo(inL, inS) : nan,
    amiWithOutliers: tokens > 0 ? adjustedMutualInfo(labels, values) : nan,
    amiShuffledMean: stats.amiMean,
    amiShuffledSd: stats.amiSd,
  };
}

/**
 * The table above over all tokens only, for any task's skill columns (a task without digit
 * positions, such as language modelling): one row per skill, scope `all`.
 */
export function skillTable(
  labels: ArrayLike<number>,
  skills: Record<string, ArrayLike<number>>,
  shuffles: number,
  seed: number,
): ScopedSkillRow[] {
  const n = labels.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const L = pick(labels, all);
  return Object.entries(skills).map(([skill, v]) => {
    if (v.length !== n) throw new Error(`skillTable: skill ${skill} has ${v.length} values for ${n} labels`);
    return skillRow('all', skill, '', L, pick(v, all), shuffles, seed);
  });
}
