import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { resolveConfig } from '../../config/index.ts';
import { extendBasis } from '../../core/basis.ts';
import { initBackend } from '../../core/backend.ts';
import { makeData } from '../../core/data.ts';
import { makeTokenLossModel } from '../../core/model.ts';
import { directionalDerivatives, polcaInterval, quantiles } from '../../core/polca.ts';
import { uniform } from '../../core/rng.ts';
import { initTrainState, trainSegment } from '../../core/train.ts';
import type { TokenLossModel } from '../../core/types.ts';

before(async () => {
  await initBackend('wasm');
});

/** ℓ_x(θ) = g_xᵀθ + ½ θᵀ H_x θ: every POLCA term has a closed form. */
function quadratic(d: number, n: number) {
  const g = Array.from({ length: n }, (_, x) => Float64Array.from({ length: d }, (_, i) => uniform(1, x, i) - 0.5));
  const H = Array.from({ length: n }, (_, x) => {
    const A = Float64Array.from({ length: d * d }, (_, k) => uniform(2, x, k) - 0.5);
    const S = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) S[i * d + j] += A[i * d + k] * A[j * d + k];
    return S;
  });
  const loss = (x: number, th: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < d; i++) {
      s += g[x][i] * th[i];
      for (let j = 0; j < d; j++) s += 0.5 * th[i] * H[x][i * d + j] * th[j];
    }
    return s;
  };
  const model: TokenLossModel = {
    numParams: d,
    numTokens: n,
    tokenLosses: (th) => Float32Array.from({ length: n }, (_, x) => loss(x, th)),
    shiftedTokenLosses(th, v, shifts) {
      const out = new Float32Array(shifts.length * n);
      shifts.forEach((s, j) => {
        const t = Float64Array.from(th, (x, i) => x + s * v[i]);
        for (let x = 0; x < n; x++) out[j * n + x] = loss(x, t);
      });
      return out;
    },
    hessianLossGrad: () => {
      throw new Error('not used');
    },
    tokenGrad: () => {
      throw new Error('not used');
    },
    dispose() {},
  };
  const bHb = (x: number, a: ArrayLike<number>, b: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) s += a[i] * H[x][i * d + j] * b[j];
    return s;
  };
  const d1 = (x: number, b: ArrayLike<number>, th: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += b[i] * g[x][i];
    return s + bHb(x, b, th);
  };
  return { model, loss, d1, bHb };
}

test('on a quadratic model every variant matches its closed form', () => {
  const d = 6;
  const n = 5;
  const q = quadratic(d, n);
  const e = (k: number) => Float64Array.from({ length: d }, (_, i) => (i === k ? 1 : 0));
  const basis = [e(0), e(2)];
  const thetaT = Float32Array.from({ length: d }, (_, i) => 0.25 * (uniform(3, 0, i) - 0.5));
  const thetaT1 = Float32Array.from(thetaT, (v, i) => v + 0.125 * (uniform(3, 1, i) - 0.5));
  const delta = Float64Array.from(thetaT1, (v, i) => v - thetaT[i]);
  const c = basis.map((b) => b.reduce((s, bi, i) => s + bi * delta[i], 0));
  const base = { h: 0.05, stencil: 5 as const, denomTol: 1e-9, pathTol: 1e-5, pathMaxSplits: 8 };
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 2e-4 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
  for (const variant of ['paper', 'exact-curvature', 'path'] as const) {
    const r = polcaInterval({ model: q.model, interval: 0, thetaT, thetaT1, basis, polca: { ...base, variant } });
    basis.forEach((b, j) => {
      const lam = Array.from({ length: n }, (_, x) => q.bHb(x, b, b)).reduce((s, v) => s + v, 0) / n;
      const D1t = Array.from({ length: n }, (_, x) => q.d1(x, b, thetaT)).reduce((s, v) => s + v, 0) / n;
      const D1t1 = Array.from({ length: n }, (_, x) => q.d1(x, b, thetaT1)).reduce((s, v) => s + v, 0) / n;
      for (let x = 0; x < n; x++) {
        const F = q.d1(x, b, thetaT) * c[j];
        let S: number;
        if (variant === 'paper') S = 0.5 * lam * c[j] ** 2 * ((q.d1(x, b, thetaT1) - q.d1(x, b, thetaT)) / (D1t1 - D1t));
        else if (variant === 'exact-curvature') S = 0.5 * q.bHb(x, b, b) * c[j] ** 2;
        else S = c[j] * (q.d1(x, b, thetaT) + 0.5 * q.bHb(x, b, delta)) - F;
        close(r.rows.first[j * n + x], F, `${variant} first x=${x} b=${j}`);
        close(r.rows.second[j * n + x], S, `${variant} second x=${x} b=${j}`);
      }
    });
    if (variant === 'path') {
      // complete: Σ rows (with the out-of-span row) = ΔL
      for (let x = 0; x < n; x++) assert.ok(Math.abs(r.completeness.error[x]) < 1e-5, `path completeness ${r.completeness.error[x]}`);
      assert.equal(r.rows.vector[2 * n], -1);
    }
  }
});

