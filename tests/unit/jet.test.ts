/**
 * Exact derivatives (core/model/jet.ts) against an independent float64 computation of the same model
 * (tests/helpers/reference-model.ts, `referenceJet`: float64 value/first/second derivative along a
 * line, with its own formulation of GELU, softmax and cross-entropy):
 *   - d1 within 1e-4 of its row's scale (the largest |d1| over the tokens, for that checkpoint and
 *     direction: the jet pass rounds in float32 relative to its largest tangents, so a small d1
 *     beside large ones is exact to that scale, not to its own size), d2 within 1e-3 relative
 *     (absolute floor 1e-4), on the `tiny` model and on a model of `small`'s shape at several
 *     checkpoints of a real training run, along directions that include per-token curvatures
 *     above 10⁴;
 *   - H·v by forward over reverse within 1e-4 relative in norm (whole vector on a model small
 *     enough for float64 polarisation over every coordinate; projections on `small`'s shape);
 *   - Lanczos eigenvalues (the jets' vᵀHv) within 1e-5 relative of (and not above by more than
 *     that) the top eigenvalue of P·H·P from a dense float64 Hessian; vᵀHv from the jets within
 *     1e-5 relative of float64 on `small`'s shape;
 *   - `exact-curvature` POLCA rows within 1e-3 relative (floor 1e-6) and `path` completeness ≤ 1e-4.
 * Training for `small`'s shape: 200 iterations of the `small` preset (its model, learning rate and
 * schedule; checkpoints every 20) with batch 32 instead of 128 and an evaluation set of 24
 * examples, so that training and the float64 reference (≈ 80 ms per example and direction on 2
 * loaded cores) fit the test's time.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../../config/index.ts';
import { extendBasis } from '../../core/basis/basis.ts';
import { initBackend } from '../../core/model/backend.ts';
import { modelShape } from '../../core/data.ts';
import { ARITHMETIC_SHAPE, encodeSequences, type Example, makeSplits } from '../../core/tasks/arithmetic/task.ts';
import { dot, relativeError, symmetricEigen } from '../../core/linalg.ts';
import { initParams } from '../../core/model/model.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';
import { polcaInterval, quantiles } from '../../core/attribution/polca.ts';
import { normal, uniform } from '../../core/rng.ts';
import { initTrainState, trainSegment } from '../../core/train/train.ts';
import type { TokenLossModel } from '../../core/types.ts';
import { referenceJet } from '../helpers/reference-model.ts';

let backend = '';
before(async () => {
  backend = await initBackend();
});

type Dir = Float64Array;
const unit = (v: Float64Array): Dir => {
  const n = Math.sqrt(dot(v, v));
  return v.map((x) => x / n);
};
const randomUnit = (d: number, seed: number): Dir => unit(Float64Array.from({ length: d }, (_, i) => normal(seed, 7, i)));
/** The parameter vector the float64 reference sees: exactly the float32 θ and float32 direction. */
const f32dir = (b: ArrayLike<number>) => Float32Array.from(b);

interface Worst {
  d1: number;
  d1Own: number;
  d2: number;
  /** Largest |d2| along any direction, and along unit directions only. */
  maxCurvature: number;
  maxUnitCurvature: number;
  n: number;
}
/**
 * Largest error in units of its tolerance per quantity (≤ 1 passes): d1 |jet − reference| /
 * (1e-4 · max over the row's tokens of |reference d1|), with a floor of 1e-6·|b| for a row whose
 * d1 all vanish; d2 |jet − reference| / max(1e-3·|reference|, 1e-4·|b|²). The floors are for unit
 * directions; along s·b they scale as d1 and d2 do, by s and s² (float32 rounding of the tangents
 * scales the same way). `d1Own` is d1's error against its own size, 1e-4·max(|reference|, 1e-6·|b|)
 * (the statement this replaces), for the record.
 */
