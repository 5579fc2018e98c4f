import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adjustedMutualInfo, dominantPerCluster, lgamma, readSkills, shuffledBaseline, weightedHomogeneity } from '../../core/skills.ts';
import { clusterCurves, deltaTrajectories, lossTrajectories, scale } from '../../core/trajectories.ts';

test('dominant skill and share per cluster, outliers excluded', () => {
  const labels = [0, 0, 0, 1, 1, -1, -1];
  const carry = [1, 1, 0, 0, 0, 1, 1];
  assert.deepEqual(dominantPerCluster(labels, carry), [
    { cluster: 0, size: 3, dominant: 1, share: 2 / 3 },
    { cluster: 1, size: 2, dominant: 0, share: 1 },
  ]);
  assert.equal(weightedHomogeneity(labels, carry), (2 + 2) / 5);
  // ties go to the smallest value
  assert.equal(dominantPerCluster([0, 0], [7, 3])[0].dominant, 3);
});

test('the shuffled baseline of a perfect clustering is near the majority share', () => {
  const n = 2000;
  const skill = Array.from({ length: n }, (_, i) => i % 4);
  const labels = skill.slice();
  assert.equal(weightedHomogeneity(labels, skill), 1);
  const b = shuffledBaseline(labels, skill, 10, 1);
  assert.ok(b > 0.25 && b < 0.3, `baseline ${b}`);
  assert.equal(shuffledBaseline(labels, skill, 10, 1), b, 'seeded');
});

test('lgamma and AMI arithmetic', () => {
  assert.ok(Math.abs(lgamma(10) - Math.log(362880)) < 1e-12);
  assert.ok(Math.abs(lgamma(0.5) - 0.5 * Math.log(Math.PI)) < 1e-12);
  assert.equal(adjustedMutualInfo([0, 0, 1, 1], [5, 5, 7, 7]), 1);
  assert.equal(adjustedMutualInfo([0, 0, 0], [1, 1, 1]), 1);
  // scikit-learn 1.9.1: adjusted_mutual_info_score([0,0,1,1,2,2],[0,0,1,2,2,2]) = 0.5023607027202738
  const v = adjustedMutualInfo([0, 0, 1, 1, 2, 2], [0, 0, 1, 2, 2, 2]);
  assert.ok(Math.abs(v - 0.5023607027202738) < 1e-12, `${v}`);
  const r = readSkills([0, 0, 1, 1, -1], { digit: [0, 0, 3, 3, 1] }, 3, 0);
  assert.equal(r.summary[0].homogeneity, 1);
  assert.equal(r.summary[0].clusters, 2);
  assert.equal(r.summary[0].outliers, 1);
});

test('trajectory families, scalings and cluster curves', () => {
  const losses = [Float32Array.from([2, 1]), Float32Array.from([1, 1]), Float32Array.from([0.5, 2])];
  const loss = lossTrajectories(losses);
  assert.deepEqual([...loss[0]], [2, 1, 0.5]);
  assert.deepEqual([...deltaTrajectories(loss)[1]], [0, 1]);
  assert.deepEqual([...deltaTrajectories(loss, true)[0]], [1, 0.5]);
  const z = scale([Float64Array.from([1, 2, 3]), Float64Array.from([4, 4, 4])], 'zscore-token');
  assert.ok(Math.abs(z[0][2] - Math.sqrt(1.5)) < 1e-12);
  assert.deepEqual([...z[1]], [0, 0, 0]);
  const u = scale([Float64Array.from([3, 4])], 'unit-norm');
  assert.deepEqual([...u[0]], [0.6, 0.8]);
  const curves = clusterCurves([Float64Array.from([1, 2]), Float64Array.from([3, 4])], [0, 0]);
  assert.deepEqual(curves[0], { cluster: 0, checkpoint: 0, mean: 2, std: 1, size: 2 });
});
