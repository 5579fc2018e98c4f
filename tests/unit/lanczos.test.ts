import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extendBasis, orthonormalityError } from '../../core/basis/basis.ts';
import { initBackend } from '../../core/model/backend.ts';
import { ARITHMETIC_SHAPE, encodeSequences, makeSplits } from '../../core/tasks/arithmetic/task.ts';
import { lanczosTop } from '../../core/basis/lanczos.ts';
import { dot, symmetricEigen, symmetricEigenJacobi, symmetricEigenQL } from '../../core/linalg.ts';
import { initParams } from '../../core/model/model.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';
import { uniform } from '../../core/rng.ts';
import { explicitHessian } from '../../core/model/finite-differences.ts';

function randomOrthogonal(n: number, seed: number): Float64Array[] {
  const Q: Float64Array[] = [];
  for (let k = 0; k < n; k++) {
    const v = Float64Array.from({ length: n }, (_, i) => uniform(seed, k, i) - 0.5);
    for (let pass = 0; pass < 2; pass++)
      for (const q of Q) {
        const c = dot(v, q);
        for (let i = 0; i < n; i++) v[i] -= c * q[i];
      }
    const nv = Math.sqrt(dot(v, v));
    Q.push(v.map((x) => x / nv));
  }
  return Q;
}

/** A = Σ λ_k q_k q_kᵀ with a known spectrum. */
function withSpectrum(lams: number[], seed: number) {
  const n = lams.length;
  const Q = randomOrthogonal(n, seed);
  const A = new Float64Array(n * n);
  lams.forEach((l, k) => {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] += l * Q[k][i] * Q[k][j];
  });
  const mv = (v: Float64Array) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i] += A[i * n + j] * v[j];
    return out;
  };
  return { A, Q, mv, n };
}

test('dense eigensolvers (Jacobi and Householder–QL) recover known spectra (distinct, repeated, negative, clustered) and orthonormal eigenvectors', () => {
  const cases: number[][] = [
    Array.from({ length: 30 }, (_, i) => 10 - i * 0.7),
    [3, 3, 3, -2, -2, 0, 0, 1e-9, 7, -7, ...Array.from({ length: 10 }, (_, i) => 1 + i * 1e-7)],
    [-100, -50, 0.5, 0.25],
    [5, 5, 5, 5, -30, -30, 2 + 1e-8, 2, ...Array.from({ length: 92 }, (_, i) => Math.sin(i) * 3)],
  ];
  cases.forEach((lams, c) => {
    const { A, n } = withSpectrum(lams, 1 + c);
    const sorted = [...lams].sort((a, b) => b - a);
    const scale = Math.max(1, Math.abs(sorted[0]), Math.abs(sorted[n - 1]));
    for (const [name, solve] of [
      ['symmetricEigen', symmetricEigen],
      ['Jacobi', symmetricEigenJacobi],
      ['QL', symmetricEigenQL],
    ] as const) {
      const e = solve(A, n);
      sorted.forEach((l, i) => {
        assert.ok(Math.abs(e.values[i] - l) < 1e-10 * scale, `${name}, case ${c}: ${e.values[i]} vs ${l}`);
      });
      // A·u_i = λ_i·u_i and UᵀU = I
      for (let i = 0; i < n; i++) {
        for (let r = 0; r < n; r++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += A[r * n + k] * e.vectors[k * n + i];
          assert.ok(Math.abs(s - e.values[i] * e.vectors[r * n + i]) < 1e-10 * scale, `${name}, case ${c}: residual`);
        }
        for (let j = i; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += e.vectors[k * n + i] * e.vectors[k * n + j];
          assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-12, `${name}, case ${c}: orthonormality`);
        }
      }
    }
  });
});

