/**
 * Every combination of the imported-architecture fields (core/model/layout.ts `Architecture`: learned or
 * rotary positions × tied, untied or untied-with-bias unembedding × sequential or parallel residual
 * × tanh or exact GELU, 24 in all; the two transformers architectures are checked against
 * transformers itself in tests/unit/hf-model.test.ts) on a micro model with random weights, each
 * derivative against an independent computation:
 *   - the hand-written reverse pass (core/model/backward.ts) against TF.js' own autodiff of the forward
 *     pass (tf.grad of the mean loss): relative error ≤ 1e-5;
 *   - the jets' d1 (core/model/jet.ts) against that autodiff gradient: mean d1 = ∇L·u within 1e-5 relative;
 *   - H·u (forward over reverse) against the jets' second derivatives, two unrelated derivations:
 *     uᵀHu = mean d2 along u and wᵀHu = (mean d2 along u + w − mean d2 along u − w)/4, within 1e-4
 *     of |w||Hu|;
 *   - the last block's query positions (T < L; rotary at positions L − T … L − 1): the logits of
 *     T = 3 evaluated positions are the last 3 rows of the logits with every position evaluated.
 * Measured (tensorflow backend): worst 3.0e-7, 1.1e-8, 4.4e-8, 3.4e-8 and 6.0e-7 respectively.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { lossAndGrad } from '../../core/model/backward.ts';
import { initBackend } from '../../core/model/backend.ts';
import type { Architecture, ModelShape } from '../../core/model/layout.ts';
import { dot } from '../../core/linalg.ts';
import { disposeBatch, encodeBatch, initParams, meanLossTensor, numParams, outputLogits, readTidy } from '../../core/model/model.ts';
import { normal, uniform } from '../../core/rng.ts';
import type { Sequences } from '../../core/tasks/task.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';

before(async () => {
  await initBackend();
});

const V = 11;
const L = 6;

function sequences(n: number, T: number, seed: number): Sequences {
  const tokens = Array.from({ length: n * (L + 1) }, (_, i) => Math.floor(uniform(seed, 3, i) * V));
  const inputs = new Int32Array(n * L);
  const targets = new Int32Array(n * T);
  for (let s = 0; s < n; s++) {
    for (let t = 0; t < L; t++) inputs[s * L + t] = tokens[s * (L + 1) + t];
    for (let t = 0; t < T; t++) targets[s * T + t] = tokens[s * (L + 1) + L - T + t + 1];
  }
  return { n, inputs, targets };
}

const combos: Architecture[] = [];
for (const positions of ['learned', 'rotary'] as const)
  for (const unembed of ['tied', 'untied', 'untied-bias'] as const)
    for (const parallelResidual of [false, true])
      for (const activation of ['gelu_tanh', 'gelu_erf'] as const)
        combos.push({
          positions,
          rotaryDims: positions === 'rotary' ? 4 : 0,
          rotaryBase: 100,
          unembed,
          parallelResidual,
          activation,
          lnEps: 1e-4,
        });

test('imported-architecture variants: reverse pass, jets and H·v agree with autodiff and with each other', () => {
  const worst = { grad: 0, d1: 0, uHu: 0, wHu: 0, rows: 0 };
  combos.forEach((arch, c) => {
    const shape = (T: number): ModelShape => ({
      nLayers: 2,
      dModel: 12,
      nHeads: 2,
      dMlp: 16,
      vocabSize: V,
      contextLength: L,
      outputsPerSequence: T,
      arch,
    });
    const m = shape(L);
    const d = numParams(m);
    // random weights large enough that every nonlinearity bends
    const theta = initParams(m, c).map((x, i) => x + 0.4 * normal(c, 11, i));
    const seqs = sequences(3, L, c);
    const model = makeTokenLossModel(m, seqs, seqs);
    const batch = encodeBatch(m, seqs);
    try {
      const { grad } = lossAndGrad(m, theta, batch);
      const [auto] = readTidy(() => [tf.grad((t: tf.Tensor) => meanLossTensor(m, t as tf.Tensor1D, batch))(tf.tensor1d(theta))]);
      let num = 0;
      for (let i = 0; i < d; i++) num += (grad[i] - auto[i]) ** 2;
      worst.grad = Math.max(worst.grad, Math.sqrt(num / dot(auto, auto)));

      const u = Float32Array.from({ length: d }, (_, i) => normal(c, 12, i));
      const w = Float32Array.from({ length: d }, (_, i) => normal(c, 13, i));
      const plus = u.map((x, i) => x + w[i]);
      const minus = u.map((x, i) => x - w[i]);
      const jet = model.tokenDerivatives(theta, [u, plus, minus]);
      const n = model.numTokens;
      const mean = (a: Float64Array, k: number) => a.subarray(k * n, (k + 1) * n).reduce((s, x) => s + x, 0) / n;
      const gu = dot(auto, u);
      worst.d1 = Math.max(worst.d1, Math.abs(mean(jet.d1, 0) - gu) / Math.sqrt(dot(auto, auto) * dot(u, u)));
      const hu = model.hvp(theta, u);
      const huNorm = Math.sqrt(dot(hu, hu));
      worst.uHu = Math.max(worst.uHu, Math.abs(mean(jet.d2, 0) - dot(hu, u)) / (huNorm * Math.sqrt(dot(u, u))));
      worst.wHu = Math.max(worst.wHu, Math.abs((mean(jet.d2, 1) - mean(jet.d2, 2)) / 4 - dot(hu, w)) / (huNorm * Math.sqrt(dot(w, w))));

      // T = 3 of L = 6: the last block computes queries at positions 3 … 5 only
      const m3 = shape(3);
      const seq3 = sequences(3, 3, c);
      const b3 = encodeBatch(m3, seq3);
      try {
        const [full, last] = readTidy(() => [outputLogits(m, theta, batch), outputLogits(m3, theta, b3)]);
        for (let s = 0; s < 3; s++)
          for (let t = 0; t < 3; t++)
            for (let v = 0; v < V; v++) {
              const a = full[(s * L + L - 3 + t) * V + v];
              worst.rows = Math.max(worst.rows, Math.abs(a - last[(s * 3 + t) * V + v]) / Math.max(1, Math.abs(a)));
            }
      } finally {
        disposeBatch(b3);
      }
    } finally {
      model.dispose();
      disposeBatch(batch);
    }
  });
  console.log(
    `${combos.length} variants: worst reverse-pass vs autodiff ${worst.grad.toExponential(2)}, d1 ${worst.d1.toExponential(2)}, uᵀHu ${worst.uHu.toExponential(2)}, wᵀHu ${worst.wHu.toExponential(2)}, query-position rows ${worst.rows.toExponential(2)}`,
  );
  assert.ok(worst.grad <= 1e-5, `gradient ${worst.grad}`);
  assert.ok(worst.d1 <= 1e-5, `d1 ${worst.d1}`);
  assert.ok(worst.uHu <= 1e-4, `uᵀHu ${worst.uHu}`);
  assert.ok(worst.wHu <= 1e-4, `wᵀHu ${worst.wHu}`);
  assert.ok(worst.rows <= 1e-5, `query-position rows ${worst.rows}`);
});
