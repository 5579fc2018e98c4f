/**
 * Hessian-vector products of the mean training loss over the Hessian sample, by central
 * differences of gradients: Hv ≈ (g(θ + εv) − g(θ − εv)) / 2ε, with v of unit norm.
 * (TF.js second-order autodiff is wrong for softmax-family ops; see the method notes.)
 * Truncation error is O(ε²‖∇³L‖); float32 gradient rounding contributes O(u‖g‖/ε). The default
 * ε = 1e-3 was chosen by measurement against explicit Hessians (tests/unit/hvp.test.ts).
 */
import type { TokenLossModel } from './types.ts';

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