const spectra: [string, number[], number[]][] = [
  ['clustered', [10, 9.99, 9.98, ...Array.from({ length: 57 }, (_, i) => 5 - i * 0.05)], [10, 9.99, 9.98]],
  ['negative dominant', [-50, 4, 3.9, 3.8, ...Array.from({ length: 56 }, (_, i) => 2 - i * 0.1)], [4, 3.9, 3.8]],
  ['well separated', [100, 50, 25, ...Array.from({ length: 57 }, (_, i) => -1 + i * 0.01)], [100, 50, 25]],
];

for (const [name, lams, top] of spectra) {
  test(`Lanczos top-3 on a ${name} spectrum matches the known eigenvalues`, () => {
    const { mv, n, Q } = withSpectrum(lams, 7);
    const r = lanczosTop(mv, n, { k: 3, maxIter: 60, tol: 1e-10, seed: 3 });
    top.forEach((l, i) => {
      assert.ok(Math.abs(r.values[i] - l) < 1e-6 * Math.max(1, Math.abs(l)), `${name}: ${r.values[i]} vs ${l}`);
    });
    for (const res of r.residuals) assert.ok(res < 1e-5);
    // eigenvector of the largest matches up to sign
    const order = lams.map((l, i) => [l, i] as const).sort((a, b) => b[0] - a[0]);
    assert.ok(Math.abs(Math.abs(dot(r.vectors[0], Q[order[0][1]])) - 1) < 1e-6);
  });
}

test('repeated eigenvalues: the projected chain finds every copy', () => {
  const lams = [5, 5, 5, 2, ...Array.from({ length: 36 }, (_, i) => 1 - i * 0.02)];
  const { mv, n } = withSpectrum(lams, 9);
  const B: Float64Array[] = [];
  for (let k = 0; k < 4; k++) {
    const r = lanczosTop(mv, n, { k: 1, maxIter: 40, tol: 1e-10, seed: k, project: B });
    B.push(r.vectors[0]);
    assert.ok(Math.abs(r.values[0] - lams[k]) < 1e-8, `extension ${k}: ${r.values[0]} vs ${lams[k]}`);
  }
  assert.ok(orthonormalityError(B) < 1e-10);
});

