import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../../config/index.ts';
import { extendBasis } from '../../core/basis/basis.ts';
import { initBackend } from '../../core/model/backend.ts';
import { modelShape } from '../../core/data.ts';
import { encodeSequences, makeSplits } from '../../core/tasks/arithmetic/task.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';
import { polcaInterval, quantiles } from '../../core/attribution/polca.ts';
import { uniform } from '../../core/rng.ts';
import { initTrainState, trainSegment } from '../../core/train/train.ts';
import type { TokenLossModel } from '../../core/types.ts';
import { directionalDerivatives } from '../../core/model/finite-differences.ts';

before(async () => {
  await initBackend();
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
    tokenDerivatives(th, dirs) {
      const m = dirs.length;
      const out = { f0: this.tokenLosses(th), d1: new Float64Array(m * n), d2: new Float64Array(m * n) };
      dirs.forEach((b, j) => {
        for (let x = 0; x < n; x++) {
          out.d1[j * n + x] = d1(x, b, th);
          out.d2[j * n + x] = bHb(x, b, b);
        }
      });
      return out;
    },
    hvp: () => {
      throw new Error('not used');
    },
    hessianCurvature: () => {
      throw new Error('not used');
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
  const base = { denomTol: 1e-9, pathTol: 1e-5, pathMaxSplits: 8 };
  const close = (a: number, b: number, what: string) =>
    assert.ok(Math.abs(a - b) <= 2e-4 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
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

test('finite-difference check helper: step refinement makes d1 of token losses that bend on the scale of h is accurate, flat ones unchanged', () => {
  // ℓ_x(θ) = softplus(a_x·θ₀ + c_x) with curvature scales a_x: d1 along e₀ is a_x·σ(a_x·θ₀ + c_x).
  const a = [0.5, 3, 30, 100, 200, 300];
  const c = [0.2, -0.4, 0.1, 0.3, 0.9, 0.05];
  const n = a.length;
  const softplus = (z: number) => (z > 30 ? z : Math.log1p(Math.exp(z)));
  const model = {
    numTokens: n,
    tokenLosses: (th: Float32Array) => Float32Array.from(a, (ax, x) => softplus(ax * th[0] + c[x])),
    shiftedTokenLosses(th: Float32Array, v: Float32Array, shifts: number[]) {
      const out = new Float32Array(shifts.length * n);
      shifts.forEach((sh, j) => {
        for (let x = 0; x < n; x++) out[j * n + x] = softplus(a[x] * (th[0] + sh * v[0]) + c[x]);
      });
      return out;
    },
  };
  const theta = Float32Array.of(0.001, 0);
  const e0 = [Float64Array.of(1, 0)];
  const exact = a.map((ax, x) => ax / (1 + Math.exp(-(ax * theta[0] + c[x]))));
  const refined = directionalDerivatives(model, theta, e0, 3e-3, 5);
  const plain = directionalDerivatives(model, theta, e0, 3e-3, 5, undefined, { refine: false });
  const rel = (d: Float64Array) => exact.map((v, x) => Math.abs(d[x] - v) / Math.abs(v));
  const r = rel(refined.d1);
  const p = rel(plain.d1);
  console.log(
    `softplus tokens a = ${a.join(', ')}: relative error of d1 refined ${r.map((e) => e.toExponential(1)).join(' ')}, plain ${p.map((e) => e.toExponential(1)).join(' ')}`,
  );
  // sharp tokens: refinement gains more than 10×; the plain stencil misses 1e-3 at a = 300
  for (const x of [4, 5]) assert.ok(r[x] < p[x] / 10, `a = ${a[x]}: plain ${p[x]}, refined ${r[x]}`);
  assert.ok(p[5] > 1e-3);
  // flat tokens: refinement leaves the rounding-limited value alone (identical d1)
  for (const x of [0, 1]) assert.equal(refined.d1[x], plain.d1[x]);
  for (let x = 0; x < n; x++) assert.ok(r[x] < 1e-4, `a = ${a[x]}: ${r[x]}`);
  assert.deepEqual(refined.d2, plain.d2);
});

/** The tiny preset's real trajectory and its POLCA basis, computed once for the tests below. */
let tinyRun:
  | Promise<{
      config: ReturnType<typeof resolveConfig>;
      seg: Awaited<ReturnType<typeof trainSegment>>;
      model: TokenLossModel;
      B: Float64Array[];
      eigenvalues: number[];
      seconds: { train: number; basis: number };
    }>
  | undefined;
function tiny() {
  tinyRun ??= (async () => {
    const config = resolveConfig({ preset: 'tiny' });
    let t0 = performance.now();
    const seg = await trainSegment(config, initTrainState(config), config.train.iterations);
    const train = (performance.now() - t0) / 1000;
    const data = makeSplits(config);
    const model = makeTokenLossModel(modelShape(config), encodeSequences(data.evalExamples), encodeSequences(data.hessianExamples));
    t0 = performance.now();
    const B: Float64Array[] = [];
    const eigenvalues: number[] = [];
    // Algorithm 1: extensions at iterations every, 2·every, …, iterations.
    for (let it = config.basis.every; it <= config.train.iterations; it += config.basis.every) {
      const cp = seg.checkpoints.find((c) => c.iteration === it)!;
      const ext = extendBasis(model, cp.params, B, config.basis, config.seed);
      B.push(...ext.vectors);
      eigenvalues.push(...ext.eigenvalues);
    }
    return { config, seg, model, B, eigenvalues, seconds: { train, basis: (performance.now() - t0) / 1000 } };
  })();
  return tinyRun;
}

after(async () => {
  if (tinyRun) (await tinyRun).model.dispose();
});

test('d1 along Hessian eigenvectors agrees with exact per-token gradients (relative error < 1e-4, floor 1e-6)', async () => {
  const { seg, model, B, eigenvalues } = await tiny();
  const errs: number[] = [];
  let compared = 0;
  for (const [cpIter, j] of [
    [40, 0],
    [80, 1],
    [120, 2],
  ] as const) {
    const theta = seg.checkpoints.find((c) => c.iteration === cpIter)!.params;
    const b = B[j];
    const r = model.tokenDerivatives(theta, [b]);
    for (let x = j; x < model.numTokens; x += 9) {
      const g = model.tokenGrad(theta, x);
      let exact = 0;
      for (let i = 0; i < g.length; i++) exact += g[i] * b[i];
      errs.push(Math.abs(r.d1[x] - exact) / Math.max(Math.abs(exact), 1e-2));
      compared++;
    }
  }
  const q = quantiles(errs, [0.5, 0.9, 1]);
  console.log(
    `jet d1 vs tf.grad along b_1..b_3 (λ = ${eigenvalues.map((l) => l.toFixed(1)).join(', ')}): ${compared} tokens, error relative to max(|d1|, 1e-2) median ${q[0].toExponential(2)}, p90 ${q[1].toExponential(2)}, max ${q[2].toExponential(2)}`,
  );
  assert.ok(compared >= 100, `${compared} tokens compared`);
  // Both sides are float32 (tf.grad's gradient carries its own rounding): 1e-4 relative, with
  // values below 1e-2 held to 1e-6 absolute.
  assert.ok(q[2] < 1e-4, `max relative error ${q[2]}`);
});

test('directional derivatives and HVPs never hold per-token gradients in memory', async () => {
  const { config, seg, model, B } = await tiny();
  const theta = seg.checkpoints[6].params;
  const held = tf.memory().numBytes;
  const peak = async (f: () => void) => (await tf.profile(f)).peakBytes - held;
  // References: one forward pass over the evaluation set, one mean-loss gradient over S.
  const forward = await peak(() => {
    model.tokenLosses(theta);
  });
  const gradient = await peak(() => {
    model.hessianLossGrad(theta);
  });
  // A derivative pass of ~128 example-directions (the default pass is larger: its memory is set by
  // its size, documented with JetOptions.examplesPerPass and checked at `small`'s scale in bench/polca.ts).
  const { evalExamples, hessianExamples } = makeSplits(config);
  const passModel = makeTokenLossModel(modelShape(config), encodeSequences(evalExamples), encodeSequences(hessianExamples), {
    examplesPerPass: Math.ceil(128 / B.length),
  });
  const dd = await peak(() => {
    passModel.tokenDerivatives(theta, B);
  });
  passModel.dispose();
  const hv = await peak(() => {
    model.hvp(theta, B[0]);
  });
  const perTokenGrads = model.numTokens * model.numParams * 4;
  console.log(
    `peak TF.js memory: derivatives along ${B.length} vectors ${(dd / 1024).toFixed(0)} KiB (one forward pass ${(forward / 1024).toFixed(0)} KiB), HVP ${(hv / 1024).toFixed(0)} KiB (one gradient ${(gradient / 1024).toFixed(0)} KiB); per-token gradients would add ${(perTokenGrads / 1024).toFixed(0)} KiB`,
  );
  // Peak memory is a few forward passes / gradients, set by the pass size (a jet holds value, first
  // and second tangents of one sub-layer's activations for the pass's example-directions; a
  // forward-over-reverse pass about three gradients' activations with their tangents), not by
  // the number of tokens × parameters.
  assert.ok(dd <= 6 * forward, `derivatives peak ${dd} vs forward ${forward}`);
  assert.ok(hv <= 5 * gradient, `HVP peak ${hv} vs gradient ${gradient}`);
  assert.equal(tf.memory().numBytes, held, 'no tensors leak');
});

test('on the tiny trajectory, `path` is complete to 1e-3 for ≥ 99% of (token, interval); other variants reported', async () => {
  const { config, seg, model, B, seconds } = await tiny();
  const t0 = performance.now();
  const cps = seg.checkpoints;
  // Derivatives along the basis at every checkpoint, shared by `paper` and `exact-curvature`.
  const atCp = cps.map((cp) => model.tokenDerivatives(cp.params, B));
  const report: Record<string, number[]> = { path: [], paper: [], 'exact-curvature': [] };
  let panels = 0;
  let fallbacks = 0;
  for (const variant of ['path', 'paper', 'exact-curvature'] as const) {
    for (let t = 0; t + 1 < cps.length; t++) {
      const shared = variant === 'path' ? {} : { atT: atCp[t], atT1: atCp[t + 1] };
      const r = polcaInterval({
        model,
        interval: t,
        thetaT: cps[t].params,
        thetaT1: cps[t + 1].params,
        basis: B,
        polca: { ...config.polca, variant },
        ...shared,
      });
      report[variant].push(...Array.from(r.completeness.error, Math.abs));
      if (variant === 'path') panels = Math.max(panels, r.summary.panels);
      if (variant === 'paper') fallbacks += r.summary.fallbacks;
      // rows: ΔL_x − Σ_b POLCA(x, b) is the completeness error the result reports
      for (let x = 0; x < model.numTokens; x += 37) {
        let sum = 0;
        for (let k = x; k < r.rows.token.length; k += model.numTokens) sum += r.rows.polca[k];
        assert.ok(Math.abs(r.completeness.dloss[x] - sum - r.completeness.error[x]) < 1e-5);
      }
    }
  }
  const polcaSeconds = (performance.now() - t0) / 1000;
  for (const [v, errs] of Object.entries(report)) {
    const q = quantiles(errs, [0.5, 0.9, 0.99, 1]);
    const within = errs.filter((e) => e <= 1e-3).length / errs.length;
    console.log(
      `completeness |error| ${v.padEnd(15)} (${errs.length} token-intervals): median ${q[0].toExponential(2)} p90 ${q[1].toExponential(2)} p99 ${q[2].toExponential(2)} max ${q[3].toExponential(2)}; ≤ 1e-3: ${(100 * within).toFixed(1)}%`,
    );
  }
  console.log(
    `tiny run: train ${seconds.train.toFixed(1)} s, basis (${B.length} vectors) ${seconds.basis.toFixed(1)} s, POLCA (3 variants × ${cps.length - 1} intervals) ${polcaSeconds.toFixed(1)} s; path used up to ${panels} Simpson panels; paper fallbacks ${fallbacks}`,
  );
  const within = report.path.filter((e) => e <= 1e-3).length / report.path.length;
  assert.ok(within >= 0.99, `path: ${(100 * within).toFixed(2)}% within 1e-3`);
  // The truncated variants are not complete: their errors are the second-order gap the path variant closes.
  assert.ok(quantiles(report.paper, [0.5])[0] > 10 * quantiles(report.path, [0.5])[0]);
});