function compareDerivatives(
  model: TokenLossModel,
  cfg: Parameters<typeof referenceJet>[0],
  theta: Float32Array,
  dirs: Dir[],
  examples: Example[],
  worst: Worst,
): { d1: Float64Array[]; d2: Float64Array[] } {
  const jet = model.tokenDerivatives(theta, dirs);
  const n = model.numTokens;
  const refs = { d1: [] as Float64Array[], d2: [] as Float64Array[] };
  dirs.forEach((b, j) => {
    const r = referenceJet(cfg, theta, f32dir(b), encodeSequences(examples));
    const len = Math.sqrt(dot(b, b));
    refs.d1.push(r.d1);
    refs.d2.push(r.d2);
    let rowScale = 1e-6 * len;
    for (let x = 0; x < n; x++) rowScale = Math.max(rowScale, Math.abs(r.d1[x]));
    for (let x = 0; x < n; x++) {
      const e1 = Math.abs(jet.d1[j * n + x] - r.d1[x]);
      worst.d1 = Math.max(worst.d1, e1 / (1e-4 * rowScale));
      worst.d1Own = Math.max(worst.d1Own, e1 / Math.max(1e-4 * Math.abs(r.d1[x]), 1e-6 * len));
      worst.d2 = Math.max(worst.d2, Math.abs(jet.d2[j * n + x] - r.d2[x]) / Math.max(1e-3 * Math.abs(r.d2[x]), 1e-4 * len * len));
      worst.maxCurvature = Math.max(worst.maxCurvature, Math.abs(r.d2[x]));
      if (Math.abs(len - 1) < 1e-6) worst.maxUnitCurvature = Math.max(worst.maxUnitCurvature, Math.abs(r.d2[x]));
      assert.ok(Math.abs(jet.f0[x] - r.loss[x]) < 1e-4 * Math.max(1, r.loss[x]), `loss ${jet.f0[x]} vs ${r.loss[x]}`);
    }
    worst.n += n;
  });
  return refs;
}

/**
 * A direction along which some tokens bend sharply: the top eigenvector of the Hessian of one
 * example's loss (Lanczos with the exact product), for the example with the largest d2 along the
 * top eigenvector of the Hessian sample's loss.
 */
function sharpDirection(cfg: Parameters<typeof referenceJet>[0], theta: Float32Array, examples: { a: number; b: number }[], seed: number) {
  const one = makeTokenLossModel(cfg, encodeSequences(examples), encodeSequences(examples.slice(0, 1)));
  try {
    const r = extendBasis(one, theta, [], { every: 1, k: 1, maxIter: 12, tol: 1e-2 }, seed);
    return { b: r.vectors[0], lambda: r.eigenvalues[0] };
  } finally {
    one.dispose();
  }
}

test('tiny model: jet d1, d2 match the float64 reference (random, top-eigenvector and scaled directions)', async () => {
  const config = resolveConfig({ preset: 'tiny' });
  const seg = await trainSegment(config, initTrainState(config), 80);
  const { evalExamples } = makeSplits(config);
  const examples = evalExamples.slice(0, 25);
  const model = makeTokenLossModel(modelShape(config), encodeSequences(examples), encodeSequences(examples));
  const worst: Worst = { d1: 0, d1Own: 0, d2: 0, maxCurvature: 0, maxUnitCurvature: 0, n: 0 };
  try {
    for (const it of [0, 40, 80]) {
      const theta = seg.checkpoints.find((c) => c.iteration === it)!.params;
      const sharp = sharpDirection(modelShape(config), theta, examples, it);
      // ×30: d2 scales with the square of the direction's length (curvatures far above 10⁴)
      const dirs = [randomUnit(theta.length, it), sharp.b, sharp.b.map((x) => 30 * x)];
      compareDerivatives(model, modelShape(config), theta, dirs, examples, worst);
    }
  } finally {
    model.dispose();
  }
  console.log(
    `tiny (${backend}): ${worst.n} (token, direction) pairs, max |d2| ${worst.maxCurvature.toExponential(2)} (unit directions ${worst.maxUnitCurvature.toExponential(2)}); worst error in units of the tolerance: d1 ${worst.d1.toFixed(3)} of its row scale (${worst.d1Own.toFixed(3)} against its own size), d2 ${worst.d2.toFixed(3)}`,
  );
  assert.ok(worst.maxCurvature > 1e4, `max per-token curvature ${worst.maxCurvature}`);
  assert.ok(worst.d1 <= 1, `d1: ${worst.d1} × tolerance`);
  assert.ok(worst.d2 <= 1, `d2: ${worst.d2} × tolerance`);
});

/** `small`'s shape, trained for 200 iterations; computed once for the tests below. */
let smallRun:
  | Promise<{ config: ReturnType<typeof resolveConfig>; seg: Awaited<ReturnType<typeof trainSegment>>; seconds: number }>
  | undefined;
