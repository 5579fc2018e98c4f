/**
 * POLCA: Projection Oriented Loss Change Allocation, as the method notes define it.
 *
 * Per-token directional derivatives along a unit direction b, d1 = dℓ_x(θ + s·b)/ds and
 * d2 = d²ℓ_x(θ + s·b)/ds² at s = 0, come from the model's second-order forward-mode pass
 * (`tokenDerivatives`, core/model/jet.ts): exact up to float32 rounding, every token and several
 * directions per pass, no step size. Per-example gradients are never formed.
 *
 * For one interval t → t+1 with Δ = θ_{t+1} − θ_t and c_b = ⟨b, Δ⟩:
 *   first order       F(x,b) = d1(x,b,θ_t)·c_b
 *   `paper`           S(x,b) = ½ λ_t(X,b) c_b² · [d1(x,b,θ_{t+1}) − d1(x,b,θ_t)] / [D1(b,θ_{t+1}) − D1(b,θ_t)],
 *                     λ_t(X,b) = mean_x d2(x,b,θ_t), D1 = mean_x d1; when |D1(t+1) − D1(t)| < denomTol
 *                     the ratio falls back to d2(x,b,θ_t)/λ (S = ½ d2 c²), counted.
 *   `exact-curvature` S(x,b) = ½ d2(x,b,θ_t) c_b²
 *   `path`            POLCA(x,b) = c_b ∫₀¹ d1(x,b,θ_t + sΔ) ds (composite Simpson, panels doubled until
 *                     |completeness error| ≤ pathTol for every token or pathMaxSplits panels), plus the
 *                     out-of-span row (vector −1) along Δ⊥ = Δ − BBᵀΔ, so that Σ rows = ΔL exactly in the limit.
 * For `path` the rows report F = d1(x,b,θ_t)·c_b and S = POLCA − F (the part beyond first order).
 * Completeness error per token: ΔL_x − Σ_b POLCA(x,b) (− POLCA_⊥ for `path`).
 */
import type { PolcaSettings, PolcaVariant } from '../settings.ts';
import type { Derivatives, TokenLossModel } from '../types.ts';

type Model = Pick<TokenLossModel, 'tokenLosses' | 'tokenDerivatives' | 'numTokens'>;

function mean(a: Float64Array, j: number, n: number): number {
  let s = 0;
  for (let x = 0; x < n; x++) s += a[j * n + x];
  return s / n;
}

export interface PolcaRows {
  interval: Int32Array;
  token: Int32Array;
  vector: Int32Array;
  first: Float32Array;
  second: Float32Array;
  polca: Float32Array;
}

export interface PolcaIntervalResult {
  rows: PolcaRows;
  completeness: { interval: Int32Array; token: Int32Array; dloss: Float32Array; error: Float32Array };
  summary: {
    interval: number;
    variant: PolcaVariant;
    /** c_b = ⟨b, Δ⟩ per basis vector. */
    steps: number[];
    /** ‖Δ⊥‖ (out-of-span step length). */
    outOfSpan: number;
    fallbacks: number;
    panels: number;
    maxAbsError: number;
    /** |error| quantiles 0.5, 0.9, 0.99, 1. */
    errorQuantiles: number[];
    /** Share of tokens with |error| ≤ pathTol. */
    withinTol: number;
  };
}

export interface PolcaInputs {
  model: Model;
  interval: number;
  thetaT: Float32Array;
  thetaT1: Float32Array;
  /** Orthonormal basis rows (length d each). */
  basis: ArrayLike<number>[];
  polca: PolcaSettings;
  /** Derivatives along the basis at θ_t and θ_{t+1}, when a caller shares them between intervals. */
  atT?: Derivatives;
  atT1?: Derivatives;
}

export type { Derivatives };

export function quantiles(values: ArrayLike<number>, qs: number[]): number[] {
  const s = Float64Array.from(values).sort();
  return qs.map((q) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))] : Number.NaN));
}