test('on the micro transformer Hessian, Lanczos by HVPs and the projected problem match dense eigendecomposition', async () => {
  await initBackend();
  const micro = { ...ARITHMETIC_SHAPE, nLayers: 1, dModel: 4, nHeads: 1, dMlp: 8 };
  const { evalExamples, hessianExamples } = makeSplits({ seed: 0, data: { evalSize: 4, hessianSize: 16 } });
  const model = makeTokenLossModel(micro, encodeSequences(evalExamples), encodeSequences(hessianExamples));
  const theta = initParams(micro, 3).map((x, i) => x + 0.3 * (uniform(1, 2, i) - 0.5));
  const d = theta.length;
  const H = explicitHessian(model, theta, 1e-3);
  const dense = symmetricEigen(H, d);
  const Hmv = (v: Float64Array) => {
    const out = new Float64Array(d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[i] += H[i * d + j] * v[j];
    return out;
  };
  // Lanczos on the explicit matrix: the top 3 eigenpairs to near machine precision.
  const onH = lanczosTop(Hmv, d, { k: 3, maxIter: 150, tol: 1e-10, seed: 1 });
  for (let i = 0; i < 3; i++) {
    assert.ok(
      Math.abs(onH.values[i] - dense.values[i]) < 1e-8 * Math.abs(dense.values[0]),
      `λ${i}: ${onH.values[i]} vs ${dense.values[i]}`,
    );
    let c = 0;
    for (let t = 0; t < d; t++) c += onH.vectors[i][t] * dense.vectors[t * d + i];
    assert.ok(Math.abs(Math.abs(c) - 1) < 1e-6, `eigenvector ${i}: |cos| ${Math.abs(c)}`);
  }
  console.log(
    `micro Hessian (${d} parameters): dense top eigenvalues ${Array.from(dense.values.slice(0, 3), (x) => x.toFixed(4)).join(', ')}, lowest ${dense.values[d - 1].toFixed(4)}`,
  );
  const basisCfg = { every: 1, k: 1, maxIter: 80, tol: 1e-6 };
  const B: Float64Array[] = [];
  const first = extendBasis(model, theta, B, basisCfg, 0);
  assert.ok(
    Math.abs(first.eigenvalues[0] - dense.values[0]) < 1e-3 * Math.abs(dense.values[0]),
    `${first.eigenvalues[0]} vs ${dense.values[0]}`,
  );
  B.push(...first.vectors);
  const second = extendBasis(model, theta, B, basisCfg, 0);
  // top eigenvalue of P H P with P = I − b bᵀ, computed densely
  const b = B[0];
  const PHP = new Float64Array(d * d);
  const Pm = (i: number, j: number) => (i === j ? 1 : 0) - b[i] * b[j];
  const HP = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++) {
      const hik = H[i * d + k];
      if (hik === 0) continue;
      for (let j = 0; j < d; j++) HP[i * d + j] += hik * Pm(k, j);
    }
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++) {
      const p = Pm(i, k);
      if (p === 0) continue;
      for (let j = 0; j < d; j++) PHP[i * d + j] += p * HP[k * d + j];
    }
  const proj = symmetricEigen(PHP, d);
  assert.ok(
    Math.abs(second.eigenvalues[0] - proj.values[0]) < 1e-3 * Math.abs(proj.values[0]),
    `${second.eigenvalues[0]} vs ${proj.values[0]}`,
  );
  console.log(
    `Lanczos by HVPs: λ1 ${first.eigenvalues[0].toFixed(5)} (dense ${dense.values[0].toFixed(5)}), λ1(PHP) ${second.eigenvalues[0].toFixed(5)} (dense ${proj.values[0].toFixed(5)})`,
  );
  B.push(...second.vectors);
  const third = extendBasis(model, theta, B, basisCfg, 0);
  B.push(...third.vectors);
  // ‖BᵀB − I‖ (largest entry) after three extensions
  assert.ok(orthonormalityError(B) < 1e-5, `orthonormality ${orthonormalityError(B)}`);
  model.dispose();
});

