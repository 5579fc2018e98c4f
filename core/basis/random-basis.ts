/**
 * The `random` basis: a seeded random orthonormal basis of the same size as Algorithm 1's,
 * m = segments × k, built one block of k vectors per basis segment so that the chain keeps its
 * shape. Vector j (counting over the whole basis) starts as g_j ∈ R^d with independent standard
 * normal entries, g_j[i] by Box–Muller from the counter-based uniforms of (seed, STREAMS.randomBasis,
 * counter i, extra 2j and 2j + 1); it is then orthogonalised in float64 against every earlier
 * vector (classical Gram–Schmidt, twice) and normalised. The directions of normal vectors are
 * uniform on the sphere, so the basis is a Haar-random orthonormal m-frame (up to the rounding of
 * the stored float32 earlier vectors it is orthogonalised against). Deterministic: the same seed,
 * size and earlier vectors give the same bits; it depends on no training state.
 */
import { dot } from '../linalg.ts';
import { hash32, STREAMS } from '../rng.ts';

/** Entry i of the normal vector g_j. */
function gaussian(seed: number, j: number, i: number): number {
  const u1 = (hash32(seed, STREAMS.randomBasis, i, 2 * j) + 1) / 4294967297;
  const u2 = hash32(seed, STREAMS.randomBasis, i, 2 * j + 1) / 4294967296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Orthogonalise v against `against` twice (classical Gram–Schmidt) and normalise it, in place. */
export function orthonormaliseAgainst(v: Float64Array, against: ArrayLike<number>[]): void {
  for (let pass = 0; pass < 2; pass++)
    for (const b of against) {
      const c = dot(v, b);
      for (let i = 0; i < v.length; i++) v[i] -= c * b[i];
    }
  const n = Math.sqrt(dot(v, v));
  if (!(n > 0)) throw new Error('orthonormalise: the vector lies in the span of the earlier ones');
  for (let i = 0; i < v.length; i++) v[i] /= n;
}

/**
 * The next k random basis vectors (indices B.length … B.length + k − 1) of dimension d,
 * orthonormal to the rows of B and to each other.
 */
export function randomBlock(d: number, B: ArrayLike<number>[], k: number, seed: number): Float64Array[] {
  if (B.length + k > d) throw new Error(`random basis: ${B.length + k} orthonormal vectors asked in dimension ${d}`);
  const out: Float64Array[] = [];
  for (let t = 0; t < k; t++) {
    const j = B.length + t;
    const v = new Float64Array(d);
    for (let i = 0; i < d; i++) v[i] = gaussian(seed, j, i);
    orthonormaliseAgainst(v, [...B, ...out]);
    out.push(v);
  }
  return out;
}
