/**
 * The published evaluation protocol (the full paper; method notes, "The published evaluation
 * protocol"), as pure functions.
 *
 * Filters, for families whose trajectories are a decomposition of the loss change (POLCA,
 * first-order POLCA, LCA): with P(x,j,t) the decomposed loss change of token x along member j (a
 * basis vector, or a parameter) over interval t,
 *   member j is dropped when  Σ_x Σ_t P(x,j,t) > 0   (its decomposed loss rises);
 *   along a kept j, token x is dropped when  Σ_t P(x,j,t) > 0.
 *
 * HDBSCAN settings relative to the token count (the paper: 150 of 5000 tokens, min_samples =
 * tokens / 15): minClusterSize = max(2, round(share · n_eval)) with n_eval every evaluation token,
 * minSamples = max(1, round(n_kept / divisor)) with n_kept the tokens left after the filters.
 *
 * The task's reading of each clustering (arithmetic: the top-1 carry cluster,
 * core/tasks/arithmetic/carry.ts) is the task's own.
 *
 * Breakthrough time of a cluster's mean curve m, given at checkpoint iterations i_0 < … < i_T:
 *   argmax over checkpoints t with i_0 ≤ t − Δ and t + Δ ≤ i_T of m(t + Δ) − 2 m(t) + m(t − Δ),
 * m read between checkpoints by linear interpolation (the schedule may be non-uniform); ties go to
 * the earliest t; NaN when the run is shorter than 2Δ. A cluster is hidden when that time is later
 * than τ. The curve is the cluster's mean loss for the loss family, its mean trajectory for
 * Fisher information, and for the change families (ΔL, POLCA, first-order POLCA, LCA) the
 * cumulative sum of its mean trajectory — the cluster's (decomposed) loss relative to the start.
 */

/** Sum of each row and of all rows. */
export function rowSums(rows: ArrayLike<number>[]): { perRow: Float64Array; total: number } {
  const perRow = new Float64Array(rows.length);
  let total = 0;
  rows.forEach((r, x) => {
    let s = 0;
    for (let t = 0; t < r.length; t++) s += r[t];
    perRow[x] = s;
    total += s;
  });
  return { perRow, total };
}

/** Tokens kept along one member: those whose own summed decomposed loss does not rise. */
export function keptTokens(rows: ArrayLike<number>[]): Int32Array {
  const { perRow } = rowSums(rows);
  const out: number[] = [];
  perRow.forEach((s, x) => {
    if (!(s > 0)) out.push(x);
  });
  return Int32Array.from(out);
}

export interface RelativeSettings {
  /** Share of all evaluation tokens (0.03 = 150 of 5000). */
  minClusterShare: number;
  /** min_samples = kept tokens / divisor (15). */
  minSamplesDivisor: number;
}

export function relativeHdbscanSettings(
  s: RelativeSettings,
  evalTokens: number,
  keptTokens: number,
): { minClusterSize: number; minSamples: number } {
  return {
    minClusterSize: Math.max(2, Math.round(s.minClusterShare * evalTokens)),
    minSamples: Math.max(1, Math.round(keptTokens / s.minSamplesDivisor)),
  };
}

/** m at iteration `at`, linear between the checkpoints (`its` increasing). */
function interpolate(its: ArrayLike<number>, m: ArrayLike<number>, at: number): number {
  let lo = 0;
  let hi = its.length - 1;
  if (at <= its[0]) return m[0];
  if (at >= its[hi]) return m[hi];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (its[mid] <= at) lo = mid;
    else hi = mid;
  }
  const w = (at - its[lo]) / (its[hi] - its[lo]);
  return m[lo] + w * (m[hi] - m[lo]);
}

/** The breakthrough iteration of a curve m at checkpoint iterations `its` with lag Δ (NaN: run shorter than 2Δ). */
export function breakthroughTime(its: ArrayLike<number>, m: ArrayLike<number>, lag: number): number {
  if (its.length !== m.length) throw new Error(`breakthroughTime: ${m.length} values at ${its.length} iterations`);
  if (!(lag > 0)) throw new Error(`breakthroughTime: the lag must be positive; got ${lag}`);
  const first = its[0];
  const last = its[its.length - 1];
  let best = Number.NEGATIVE_INFINITY;
  let at = Number.NaN;
  for (let k = 0; k < its.length; k++) {
    const t = its[k];
    if (t - lag < first || t + lag > last) continue;
    const v = interpolate(its, m, t + lag) - 2 * m[k] + interpolate(its, m, t - lag);
    if (v > best) {
      best = v;
      at = t;
    }
  }
  return at;
}

/** Running sum with a leading 0: a change trajectory of T values → a curve at T+1 checkpoints. */
export function cumulative(v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(v.length + 1);
  for (let t = 0; t < v.length; t++) out[t + 1] = out[t] + v[t];
  return out;
}

/** The protocol's default lag Δ and hidden threshold τ, scaled to the run: the paper's 100 and 1000 of 10,000 steps. */
export function defaultTiming(iterations: number): { lag: number; hiddenAfter: number } {
  return { lag: Math.max(1, Math.round(iterations / 100)), hiddenAfter: Math.max(1, Math.round(iterations / 10)) };
}

/** One member's protocol reading (the `protocol` step's summary). */
export interface MemberReading {
  family: string;
  member: number;
  /** The member's summed decomposed loss rose: dropped by the filter. */
  dropped: boolean;
  kept: number;
  clusters: number;
  /** Clusters whose breakthrough time is later than τ. */
  hidden: number;
  top?: { cluster: number; size: number; homogeneity: number; recall: number; f1: number };
}

export interface FamilyReading {
  family: string;
  members: number;
  /** Members left by the filter. */
  kept: number;
  clusters: number;
  /** Hidden clusters ÷ clusters over the kept members (null without clusters). */
  hiddenFraction: number | null;
  /** The best top-1 carry cluster over the kept members (highest homogeneity; ties: higher recall). */
  top?: { member: number; cluster: number; size: number; homogeneity: number; recall: number; f1: number };
}

/** The family-level numbers of the paper's table from its members' readings, in first-seen family order. */
export function protocolFamilies(readings: MemberReading[]): FamilyReading[] {
  const families = [...new Set(readings.map((r) => r.family))];
  return families.map((family) => {
    const rs = readings.filter((r) => r.family === family);
    const kept = rs.filter((r) => !r.dropped);
    let top: FamilyReading['top'];
    let clusters = 0;
    let hidden = 0;
    for (const r of kept) {
      clusters += r.clusters;
      hidden += r.hidden;
      const t = r.top;
      if (t && (!top || t.homogeneity > top.homogeneity || (t.homogeneity === top.homogeneity && t.recall > top.recall)))
        top = { member: r.member, ...t };
    }
    return {
      family,
      members: rs.length,
      kept: kept.length,
      clusters,
      hiddenFraction: clusters > 0 ? hidden / clusters : null,
      ...(top ? { top } : {}),
    };
  });
}