function small() {
  smallRun ??= (async () => {
    const config = resolveConfig({
      preset: 'small',
      sets: ['data.evalSize=24', 'train.iterations=200', 'train.batchSize=32', 'basis.every=100'],
    });
    const t0 = performance.now();
    const seg = await trainSegment(config, initTrainState(config), 200);
    return { config, seg, seconds: (performance.now() - t0) / 1000 };
  })();
  return smallRun;
}
after(async () => {
  if (smallRun) await smallRun;
});

test("small's shape at checkpoints 40, 100, 180 of a real run: jet d1, d2 and exact-curvature POLCA match float64; path is complete to 1e-4", async () => {
  const { config, seg, seconds } = await small();
  const { evalExamples } = makeSplits(config);
  const examples = evalExamples.slice(0, 8);
  const model = makeTokenLossModel(modelShape(config), encodeSequences(examples), encodeSequences(examples));
  const pathModel = makeTokenLossModel(modelShape(config), encodeSequences(evalExamples), encodeSequences(examples));
  const worst: Worst = { d1: 0, d1Own: 0, d2: 0, maxCurvature: 0, maxUnitCurvature: 0, n: 0 };
  let polcaWorst = 0;
  let pathWorst = 0;
  let pathPairs = 0;
  const t0 = performance.now();
  try {
    for (const it of [40, 100, 180]) {
      const theta = seg.checkpoints.find((c) => c.iteration === it)!.params;
      const theta1 = seg.checkpoints.find((c) => c.iteration === it + 20)!.params;
      const sharp = sharpDirection(modelShape(config), theta, examples, it);
      const basis = [sharp.b, randomUnit(theta.length, it)];
      const scaled = sharp.b.map((x) => 20 * x);
      const ref = compareDerivatives(model, modelShape(config), theta, [...basis, scaled], examples, worst);
      // exact-curvature POLCA for the interval it → it + 20: rows from the float64 d1, d2 at θ_t
      const r = polcaInterval({
        model,
        interval: 0,
        thetaT: theta,
        thetaT1: theta1,
        basis,
        polca: { ...config.polca, variant: 'exact-curvature' },
      });
      const n = model.numTokens;
      basis.forEach((b, j) => {
        let c = 0;
        for (let i = 0; i < theta.length; i++) c += b[i] * (theta1[i] - theta[i]);
        for (let x = 0; x < n; x++) {
          const F = ref.d1[j][x] * c;
          const S = 0.5 * ref.d2[j][x] * c * c;
          for (const [got, want] of [
            [r.rows.first[j * n + x], F],
            [r.rows.second[j * n + x], S],
            [r.rows.polca[j * n + x], F + S],
          ])
            polcaWorst = Math.max(polcaWorst, Math.abs(got - want) / Math.max(1e-3 * Math.abs(want), 1e-6));
        }
      });
      // path on the whole (24-example) evaluation set, same interval
      const p = polcaInterval({
        model: pathModel,
        interval: 0,
        thetaT: theta,
        thetaT1: theta1,
        basis,
        polca: { ...config.polca, variant: 'path', pathTol: 1e-4 },
      });
      for (const e of p.completeness.error) pathWorst = Math.max(pathWorst, Math.abs(e));
      pathPairs += p.completeness.error.length;
    }
  } finally {
    model.dispose();
    pathModel.dispose();
  }
  console.log(
    `small shape (${backend}; training 200 iterations ${seconds.toFixed(1)} s, checks ${((performance.now() - t0) / 1000).toFixed(1)} s): ${worst.n} (token, direction) pairs, max |d2| ${worst.maxCurvature.toExponential(2)} (unit directions ${worst.maxUnitCurvature.toExponential(2)}); worst error in units of the tolerance: d1 ${worst.d1.toFixed(3)} of its row scale (${worst.d1Own.toFixed(3)} against its own size), d2 ${worst.d2.toFixed(3)}, exact-curvature rows ${polcaWorst.toFixed(3)}; path completeness max |error| ${pathWorst.toExponential(2)} over ${pathPairs} (token, interval)`,
  );
  assert.ok(worst.maxCurvature > 1e4, `max per-token curvature ${worst.maxCurvature}`);
  assert.ok(worst.d1 <= 1, `d1: ${worst.d1} × tolerance`);
  assert.ok(worst.d2 <= 1, `d2: ${worst.d2} × tolerance`);
  assert.ok(polcaWorst <= 1, `exact-curvature rows: ${polcaWorst} × tolerance`);
  assert.ok(pathWorst <= 1e-4, `path completeness ${pathWorst}`);
});

