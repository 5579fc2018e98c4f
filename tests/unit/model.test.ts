import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../../config/index.ts';
import { initBackend } from '../../core/model/backend.ts';
import { lossAndGrad } from '../../core/model/backward.ts';
import { modelShape } from '../../core/data.ts';
import { ARITHMETIC_SHAPE, encodeSequences, makeSplits, VOCAB_SIZE } from '../../core/tasks/arithmetic/task.ts';
import {
  decayMask,
  encodeBatch,
  evaluate,
  initParams,
  numParams,
  outputLogits,
  paramLayout,
  tokenLossTensor,
} from '../../core/model/model.ts';
import { uniform } from '../../core/rng.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';
import { referenceForward, referenceMeanLoss, referenceOffsets } from '../helpers/reference-model.ts';

before(async () => {
  await initBackend();
});

const config = resolveConfig({ preset: 'tiny' });
const micro = { ...ARITHMETIC_SHAPE, nLayers: 1, dModel: 4, nHeads: 2, dMlp: 8 };

/** Initial parameters moved off their initialisation so LayerNorm scales, biases and attention are non-trivial. */
function perturbed(m: typeof micro, seed: number, scale: number): Float32Array {
  return initParams(m, seed).map((x, i) => x + scale * (uniform(seed, 99, i) - 0.5));
}

test('the flat parameter layout is the documented one, contiguous and stable', () => {
  const layout = paramLayout(modelShape(config));
  // The documented order (core/model/model.ts header), for the tiny preset (1 layer, D 32, MLP 64).
  const want: [string, number[]][] = [
    ['embed.W_E', [12, 32]],
    ['pos_embed.W_pos', [11, 32]],
    ['blocks.0.ln1.w', [32]],
    ['blocks.0.ln1.b', [32]],
    ['blocks.0.attn.W_QKV', [32, 96]],
    ['blocks.0.attn.b_QKV', [96]],
    ['blocks.0.attn.W_O', [32, 32]],
    ['blocks.0.attn.b_O', [32]],
    ['blocks.0.ln2.w', [32]],
    ['blocks.0.ln2.b', [32]],
    ['blocks.0.mlp.W_in', [32, 64]],
    ['blocks.0.mlp.b_in', [64]],
    ['blocks.0.mlp.W_out', [64, 32]],
    ['blocks.0.mlp.b_out', [32]],
    ['ln_final.w', [32]],
    ['ln_final.b', [32]],
    ['unembed.W_U', [32, 12]],
    ['unembed.b_U', [12]],
  ];
  assert.deepEqual(
    layout.map((e) => [e.name, e.shape]),
    want,
  );
  let off = 0;
  for (const e of layout) {
    assert.equal(e.offset, off, e.name);
    assert.equal(
      e.size,
      e.shape.reduce((a, b) => a * b, 1),
    );
    off += e.size;
  }
  assert.equal(off, numParams(modelShape(config)));
  assert.equal(numParams(modelShape(config)), 9740);
  // The independent reader of the float64 reference model finds the same offsets (2 layers).
  const two = { ...ARITHMETIC_SHAPE, nLayers: 2, dModel: 8, nHeads: 2, dMlp: 16 };
  const ref = referenceOffsets(two);
  const at = Object.fromEntries(paramLayout(two).map((e) => [e.name, e.offset]));
  assert.equal(ref.total, numParams(two));
  assert.equal(at['blocks.1.attn.W_QKV'], ref.layers[1].wqkv);
  assert.equal(at['blocks.1.mlp.b_out'], ref.layers[1].bout);
  assert.equal(at['unembed.W_U'], ref.wu);
  // Weight decay covers exactly the matrices.
  const mask = decayMask(modelShape(config));
  for (const e of layout) for (const i of [e.offset, e.offset + e.size - 1]) assert.equal(mask[i], e.shape.length === 2 ? 1 : 0, e.name);
});

test('forward shapes', () => {
  const ex = [
    { a: 1, b: 2 },
    { a: 999, b: 999 },
    { a: 500, b: 500 },
  ];
  const batch = encodeBatch(ARITHMETIC_SHAPE, encodeSequences(ex));
  const theta = initParams(modelShape(config), 0);
  const shapes = tf.tidy(() => {
    const t = tf.tensor1d(theta);
    return [outputLogits(modelShape(config), t, batch).shape, tokenLossTensor(modelShape(config), t, batch).shape];
  });
  assert.deepEqual(shapes, [[12, VOCAB_SIZE], [12]]);
  const ev = evaluate(modelShape(config), theta, batch);
  assert.equal(ev.loss.length, 12);
  assert.equal(ev.correct.length, 12);
});

test('forward pass agrees with an independent float64 implementation', () => {
  const { evalExamples } = makeSplits(config);
  const ex = evalExamples.slice(0, 24);
  for (const [m, theta] of [
    [modelShape(config), perturbed(modelShape(config), 4, 0.2)],
    [
      { ...ARITHMETIC_SHAPE, nLayers: 2, dModel: 16, nHeads: 4, dMlp: 24 },
      perturbed({ ...ARITHMETIC_SHAPE, nLayers: 2, dModel: 16, nHeads: 4, dMlp: 24 }, 5, 0.6),
    ],
  ] as const) {
    const batch = encodeBatch(ARITHMETIC_SHAPE, encodeSequences(ex));
    const got = tf.tidy(() => outputLogits(m, tf.tensor1d(theta), batch).dataSync());
    const want = referenceForward(m, theta, encodeSequences(ex)).logits;
    let worst = 0;
    let spread = 0;
    for (let i = 0; i < want.length; i++) {
      worst = Math.max(worst, Math.abs(got[i] - want[i]));
      spread = Math.max(spread, Math.abs(want[i]));
    }
    console.log(
      `logits vs float64 reference (${numParams(m)} parameters): max |difference| ${worst.toExponential(2)}, max |logit| ${spread.toFixed(2)}`,
    );
    assert.ok(spread > 0.5, 'the test point must have non-trivial logits');
    assert.ok(worst < 2e-5 * Math.max(1, spread), `max logit difference ${worst}`);
  }
});

