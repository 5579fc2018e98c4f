/**
 * The study's readings (scripts/study-readings.ts) against independent computations: the
 * preconditioned sharpness against the top eigenvalue of an explicitly formed D^{1/2} H D^{1/2}
 * (closed form at n = 2, a dense eigendecomposition at n = 7), the update-subspace share against
 * a dense eigendecomposition of Σ_t Δ_t Δ_tᵀ in parameter space, and the small bookkeeping
 * routines against hand-computed values.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { symmetricEigen } from '../../core/linalg.ts';
import { uniform } from '../../core/rng.ts';
import {
  exactMatchOf,
  firstReaching,
  phaseCapture,
  preconditionedProduct,
  sharpnessAt,
  topSubspaceShare,
} from '../../scripts/study-readings.ts';

const dense = (H: number[][]) => (x: Float64Array) => Float64Array.from(H, (row) => row.reduce((s, h, j) => s + h * x[j], 0));
const train = { beta1: 0.9, beta2: 0.95, eps: 1e-8 };

test('preconditioned sharpness of a 2×2 Hessian equals the closed-form top eigenvalue of D^{1/2} H D^{1/2}', () => {
  const H = [
    [3, 1.5],
    [1.5, -0.5],
  ];
  const v = [4e-4, 1e-6];
  const step = 7;
  // D_i = 1 / (√(v_i / (1 − β₂^t)) + ε); A = D^{1/2} H D^{1/2}: A_ij = H_ij √(D_i D_j)
  const D = v.map((x) => 1 / (Math.sqrt(x / (1 - train.beta2 ** step)) + train.eps));
  const a = H[0][0] * D[0];
  const b = H[0][1] * Math.sqrt(D[0] * D[1]);
  const c = H[1][1] * D[1];
  const top = (a + c) / 2 + Math.sqrt(((a - c) / 2) ** 2 + b * b);
  const rawTop = (H[0][0] + H[1][1]) / 2 + Math.sqrt(((H[0][0] - H[1][1]) / 2) ** 2 + H[0][1] ** 2);
  const lr = 1e-3;
  const s = sharpnessAt(dense(H), { step, v }, train, lr, { maxIter: 10, tol: 1e-10, seed: 3 });
  assert.ok(Math.abs(s.preconditioned - top) <= 1e-9 * Math.abs(top), `${s.preconditioned} vs ${top}`);
  assert.ok(Math.abs(s.raw - rawTop) <= 1e-12 * rawTop, `${s.raw} vs ${rawTop}`);
  // the limits: 2/lr for gradient descent, (2 + 2β₁)/((1 − β₁)·lr) = 38/lr at β₁ = 0.9 for Adam
  assert.ok(Math.abs(s.rawOverLimit - rawTop / 2000) < 1e-12);
  assert.ok(Math.abs(s.preconditionedOverLimit - top / 38000) <= 1e-9 * (top / 38000));
  assert.equal(s.iteration, step);
});

test('preconditioned product and sharpness match a dense 7×7 D^{1/2} H D^{1/2}', () => {
  const n = 7;
  const H: number[][] = Array.from({ length: n }, () => new Array(n).fill(0));
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      const h = uniform(11, i, j) - 0.5 + (i === j ? 2 * (i - 2) : 0);
      H[i][j] = h;
      H[j][i] = h;
    }
  const v = Array.from({ length: n }, (_, i) => 10 ** (-3 - (i % 4)) * (1 + uniform(12, 0, i)));
  const step = 40;
  const sqrtD = v.map((x) => 1 / Math.sqrt(Math.sqrt(x / (1 - train.beta2 ** step)) + train.eps));
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = sqrtD[i] * H[i][j] * sqrtD[j];
  // the product against the explicit matrix
  const z = Float64Array.from({ length: n }, (_, i) => uniform(13, 0, i) - 0.5);
  const Az = preconditionedProduct(dense(H), Float64Array.from(sqrtD))(z);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += A[i * n + j] * z[j];
    assert.ok(Math.abs(Az[i] - s) <= 1e-10 * Math.max(1, Math.abs(s)));
  }
  const top = symmetricEigen(A, n).values[0];
  const Hf = Float64Array.from(H.flat());
  const rawTop = symmetricEigen(Hf, n).values[0];
  const s = sharpnessAt(dense(H), { step, v }, train, 3e-4, { maxIter: n, tol: 1e-10, seed: 5 });
  assert.ok(Math.abs(s.preconditioned - top) <= 1e-8 * Math.abs(top), `${s.preconditioned} vs ${top}`);
  assert.ok(Math.abs(s.raw - rawTop) <= 1e-10 * Math.abs(rawTop), `${s.raw} vs ${rawTop}`);
  assert.ok(s.converged[0] && s.converged[1]);
});

test('top-m update subspace share equals the dense eigendecomposition of Σ Δ Δᵀ in parameter space', () => {
  const P = 6;
  const T = 9;
  const deltas = Array.from({ length: T }, (_, t) => Float64Array.from({ length: P }, (_, i) => (uniform(21, t, i) - 0.5) * (1 + i)));
  const C = new Float64Array(P * P);
  let trace = 0;
  for (const d of deltas) for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) C[i * P + j] += d[i] * d[j];
  for (let i = 0; i < P; i++) trace += C[i * P + i];
  const ev = symmetricEigen(C, P).values;
  for (const m of [1, 2, 4, P]) {
    const want = Array.from(ev.slice(0, m)).reduce((a, b) => a + b, 0) / trace;
    const got = topSubspaceShare(deltas, m);
    assert.ok(Math.abs(got - want) <= 1e-12, `m = ${m}: ${got} vs ${want}`);
  }
  // updates inside a 2-dimensional subspace: two directions hold everything, one does not
  const u = [1, 2, 0, 0, -1, 0];
  const w = [0, 0, 3, 1, 0, 1];
  const flat = Array.from({ length: 5 }, (_, t) => Float64Array.from(u, (x, i) => (t + 1) * x + (t % 2 ? 2 : -1) * w[i]));
  assert.ok(Math.abs(topSubspaceShare(flat, 2) - 1) < 1e-12);
  assert.ok(topSubspaceShare(flat, 1) < 0.999);
});

test('exact match, first reaching and learning-phase capture on hand-computed examples', () => {
  // three sequences of 4 tokens: all right, one wrong, all right
  assert.equal(exactMatchOf([1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1], 4), 2 / 3);
  assert.throws(() => exactMatchOf([1, 1, 1], 4), /not a positive multiple of 4/);
  const series = [
    { iteration: 40, value: 0.6 },
    { iteration: 0, value: 0 },
    { iteration: 20, value: 0.5 },
  ];
  assert.equal(firstReaching(series, 0.5), 20);
  assert.equal(firstReaching(series, 0.61), undefined);
  const iv = [
    { nextIteration: 10, dloss: -2, first: -3, second: 1.5, polca: -1.5 },
    { nextIteration: 20, dloss: -1, first: -1, second: 0.5, polca: -0.5 },
    { nextIteration: 30, dloss: -1, first: 4, second: -4, polca: 0 },
  ];
  const p = phaseCapture(iv, 20);
  assert.equal(p.dloss, -3);
  assert.equal(p.capture, 2 / 3);
  assert.equal(p.first, 4 / 3);
  assert.equal(p.second, -2 / 3);
});
