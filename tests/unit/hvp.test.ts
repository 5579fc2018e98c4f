import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../core/backend.ts';
import { makeData } from '../../core/data.ts';
import { explicitHessian, hvp } from '../../core/hvp.ts';
import { initParams, makeTokenLossModel, numParams } from '../../core/model.ts';
import { uniform } from '../../core/rng.ts';

before(async () => {
  await initBackend('wasm');
});

// A transformer small enough for an explicit Hessian: 1 layer, d_model 4, 1 head, MLP 8.
const micro = { nLayers: 1, dModel: 4, nHeads: 1, dMlp: 8 };

test('HVP by gradient differences matches an explicit Hessian from second differences of the loss', () => {
  const { evalExamples, hessianExamples } = makeData({ seed: 0, data: { evalSize: 4, hessianSize: 16 } });
  const model = makeTokenLossModel(micro, evalExamples, hessianExamples);
  const theta = initParams(micro, 3).map((x, i) => x + 0.3 * (uniform(1, 2, i) - 0.5));
  const d = numParams(micro);
  const H = explicitHessian(model, theta, 1e-3); // columns from gradient differences
  // Second differences of the loss on a sample of coordinates (the other formulation).
  const L = (i: number, si: number, j: number, sj: number) => {
    const t = Float32Array.from(theta);
    t[i] += si;
    t[j] += sj;
    return model.hessianLossGrad(t).loss;
  };
  // h = 0.02 measured best: 4.7e-2 at h = 0.005 (float32 rounding), 7.2e-3 at 0.02, 6.1e-2 at 0.05 (truncation)
  const h = 0.02;
  const coords = Array.from({ length: 14 }, (_, k) => Math.floor((k * d) / 14) + 1);
  let num = 0;
  let den = 0;
  for (const i of coords)
    for (const j of coords) {
      const fd = i === j
        ? (-L(i, 2 * h, j, 0) + 16 * L(i, h, j, 0) - 30 * L(i, 0, j, 0) + 16 * L(i, -h, j, 0) - L(i, -2 * h, j, 0)) / (12 * h * h)
        : (L(i, h, j, h) - L(i, h, j, -h) - L(i, -h, j, h) + L(i, -h, j, -h)) / (4 * h * h);
      num += (H[i * d + j] - fd) ** 2;
      den += fd ** 2;
    }
  const rel = Math.sqrt(num / den);
  console.log(`explicit Hessian (${d} parameters): relative Frobenius error vs loss second differences ${rel.toExponential(2)}`);
  assert.ok(rel < 2e-2, `relative error ${rel}`);
  // An HVP in a random direction equals the explicit Hessian times it.
  const v = Float64Array.from({ length: d }, (_, i) => uniform(4, 5, i) - 0.5);
  const nv = Math.hypot(...v);
  v.forEach((x, i) => (v[i] = x / nv));
  const hv = hvp(model, theta, v, 1e-3);
  let e = 0;
  let s = 0;
  for (let i = 0; i < d; i++) {
    let r = 0;
    for (let j = 0; j < d; j++) r += H[i * d + j] * v[j];
    e += (hv[i] - r) ** 2;
    s += r * r;
  }
  assert.ok(Math.sqrt(e / s) < 1e-2, `HVP vs H·v relative error ${Math.sqrt(e / s)}`);
  model.dispose();
});
