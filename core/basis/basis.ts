/**
 * Algorithm 1 (the POLCA basis): at each basis checkpoint, the top-k eigenvectors of
 * P·H_S(θ)·P with P = I − BBᵀ are appended to B. Products H_S·v are exact (forward over reverse,
 * core/model/backward.ts); each eigenvalue is the Rayleigh quotient yᵀH_S·y of its final (unit) vector,
 * from the jets' per-token second derivatives along y summed in float64 when the model has them
 * (`hessianCurvature`; the product's float32 rounding put small eigenvalues up to 1e-3
 * relative above the exact quotient, core/basis/lanczos.ts), reported with its true residual
 * ‖PH_SPy − λy‖ and whether that met the tolerance. A chain: each extension depends on the
 * previous basis. B is kept orthonormal (rows of length d, float64 while computing, stored F32;
 * a final re-orthonormalisation in float64 keeps ‖BBᵀ − I‖ at rounding level).
 */
import { lanczosTop } from './lanczos.ts';
import { dot } from '../linalg.ts';
import type { BasisSettings } from '../settings.ts';
import type { TokenLossModel } from '../types.ts';

export interface BasisExtension {
  vectors: Float64Array[];
  eigenvalues: number[];
  residuals: number[];
  converged: boolean[];
  iterations: number;
}

/**
 * Where the Hessian-vector products of an extension may be kept and found again: Lanczos is
 * deterministic given its products, so a retry that replays the products of an interrupted
 * attempt walks the same Krylov path and computes only the products that attempt did not reach.
 * `get` must return a product only for the same `v` (the caller checks it).
 */
export interface ProductStore {
  get(call: number, v: Float64Array): Float64Array | undefined;
  put(call: number, v: Float64Array, hv: Float64Array): void;
}

export function extendBasis(
  model: Pick<TokenLossModel, 'hvp'> & Partial<Pick<TokenLossModel, 'hessianCurvature'>>,
  theta: Float32Array,
  B: ArrayLike<number>[],
  basis: BasisSettings,
  seed: number,
  products?: ProductStore,
): BasisExtension {
  const d = theta.length;
  let calls = 0;
  const matvec = (v: Float64Array) => {
    const call = calls++;
    const kept = products?.get(call, v);
    if (kept) return kept;
    const hv = model.hvp(theta, v);
    products?.put(call, v, hv);
    return hv;
  };
  const r = lanczosTop(matvec, d, {
    k: basis.k,
    maxIter: basis.maxIter,
    tol: basis.tol,
    seed: seed + B.length,
    project: B,
    ...(model.hessianCurvature ? { rayleigh: (y: Float64Array) => model.hessianCurvature!(theta, y) } : {}),
  });
  // Re-orthonormalise the new vectors against B (twice) to keep the basis orthonormal.
  for (const v of r.vectors) {
    for (let pass = 0; pass < 2; pass++)
      for (const b of B) {
        const c = dot(v, b);
        for (let i = 0; i < d; i++) v[i] -= c * b[i];
      }
    const n = Math.sqrt(dot(v, v));
    for (let i = 0; i < d; i++) v[i] /= n;
  }
  // Re-orthonormalisation moves a vector by rounding only: its Rayleigh quotient and residual stand.
  return { vectors: r.vectors, eigenvalues: r.values, residuals: r.residuals, converged: r.converged, iterations: r.iterations };
}

/** max |BBᵀ − I| entry. */
export function orthonormalityError(B: ArrayLike<number>[]): number {
  let worst = 0;
  for (let i = 0; i < B.length; i++)
    for (let j = i; j < B.length; j++) worst = Math.max(worst, Math.abs(dot(B[i], B[j]) - (i === j ? 1 : 0)));
  return worst;
}
