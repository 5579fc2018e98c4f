/**
 * The token-loss model (core/types.ts `TokenLossModel`): the network of core/model/model.ts with its
 * evaluation set X and Hessian sample S bound, its per-token losses ℓ_x(θ) by the forward pass,
 * its exact per-token derivatives d1 = dℓ_x(θ + s·b)/ds and d2 = d²ℓ_x(θ + s·b)/ds² at s = 0 by
 * the jets of core/model/jet.ts, the exact Hessian-vector product H_S(θ)·v of the mean loss over S by
 * the reverse pass of core/model/backward.ts (forward over reverse), and the curvature vᵀH_S(θ)v along
 * one direction as the mean of the jets' d2 over S's tokens, summed in float64. This module only binds them:
 * model.ts is imported by backward.ts and jet.ts, and none of the three imports this one.
 */
import * as tf from '@tensorflow/tfjs';
import { HvpValueCache, hessianVectorProduct, lossAndGrad } from './backward.ts';
import { type JetOptions, tokenDerivatives } from './jet.ts';
import { disposeBatch, encodeBatch, type ModelConfig, numParams, readTidy, tokenLossTensor } from './model.ts';
import type { Sequences } from '../tasks/task.ts';
import type { TokenLossModel } from '../types.ts';

/**
 * The model with its evaluation set X and Hessian sample S bound: what the Hessian basis and
 * POLCA need (core/types.ts).
 */
export function makeTokenLossModel(
  m: ModelConfig,
  evalSequences: Sequences,
  hessianSequences: Sequences,
  jet: JetOptions = {},
): TokenLossModel {
  const evalBatch = encodeBatch(m, evalSequences);
  const hessBatch = encodeBatch(m, hessianSequences);
  const d = numParams(m);
  const numTokens = evalSequences.n * m.outputsPerSequence;
  const hvpValues = new HvpValueCache();
  return {
    numParams: d,
    numTokens,
    tokenLosses(theta) {
      return readTidy(() => [tokenLossTensor(m, theta, evalBatch)])[0];
    },
    shiftedTokenLosses(theta, v, shifts) {
      const out = new Float32Array(shifts.length * numTokens);
      const shifted = new Float32Array(d);
      shifts.forEach((s, j) => {
        for (let i = 0; i < d; i++) shifted[i] = theta[i] + s * v[i];
        out.set(this.tokenLosses(shifted), j * numTokens);
      });
      return out;
    },
    tokenDerivatives(theta, directions, order = 2) {
      return tokenDerivatives(m, theta, directions, evalBatch, jet, order);
    },
    hvp(theta, v) {
      return Float64Array.from(hessianVectorProduct(m, theta, v, hessBatch, jet.hvpExamplesPerPass, hvpValues));
    },
    hessianCurvature(theta, v) {
      const { d2 } = tokenDerivatives(m, theta, [v], hessBatch, jet, 2);
      let s = 0;
      for (let x = 0; x < d2.length; x++) s += d2[x];
      return s / d2.length;
    },
    hessianLossGrad(theta) {
      return lossAndGrad(m, theta, hessBatch);
    },
    tokenGrad(theta, token) {
      return readTidy(() => [
        tf.grad((th: tf.Tensor) =>
          tokenLossTensor(m, th as tf.Tensor1D, evalBatch)
            .slice([token], [1])
            .sum(),
        )(tf.tensor1d(theta)),
      ])[0];
    },
    dispose() {
      disposeBatch(evalBatch);
      disposeBatch(hessBatch);
      hvpValues.dispose();
    },
  };
}
