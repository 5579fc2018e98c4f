import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../../config/index.ts';
import { initBackend } from '../../core/backend.ts';
import { makeData } from '../../core/data.ts';
import { encodeBatch, initParams, lossAndGrad, makeTokenLossModel, numParams, outputLogits, paramLayout } from '../../core/model.ts';
import { uniform } from '../../core/rng.ts';

before(async () => {
  await initBackend('wasm');
});

const config = resolveConfig({ preset: 'tiny' });

test('parameter layout is contiguous and forward shapes are right', () => {
  const layout = paramLayout(config.model);
  let off = 0;
  for (const e of layout) {
    assert.equal(e.offset, off);
    off += e.size;
  }
  assert.equal(off, numParams(config.model));
  const batch = encodeBatch([{ a: 1, b: 2 }, { a: 999, b: 999 }, { a: 500, b: 500 }]);
  const logits = tf.tidy(() => outputLogits(config.model, tf.tensor1d(initParams(config.model, 0)), batch).shape);
  assert.deepEqual(logits, [12, 12]);
});

test('each parameter tensor: tf.grad gradient agrees with central finite differences of the loss', () => {
  const { hessianExamples } = makeData(config);
  const batch = encodeBatch(hessianExamples);
  const theta = initParams(config.model, 1);
  const { grad } = lossAndGrad(config.model, theta, batch);
  const d = theta.length;
  const loss = (v: Float64Array, s: number) => {
    const th = new Float32Array(d);
    for (let i = 0; i < d; i++) th[i] = theta[i] + s * v[i];
    return lossAndGrad(config.model, th, batch).loss;
  };
  for (const e of paramLayout(config.model)) {
    // a random unit direction inside this tensor
    const v = new Float64Array(d);
    let nrm = 0;
    for (let i = 0; i < e.size; i++) {
      v[e.offset + i] = uniform(11, 12, e.offset + i) - 0.5;
      nrm += v[e.offset + i] ** 2;
    }
    for (let i = 0; i < e.size; i++) v[e.offset + i] /= Math.sqrt(nrm);
    let g = 0;
    for (let i = 0; i < d; i++) g += grad[i] * v[i];
    const h = 3e-2;
    const fd = (loss(v, -2 * h) - 8 * loss(v, -h) + 8 * loss(v, h) - loss(v, 2 * h)) / (12 * h);
    // float32 loss rounding limits the finite difference to ~1e-4 absolute at this step
    assert.ok(Math.abs(g - fd) <= 2e-2 * Math.abs(fd) + 2e-4, `${e.name}: autodiff ${g} vs finite differences ${fd}`);
  }
});

test('tokenGrad of one token agrees with the loss of that token', () => {
  const { evalExamples, hessianExamples } = makeData(config);
  const model = makeTokenLossModel(config.model, evalExamples.slice(0, 10), hessianExamples.slice(0, 10));
  const theta = initParams(config.model, 2);
  const before = tf.memory().numTensors;
  const g = model.tokenGrad(theta, 5);
  const r = Float32Array.from(g, (_, i) => uniform(5, 6, i) - 0.5);
  const v = r.map((x) => x / Math.hypot(...r));
  const f = (s: number) => model.tokenLosses(theta.map((t, i) => t + s * v[i]))[5];
  const h = 3e-2;
  const fd = (f(-2 * h) - 8 * f(-h) + 8 * f(h) - f(2 * h)) / (12 * h);
  const exact = g.reduce((s, x, i) => s + x * v[i], 0);
  assert.ok(Math.abs(fd - exact) <= 1e-2 * Math.abs(exact), `${fd} vs ${exact}`);
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  model.dispose();
});
