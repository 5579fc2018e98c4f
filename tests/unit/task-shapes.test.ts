/**
 * The model, its reverse pass (gradient, HVP) and its jets for sequence shapes other than
 * arithmetic's (V 12, L 11, T 4): a language-model shape (a vocabulary in the thousands, every
 * position evaluated, T = L) and one whose evaluated positions are a suffix of another length.
 * Each is checked against the independent float64 transformer of tests/helpers/reference-model.ts
 * (which takes V, L, T as given and evaluates the last T positions), on seeded random token
 * sequences: logits; per-token d1, d2 along directions (core/model/jet.ts) against the reference's
 * float64 jets; wᵀH_S v of the production HVP (core/model/backward.ts) against the polarisation
 * (d2(v + w) − d2(v − w))/4 of the reference's mean second derivatives; the gradient against
 * float64 central differences of the reference loss along random directions. Also the sequence
 * helpers of core/tasks/task.ts.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { lossAndGrad } from '../../core/model/backward.ts';
import { initBackend } from '../../core/model/backend.ts';
import { dot, relativeError } from '../../core/linalg.ts';
import { encodeBatch, initParams, numParams, outputLogits, paramLayout, queryPositions } from '../../core/model/model.ts';
import { normal, randInt, uniform } from '../../core/rng.ts';
import { checkSequences, labelCodes, type Sequences, type SequenceShape, sliceSequences } from '../../core/tasks/task.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';
import { englishTask } from '../../core/tasks/english/task.ts';
import { englishConfigSchema, englishSpec } from '../../core/tasks/english/spec.ts';
import { referenceForward, referenceJet, referenceMeanLoss } from '../helpers/reference-model.ts';

before(async () => {
  await initBackend();
});

/** n seeded random sequences of a shape: targets are the inputs shifted by one, as in language modelling. */
function randomSequences(shape: SequenceShape, n: number, seed: number): Sequences {
  const { vocabSize: V, contextLength: L, outputsPerSequence: T } = shape;
  const inputs = new Int32Array(n * L);
  const targets = new Int32Array(n * T);
  for (let i = 0; i < n; i++) {
    const seq = Array.from({ length: L + 1 }, (_, p) => randInt(V, seed, 90, i, p));
    for (let p = 0; p < L; p++) inputs[i * L + p] = seq[p];
    for (let t = 0; t < T; t++) targets[i * T + t] = seq[L - T + t + 1];
  }
  return { n, inputs, targets };
}

// english-small's task shape, on 3 evaluation sequences of the built-in corpus (core/tasks/english/task.ts).
const englishConfig = englishConfigSchema.parse({ name: 'english', vocabSize: 2000, contextLength: 32 });
const englishData = await englishTask.makeData({ seed: 0, data: { evalSize: 3, hessianSize: 1 }, task: englishConfig });

const SHAPES: [string, SequenceShape, Sequences?][] = [
  ['language-model shape: V 2000, L 8, every position evaluated', { vocabSize: 2000, contextLength: 8, outputsPerSequence: 8 }],
  ['a suffix of evaluated positions: V 50, L 7, T 3', { vocabSize: 50, contextLength: 7, outputsPerSequence: 3 }],
  ['the english task (Moby-Dick): V 2000, L 32, every position evaluated', englishSpec.shape(englishConfig), englishData.eval],
];