test('every parameter tensor: tf.grad agrees with float64 central differences, coordinate by coordinate', () => {
  const { hessianExamples } = makeSplits({ seed: 0, data: { evalSize: 4, hessianSize: 12 } });
  const theta = perturbed(micro, 3, 0.6);
  const { grad } = lossAndGrad(micro, theta, encodeBatch(ARITHMETIC_SHAPE, encodeSequences(hessianExamples)));
  const t64 = Float64Array.from(theta);
  // float64 loss: central differences with h = 1e-5 have error ~1e-10 (truncation h²·L''' and rounding 1e-16/h).
  const h = 1e-5;
  const ref = new Float64Array(theta.length);
  for (let i = 0; i < theta.length; i++) {
    const keep = t64[i];
    t64[i] = keep + h;
    const lp = referenceMeanLoss(micro, t64, encodeSequences(hessianExamples));
    t64[i] = keep - h;
    const lm = referenceMeanLoss(micro, t64, encodeSequences(hessianExamples));
    t64[i] = keep;
    ref[i] = (lp - lm) / (2 * h);
  }
  const report: string[] = [];
  let gnorm = 0;
  for (const x of ref) gnorm += x * x;
  gnorm = Math.sqrt(gnorm);
  for (const e of paramLayout(micro)) {
    let num = 0;
    let den = 0;
    for (let i = e.offset; i < e.offset + e.size; i++) {
      num += (grad[i] - ref[i]) ** 2;
      den += ref[i] ** 2;
    }
    const rel = Math.sqrt(num / den);
    report.push(`${e.name} ${rel.toExponential(1)}`);
    // float32 forward and backward: relative error ~1e-6 per tensor; a tensor whose gradient is
    // tiny compared with the whole gradient is held to an absolute bound relative to ‖∇L‖.
    assert.ok(Math.sqrt(num) <= 1e-4 * Math.sqrt(den) + 1e-6 * gnorm, `${e.name}: relative error ${rel}`);
  }
  console.log(`tf.grad vs float64 differences (${theta.length} parameters), per-tensor relative error: ${report.join(', ')}`);
});

test('tiny preset: tf.grad along a random direction in each tensor agrees with float64 differences', () => {
  const { hessianExamples } = makeSplits(config);
  const ex = hessianExamples.slice(0, 16);
  const theta = perturbed(modelShape(config), 1, 0.2);
  const { grad } = lossAndGrad(modelShape(config), theta, encodeBatch(ARITHMETIC_SHAPE, encodeSequences(ex)));
  const d = theta.length;
  let worst = 0;
  for (const e of paramLayout(modelShape(config))) {
    const v = new Float64Array(d);
    let nrm = 0;
    for (let i = 0; i < e.size; i++) {
      v[e.offset + i] = uniform(11, 12, e.offset + i) - 0.5;
      nrm += v[e.offset + i] ** 2;
    }
    for (let i = 0; i < e.size; i++) v[e.offset + i] /= Math.sqrt(nrm);
    let g = 0;
    for (let i = 0; i < d; i++) g += grad[i] * v[i];
    const L = (s: number) =>
      referenceMeanLoss(
        modelShape(config),
        Float64Array.from(theta, (x, i) => x + s * v[i]),
        encodeSequences(ex),
      );
    const h = 1e-4;
    const fd = (L(-2 * h) - 8 * L(-h) + 8 * L(h) - L(2 * h)) / (12 * h);
    const err = Math.abs(g - fd) / Math.max(Math.abs(fd), 1e-3);
    worst = Math.max(worst, err);
    assert.ok(err < 1e-3, `${e.name}: autodiff ${g} vs float64 differences ${fd}`);
  }
  console.log(`tiny preset, per-tensor directional gradient: max relative error ${worst.toExponential(2)}`);
});

test('tokenGrad of one token agrees with float64 differences of that token loss, without leaking tensors', () => {
  const { evalExamples, hessianExamples } = makeSplits(config);
  const ex = evalExamples.slice(0, 10);
  const model = makeTokenLossModel(modelShape(config), encodeSequences(ex), encodeSequences(hessianExamples.slice(0, 10)));
  const theta = perturbed(modelShape(config), 2, 0.2);
  const before = tf.memory().numTensors;
  const token = 5;
  const g = model.tokenGrad(theta, token);
  const v = Float64Array.from(g, (_, i) => uniform(5, 6, i) - 0.5);
  const nv = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  for (let i = 0; i < v.length; i++) v[i] /= nv;
  const f = (s: number) =>
    referenceForward(
      modelShape(config),
      Float64Array.from(theta, (t, i) => t + s * v[i]),
      encodeSequences(ex),
    ).losses[token];
  const h = 1e-4;
  const fd = (f(-2 * h) - 8 * f(-h) + 8 * f(h) - f(2 * h)) / (12 * h);
  const exact = g.reduce((s, x, i) => s + x * v[i], 0);
  assert.ok(Math.abs(fd - exact) <= 1e-3 * Math.abs(fd), `${exact} vs ${fd}`);
  // tokenLosses agree with the reference too
  const tl = model.tokenLosses(theta);
  const rl = referenceForward(modelShape(config), theta, encodeSequences(ex)).losses;
  for (let x = 0; x < tl.length; x++) assert.ok(Math.abs(tl[x] - rl[x]) < 1e-5 * Math.max(1, rl[x]));
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  model.dispose();
});
