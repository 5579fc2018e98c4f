/**
 * Lanczos for the top-k (largest algebraic) eigenpairs of P·A·P, P = I − BBᵀ (B orthonormal),
 * with full re-orthogonalisation (twice, classical Gram–Schmidt) against every Krylov vector
 * and against B. Krylov vectors and inner products in float64.
 *
 * Stopping is decided on the true residual: once the top-k Ritz pairs' residual estimates
 * β_j·|s_{j,i}| fall below tol·|θ_i|, the Ritz vectors y_i are formed and multiplied once more
 * (k products); the run stops when every ‖PAPy_i − λ_i y_i‖ ≤ tol·|λ_i|, with λ_i = y_iᵀPAPy_i the
 * Rayleigh quotient of the final (unit, range(P)) vector, and otherwise goes on iterating. The
 * quotient and the residual are accumulated in float64. λ_i is never above the top eigenvalue of
 * PAP for exact arithmetic; with a float32 product it carries the product's rounding, which for a
 * vector of small curvature beside large eigenvalues of A is relative to those (A·y has large
 * components along B that P removes only after rounding: on `small`, 2.7e-4 to 1e-3 above the
 * exact quotient for λ 0.04–0.2 beside λ ≈ 770). `rayleigh(y)`, when given, computes yᵀAy along y
 * alone (for a Hessian: the mean of per-token second derivatives from forward-mode jets, summed in
 * float64; A·y is never formed) and gives λ_i instead. At an invariant subspace or at
 * maxIter it stops regardless; each pair then reports whether its true residual met the tolerance
 * (`converged`), so a vector that missed it is visible rather than silently kept.
 */
import { dot, norm, symmetricEigen } from '../linalg.ts';
import { uniform } from '../rng.ts';

export interface LanczosOptions {
  k: number;
  maxIter: number;
  tol: number;
  seed: number;
  /** Orthonormal vectors to project out (rows of length d). */
  project?: ArrayLike<number>[];
  /** yᵀAy for a unit y in range(P), computed without the product (see above); default yᵀ·(PAPy). */
  rayleigh?: (y: Float64Array) => number;
}

export interface LanczosResult {
  values: number[];
  vectors: Float64Array[];
  /** ‖PAPy_i − λ_i y_i‖ with λ_i the Rayleigh quotient, from the product of the final vector. */
  residuals: number[];
  /** Whether residual_i ≤ tol·|λ_i|. */
  converged: boolean[];
  iterations: number;
}

function projectOut(w: Float64Array, basis: ArrayLike<number>[]): void {
  for (const b of basis) {
    const c = dot(w, b);
    for (let i = 0; i < w.length; i++) w[i] -= c * b[i];
  }
}

export function lanczosTop(matvec: (v: Float64Array) => Float64Array, d: number, opts: LanczosOptions): LanczosResult {
  const B = opts.project ?? [];
  const space = d - B.length;
  if (opts.k > space) throw new Error(`k = ${opts.k} eigenvectors asked in a space of dimension ${space}`);
  const maxIter = Math.min(opts.maxIter, space);
  const applyP = (v: Float64Array) => {
    const w = Float64Array.from(v);
    projectOut(w, B);
    projectOut(w, B);
    return w;
  };
  const op = (v: Float64Array) => applyP(matvec(v)); // v is already in range(P)

  const Q: Float64Array[] = [];
  let q = new Float64Array(d);
  for (let i = 0; i < d; i++) q[i] = uniform(opts.seed, 5, i) - 0.5;
  q = applyP(q);
  const nq = norm(q);
  for (let i = 0; i < d; i++) q[i] /= nq;
  const alpha: number[] = [];
  const beta: number[] = [];
  let ritz: { values: Float64Array; vectors: Float64Array } | undefined;
  let m = 0;
  let final: Omit<LanczosResult, 'iterations'> | undefined;
  /** Ritz vectors of the first m Krylov vectors, their products, Rayleigh quotients and true residuals. */
  const ritzPairs = (): Omit<LanczosResult, 'iterations'> => {
    const k = Math.min(opts.k, m);
    const out: Omit<LanczosResult, 'iterations'> = { values: [], vectors: [], residuals: [], converged: [] };
    for (let i = 0; i < k; i++) {
      const y = new Float64Array(d);
      for (let j = 0; j < m; j++) {
        const s = ritz!.vectors[j * m + i];
        const qj = Q[j];
        for (let t = 0; t < d; t++) y[t] += s * qj[t];
      }
      projectOut(y, B);
      for (const prev of out.vectors) {
        const c = dot(y, prev);
        for (let t = 0; t < d; t++) y[t] -= c * prev[t];
      }
      const ny = norm(y);
      for (let t = 0; t < d; t++) y[t] /= ny;
      const Ay = op(y);
      const lam = opts.rayleigh ? opts.rayleigh(y) : dot(y, Ay);
      for (let t = 0; t < d; t++) Ay[t] -= lam * y[t];
      const res = norm(Ay);
      out.values.push(lam);
      out.vectors.push(y);
      out.residuals.push(res);
      out.converged.push(res <= opts.tol * Math.abs(lam));
    }
    return out;
  };
  for (let j = 0; j < maxIter; j++) {
    Q.push(q);
    const w = op(q);
    const a = dot(q, w);
    alpha.push(a);
    for (let i = 0; i < d; i++) w[i] -= a * q[i] + (j > 0 ? beta[j - 1] * Q[j - 1][i] : 0);
    for (let pass = 0; pass < 2; pass++) {
      for (const v of Q) {
        const c = dot(w, v);
        for (let i = 0; i < d; i++) w[i] -= c * v[i];
      }
      projectOut(w, B);
    }
    const bj = norm(w);
    m = j + 1;
    // Ritz values of T_m
    const T = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      T[i * m + i] = alpha[i];
      if (i + 1 < m) {
        T[i * m + i + 1] = beta[i];
        T[(i + 1) * m + i] = beta[i];
      }
    }
    ritz = symmetricEigen(T, m);
    const scale = Math.max(Math.abs(ritz.values[0]), 1e-12);
    let estimated = m >= opts.k;
    for (let i = 0; i < Math.min(opts.k, m); i++) {
      const est = bj * Math.abs(ritz.vectors[(m - 1) * m + i]);
      if (est > opts.tol * Math.max(Math.abs(ritz.values[i]), 1e-12 * scale)) estimated = false;
    }
    const invariant = bj < 1e-10 * scale;
    if (estimated || invariant || j === maxIter - 1) {
      final = ritzPairs();
      if (invariant || final.converged.every(Boolean)) break;
    }
    beta.push(bj);
    q = new Float64Array(d);
    for (let i = 0; i < d; i++) q[i] = w[i] / bj;
  }
  return { ...(final ?? ritzPairs()), iterations: m };
}