/** wᵀ H v of the mean loss over `examples` in float64, by polarisation of reference second derivatives. */
function refBilinear(
  cfg: Parameters<typeof referenceJet>[0],
  theta: Float32Array,
  v: ArrayLike<number>,
  w: ArrayLike<number>,
  examples: { a: number; b: number }[],
) {
  const mean = (a: Float64Array) => a.reduce((s, x) => s + x, 0) / a.length;
  const plus = Float64Array.from(v, (x, i) => x + w[i]);
  const minus = Float64Array.from(v, (x, i) => x - w[i]);
  return (
    (mean(referenceJet(cfg, theta, plus, encodeSequences(examples)).d2) -
      mean(referenceJet(cfg, theta, minus, encodeSequences(examples)).d2)) /
    4
  );
}

test('H·v by forward over reverse: whole vector on a micro model, projections on small’s shape, within 1e-4 relative', async () => {
  // Micro: every coordinate (H v)_i = e_iᵀ H v by polarisation.
  const micro = { ...ARITHMETIC_SHAPE, nLayers: 1, dModel: 4, nHeads: 2, dMlp: 8 };
  const { hessianExamples } = makeSplits({ seed: 0, data: { evalSize: 4, hessianSize: 8 } });
  const mm = makeTokenLossModel(micro, encodeSequences(hessianExamples.slice(0, 1)), encodeSequences(hessianExamples));
  const theta = initParams(micro, 3).map((x, i) => x + 0.6 * (uniform(1, 2, i) - 0.5));
  const d = theta.length;
  const v = randomUnit(d, 4);
  const hv = mm.hvp(theta, v);
  mm.dispose();
  const ref = new Float64Array(d);
  const e = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    e.fill(0);
    e[i] = 1;
    ref[i] = refBilinear(micro, theta, f32dir(v), e, hessianExamples);
  }
  const microErr = relativeError(hv, ref);

  // small's shape at the end of the run: vᵀHv, ĥᵀHv (ĥ = Hv/‖Hv‖) and three random projections.
  const { config, seg } = await small();
  const { hessianExamples: hs } = makeSplits(config);
  const sample = hs.slice(0, 8);
  const sm = makeTokenLossModel(modelShape(config), encodeSequences(sample.slice(0, 1)), encodeSequences(sample));
  const th = seg.checkpoints.at(-1)!.params;
  const D = th.length;
  const vs = f32dir(randomUnit(D, 11));
  const hvs = sm.hvp(th, vs);
  sm.dispose();
  const norm = Math.sqrt(dot(hvs, hvs));
  const projections = [vs, f32dir(unit(Float64Array.from(hvs))), ...[1, 2, 3].map((k) => f32dir(randomUnit(D, 20 + k)))];
  let smallErr = 0;
  for (const w of projections)
    smallErr = Math.max(smallErr, Math.abs(dot(w, hvs) - refBilinear(modelShape(config), th, vs, w, sample)) / norm);
  console.log(
    `HVP (${backend}): micro (${d} parameters) whole vector relative error ${microErr.toExponential(2)}; small shape (${D} parameters) max |wᵀHv − float64| / ‖Hv‖ over ${projections.length} projections ${smallErr.toExponential(2)}`,
  );
  assert.ok(microErr < 1e-4, `micro HVP relative error ${microErr}`);
  assert.ok(smallErr < 1e-4, `small HVP projection error ${smallErr}`);
});

