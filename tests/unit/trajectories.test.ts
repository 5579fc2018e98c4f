import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterCurves, deltaTrajectories, lossTrajectories, scale } from '../../core/attribution/trajectories.ts';

const close = (a: ArrayLike<number>, b: number[], tol = 1e-12) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
};

test('loss trajectories transpose checkpoint-major losses into one row per token', () => {
  const losses = [Float32Array.from([2, 1]), Float32Array.from([1, 1]), Float32Array.from([0.5, 2])];
  const loss = lossTrajectories(losses);
  assert.equal(loss.length, 2);
  assert.deepEqual([...loss[0]], [2, 1, 0.5]);
  assert.deepEqual([...loss[1]], [1, 1, 2]);
  assert.deepEqual(lossTrajectories([]), []);
});

test('ΔL and |ΔL| are consecutive differences, T+1 losses giving T values', () => {
  const loss = [Float64Array.from([2, 1, 0.5]), Float64Array.from([1, 1, 2])];
  assert.deepEqual([...deltaTrajectories(loss)[0]], [-1, -0.5]);
  assert.deepEqual([...deltaTrajectories(loss)[1]], [0, 1]);
  assert.deepEqual([...deltaTrajectories(loss, true)[0]], [1, 0.5]);
});

test('scalings by hand: z-score per token, unit norm, none', () => {
  // [1,2,3]: mean 2, population sd √(2/3), so z = ∓√1.5, 0
  const z = scale([Float64Array.from([1, 2, 3]), Float64Array.from([4, 4, 4])], 'zscore-token');
  close(z[0], [-Math.sqrt(1.5), 0, Math.sqrt(1.5)]);
  assert.deepEqual([...z[1]], [0, 0, 0], 'a constant trajectory becomes zeros');
  close(scale([Float64Array.from([3, 4]), Float64Array.from([0, 0])], 'unit-norm')[0], [0.6, 0.8]);
  assert.deepEqual([...scale([Float64Array.from([0, 0])], 'unit-norm')[0]], [0, 0], 'a zero trajectory stays zero');
  const raw = [Float64Array.from([5, -1])];
  assert.equal(scale(raw, 'none')[0], raw[0]);
});

test('cluster curves: mean and population sd per checkpoint, outliers as their own group', () => {
  const rows = [Float64Array.from([1, 2]), Float64Array.from([3, 4]), Float64Array.from([10, 0])];
  const curves = clusterCurves(rows, [0, 0, -1]);
  assert.deepEqual(curves, [
    { cluster: -1, checkpoint: 0, mean: 10, std: 0, size: 1 },
    { cluster: -1, checkpoint: 1, mean: 0, std: 0, size: 1 },
    { cluster: 0, checkpoint: 0, mean: 2, std: 1, size: 2 },
    { cluster: 0, checkpoint: 1, mean: 3, std: 1, size: 2 },
  ]);
});

test('bad trajectories give clear errors', () => {
  assert.throws(
    () => lossTrajectories([Float32Array.from([1, 2]), Float32Array.from([1])]),
    /checkpoint 1 has 1 token losses, checkpoint 0 has 2/,
  );
  assert.throws(() => lossTrajectories([Float32Array.from([1, Number.NaN])]), /token 1 has a non-finite value NaN at checkpoint 0/);
  assert.throws(() => deltaTrajectories([Float64Array.from([1])]), /at least 2 checkpoint\(s\) per token; got 1/);
  assert.throws(() => deltaTrajectories([Float64Array.from([1, 2]), Float64Array.from([1])]), /token 1 has 1 values, token 0 has 2/);
  assert.throws(() => scale([Float64Array.from([1, Number.POSITIVE_INFINITY])], 'unit-norm'), /non-finite value Infinity at checkpoint 1/);
  assert.throws(() => scale([Float64Array.from([1])], 'minmax' as any), /unknown scaling minmax/);
  assert.throws(() => clusterCurves([Float64Array.from([1])], [0, 1]), /1 rows but 2 labels/);
});
