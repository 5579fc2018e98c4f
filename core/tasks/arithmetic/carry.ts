/**
 * The arithmetic task's reading of a clustering for the published evaluation protocol
 * (core/cluster/protocol.ts).
 *
 * Top-1 carry cluster of one clustering (outliers, label −1, excluded): a cluster c qualifies when
 * it holds at least one carry token and more than `placeShare` (0.85) of its carry tokens are in
 * the tens or hundreds place (thousands tokens, whose carry is their value, cannot make a carry
 * cluster; the ones digit never receives a carry). Among qualifying clusters, the one with the
 * highest carry homogeneity h = |{x ∈ c : carry}| / |c| (ties: more carry tokens, then the lower
 * label); recall r = |{x ∈ c : carry}| / |{x : carry}| over every evaluation token (filtered or
 * not: the paper's "share of all carry tokens"); F1 = 2hr / (h + r).
 */
import { digitOf } from './digits.ts';

export interface CarryCluster {
  cluster: number;
  size: number;
  carryTokens: number;
  homogeneity: number;
  recall: number;
  f1: number;
  /** Share of the cluster's carry tokens in the tens or hundreds place. */
  placeShare: number;
}

/** The places whose carries make a carry cluster: hundreds and tens (./digits.ts). */
export const CARRY_PLACES = [digitOf('hundreds'), digitOf('tens')] as const;

/**
 * Every cluster's carry reading, and the top-1 qualifying cluster (undefined when none qualifies).
 * `labels[i]` is the cluster of token `tokens[i]`; `carry` and `digit` are indexed by token over
 * all evaluation tokens (the recall's denominator).
 */
export function topCarryCluster(
  labels: ArrayLike<number>,
  tokens: ArrayLike<number>,
  carry: ArrayLike<number>,
  digit: ArrayLike<number>,
  placeShare = 0.85,
): { clusters: CarryCluster[]; top: CarryCluster | undefined } {
  if (labels.length !== tokens.length) throw new Error(`topCarryCluster: ${labels.length} labels for ${tokens.length} tokens`);
  let allCarry = 0;
  for (let x = 0; x < carry.length; x++) if (carry[x]) allCarry++;
  const acc = new Map<number, { size: number; carry: number; inPlace: number }>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c < 0) continue;
    const x = tokens[i];
    let a = acc.get(c);
    if (!a) acc.set(c, (a = { size: 0, carry: 0, inPlace: 0 }));
    a.size++;
    if (carry[x]) {
      a.carry++;
      if (digit[x] === CARRY_PLACES[0] || digit[x] === CARRY_PLACES[1]) a.inPlace++;
    }
  }
  const clusters: CarryCluster[] = [...acc.keys()]
    .sort((a, b) => a - b)
    .map((cluster) => {
      const a = acc.get(cluster)!;
      const h = a.carry / a.size;
      const r = allCarry === 0 ? 0 : a.carry / allCarry;
      return {
        cluster,
        size: a.size,
        carryTokens: a.carry,
        homogeneity: h,
        recall: r,
        f1: h + r === 0 ? 0 : (2 * h * r) / (h + r),
        placeShare: a.carry === 0 ? Number.NaN : a.inPlace / a.carry,
      };
    });
  let top: CarryCluster | undefined;
  for (const c of clusters) {
    if (!(c.carryTokens > 0 && c.placeShare > placeShare)) continue;
    if (!top || c.homogeneity > top.homogeneity || (c.homogeneity === top.homogeneity && c.carryTokens > top.carryTokens)) top = c;
  }
  return { clusters, top };
}