export function polcaInterval(inp: PolcaInputs): PolcaIntervalResult {
  const { model, thetaT, thetaT1, basis, polca: cfg, interval } = inp;
  const n = model.numTokens;
  const m = basis.length;
  const d = thetaT.length;
  const delta = new Float64Array(d);
  for (let i = 0; i < d; i++) delta[i] = thetaT1[i] - thetaT[i];
  const c = basis.map((b) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += b[i] * delta[i];
    return s;
  });
  const f0T = inp.atT?.f0 ?? model.tokenLosses(thetaT);
  const lossT1 = inp.atT1?.f0 ?? model.tokenLosses(thetaT1);
  const withPerp = cfg.variant === 'path';
  const rowsPer = m + (withPerp ? 1 : 0);
  const rows: PolcaRows = {
    interval: new Int32Array(n * rowsPer).fill(interval),
    token: new Int32Array(n * rowsPer),
    vector: new Int32Array(n * rowsPer),
    first: new Float32Array(n * rowsPer),
    second: new Float32Array(n * rowsPer),
    polca: new Float32Array(n * rowsPer),
  };
  const total = new Float64Array(n);
  let fallbacks = 0;
  let panels = 0;
  const put = (j: number, vecId: number, x: number, F: number, S: number) => {
    const r = j * n + x;
    rows.token[r] = x;
    rows.vector[r] = vecId;
    rows.first[r] = F;
    rows.second[r] = S;
    rows.polca[r] = F + S;
    total[x] += F + S;
  };
  // Δ⊥ (out of span)
  const perp = Float64Array.from(delta);
  for (let j = 0; j < m; j++) for (let i = 0; i < d; i++) perp[i] -= c[j] * basis[j][i];
  let perpNorm = 0;
  for (let i = 0; i < d; i++) perpNorm += perp[i] * perp[i];
  perpNorm = Math.sqrt(perpNorm);

  if (cfg.variant === 'paper' || cfg.variant === 'exact-curvature') {
    const dT = inp.atT ?? model.tokenDerivatives(thetaT, basis);
    const dT1 = cfg.variant === 'paper' ? (inp.atT1 ?? model.tokenDerivatives(thetaT1, basis)) : undefined;
    for (let j = 0; j < m; j++) {
      const cj = c[j];
      const lam = mean(dT.d2, j, n);
      let ratioOk = false;
      let denom = 0;
      if (dT1) {
        denom = mean(dT1.d1, j, n) - mean(dT.d1, j, n);
        ratioOk = Math.abs(denom) >= cfg.denomTol;
        if (!ratioOk) fallbacks++;
      }
      for (let x = 0; x < n; x++) {
        const F = dT.d1[j * n + x] * cj;
        let S: number;
        if (dT1 && ratioOk) S = 0.5 * lam * cj * cj * ((dT1.d1[j * n + x] - dT.d1[j * n + x]) / denom);
        else S = 0.5 * dT.d2[j * n + x] * cj * cj;
        put(j, j, x, F, S);
      }
    }
  } else {
    // path: c_b ∫ d1 along the segment, composite Simpson with 2^k panels.
    const dirs: ArrayLike<number>[] = [...basis];
    const coefs = [...c];
    if (perpNorm > 0) {
      const u = new Float64Array(d);
      for (let i = 0; i < d; i++) u[i] = perp[i] / perpNorm;
      dirs.push(u);
      coefs.push(perpNorm);
    } else {
      dirs.push(new Float64Array(d));
      coefs.push(0);
    }
    const dL = new Float64Array(n);
    for (let x = 0; x < n; x++) dL[x] = lossT1[x] - f0T[x];
    const cache = new Map<number, Float64Array>();
    const point = (s: number) => {
      const p = new Float32Array(d);
      for (let i = 0; i < d; i++) p[i] = thetaT[i] + s * delta[i];
      return p;
    };
    const d1At = (s: number): Float64Array => {
      const hit = cache.get(s);
      if (hit) return hit;
      let r: Float64Array;
      if (s === 0) r = model.tokenDerivatives(thetaT, dirs, 1).d1;
      else if (s === 1) r = model.tokenDerivatives(thetaT1, dirs, 1).d1;
      else r = model.tokenDerivatives(point(s), dirs, 1).d1;
      cache.set(s, r);
      return r;
    };
    const J = dirs.length;
    let integral = new Float64Array(J * n);
    for (let k = 1; k <= cfg.pathMaxSplits; k *= 2) {
      panels = k;
      integral = new Float64Array(J * n);
      for (let p = 0; p < k; p++) {
        const a = p / k;
        const b = (p + 1) / k;
        const fa = d1At(a);
        const fm = d1At((a + b) / 2);
        const fb = d1At(b);
        const w = (b - a) / 6;
        for (let t = 0; t < J * n; t++) integral[t] += w * (fa[t] + 4 * fm[t] + fb[t]);
      }
      let worst = 0;
      for (let x = 0; x < n; x++) {
        let s = 0;
        for (let j = 0; j < J; j++) s += coefs[j] * integral[j * n + x];
        worst = Math.max(worst, Math.abs(dL[x] - s));
      }
      if (worst <= cfg.pathTol) break;
    }
    const d1T = d1At(0);
    for (let j = 0; j < J; j++) {
      for (let x = 0; x < n; x++) {
        const P = coefs[j] * integral[j * n + x];
        const F = coefs[j] * d1T[j * n + x];
        put(j, j < m ? j : -1, x, F, P - F);
      }
    }
  }
  const completeness = {
    interval: new Int32Array(n).fill(interval),
    token: Int32Array.from({ length: n }, (_, x) => x),
    dloss: new Float32Array(n),
    error: new Float32Array(n),
  };
  const absErr = new Float64Array(n);
  let within = 0;
  for (let x = 0; x < n; x++) {
    const dL = lossT1[x] - f0T[x];
    completeness.dloss[x] = dL;
    completeness.error[x] = dL - total[x];
    absErr[x] = Math.abs(dL - total[x]);
    if (absErr[x] <= cfg.pathTol) within++;
  }
  const q = quantiles(absErr, [0.5, 0.9, 0.99, 1]);
  return {
    rows,
    completeness,
    summary: {
      interval,
      variant: cfg.variant,
      steps: c,
      outOfSpan: perpNorm,
      fallbacks,
      panels,
      maxAbsError: q[3],
      errorQuantiles: q,
      withinTol: within / n,
    },
  };
}
