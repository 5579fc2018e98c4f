/**
 * Loss Change Allocation (LCA; Lan, Liu, Zhou and Yosinski 2019), per token and per parameter: a
 * baseline trajectory family.
 *
 * For the interval t → t+1 with Δ = θ_{t+1} − θ_t, the loss change of token x along the straight
 * path θ(s) = θ_t + s·Δ splits over the coordinates of θ:
 *   ΔL_x(t) = ℓ_x(θ_{t+1}) − ℓ_x(θ_t) = ∫₀¹ ∇ℓ_x(θ(s))·Δ ds = Σ_i LCA_i(x, t),
 *   LCA_i(x, t) = Δ_i · ∫₀¹ ∂ℓ_x/∂θ_i(θ_t + s·Δ) ds.
 * The integral is taken by Simpson's rule on the points s = 0, ½, 1:
 *   ∫₀¹ g(s) ds ≈ [g(0) + 4·g(½) + g(1)] / 6,
 * which is what the 4th-order Runge–Kutta rule of Lan et al. reduces to for an integrand that
 * depends on s alone (a path integral). Its error is −g⁗(ξ)/2880, of order ‖Δ‖⁵ in the loss.
 * The endpoint derivatives are shared by the two intervals that meet there: per interval one new
 * endpoint and one midpoint are evaluated.
 *
 * ∂ℓ_x/∂θ_i(θ) is the directional derivative along the one-hot direction e_i, d1(x, e_i, θ), from
 * the model's first-order jet pass (`tokenDerivatives(θ, directions, 1)`, core/model/jet.ts): every
 * token at once, exact up to float32 rounding of the pass. Sums are taken in float64. Cost per
 * interval: two jet passes (midpoint, new endpoint) along P directions; the jets leave out the
 * tangents of parameter tensors no direction touches, so a one-hot direction costs only the layers
 * from its tensor on (the largest |θ_i| are typically LayerNorm scales near the output).
 *
 * The family is restricted to P parameters (the paper's baseline: P = 50): the P largest |θ_i|
 * at the final checkpoint, ties broken by the lower flat index. Σ_i over P parameters is a part
 * of ΔL_x, not all of it; over all d parameters it is ΔL_x up to the quadrature error.
 */
import type { ParamEntry, TokenLossModel } from '../types.ts';

type Model = Pick<TokenLossModel, 'tokenDerivatives' | 'numTokens'>;

/** One selected parameter: its flat index, the tensor it belongs to, its index in that tensor, θ_i. */
export interface LcaParam {
  index: number;
  name: string;
  element: number;
  value: number;
}

/** The P largest |θ_i| (ties: lower index first), in that order, with their layout names. */
export function selectLcaParams(theta: ArrayLike<number>, layout: ParamEntry[], P: number): LcaParam[] {
  const d = theta.length;
  if (!Number.isInteger(P) || P < 1 || P > d) throw new Error(`lcaParams: must be an integer in 1..${d} (the parameter count); got ${P}`);
  const total = layout.reduce((a, e) => a + e.size, 0);
  if (total !== d) throw new Error(`selectLcaParams: the layout covers ${total} parameters, θ has ${d}`);
  // The best P so far, kept sorted: |θ| descending, index ascending.
  const best: number[] = [];
  const better = (i: number, j: number) => {
    const a = Math.abs(theta[i]);
    const b = Math.abs(theta[j]);
    return a > b || (a === b && i < j);
  };
  for (let i = 0; i < d; i++) {
    if (!Number.isFinite(theta[i])) throw new Error(`selectLcaParams: θ[${i}] is ${theta[i]}`);
    if (best.length === P && !better(i, best[P - 1])) continue;
    let at = best.length === P ? P - 1 : best.length;
    if (best.length < P) best.push(i);
    while (at > 0 && better(i, best[at - 1])) {
      best[at] = best[at - 1];
      at--;
    }
    best[at] = i;
  }
  let e = 0;
  const sortedByIndex = [...best].sort((a, b) => a - b);
  const entryOf = new Map<number, ParamEntry>();
  for (const i of sortedByIndex) {
    while (layout[e].offset + layout[e].size <= i) e++;
    entryOf.set(i, layout[e]);
  }
  return best.map((i) => {
    const ent = entryOf.get(i) as ParamEntry;
    return { index: i, name: ent.name, element: i - ent.offset, value: theta[i] };
  });
}