test("the curvature vᵀHv from the jets (hessianCurvature, summed in float64) matches float64 on small's shape, off the top directions too", async () => {
  // The quotient Lanczos reports (core/basis/lanczos.ts `rayleigh`): along the top eigenvector of the
  // Hessian sample's P·H·P, along a random direction, and along random directions with the top
  // eigenvectors projected out (curvature 10⁻³–10⁻² beside a top eigenvalue of 10²).
  const { config, seg } = await small();
  const { hessianExamples: hs } = makeSplits(config);
  const sample = hs.slice(0, 8);
  const sm = makeTokenLossModel(modelShape(config), encodeSequences(sample.slice(0, 1)), encodeSequences(sample));
  const mean = (a: Float64Array) => a.reduce((t, x) => t + x, 0) / a.length;
  const rows: string[] = [];
  let worst = 0;
  try {
    const th = seg.checkpoints.at(-1)!.params;
    const D = th.length;
    const top = extendBasis(sm, th, [], { every: 1, k: 2, maxIter: 40, tol: 1e-3 }, 0).vectors;
    const off = (seed: number) => {
      const v = randomUnit(D, seed);
      for (const b of top) {
        const c = dot(v, b);
        for (let i = 0; i < D; i++) v[i] -= c * b[i];
      }
      return unit(v);
    };
    for (const [name, v] of [
      ['top eigenvector', top[0]],
      ['random', randomUnit(D, 31)],
      ['random, top 2 projected out', off(32)],
      ['random, top 2 projected out', off(33)],
    ] as const) {
      const w = f32dir(v);
      const ref = mean(referenceJet(modelShape(config), th, w, encodeSequences(sample)).d2);
      const jet = sm.hessianCurvature(th, w);
      let ww = 0;
      for (const x of w) ww += x * x;
      const rel = Math.abs(jet - ref) / Math.abs(ref);
      worst = Math.max(worst, rel);
      rows.push(`${name} ${ref.toPrecision(6)} (${rel.toExponential(1)}; |v|² − 1 = ${(ww - 1).toExponential(0)})`);
    }
  } finally {
    sm.dispose();
  }
  console.log(`curvature vᵀHv from the jets (${backend}), against float64: ${rows.join('; ')}`);
  assert.ok(worst <= 1e-5, `worst relative error ${worst}`);
});

test('Lanczos eigenvalues (Rayleigh quotients from the jets) are within 1e-5 relative of the dense float64 top eigenvalue of P·H·P, not above it by more', () => {
  // Small enough for a dense float64 Hessian from second derivatives along e_i and e_i + e_j.
  const micro = { ...ARITHMETIC_SHAPE, nLayers: 1, dModel: 3, nHeads: 1, dMlp: 4 };
  const { hessianExamples } = makeSplits({ seed: 0, data: { evalSize: 4, hessianSize: 4 } });
  const sample = hessianExamples;
  const theta = initParams(micro, 5).map((x, i) => x + 0.8 * (uniform(2, 3, i) - 0.5));
  const d = theta.length;
  const mean = (a: Float64Array) => a.reduce((s, x) => s + x, 0) / a.length;
  const curv = (u: Float64Array) => mean(referenceJet(micro, theta, u, encodeSequences(sample)).d2);
  const H = new Float64Array(d * d);
  const u = new Float64Array(d);
  const diag = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    u.fill(0);
    u[i] = 1;
    diag[i] = curv(u);
    H[i * d + i] = diag[i];
  }
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) {
      u.fill(0);
      u[i] = 1;
      u[j] = 1;
      const hij = (curv(u) - diag[i] - diag[j]) / 2;
      H[i * d + j] = hij;
      H[j * d + i] = hij;
    }
  const model = makeTokenLossModel(micro, encodeSequences(sample.slice(0, 1)), encodeSequences(sample));
  const cfg = resolveConfig({ preset: 'tiny' }).basis;
  const B: Float64Array[] = [];
  const rows: string[] = [];
  let worst = 0;
  let above = 0;
  try {
    for (let ext = 0; ext < 4; ext++) {
      // dense top eigenvalue of P H P, P = I − BBᵀ with the basis as computed so far
      const P = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) P[i * d + j] = (i === j ? 1 : 0) - B.reduce((s, b) => s + b[i] * b[j], 0);
      const HP = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) HP[i * d + j] += H[i * d + k] * P[k * d + j];
      const PHP = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) PHP[i * d + j] += P[i * d + k] * HP[k * d + j];
      const top = symmetricEigen(PHP, d).values[0];
      const r = extendBasis(model, theta, B, { ...cfg, maxIter: 100 }, ext);
      const lam = r.eigenvalues[0];
      const rel = (lam - top) / Math.abs(top);
      worst = Math.max(worst, Math.abs(rel));
      above = Math.max(above, rel);
      rows.push(
        `λ${ext + 1} ${lam.toFixed(6)} vs ${top.toFixed(6)} (${rel.toExponential(1)}, residual ${r.residuals[0].toExponential(1)}, ${r.converged[0] ? 'converged' : 'NOT converged'}, ${r.iterations} it.)`,
      );
      assert.ok(r.converged[0], `extension ${ext}: residual ${r.residuals[0]} above tol·|λ|`);
      assert.ok(r.residuals[0] <= cfg.tol * Math.abs(lam));
      B.push(...r.vectors);
    }
  } finally {
    model.dispose();
  }
  console.log(`eigenvalues (${backend}; ${d} parameters, basis.tol ${cfg.tol}): ${rows.join('; ')}`);
  assert.ok(worst <= 1e-5, `worst relative eigenvalue error ${worst}`);
  assert.ok(above <= 1e-5, `an eigenvalue above the exact top of PHP by ${above}`);
});

