/**
 * Reading clusters against part-of-speech tags the way the paper reads its English clusters.
 *
 * Tokens carry P tag columns (the target's tag and the tags of its 3 predecessors: P = 4). For a
 * cluster C and a position p, the label is the smallest set of tags that covers at least a share
 * `coverage` (0.7) of C's tokens at p: the tags by descending count (ties by code), taken until
 * their share reaches `coverage` (no k tags can cover more than the k most frequent, so this is the
 * smallest). C is *simply labelled* when every position needs at most `maxTags` (2) tags. A
 * trajectory set (a basis vector's POLCA, or the loss) *has a simple cluster* when one of its
 * clusters is simply labelled.
 *
 * Chance: the same test with the tag tuples (the P tags of a token, kept together) permuted among
 * the clustered tokens, for s = 0 … shuffles − 1 (core/cluster/skills.ts `forEachShuffle`: seeded
 * Fisher–Yates). Its share of shuffles with a simple cluster is the probability that chance alone
 * gives this set a simple cluster with the same cluster sizes; summed over sets, the count chance
 * gives, next to the count measured.
 *
 * Medoid of a cluster: the member x minimising Σ_y ‖r_x − r_y‖₂ over the members y (rows r: the
 * clustered trajectories); its nearest members are those at the smallest ‖r_x − r_medoid‖₂ (the
 * medoid first), ties by token index.
 */
import { forEachShuffle } from '../../cluster/skills.ts';

export interface TagLabel {
  cluster: number;
  size: number;
  /** Per position, the tag codes of the smallest set covering `coverage`, most frequent first. */
  sets: number[][];
  /** Per position, the share of the cluster's tokens the set covers. */
  covered: number[];
  simple: boolean;
}

export interface TagReadingOptions {
  coverage: number;
  maxTags: number;
}

/** The smallest covering set of one position's tag codes (see the header). */
export function coveringSet(codes: ArrayLike<number>, coverage: number): { set: number[]; covered: number } {
  const n = codes.length;
  if (n === 0) return { set: [], covered: Number.NaN };
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) counts.set(codes[i], (counts.get(codes[i]) ?? 0) + 1);
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const set: number[] = [];
  let sum = 0;
  for (const [code, k] of ranked) {
    set.push(code);
    sum += k;
    // compare counts, not floating shares, so that 7 of 10 covers 0.7 exactly
    if (sum >= coverage * n - 1e-9 * n) break;
  }
  return { set, covered: sum / n };
}

function check(labels: ArrayLike<number>, tags: readonly ArrayLike<number>[], o: TagReadingOptions): void {
  if (!(o.coverage > 0 && o.coverage <= 1)) throw new Error(`tag reading: coverage must be in (0, 1]; got ${o.coverage}`);
  if (!(Number.isInteger(o.maxTags) && o.maxTags >= 1)) throw new Error(`tag reading: maxTags must be an integer ≥ 1; got ${o.maxTags}`);
  for (const t of tags) if (t.length !== labels.length) throw new Error(`tag reading: ${t.length} tags for ${labels.length} labels`);
}

function members(labels: ArrayLike<number>): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l < 0) continue;
    let a = m.get(l);
    if (!a) m.set(l, (a = []));
    a.push(i);
  }
  return new Map([...m.entries()].sort((a, b) => a[0] - b[0]));
}

/** Every cluster's label (labels: −1 = outlier; tags[p][i]: the tag code of token i at position p). */
export function clusterTagLabels(labels: ArrayLike<number>, tags: readonly ArrayLike<number>[], o: TagReadingOptions): TagLabel[] {
  check(labels, tags, o);
  const out: TagLabel[] = [];
  for (const [cluster, idx] of members(labels)) {
    const sets: number[][] = [];
    const covered: number[] = [];
    for (const t of tags) {
      const r = coveringSet(
        Int32Array.from(idx, (i) => t[i]),
        o.coverage,
      );
      sets.push(r.set);
      covered.push(r.covered);
    }
    out.push({ cluster, size: idx.length, sets, covered, simple: sets.every((s) => s.length <= o.maxTags) });
  }
  return out;
}

/** The number of shuffles (of `shuffles`) in which some cluster is simply labelled (see the header). */
export function shuffledSimpleCount(
  labels: ArrayLike<number>,
  tags: readonly ArrayLike<number>[],
  o: TagReadingOptions & { shuffles: number; seed: number },
): number {
  check(labels, tags, o);
  const clustered: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) clustered.push(i);
  if (clustered.length === 0) return 0;
  // One number per token for its tag tuple, so that a permutation moves the P tags together.
  let base = 1;
  for (const t of tags) for (const i of clustered) base = Math.max(base, t[i] + 1);
  if (base ** tags.length > 2 ** 52) throw new Error(`tag reading: ${base} tags at ${tags.length} positions do not fit one code`);
  const tuple = Float64Array.from(clustered, (i) => tags.reduce((acc, t) => acc * base + t[i], 0));
  const sub = Int32Array.from(clustered, (i) => labels[i]);
  let hits = 0;
  const decoded = tags.map(() => new Int32Array(clustered.length));
  forEachShuffle(tuple, o.shuffles, o.seed, (perm) => {
    for (let k = 0; k < perm.length; k++) {
      let v = perm[k];
      for (let p = tags.length - 1; p >= 0; p--) {
        decoded[p][k] = v % base;
        v = Math.floor(v / base);
      }
    }
    if (clusterTagLabels(sub, decoded, o).some((l) => l.simple)) hits++;
  });
  return hits;
}

const dist = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let t = 0; t < a.length; t++) s += (a[t] - b[t]) ** 2;
  return Math.sqrt(s);
};

/** The medoid of `idx` (token indices into rows) and the `k` members nearest to it (see the header). */
export function medoidNeighbours(
  rows: readonly ArrayLike<number>[],
  idx: readonly number[],
  k: number,
): { medoid: number; nearest: { token: number; distance: number }[] } {
  if (idx.length === 0) throw new Error('medoidNeighbours: an empty cluster');
  let best = idx[0];
  let bestSum = Number.POSITIVE_INFINITY;
  for (const x of idx) {
    let s = 0;
    for (const y of idx) {
      s += dist(rows[x], rows[y]);
      if (s >= bestSum) break;
    }
    if (s < bestSum || (s === bestSum && x < best)) {
      bestSum = s;
      best = x;
    }
  }
  const nearest = idx
    .map((y) => ({ token: y, distance: dist(rows[best], rows[y]) }))
    .sort((a, b) => a.distance - b.distance || a.token - b.token)
    .slice(0, k);
  return { medoid: best, nearest };
}
