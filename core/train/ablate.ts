/**
 * Ablating directions during training. From the checkpoint `from` on, every optimiser update is
 * projected off the span of m orthonormal directions A = [a_1 … a_m] (d × m):
 *
 *   θ_{k+1} = θ_k + (I − AAᵀ)·Δθ_k,   Δθ_k = AdamW(θ_k, g_k) − θ_k   (weight decay included),
 *
 * so that Aᵀθ_k = Aᵀθ_from for every k ≥ from: the run never moves along A, and moves as AdamW
 * moves it in every direction orthogonal to A.
 *
 * How it is computed: θ' = θ_k + Δθ_k in float64 with AdamW's own expression (core/train/train.ts,
 * `adamwStep` with a float64 output), then θ' ← θ' − A·(Aᵀθ' − c) with the anchor c = Aᵀθ_from,
 * and θ_{k+1} = θ' rounded to float32. In exact arithmetic this is the update above (Aᵀθ_k = c,
 * so Aᵀθ' − c = AᵀΔθ_k). Written against the anchor, the float32 rounding of each stored θ_k (a
 * vector of its own, with a small component along A) is taken out at the next step instead of
 * adding up over the run: |a_jᵀθ_k − c_j| stays within one rounding of θ_k,
 * Σ_i |a_ji|·|θ_k,i|·2⁻²⁴ (`roundingBound`), at every k. With A empty nothing is subtracted and
 * θ_{k+1} is AdamW's value rounded as `adamwStep` rounds it: the same bits as the unablated run.
 *
 * Adam's moments keep seeing the full gradient; only the parameter step is projected. The
 * intervention is on where θ goes (the trajectory POLCA decomposes), not on the optimiser's
 * statistics. Projecting the gradient instead, before Adam, would not keep θ off A: Adam divides
 * every coordinate by its own √v̂, which turns a gradient orthogonal to A into a step with a
 * component along A (diag(1/√v̂)·(I − AAᵀ)g is not orthogonal to A unless v̂ is constant on the
 * support of A), and weight decay moves θ along A as well; only the step itself can be projected.
 * And with the moments of the full gradient, the first projected step differs from the control
 * run's by exactly −AAᵀΔθ: the per-coordinate step sizes are the control's, so what differs is the
 * removed component and what follows from it, not a change of optimiser.
 *
 * Directions: basis vectors (stored as float32 rows, orthonormal to about 1e-7) are orthonormalised
 * again in float64 (modified Gram–Schmidt, two passes), so that AAᵀ is a projection to float64
 * precision. Random controls: m vectors of independent standard normal entries, entry i of vector
 * j by Box–Muller from the counter-based uniforms of (seed, STREAMS.ablate, counter i, extra 2j and
 * 2j + 1), orthonormalised the same way: a Haar-random orthonormal m-frame, a pure function of
 * (seed, d, m).
 */
import type { TrainSettings } from '../settings.ts';
import { hash32, STREAMS } from '../rng.ts';
import { adamwStep, type TrainState } from './train.ts';

/** 2⁻²⁴: the relative rounding error of float32 (half an ulp of 1). */
export const F32_ROUNDING = 2 ** -24;

