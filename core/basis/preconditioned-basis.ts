/**
 * The `preconditioned` basis: Algorithm 1 on Adam's preconditioned Hessian.
 *
 * At a basis checkpoint with AdamW second moment v (as stored, before bias correction) after t
 * updates, v̂ = v / (1 − β₂ᵗ) and D = diag(1 / (√v̂ + ε)), the diagonal preconditioner of the
 * update θ ← θ − lr·D·m̂. The problem solved is the symmetric A = D^{1/2}·H_S·D^{1/2}, similar to
 * D·H_S, whose top eigenvalue is the preconditioned sharpness of Cohen et al. 2022 ("Adaptive
 * gradient methods at the edge of stability"): Adam is stable along a direction while it stays
 * below (2 + 2β₁) / ((1 − β₁)·lr), the limit recorded beside it.
 *
 * What is computed, exactly. A is an operator on preconditioned coordinates z (θ = θ* + D^{1/2}z);
 * a direction z is the parameter-space direction x = D^{1/2}z. The basis so far, B (orthonormal
 * rows in parameter space), constrains the new directions to Bᵀx = 0, i.e. z ⊥ D^{1/2}B. So:
 *  1. C = the rows D^{1/2}b for b ∈ B, orthonormalised in float64 (Gram–Schmidt, twice);
 *  2. Lanczos (core/basis/lanczos.ts) finds the top-k eigenpairs (μ_i, u_i) of P_C·A·P_C,
 *     P_C = I − CCᵀ, each A·u an exact product D^{1/2}·H_S·(D^{1/2}u);
 *  3. x_i = D^{1/2}u_i — then Bᵀx_i = (D^{1/2}B)ᵀu_i = 0 exactly, so x_i needs no projection
 *     against B beyond rounding; the x_i are orthonormalised against B and, in eigenvalue order,
 *     against each other (Gram–Schmidt, twice) and normalised.
 * Why: the x_i are the generalised eigenvectors of H_S·x = μ·D⁻¹·x restricted to x ⊥ B (the
 * directions where Adam's step is sharpest relative to its own step size), and step 3 keeps the
 * basis Euclidean-orthonormal, as POLCA needs (it projects the loss change on orthonormal rows).
 * For k = 1 each x_i is exactly the mapped eigenvector; for k > 1 the second and later ones are
 * orthogonalised against the earlier new ones (in D's metric they were orthogonal, in the
 * Euclidean one not), which keeps the span of the top k and the first direction exact. The
 * recorded eigenvalue μ_i is the Rayleigh quotient of u_i under P_C·A·P_C (with its true Lanczos
 * residual), not a curvature of the orthonormalised x_i.
 */
import type { BasisSettings, TrainSettings } from '../settings.ts';
import type { BasisExtension, ProductStore } from './basis.ts';
import { lanczosTop } from './lanczos.ts';
import { orthonormaliseAgainst } from './random-basis.ts';
import type { TokenLossModel } from '../types.ts';

/** D^{1/2} = diag(1 / √(√v̂ + ε)) from the stored second moment after `step` updates, float64. */
export function preconditionerSqrt(v: ArrayLike<number>, step: number, train: Pick<TrainSettings, 'beta2' | 'eps'>): Float64Array {
  if (!(step > 0)) throw new Error(`preconditioned basis: the optimiser state has made no update (step ${step}); v̂ is undefined`);
  const bc2 = 1 - train.beta2 ** step;
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = 1 / Math.sqrt(Math.sqrt(v[i] / bc2) + train.eps);
  return out;
}

/** Adam's stability limit on the preconditioned sharpness at learning rate lr: (2 + 2β₁) / ((1 − β₁)·lr). */
export function adamStabilityLimit(beta1: number, lr: number): number {
  return (2 + 2 * beta1) / ((1 - beta1) * lr);
}

export function extendPreconditioned(
  model: Pick<TokenLossModel, 'hvp'>,
  theta: Float32Array,
  sqrtD: Float64Array,
  B: ArrayLike<number>[],
  basis: Pick<BasisSettings, 'k' | 'maxIter' | 'tol'>,
  seed: number,
  products?: ProductStore,
): BasisExtension {
  const d = theta.length;
  if (sqrtD.length !== d) throw new Error(`preconditioned basis: the preconditioner has ${sqrtD.length} entries, the parameters ${d}`);
  const C: Float64Array[] = [];
  for (const b of B) {
    const c = new Float64Array(d);
    for (let i = 0; i < d; i++) c[i] = sqrtD[i] * b[i];
    orthonormaliseAgainst(c, C);
    C.push(c);
  }
  let calls = 0;
  const matvec = (z: Float64Array) => {
    const call = calls++;
    const kept = products?.get(call, z);
    if (kept) return kept;
    const x = new Float64Array(d);
    for (let i = 0; i < d; i++) x[i] = sqrtD[i] * z[i];
    const hx = model.hvp(theta, x);
    for (let i = 0; i < d; i++) hx[i] *= sqrtD[i];
    products?.put(call, z, hx);
    return hx;
  };
  const r = lanczosTop(matvec, d, { k: basis.k, maxIter: basis.maxIter, tol: basis.tol, seed: seed + B.length, project: C });
  const vectors: Float64Array[] = [];
  for (const u of r.vectors) {
    const x = new Float64Array(d);
    for (let i = 0; i < d; i++) x[i] = sqrtD[i] * u[i];
    orthonormaliseAgainst(x, [...B, ...vectors]);
    vectors.push(x);
  }
  return { vectors, eigenvalues: r.values, residuals: r.residuals, converged: r.converged, iterations: r.iterations };
}
