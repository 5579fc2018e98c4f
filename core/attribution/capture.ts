/**
 * Basis capture: does the basis carry the learning? (method notes, "Basis capture")
 *
 * With POLCA(x,b,t) = F(x,b,t) + S(x,b,t) (first- and second-order parts) along the basis vectors
 * b = 1..m and the loss change ΔL_x(t) = ℓ_x(θ_{t+1}) − ℓ_x(θ_t) of every evaluation token x over
 * every checkpoint interval t:
 *
 *   capture(t)       = Σ_x Σ_b POLCA(x,b,t) / Σ_x ΔL_x(t)                    (per interval)
 *   capture          = Σ_t Σ_x Σ_b POLCA(x,b,t) / Σ_t Σ_x ΔL_x(t)            (overall)
 *   captureFirst     = Σ_t Σ_x Σ_b F / Σ_t Σ_x ΔL,   captureSecond = the same with S
 *   vector b         = Σ_t Σ_x POLCA(x,b,t) / Σ_t Σ_x ΔL; b is *rising* when Σ_t Σ_x POLCA(x,b,t) > 0
 *   remainder        = Σ_t Σ_x ΔL − Σ_t Σ_x Σ_b POLCA  (out of the span, and beyond second order)
 *
 * Sums per token are the sums divided by the number of tokens n (the "per token" figures).
 * Rows of vector −1 (the `path` variant's out-of-span direction) are not basis vectors: they are
 * kept apart as `outOfSpan` and count in neither the capture nor the per-vector table.
 *
 * Motion: how much of the parameters' movement the basis spans, with c(b,t) = ⟨b, Δ_t⟩:
 *   motionShare       = Σ_t Σ_b c(b,t)² / Σ_t ‖Δ_t‖²
 *   displacementShare = ‖Bᵀ(θ_T − θ_0)‖² / ‖θ_T − θ_0‖²
 * (B orthonormal, so Σ_b c² = ‖BᵀΔ‖² ≤ ‖Δ‖²). Every sum is accumulated in float64.
 */

export interface CaptureRows {
  interval: ArrayLike<number>;
  vector: ArrayLike<number>;
  first: ArrayLike<number>;
  second: ArrayLike<number>;
  polca: ArrayLike<number>;
}

export interface IntervalCapture {
  interval: number;
  /** Σ_x ΔL_x(t) */
  dloss: number;
  /** Σ_x Σ_b of F, S and POLCA */
  first: number;
  second: number;
  polca: number;
  /** capture(t) = polca / dloss (NaN when Σ_x ΔL_x(t) = 0) */
  capture: number;
}

export interface VectorCapture {
  vector: number;
  first: number;
  second: number;
  polca: number;
  /** polca / Σ ΔL over the run */
  share: number;
  rising: boolean;
}

export interface CaptureSummary {
  tokens: number;
  intervals: IntervalCapture[];
  vectors: VectorCapture[];
  /** Σ over tokens and intervals, divided by the token count. */
  perToken: { dloss: number; first: number; second: number; polca: number; remainder: number; outOfSpan: number };
  capture: number;
  captureFirst: number;
  captureSecond: number;
  risingVectors: number;
}

const ratio = (a: number, b: number) => (b === 0 ? Number.NaN : a / b);

/**
 * Capture from POLCA rows (any order) and the per-interval token loss change sums
 * `dlossByInterval[t] = Σ_x ΔL_x(t)`, for `tokens` tokens and `vectors` basis vectors.
 */
export function basisCapture(rows: CaptureRows, dlossByInterval: ArrayLike<number>, tokens: number, vectors: number): CaptureSummary {
  const T = dlossByInterval.length;
  const f = new Float64Array(T * vectors);
  const s = new Float64Array(T * vectors);
  const p = new Float64Array(T * vectors);
  let outOfSpan = 0;
  for (let r = 0; r < rows.interval.length; r++) {
    const t = rows.interval[r];
    const b = rows.vector[r];
    if (!(t >= 0 && t < T)) throw new Error(`basisCapture: row ${r} has interval ${t}, outside 0..${T - 1}`);
    if (b < 0) {
      outOfSpan += rows.polca[r];
      continue;
    }
    if (b >= vectors) throw new Error(`basisCapture: row ${r} has vector ${b}, outside 0..${vectors - 1}`);
    f[t * vectors + b] += rows.first[r];
    s[t * vectors + b] += rows.second[r];
    p[t * vectors + b] += rows.polca[r];
  }
  const intervals: IntervalCapture[] = [];
  let D = 0;
  let F = 0;
  let S = 0;
  let P = 0;
  for (let t = 0; t < T; t++) {
    let ft = 0;
    let st = 0;
    let pt = 0;
    for (let b = 0; b < vectors; b++) {
      ft += f[t * vectors + b];
      st += s[t * vectors + b];
      pt += p[t * vectors + b];
    }
    const dt = dlossByInterval[t];
    intervals.push({ interval: t, dloss: dt, first: ft, second: st, polca: pt, capture: ratio(pt, dt) });
    D += dt;
    F += ft;
    S += st;
    P += pt;
  }
  const vecs: VectorCapture[] = [];
  for (let b = 0; b < vectors; b++) {
    let fb = 0;
    let sb = 0;
    let pb = 0;
    for (let t = 0; t < T; t++) {
      fb += f[t * vectors + b];
      sb += s[t * vectors + b];
      pb += p[t * vectors + b];
    }
    vecs.push({ vector: b, first: fb, second: sb, polca: pb, share: ratio(pb, D), rising: pb > 0 });
  }
  const n = tokens;
  return {
    tokens: n,
    intervals,
    vectors: vecs,
    perToken: { dloss: D / n, first: F / n, second: S / n, polca: P / n, remainder: (D - P) / n, outOfSpan: outOfSpan / n },
    capture: ratio(P, D),
    captureFirst: ratio(F, D),
    captureSecond: ratio(S, D),
    risingVectors: vecs.filter((v) => v.rising).length,
  };
}

/** Σ over the basis of ⟨b, Δ⟩² and ‖Δ‖² for one step Δ = after − before; B as m rows of length d. */
export function stepMotion(
  basis: ArrayLike<number>[],
  before: ArrayLike<number>,
  after: ArrayLike<number>,
): { inSpan: number; total: number } {
  const d = before.length;
  if (after.length !== d) throw new Error(`stepMotion: the two parameter vectors have ${d} and ${after.length} entries`);
  const delta = new Float64Array(d);
  let total = 0;
  for (let i = 0; i < d; i++) {
    delta[i] = after[i] - before[i];
    total += delta[i] * delta[i];
  }
  let inSpan = 0;
  for (const b of basis) {
    if (b.length !== d) throw new Error(`stepMotion: a basis vector has ${b.length} entries, the parameters ${d}`);
    let c = 0;
    for (let i = 0; i < d; i++) c += b[i] * delta[i];
    inSpan += c * c;
  }
  return { inSpan, total };
}