function dot64(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Rows made orthonormal in float64, in order (modified Gram–Schmidt, two passes). A row that
 * keeps less than 1e-6 of its norm against the earlier ones is refused: the directions must be
 * independent.
 */
export function orthonormalise(rows: ArrayLike<number>[], what = 'direction'): Float64Array[] {
  const out: Float64Array[] = [];
  rows.forEach((r, j) => {
    const v = Float64Array.from(r);
    const n0 = Math.sqrt(dot64(v, v));
    if (!(n0 > 0) || !Number.isFinite(n0)) throw new Error(`ablate: ${what} ${j} is zero or not finite`);
    for (let pass = 0; pass < 2; pass++)
      for (const b of out) {
        const c = dot64(v, b);
        for (let i = 0; i < v.length; i++) v[i] -= c * b[i];
      }
    const n = Math.sqrt(dot64(v, v));
    if (!(n > 1e-6 * n0)) throw new Error(`ablate: ${what} ${j} lies in the span of the earlier ones`);
    for (let i = 0; i < v.length; i++) v[i] /= n;
    out.push(v);
  });
  return out;
}

/** m random orthonormal directions in R^d from `seed` (see the file comment). */
export function randomDirections(d: number, m: number, seed: number): Float64Array[] {
  if (!(Number.isInteger(m) && m >= 0 && m <= d)) throw new Error(`ablate: ${m} random directions asked in dimension ${d}`);
  const rows = Array.from({ length: m }, (_, j) => {
    const g = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      const u1 = (hash32(seed, STREAMS.ablate, i, 2 * j) + 1) / 4294967297;
      const u2 = hash32(seed, STREAMS.ablate, i, 2 * j + 1) / 4294967296;
      g[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
    return g;
  });
  return orthonormalise(rows, 'random direction');
}

/** Aᵀθ in float64: the anchor c of a run at θ_from. */
export function anchorOf(A: Float64Array[], theta: ArrayLike<number>): Float64Array {
  return Float64Array.from(A, (a) => dot64(a, theta));
}

/** Aᵀθ − c: how far θ has moved along each direction since the anchor was taken. */
export function offsetAlong(A: Float64Array[], theta: ArrayLike<number>, anchor: Float64Array): Float64Array {
  return Float64Array.from(A, (a, j) => dot64(a, theta) - anchor[j]);
}

/** Per direction, Σ_i |a_i|·|θ_i|·2⁻²⁴: the most one float32 rounding of θ can move it along a. */
export function roundingBound(A: Float64Array[], theta: ArrayLike<number>): Float64Array {
  return Float64Array.from(A, (a) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += Math.abs(a[i]) * Math.abs(theta[i]);
    return s * F32_ROUNDING;
  });
}

/** x ← x − A·(Aᵀx − c), in place: x moved back onto the affine plane Aᵀx = c along A only. */
export function projectOff(x: Float64Array, A: Float64Array[], anchor: Float64Array): void {
  // Coefficients first (all against the same x), then one subtraction per direction: with
  // orthonormal A this is the orthogonal projection onto the plane.
  const coef = A.map((a, j) => dot64(a, x) - anchor[j]);
  A.forEach((a, j) => {
    const cj = coef[j];
    if (cj !== 0) for (let i = 0; i < x.length; i++) x[i] -= cj * a[i];
  });
}

export interface Ablation {
  /** The optimiser update for core/train.ts `trainSegment` (`hooks.update`). */
  update(train: TrainSettings, state: TrainState, grad: Float32Array, mask: Float32Array, lr: number): void;
  /** The anchor Aᵀθ_from, once the run has reached `from` (or as given). */
  anchor(): Float64Array | undefined;
}

/**
 * The update of an ablated run: AdamW while state.step < from, the projected update from then
 * on. The anchor is Aᵀθ at the first projected update (θ_from) unless given (a run continued
 * from a later state carries it).
 */
export function ablation(A: Float64Array[], from: number, anchor?: Float64Array): Ablation {
  if (anchor && anchor.length !== A.length) throw new Error(`ablate: an anchor of ${anchor.length} values for ${A.length} directions`);
  let c = anchor;
  let next: Float64Array | undefined;
  return {
    anchor: () => c,
    update(train, state, grad, mask, lr) {
      if (state.step < from) {
        adamwStep(train, state, grad, mask, lr);
        return;
      }
      const p = state.params;
      if (!c) c = anchorOf(A, p);
      if (!next || next.length !== p.length) next = new Float64Array(p.length);
      adamwStep(train, state, grad, mask, lr, next);
      projectOff(next, A, c);
      // Float32Array stores round to nearest, as adamwStep's own stores do.
      p.set(next);
    },
  };
}