for (const [name, shape, given] of SHAPES) {
  describe(name, () => {
    const m = { ...shape, nLayers: 2, dModel: 8, nHeads: 2, dMlp: 16 };
    const seqs = given ?? randomSequences(shape, 3, 7);
    const d = numParams(m);
    // Off the initialisation (weights of size 0.02 give near-uniform logits): larger weights.
    const theta = initParams(m, 1).map((x, i) => x + 0.4 * (uniform(2, 3, i) - 0.5));
    const dir = (s: number) => {
      const v = Float64Array.from({ length: d }, (_, i) => normal(s, 91, i));
      const nv = Math.sqrt(dot(v, v));
      return v.map((x) => x / nv);
    };

    test('layout, last-block query positions', () => {
      const layout = paramLayout(m);
      assert.deepEqual(layout[0], { name: 'embed.W_E', shape: [shape.vocabSize, 8], offset: 0, size: shape.vocabSize * 8 });
      assert.deepEqual(layout[1].shape, [shape.contextLength, 8]);
      assert.deepEqual(layout[layout.length - 1].shape, [shape.vocabSize]);
      assert.equal(queryPositions(m, 0), shape.contextLength);
      assert.equal(queryPositions(m, 1), shape.outputsPerSequence);
    });

    test('logits against the float64 reference', () => {
      const batch = encodeBatch(shape, seqs);
      const got = tf.tidy(() => outputLogits(m, tf.tensor1d(theta), batch).dataSync());
      const want = referenceForward(m, theta, seqs).logits;
      assert.equal(got.length, seqs.n * shape.outputsPerSequence * shape.vocabSize);
      const e = relativeError(got, want);
      console.log(`${name}: logits relative error ${e.toExponential(2)} (${d} parameters)`);
      assert.ok(e < 1e-5, `logits relative error ${e}`);
    });

    test('per-token d1, d2 (jets) and wᵀHv (HVP) against the float64 reference', () => {
      const model = makeTokenLossModel(m, seqs, seqs);
      try {
        assert.equal(model.numTokens, seqs.n * shape.outputsPerSequence);
        const dirs = [dir(1), dir(2)];
        const jet = model.tokenDerivatives(
          theta,
          dirs.map((v) => Float32Array.from(v)),
        );
        const n = model.numTokens;
        dirs.forEach((v, j) => {
          const r = referenceJet(m, theta, Float32Array.from(v), seqs);
          const e1 = relativeError(jet.d1.subarray(j * n, (j + 1) * n), r.d1);
          const e2 = relativeError(jet.d2.subarray(j * n, (j + 1) * n), r.d2);
          console.log(`${name}: direction ${j}: d1 relative error ${e1.toExponential(2)}, d2 ${e2.toExponential(2)}`);
          assert.ok(e1 < 1e-4, `d1 relative error ${e1}`);
          assert.ok(e2 < 1e-3, `d2 relative error ${e2}`);
        });
        const v = Float32Array.from(dir(3));
        const hv = model.hvp(theta, v);
        const mean = (a: Float64Array) => a.reduce((s, x) => s + x, 0) / a.length;
        const got: number[] = [];
        const want: number[] = [];
        for (const s of [4, 5, 6]) {
          const w = Float32Array.from(dir(s));
          const plus = Float64Array.from(v, (x, i) => x + w[i]);
          const minus = Float64Array.from(v, (x, i) => x - w[i]);
          got.push(dot(w, hv));
          want.push((mean(referenceJet(m, theta, plus, seqs).d2) - mean(referenceJet(m, theta, minus, seqs).d2)) / 4);
        }
        const e = relativeError(got, want);
        console.log(`${name}: wᵀHv relative error ${e.toExponential(2)} (${got.map((x) => x.toExponential(3)).join(', ')})`);
        assert.ok(e < 1e-3, `wᵀHv relative error ${e}`);
      } finally {
        model.dispose();
      }
    });

    test('gradient against float64 central differences of the reference loss', () => {
      const { grad } = lossAndGrad(m, theta, encodeBatch(shape, seqs));
      const t64 = Float64Array.from(theta);
      const h = 1e-4;
      const got: number[] = [];
      const want: number[] = [];
      for (const s of [7, 8, 9]) {
        const u = dir(s);
        const at = (a: number) =>
          referenceMeanLoss(
            m,
            Float64Array.from(t64, (x, i) => x + a * u[i]),
            seqs,
          );
        got.push(dot(grad, u));
        want.push((at(h) - at(-h)) / (2 * h));
      }
      const e = relativeError(got, want);
      assert.ok(e < 1e-3, `directional gradient relative error ${e}`);
    });
  });
}

describe('sequence helpers', () => {
  const shape = { vocabSize: 5, contextLength: 3, outputsPerSequence: 2 };
  const s: Sequences = { n: 2, inputs: Int32Array.from([0, 1, 2, 3, 4, 0]), targets: Int32Array.from([1, 2, 4, 0]) };
  test('slicing takes whole sequences', () => {
    assert.deepEqual(sliceSequences(shape, s, 1, 1), { n: 1, inputs: Int32Array.from([3, 4, 0]), targets: Int32Array.from([4, 0]) });
    assert.throws(() => sliceSequences(shape, s, 1, 2), /outside/);
  });
  test('a batch that does not fit its shape is refused before anything runs', () => {
    assert.throws(() => checkSequences(shape, { ...s, targets: Int32Array.from([1, 2, 4]) }), /3 targets for 2 sequences of 2/);
    assert.throws(
      () => checkSequences(shape, { ...s, inputs: Int32Array.from([0, 1, 2, 3, 4, 5]) }),
      /token 5 outside the vocabulary 0 … 4/,
    );
    assert.throws(() => checkSequences({ ...shape, outputsPerSequence: 4 }, s), /4 evaluated positions for a context of 3/);
    const m = { ...shape, nLayers: 1, dModel: 4, nHeads: 1, dMlp: 4 };
    const b = encodeBatch(shape, s);
    assert.throws(() => outputLogits({ ...m, vocabSize: 6 }, initParams({ ...m, vocabSize: 6 }, 0), b), /batch encoded for V=5/);
  });
  test('label codes: integers kept, booleans 0/1, strings by rank', () => {
    assert.deepEqual(labelCodes('x', Int32Array.from([3, 0, 3])), Int32Array.from([3, 0, 3]));
    assert.deepEqual(labelCodes('x', [true, false, true]), Int32Array.from([1, 0, 1]));
    assert.deepEqual(labelCodes('pos', ['VERB', 'NOUN', 'ADJ', 'NOUN']), Int32Array.from([2, 1, 0, 1]));
    assert.throws(() => labelCodes('band', Float64Array.from([0.5])), /band: value 0.5 at row 0 is not an integer/);
  });
});
