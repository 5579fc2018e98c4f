/**
 * The checkpoint order of the `shuffled` basis: a seeded permutation π of the S basis segments,
 * drawn by Fisher–Yates (for i = S−1 … 1 swap position i with a uniform j ∈ [0, i]) on the
 * counter-based stream STREAMS.basisOrder. Extension s of the shuffled basis is computed at the
 * end of segment π(s) instead of segment s. For S ≥ 2 the identity is never returned: a draw
 * that gives it is redrawn with the next counter (so the permutation is uniform over the S! − 1
 * others), since the identity would be Algorithm 1 itself and no ablation.
 *
 * Pure and cheap: the workflow calls it to wire the DAG (which training segment each extension
 * waits for), the basis step to check it was given the right one.
 */
import { randInt, STREAMS } from '../rng.ts';

export function shuffledOrder(segments: number, seed: number): number[] {
  if (!Number.isInteger(segments) || segments < 1) throw new Error(`shuffledOrder: segments must be a positive integer; got ${segments}`);
  for (let draw = 0; ; draw++) {
    const p = Array.from({ length: segments }, (_, i) => i);
    for (let i = segments - 1; i > 0; i--) {
      const j = randInt(i + 1, seed, STREAMS.basisOrder, draw, i);
      [p[i], p[j]] = [p[j], p[i]];
    }
    if (segments < 2 || p.some((v, i) => v !== i)) return p;
  }
}
