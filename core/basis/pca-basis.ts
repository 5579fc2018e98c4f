/**
 * The `pca-displacement` and `pca-update` bases: the top principal directions (uncentred, i.e.
 * the top right singular vectors) of the trajectory matrix X whose rows are the displacements
 * θ_t − θ_0 over the checkpoints t ≠ 0 (resp. the updates θ_{t'} − θ_t between consecutive
 * checkpoints t < t'). With X = U Σ Vᵀ, the basis is the first m rows of Vᵀ, m = segments × k;
 * σ_j² is the part of Σ_rows ‖x‖² (the squared movement) that direction j holds.
 *
 * Incremental over the basis segments: a sketch W (rows = Σ_r V_rᵀ, the kept singular directions
 * scaled by their singular values, so WᵀW = Σ over kept components of σ²vvᵀ) carries the
 * trajectory so far. Folding in a segment's new rows N: M = [W; N] (n × d), G = M Mᵀ (n × n,
 * float64), G = Q Λ Qᵀ (dense symmetric eigensolver), new sketch rows w_i = Σ_j Q_ji M_j with
 * ‖w_i‖² = λ_i. Since MᵀM = WᵀW + NᵀN, the new sketch has exactly the singular values and right
 * singular vectors of [X_so_far; N] whenever nothing was truncated before: the fold is exact,
 * not an approximation, as long as the sketch keeps every component.
 *
 * Truncation: components with λ_i ≤ 1e-20·λ_max (σ ≤ 1e-10·σ_max, rounding noise) are dropped;
 * beyond that at most `keep` components are kept (sketchRank: max(4m, ⌊2^25 / d⌋), i.e. four
 * times the basis size, or more while the sketch stays within 2^25 numbers, 128 MiB as float32).
 * A run whose trajectory has at most `keep` rows (every run on `tiny` and `small`) is exact; the
 * squared norm that truncation dropped is reported (`dropped`) so a longer run shows what it lost
 * (the top m directions are then those of the truncated sketch, the usual incremental-SVD
 * approximation). Signs: each direction is turned so that its entry of largest magnitude is
 * positive (the first such entry on ties), so equal inputs give equal bits.
 */
import { dot, symmetricEigen } from '../linalg.ts';
import { orthonormaliseAgainst } from './random-basis.ts';

export interface SketchFold {
  /** The new sketch rows w_i, by decreasing ‖w_i‖² = σ_i². */
  rows: Float64Array[];
  sigma2: number[];
  /** Σ σ² of the components dropped by this fold's truncation to `keep` (noise-level ones excluded). */
  dropped: number;
}

/** How many sketch components a basis of m vectors in dimension d keeps. */
export function sketchRank(m: number, d: number): number {
  return Math.max(4 * m, Math.floor(2 ** 25 / d), m);
}

/** Fold new trajectory rows into a sketch (see the header). */
export function foldSketch(sketch: ArrayLike<number>[], rows: ArrayLike<number>[], keep: number): SketchFold {
  const M = [...sketch, ...rows];
  const n = M.length;
  if (n === 0) return { rows: [], sigma2: [], dropped: 0 };
  const d = M[0].length;
  const G = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      const g = dot(M[i], M[j]);
      G[i * n + j] = g;
      G[j * n + i] = g;
    }
  const { values, vectors } = symmetricEigen(G, n);
  const floor = 1e-20 * Math.max(values[0], 0);
  let r = 0;
  while (r < n && values[r] > floor && values[r] > 0) r++;
  let dropped = 0;
  for (let i = keep; i < r; i++) dropped += values[i];
  r = Math.min(r, keep);
  const out: Float64Array[] = [];
  const sigma2: number[] = [];
  for (let c = 0; c < r; c++) {
    const w = new Float64Array(d);
    for (let j = 0; j < n; j++) {
      const q = vectors[j * n + c];
      if (q === 0) continue;
      const mj = M[j];
      for (let t = 0; t < d; t++) w[t] += q * mj[t];
    }
    let big = 0;
    for (let t = 1; t < d; t++) if (Math.abs(w[t]) > Math.abs(w[big])) big = t;
    if (w[big] < 0) for (let t = 0; t < d; t++) w[t] = -w[t];
    out.push(w);
    sigma2.push(values[c]);
  }
  return { rows: out, sigma2, dropped };
}

/** The top m directions of a sketch as orthonormal rows (normalised, then Gram–Schmidt in float64). */
export function sketchBasis(sketch: ArrayLike<number>[], m: number): Float64Array[] {
  if (sketch.length < m)
    throw new Error(`principal-direction basis: the trajectory has ${sketch.length} nonzero directions, fewer than the ${m} asked`);
  const out: Float64Array[] = [];
  for (let j = 0; j < m; j++) {
    const v = Float64Array.from(sketch[j]);
    orthonormaliseAgainst(v, out);
    out.push(v);
  }
  return out;
}

/** The trajectory rows of one segment: displacements from `origin`, or updates from `previous` on. */
export function trajectoryRows(
  kind: 'pca-displacement' | 'pca-update',
  checkpoints: ArrayLike<number>[],
  origin: ArrayLike<number>,
  previous: ArrayLike<number> | undefined,
): Float64Array[] {
  const out: Float64Array[] = [];
  let prev = previous;
  for (const theta of checkpoints) {
    const ref = kind === 'pca-displacement' ? origin : prev;
    prev = theta;
    if (!ref) continue; // the first checkpoint of the run has no update before it
    const row = new Float64Array(theta.length);
    let nonzero = false;
    for (let i = 0; i < row.length; i++) {
      row[i] = theta[i] - ref[i];
      if (row[i] !== 0) nonzero = true;
    }
    if (nonzero) out.push(row);
  }
  return out;
}
