import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../core/model/backend.ts';
import { ARITHMETIC_SHAPE, encodeSequences, makeSplits } from '../../core/tasks/arithmetic/task.ts';
import { relativeError } from '../../core/linalg.ts';
import { initParams, numParams } from '../../core/model/model.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';
import { uniform } from '../../core/rng.ts';
import { explicitHessian, hvp } from '../../core/model/finite-differences.ts';
import { referenceMeanLoss } from '../helpers/reference-model.ts';

before(async () => {
  await initBackend();
});

// A transformer small enough for an explicit Hessian: 1 layer, d_model 4, 2 heads, MLP 8 (332 parameters).
const micro = { ...ARITHMETIC_SHAPE, nLayers: 1, dModel: 4, nHeads: 2, dMlp: 8 };

test('HVP: the exact product (forward over reverse) and gradient differences against float64 second differences of the loss', () => {
  const { evalExamples, hessianExamples } = makeSplits({ seed: 0, data: { evalSize: 4, hessianSize: 16 } });
  const model = makeTokenLossModel(micro, encodeSequences(evalExamples), encodeSequences(hessianExamples));
  const theta = initParams(micro, 3).map((x, i) => x + 0.6 * (uniform(1, 2, i) - 0.5));
  const d = numParams(micro);
  const t64 = Float64Array.from(theta);
  const L = () => referenceMeanLoss(micro, t64, encodeSequences(hessianExamples));

  // Way 1: explicit Hessian column by column from gradient differences (TF.js, float32 gradients).
  const Hgd = explicitHessian(model, theta, 1e-3);

  // Way 2: second differences of the float64 reference loss. h = 1e-4: truncation ~h²·|∂⁴L| ≈ 1e-8,
  // rounding ~1e-16/h² ≈ 1e-8.
  const h = 1e-4;
  const L0 = L();
  const mixed = (i: number, a: number, j: number, b: number) => {
    const ki = t64[i];
    const kj = t64[j];
    t64[i] += a;
    t64[j] += b;
    const r = L();
    t64[i] = ki;
    t64[j] = kj;
    return r;
  };
  const Href = (i: number, j: number) =>
    i === j
      ? (mixed(i, h, i, 0) - 2 * L0 + mixed(i, -h, i, 0)) / (h * h)
      : (mixed(i, h, j, h) - mixed(i, h, j, -h) - mixed(i, -h, j, h) + mixed(i, -h, j, -h)) / (4 * h * h);
  // the whole diagonal and 6 whole rows (one in each part of the layout)
  const diagRef = Float64Array.from({ length: d }, (_, i) => Href(i, i));
  const diagGd = Float64Array.from({ length: d }, (_, i) => Hgd[i * d + i]);
  const rows = [10, 60, 110, 160, 230, 300];
  const rowRef: number[] = [];
  const rowGd: number[] = [];
  for (const i of rows)
    for (let j = 0; j < d; j++) {
      rowRef.push(Href(i, j));
      rowGd.push(Hgd[i * d + j]);
    }
  const eDiag = relativeError(diagGd, diagRef);
  const eRows = relativeError(rowGd, rowRef);

  // The production HVP along a random unit direction against (H v)_i = ∂²L/∂v∂θ_i in float64.
  const v = Float64Array.from({ length: d }, (_, i) => uniform(4, 5, i) - 0.5);
  const nv = Math.hypot(...v);
  for (let i = 0; i < d; i++) v[i] /= nv;
  const shifted = (s: number, i: number, a: number) => {
    const keep = Float64Array.from(t64);
    for (let k = 0; k < d; k++) t64[k] += s * v[k];
    t64[i] += a;
    const r = L();
    t64.set(keep);
    return r;
  };
  const hvRef = Float64Array.from(
    { length: d },
    (_, i) => (shifted(h, i, h) - shifted(h, i, -h) - shifted(-h, i, h) + shifted(-h, i, -h)) / (4 * h * h),
  );
  const errByEps: string[] = [];
  let eDefault = Number.NaN;
  let eBest = Number.POSITIVE_INFINITY;
  for (const eps of [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2]) {
    const e = relativeError(hvp(model, theta, v, eps), hvRef);
    errByEps.push(`ε=${eps}: ${e.toExponential(2)}`);
    if (eps === 1e-3) eDefault = e;
    eBest = Math.min(eBest, e);
  }
  // The production product: exact up to float32 rounding, far below the finite-difference one.
  const eExact = relativeError(model.hvp(theta, v), hvRef);
  const Hv = new Float64Array(d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) Hv[i] += Hgd[i * d + j] * v[j];
  const eHv = relativeError(Hv, hvRef);
  console.log(
    `explicit Hessian (${d} parameters) by gradient differences vs float64 loss second differences: relative error diagonal ${eDiag.toExponential(2)}, 6 full rows ${eRows.toExponential(2)}; H·v ${eHv.toExponential(2)}`,
  );
  console.log(
    `HVP along a random direction vs float64 mixed second differences: exact (forward over reverse) ${eExact.toExponential(2)}; gradient differences ${errByEps.join(', ')}`,
  );
  assert.ok(eExact < 1e-5, `exact HVP relative error ${eExact}`);
  assert.ok(eExact < eBest / 10, `exact ${eExact} vs best gradient difference ${eBest}`);
  assert.ok(eDiag < 1e-3, `diagonal relative error ${eDiag}`);
  assert.ok(eRows < 1e-3, `rows relative error ${eRows}`);
  assert.ok(eHv < 1e-3, `H·v relative error ${eHv}`);
  assert.ok(eDefault < 1e-3, `HVP (ε = 1e-3) relative error ${eDefault}`);
  // the default step is within a factor 3 of the best one measured
  assert.ok(eDefault < 3 * eBest, `ε = 1e-3 gives ${eDefault}, best ${eBest}`);
  // the test point is off a minimum: the Hessian has negative entries on the diagonal or in the rows
  assert.ok(diagRef.some((x) => x < 0) || rowRef.some((x) => x < 0));
  model.dispose();
});