/** Derivatives at one θ: ∂ℓ_x/∂θ_i for every selected parameter i and token x ([p·n + x]), and ℓ_x. */
export interface ParamGradients {
  g: Float64Array;
  loss: Float32Array;
}

/**
 * ∂ℓ_x/∂θ_i at θ for every selected parameter i and token x, and the token losses. The one-hot
 * directions are made `perCall` at a time, so that at most that many d-vectors are alive.
 */
export function paramGradients(model: Model, theta: Float32Array, indices: ArrayLike<number>, perCall = 10): ParamGradients {
  const n = model.numTokens;
  const P = indices.length;
  const d = theta.length;
  if (P === 0) throw new Error('paramGradients: no parameters selected');
  const out = new Float64Array(P * n);
  let loss: Float32Array | undefined;
  for (let p0 = 0; p0 < P; p0 += perCall) {
    const count = Math.min(perCall, P - p0);
    const dirs = Array.from({ length: count }, (_, k) => {
      const i = indices[p0 + k];
      if (!Number.isInteger(i) || i < 0 || i >= d) throw new Error(`paramGradients: parameter index ${i} is outside 0..${d - 1}`);
      const e = new Float32Array(d);
      e[i] = 1;
      return e;
    });
    const { f0, d1 } = model.tokenDerivatives(theta, dirs, 1);
    out.set(d1.subarray(0, count * n), p0 * n);
    loss ??= f0;
  }
  return { g: out, loss: loss as Float32Array };
}

/** θ_t + ½(θ_{t+1} − θ_t), rounded to float32. */
export function midpoint(thetaT: Float32Array, thetaT1: Float32Array): Float32Array {
  const out = new Float32Array(thetaT.length);
  for (let i = 0; i < out.length; i++) out[i] = thetaT[i] + 0.5 * (thetaT1[i] - thetaT[i]);
  return out;
}

export interface LcaIntervalInputs {
  model: Model;
  thetaT: Float32Array;
  thetaT1: Float32Array;
  /** Flat indices of the parameters to allocate to. */
  indices: ArrayLike<number>;
  /** The derivatives at θ_t and θ_{t+1}, when a caller shares them between intervals. */
  atT?: ParamGradients;
  atT1?: ParamGradients;
  perCall?: number;
}

export interface LcaIntervalResult {
  /** LCA_i(x, t), [p·n + x]. */
  lca: Float64Array;
  /** ΔL_x(t) = ℓ_x(θ_{t+1}) − ℓ_x(θ_t) from the jet passes' losses, [n]. */
  dloss: Float64Array;
  /** The endpoint derivatives used (the next interval's atT is this one's atT1). */
  atT: ParamGradients;
  atT1: ParamGradients;
}

/** LCA_i(x, t) = Δ_i·[g_i(x,0) + 4·g_i(x,½) + g_i(x,1)]/6 for every selected parameter and token. */
export function lcaInterval(inp: LcaIntervalInputs): LcaIntervalResult {
  const { model, thetaT, thetaT1, indices } = inp;
  if (thetaT.length !== thetaT1.length) throw new Error(`lcaInterval: θ_t has ${thetaT.length} parameters, θ_t+1 ${thetaT1.length}`);
  const n = model.numTokens;
  const P = indices.length;
  const atT = inp.atT ?? paramGradients(model, thetaT, indices, inp.perCall);
  const gMid = paramGradients(model, midpoint(thetaT, thetaT1), indices, inp.perCall).g;
  const atT1 = inp.atT1 ?? paramGradients(model, thetaT1, indices, inp.perCall);
  const gT = atT.g;
  const gT1 = atT1.g;
  for (const [name, g] of [
    ['atT', gT],
    ['atT1', gT1],
  ] as const)
    if (g.length !== P * n) throw new Error(`lcaInterval: ${name} has ${g.length} values; expected ${P} parameters × ${n} tokens`);
  const lca = new Float64Array(P * n);
  for (let p = 0; p < P; p++) {
    const delta = thetaT1[indices[p]] - thetaT[indices[p]];
    for (let x = 0; x < n; x++) {
      const r = p * n + x;
      lca[r] = (delta * (gT[r] + 4 * gMid[r] + gT1[r])) / 6;
    }
  }
  const dloss = Float64Array.from(atT1.loss, (l, x) => l - atT.loss[x]);
  return { lca, dloss, atT, atT1 };
}