for (const products of ['float64', 'float32'] as const)
  test(`on small's spectrum (top 860, later vectors 0.28–0.74), a chain of extensions with the basis stored in float32 never reports an eigenvalue above the top of P·A·P (${products} products)`, () => {
    // The default `small` run's ten basis eigenvalues span 860 … 0.28: extensions at successive
    // checkpoints, each at a Hessian whose eigenvectors have turned since the last, with B read
    // back from float32 rows. Here: A_c = R_c·diag(λ)·R_cᵀ, R_c a random orthogonal matrix turned a
    // little further at each checkpoint c, products exact in float64. The reference for each
    // extension: the top eigenvalues of P·A_c·P by a dense float64 eigensolver, with P the exact
    // orthogonal projector off span(B) from B's Gram matrix, P = I − Bᵀ(BBᵀ)⁻¹B. With float32
    // products (A·v rounded entry by entry, as polca's are in float32) the reported eigenvalue must
    // come from the curvature along the vector (`hessianCurvature`, here yᵀAy in float64), not from
    // the rounded product: yᵀ·fl(Ay) put the top above the exact one by 6e-10 relative here.
    const n = 200;
    const top = [860, 410, 150, 52, 19, 6.3, 2.1, 0.74, 0.52, 0.28];
    const bulk = Array.from({ length: n - top.length }, (_, i) => 0.2 * Math.cos(i) - 0.02);
    const lams = [...top, ...bulk];
    const R0 = randomOrthogonal(n, 21);
    const turn = (c: number) => {
      // R_c = R_0 rotated in the planes of successive eigenvector pairs by angles growing with c
      const R = R0.map((v) => Float64Array.from(v));
      for (let k = 0; k + 1 < n; k += 2) {
        const a = 0.05 * c * (1 + (k % 7) / 7);
        const [u, w] = [R[k], R[k + 1]];
        for (let i = 0; i < n; i++) [u[i], w[i]] = [Math.cos(a) * u[i] - Math.sin(a) * w[i], Math.sin(a) * u[i] + Math.cos(a) * w[i]];
        if (k + 2 < n) {
          const z = R[k + 2];
          const b = 0.3 * a;
          for (let i = 0; i < n; i++) [w[i], z[i]] = [Math.cos(b) * w[i] - Math.sin(b) * z[i], Math.sin(b) * w[i] + Math.cos(b) * z[i]];
        }
      }
      const A = new Float64Array(n * n);
      lams.forEach((l, k) => {
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] += l * R[k][i] * R[k][j];
      });
      return A;
    };
    const B: Float32Array[] = [];
    const rows: string[] = [];
    let worstAbove = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < 10; c++) {
      const A = turn(c);
      const mv = (v: Float64Array) => {
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i] += A[i * n + j] * v[j];
        return out;
      };
      // P = I − Bᵀ G⁻¹ B, G = BBᵀ, G⁻¹ from G's eigendecomposition
      const m = B.length;
      const P = new Float64Array(n * n);
      for (let i = 0; i < n; i++) P[i * n + i] = 1;
      if (m) {
        const G = new Float64Array(m * m);
        for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) G[a * m + b] = dot(B[a], B[b]);
        const g = symmetricEigen(G, m);
        const Ginv = new Float64Array(m * m);
        for (let a = 0; a < m; a++)
          for (let b = 0; b < m; b++)
            for (let t = 0; t < m; t++) Ginv[a * m + b] += (g.vectors[a * m + t] * g.vectors[b * m + t]) / g.values[t];
        for (let a = 0; a < m; a++)
          for (let b = 0; b < m; b++) {
            const w = Ginv[a * m + b];
            for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) P[i * n + j] -= B[a][i] * w * B[b][j];
          }
      }
      const PA = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) PA[i * n + j] += P[i * n + k] * A[k * n + j];
      const PAP = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) PAP[i * n + j] += PA[i * n + k] * P[k * n + j];
      const exact = symmetricEigen(PAP, n).values[0];
      const model =
        products === 'float64'
          ? { hvp: (_theta: Float32Array, v: ArrayLike<number>) => mv(Float64Array.from(v)) }
          : {
              hvp: (_theta: Float32Array, v: ArrayLike<number>) =>
                Float64Array.from(mv(Float64Array.from(Float32Array.from(v))), Math.fround),
              hessianCurvature: (_theta: Float32Array, v: ArrayLike<number>) => {
                const u = Float64Array.from(v);
                return dot(u, mv(u));
              },
            };
      const r = extendBasis(model, new Float32Array(n), B, { every: 1, k: 1, maxIter: 60, tol: 1e-6 }, c);
      const lam = r.eigenvalues[0];
      const above = (lam - exact) / exact;
      worstAbove = Math.max(worstAbove, above);
      rows.push(`${lam.toPrecision(9)} (top of PAP ${exact.toPrecision(9)}, ${above.toExponential(1)})`);
      assert.ok(r.converged[0], `extension ${c}: residual ${r.residuals[0]}`);
      // float64 level: the product and the projection are exact to about 1e-16 of A's norm (860)
      assert.ok(lam - exact <= 1e-12 * lams[0], `extension ${c}: reported ${lam} above the top of PAP ${exact} by ${lam - exact}`);
      assert.ok(Math.abs(above) <= 1e-6, `extension ${c}: reported ${lam}, top of PAP ${exact}`);
      B.push(Float32Array.from(r.vectors[0]));
    }
    console.log(`small's spectrum, ${products} products, 10 extensions: ${rows.join('; ')}`);
    // the chain reached the small eigenvalues, where float32 rounding of the stored basis would show
    assert.ok(Number.parseFloat(rows[rows.length - 1]) < 1, `last eigenvalue ${rows[rows.length - 1]}`);
  });
