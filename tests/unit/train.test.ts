import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../../config/index.ts';
import { initBackend } from '../../core/model/backend.ts';
import { adamwStep, initTrainState, learningRate, trainSegment } from '../../core/train/train.ts';

before(async () => {
  await initBackend();
});

const config = resolveConfig({ preset: 'tiny' });
const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;

test('tiny training lowers the evaluation loss and keeps the tensor count flat', async () => {
  const before = tf.memory().numTensors;
  const r = await trainSegment(config, initTrainState(config), 80);
  assert.equal(r.checkpoints.length, 80 / config.train.checkpointEvery + 1);
  const first = mean(r.evalRows[0].loss);
  const last = mean(r.evalRows.at(-1)!.loss);
  assert.ok(last < 0.8 * first, `loss ${first} → ${last}`);
  assert.equal(tf.memory().numTensors, before);
});

test('the same seed gives bit-identical checkpoints', async () => {
  const a = await trainSegment(config, initTrainState(config), 20);
  const b = await trainSegment(config, initTrainState(config), 20);
  assert.equal(a.checkpoints.length, 3);
  a.checkpoints.forEach((cp, i) => {
    assert.equal(cp.iteration, b.checkpoints[i].iteration);
    assert.ok(Buffer.from(cp.params.buffer).equals(Buffer.from(b.checkpoints[i].params.buffer)), `checkpoint ${cp.iteration}`);
  });
  assert.ok(Buffer.from(a.state.m.buffer).equals(Buffer.from(b.state.m.buffer)));
  assert.ok(Buffer.from(a.state.v.buffer).equals(Buffer.from(b.state.v.buffer)));
  assert.deepEqual(a.trainLoss, b.trainLoss);
  const c = await trainSegment({ ...config, seed: 1 }, initTrainState({ ...config, seed: 1 }), 20);
  assert.notDeepEqual(a.state.params, c.state.params);
});

test('AdamW step and learning-rate schedule match an independent float64 formulation', () => {
  const d = 50;
  const train = { ...config.train, lr: 0.01, warmup: 3, weightDecay: 0.1, gradClip: 0.5, schedule: 'cosine' as const, iterations: 10 };
  const mask = Float32Array.from({ length: d }, (_, i) => (i % 3 === 0 ? 0 : 1));
  const state = {
    step: 0,
    params: Float32Array.from({ length: d }, (_, i) => Math.sin(i)),
    m: new Float32Array(d),
    v: new Float32Array(d),
  };
  const p = Float64Array.from(state.params);
  const m = new Float64Array(d);
  const v = new Float64Array(d);
  for (let t = 1; t <= 10; t++) {
    const g = Float32Array.from({ length: d }, (_, i) => Math.cos(i * t) * (t % 2 ? 1 : 0.01));
    // schedule: linear warmup from lr/warmup, then cosine to 0 at `iterations`
    const lr = t - 1 < 3 ? (0.01 * t) / 3 : 0.5 * 0.01 * (1 + Math.cos((Math.PI * (t - 1 - 3)) / 7));
    assert.ok(Math.abs(learningRate(train, t - 1) - lr) < 1e-15, `lr at ${t - 1}`);
    const gn = Math.hypot(...g);
    const sc = gn > 0.5 ? 0.5 / gn : 1;
    for (let i = 0; i < d; i++) {
      const gi = g[i] * sc;
      m[i] = 0.9 * m[i] + 0.1 * gi;
      v[i] = train.beta2 * v[i] + (1 - train.beta2) * gi * gi;
      const mh = m[i] / (1 - 0.9 ** t);
      const vh = v[i] / (1 - train.beta2 ** t);
      p[i] = p[i] - lr * 0.1 * mask[i] * p[i] - (lr * mh) / (Math.sqrt(vh) + train.eps);
    }
    adamwStep(train, state, g, mask, lr);
    assert.equal(state.step, t);
    for (let i = 0; i < d; i++) assert.ok(Math.abs(state.params[i] - p[i]) < 1e-6, `step ${t} param ${i}: ${state.params[i]} vs ${p[i]}`);
  }
  assert.equal(learningRate({ ...train, schedule: 'constant' }, 9), 0.01);
});

test('segments run one by one in separate processes give the bytes of one continuous run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'polca-resume-'));
  const child = (from: string, until: number, out: string) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, '../helpers/train-child.ts'), from, String(until), out],
        {
          encoding: 'utf8',
        },
      )
        .trim()
        .split('\n')
        .at(-1)!,
    ) as [number, string][];
  const whole = child('-', 60, join(dir, 'whole.json'));
  const a = child('-', 20, join(dir, 's1.json'));
  const b = child(join(dir, 's1.json'), 40, join(dir, 's2.json'));
  const c = child(join(dir, 's2.json'), 60, join(dir, 's3.json'));
  assert.deepEqual([...a, ...b, ...c], whole);
});