test('d1 along a Hessian eigenvector agrees with exact per-token gradients (relative error < 1e-3)', async () => {
  const config = resolveConfig({ preset: 'tiny' });
  const { state } = await trainSegment(config, initTrainState(config), 60);
  const data = makeData(config);
  const model = makeTokenLossModel(config.model, data.evalExamples, data.hessianExamples);
  const ext = extendBasis(model, state.params, [], config.basis, config.seed);
  const b = ext.vectors[0];
  const r = directionalDerivatives(model, state.params, [b], config.polca.h, config.polca.stencil);
  const errs: number[] = [];
  for (let x = 0; x < model.numTokens; x += 7) {
    const g = model.tokenGrad(state.params, x);
    let exact = 0;
    for (let i = 0; i < g.length; i++) exact += g[i] * b[i];
    if (Math.abs(exact) < 0.05) continue; // "not tiny": float32 loss rounding gives ~1e-6/h absolute error
    errs.push(Math.abs(r.d1[x] - exact) / Math.abs(exact));
  }
  console.log(`d1 vs tf.grad along b_1 (λ = ${ext.eigenvalues[0].toFixed(3)}): ${errs.length} tokens, relative error median ${quantiles(errs, [0.5])[0].toExponential(2)}, max ${Math.max(...errs).toExponential(2)}`);
  assert.ok(errs.length >= 10);
  assert.ok(Math.max(...errs) < 1e-3, `max relative error ${Math.max(...errs)}`);
  model.dispose();
});

test('on the tiny trajectory, `path` is complete to 1e-3 for ≥ 99% of (token, interval); other variants reported', async () => {
  const config = resolveConfig({ preset: 'tiny' });
  const seg = await trainSegment(config, initTrainState(config), config.train.iterations);
  const data = makeData(config);
  const model = makeTokenLossModel(config.model, data.evalExamples, data.hessianExamples);
  const B: Float64Array[] = [];
  for (let it = 0; it < config.train.iterations; it += config.basis.every) {
    const cp = seg.checkpoints.find((c) => c.iteration === it + config.basis.every)!;
    B.push(...extendBasis(model, cp.params, B, config.basis, config.seed).vectors);
  }
  const report: Record<string, number[]> = { path: [], paper: [], 'exact-curvature': [] };
  for (const variant of ['path', 'paper', 'exact-curvature'] as const) {
    for (let t = 0; t + 1 < seg.checkpoints.length; t++) {
      const r = polcaInterval({ model, interval: t, thetaT: seg.checkpoints[t].params, thetaT1: seg.checkpoints[t + 1].params, basis: B, polca: { ...config.polca, variant } });
      report[variant].push(...Array.from(r.completeness.error, Math.abs));
    }
  }
  for (const [v, errs] of Object.entries(report)) {
    const q = quantiles(errs, [0.5, 0.9, 0.99, 1]);
    console.log(`completeness |error| ${v}: median ${q[0].toExponential(2)} p90 ${q[1].toExponential(2)} p99 ${q[2].toExponential(2)} max ${q[3].toExponential(2)}`);
  }
  const within = report.path.filter((e) => e <= 1e-3).length / report.path.length;
  assert.ok(within >= 0.99, `path: ${(100 * within).toFixed(2)}% within 1e-3`);
  model.dispose();
});