test('Lanczos flags a vector whose true residual misses the tolerance at maxIter', () => {
  const micro = { ...ARITHMETIC_SHAPE, nLayers: 1, dModel: 4, nHeads: 2, dMlp: 8 };
  const { hessianExamples } = makeSplits({ seed: 0, data: { evalSize: 4, hessianSize: 8 } });
  const model = makeTokenLossModel(micro, encodeSequences(hessianExamples.slice(0, 1)), encodeSequences(hessianExamples));
  const theta = initParams(micro, 3).map((x, i) => x + 0.6 * (uniform(1, 2, i) - 0.5));
  try {
    const r = extendBasis(model, theta, [], { every: 1, k: 2, maxIter: 3, tol: 1e-8 }, 0);
    assert.equal(r.iterations, 3);
    assert.deepEqual(r.converged, [false, false]);
    for (let i = 0; i < 2; i++) assert.ok(r.residuals[i] > 1e-8 * Math.abs(r.eigenvalues[i]));
    const ok = extendBasis(model, theta, [], { every: 1, k: 1, maxIter: 200, tol: 1e-4 }, 0);
    assert.deepEqual(ok.converged, [true]);
    assert.ok(ok.residuals[0] <= 1e-4 * Math.abs(ok.eigenvalues[0]));
  } finally {
    model.dispose();
  }
});

test('jet derivatives and HVPs are deterministic, chunking-invariant and leak no tensors', () => {
  const mc = { ...ARITHMETIC_SHAPE, nLayers: 2, dModel: 8, nHeads: 2, dMlp: 16 };
  const { evalExamples } = makeSplits({ seed: 0, data: { evalSize: 10, hessianSize: 4 } });
  const theta = initParams(mc, 1).map((x, i) => x + 0.3 * (uniform(3, 3, i) - 0.5));
  const dirs = [0, 1, 2].map((k) => randomUnit(theta.length, 30 + k));
  const held = tf.memory().numTensors;
  const a = makeTokenLossModel(mc, encodeSequences(evalExamples), encodeSequences(evalExamples.slice(0, 2)));
  const b = makeTokenLossModel(mc, encodeSequences(evalExamples), encodeSequences(evalExamples.slice(0, 2)), {
    directionsPerPass: 2,
    examplesPerPass: 3,
    hvpExamplesPerPass: 1,
  });
  try {
    const r1 = a.tokenDerivatives(theta, dirs);
    const r2 = a.tokenDerivatives(theta, dirs);
    assert.deepEqual(r1, r2);
    const r3 = b.tokenDerivatives(theta, dirs);
    // other chunk sizes change only float32 summation order
    for (let t = 0; t < r1.d1.length; t++) {
      assert.ok(Math.abs(r1.d1[t] - r3.d1[t]) <= 1e-5 * Math.max(1, Math.abs(r1.d1[t])));
      assert.ok(Math.abs(r1.d2[t] - r3.d2[t]) <= 1e-4 * Math.max(1, Math.abs(r1.d2[t])));
    }
    assert.deepEqual(a.hvp(theta, dirs[0]), a.hvp(theta, dirs[0]));
    // one example per HVP pass, weighted by its share: the same product up to summation order
    const h1 = a.hvp(theta, dirs[0]);
    const h2 = b.hvp(theta, dirs[0]);
    const scale = Math.max(...h1.map(Math.abs));
    for (let i = 0; i < h1.length; i++) assert.ok(Math.abs(h1[i] - h2[i]) <= 1e-5 * scale, `HVP chunked ${h2[i]} vs ${h1[i]}`);
    const q = quantiles(r1.d2, [0.5]);
    assert.ok(Number.isFinite(q[0]));
  } finally {
    a.dispose();
    b.dispose();
  }
  assert.equal(tf.memory().numTensors, held, 'no tensors leak');
});
