/**
 * Finite-difference derivatives, kept as independent checks of the exact ones (core/model/jet.ts) in
 * tests and benches; the pipeline does not use them.
 *
 * Hessian-vector products by central differences of gradients: Hv ≈ (g(θ + εv) − g(θ − εv)) / 2ε.
 * Truncation error O(ε²‖∇³L‖) (ε²/6 times the fourth directional derivative along v for vᵀHv);
 * float32 gradient rounding contributes O(u‖g‖/ε).
 *
 * Per-token directional derivatives d1, d2 along unit directions b from forward passes only:
 * f(s) = ℓ_x(θ + s·b) for every evaluation token x at once, and central differences
 *   3-point: d1 = (f(h) − f(−h)) / 2h,                 d2 = (f(h) − 2f(0) + f(−h)) / h²
 *   5-point: d1 = (f(−2h) − 8f(−h) + 8f(h) − f(2h)) / 12h,
 *            d2 = (−f(−2h) + 16f(−h) − 30f(0) + 16f(h) − f(2h)) / 12h².
 * Step refinement (on by default): two more points at ±h/2 give the same stencil at h/2 and an
 * estimate of the truncation error of d1(h), T ≈ |d1(h) − d1(h/2)|·2^p/(2^p − 1) (p = 2 or 4).
 * Where T exceeds twice the float32 rounding bound of the refined estimate, 12·u·max(1, |ℓ_x|)/h
 * with u = 2⁻²⁴, d1 is the Richardson extrapolation (2^p·d1(h/2) − d1(h))/(2^p − 1), else d1(h).
 * d2 always uses step h.
 */
import type { Derivatives, TokenLossModel } from '../types.ts';

export function hvp(model: Pick<TokenLossModel, 'hessianLossGrad'>, theta: Float32Array, v: ArrayLike<number>, eps: number): Float64Array {
  const d = theta.length;
  const plus = new Float32Array(d);
  const minus = new Float32Array(d);
  for (let i = 0; i < d; i++) {
    plus[i] = theta[i] + eps * v[i];
    minus[i] = theta[i] - eps * v[i];
  }
  const gp = model.hessianLossGrad(plus).grad;
  const gm = model.hessianLossGrad(minus).grad;
  // Divide by the step actually taken in float32 along v: (plus − minus)·v / 2, not by 2ε.
  let taken = 0;
  let vv = 0;
  for (let i = 0; i < d; i++) {
    taken += (plus[i] - minus[i]) * v[i];
    vv += v[i] * v[i];
  }
  const denom = taken / vv;
  const out = new Float64Array(d);
  for (let i = 0; i < d; i++) out[i] = (gp[i] - gm[i]) / denom;
  return out;
}

/** Explicit Hessian (d×d, row-major) by gradient differences column by column: tests only. */
export function explicitHessian(model: Pick<TokenLossModel, 'hessianLossGrad'>, theta: Float32Array, eps: number): Float64Array {
  const d = theta.length;
  const H = new Float64Array(d * d);
  const e = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    e.fill(0);
    e[j] = 1;
    const col = hvp(model, theta, e, eps);
    for (let i = 0; i < d; i++) H[i * d + j] = col[i];
  }
  // symmetrise
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) {
      const s = 0.5 * (H[i * d + j] + H[j * d + i]);
      H[i * d + j] = s;
      H[j * d + i] = s;
    }
  return H;
}

export interface DerivativeOptions {
  /** Richardson step refinement of d1 from two more points at ±h/2 (default true). */
  refine?: boolean;
}

/**
 * The settings polca used while its derivatives were finite differences (chosen by measurement
 * then): the gradient-difference HVP step, the directional step and the stencil. Benches compare
 * the exact methods against these.
 */
export const FD_SETTINGS = { hvpEps: 1e-3, h: 3e-3, stencil: 5 as const };

/** Float32 unit roundoff. */
const U32 = 2 ** -24;

/** d1 and d2 of every token along every direction (unit vectors) at θ, by finite differences. */
export function directionalDerivatives(
  model: Pick<TokenLossModel, 'tokenLosses' | 'shiftedTokenLosses' | 'numTokens'>,
  theta: Float32Array,
  directions: ArrayLike<number>[],
  h: number,
  stencil: 3 | 5,
  f0?: Float32Array,
  options: DerivativeOptions = {},
): Derivatives {
  const refine = options.refine ?? true;
  const n = model.numTokens;
  const base = f0 ?? model.tokenLosses(theta);
  const m = directions.length;
  const d1 = new Float64Array(m * n);
  const d2 = new Float64Array(m * n);
  const shifts = stencil === 3 ? [-h, h] : [-2 * h, -h, h, 2 * h];
  if (refine) shifts.push(-h / 2, h / 2);
  const gain = stencil === 3 ? 4 : 16; // 2^p
  const dirF32 = new Float32Array(theta.length);
  directions.forEach((b, j) => {
    for (let i = 0; i < dirF32.length; i++) dirF32[i] = b[i];
    const f = model.shiftedTokenLosses(theta, dirF32, shifts);
    for (let x = 0; x < n; x++) {
      const c = base[x];
      let first: number;
      if (stencil === 3) {
        const fm = f[x];
        const fp = f[n + x];
        first = (fp - fm) / (2 * h);
        d2[j * n + x] = (fp - 2 * c + fm) / (h * h);
      } else {
        const fm2 = f[x];
        const fm1 = f[n + x];
        const fp1 = f[2 * n + x];
        const fp2 = f[3 * n + x];
        first = (fm2 - 8 * fm1 + 8 * fp1 - fp2) / (12 * h);
        d2[j * n + x] = (-fm2 + 16 * fm1 - 30 * c + 16 * fp1 - fp2) / (12 * h * h);
      }
      if (refine) {
        const k = shifts.length - 2;
        const fmh = f[k * n + x];
        const fph = f[(k + 1) * n + x];
        // the same stencil at step h/2: 3-point on ±h/2, 5-point on ±h/2, ±h
        const half = stencil === 3 ? (fph - fmh) / h : (f[n + x] - 8 * fmh + 8 * fph - f[2 * n + x]) / (6 * h);
        const trunc = (Math.abs(first - half) * gain) / (gain - 1);
        const rounding = (12 * U32 * Math.max(1, Math.abs(c))) / h;
        if (trunc > 2 * rounding) first = (gain * half - first) / (gain - 1);
      }
      d1[j * n + x] = first;
    }
  });
  return { f0: base, d1, d2 };
}
