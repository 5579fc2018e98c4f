import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  adjustedMutualInfo,
  dominantPerCluster,
  lgamma,
  readSkills,
  shuffledBaseline,
  weightedHomogeneity,
} from '../../core/cluster/skills.ts';

test('dominant skill and share per cluster, outliers excluded', () => {
  const labels = [0, 0, 0, 1, 1, -1, -1];
  const carry = [1, 1, 0, 0, 0, 1, 1];
  assert.deepEqual(dominantPerCluster(labels, carry), [
    { cluster: 0, size: 3, dominant: 1, share: 2 / 3 },
    { cluster: 1, size: 2, dominant: 0, share: 1 },
  ]);
  // size-weighted: (3·2/3 + 2·1) / 5; the two outliers (both carry 1) do not enter
  assert.equal(weightedHomogeneity(labels, carry), (2 + 2) / 5);
  // ties go to the smallest value
  assert.equal(dominantPerCluster([0, 0], [7, 3])[0].dominant, 3);
  assert.ok(Number.isNaN(weightedHomogeneity([-1, -1], [0, 1])), 'no clustered token');
});

test('the shuffled baseline is the expected homogeneity under random placement (hand enumeration)', () => {
  // clusters of sizes 2 and 4, skill 1 on two tokens. Of the C(6,2) = 15 placements:
  // both 1s in the pair (1 way) → homogeneity 1; otherwise (14 ways) → 4/6. Expectation 62/90.
  const labels = [0, 0, 1, 1, 1, 1];
  const skill = [1, 1, 0, 0, 0, 0];
  const b = shuffledBaseline(labels, skill, 20000, 7);
  assert.ok(Math.abs(b - 62 / 90) < 3e-3, `baseline ${b} vs ${62 / 90}`);
  assert.equal(shuffledBaseline(labels, skill, 20000, 7), b, 'seeded');
  // a single cluster: every permutation gives the majority share
  assert.equal(shuffledBaseline([0, 0, 0, 0], [1, 1, 1, 2], 5, 1), 0.75);
  // outliers are not shuffled in: adding outliers with another skill changes nothing
  assert.equal(shuffledBaseline([0, 0, 0, 0, -1, -1], [1, 1, 1, 2, 9, 9], 5, 1), 0.75);
  assert.throws(() => shuffledBaseline(labels, skill, 0, 1), /shuffles must be an integer ≥ 1/);
});

test('lgamma and AMI arithmetic against scikit-learn 1.9.1 adjusted_mutual_info_score', () => {
  assert.ok(Math.abs(lgamma(10) - Math.log(362880)) < 1e-12);
  assert.ok(Math.abs(lgamma(0.5) - 0.5 * Math.log(Math.PI)) < 1e-12);
  assert.equal(adjustedMutualInfo([0, 0, 1, 1], [5, 5, 7, 7]), 1);
  assert.equal(adjustedMutualInfo([0, 0, 0], [1, 1, 1]), 1);
  const cases: [number[], number[], number][] = [
    [[0, 0, 1, 1, 2, 2], [0, 0, 1, 2, 2, 2], 0.5023607027202738],
    [[0, 1, 2, 3], [0, 0, 1, 1], -6.406853007629836e-16],
    [[0, 0, 0, 1, 1, 1, 2, 2, 2], [0, 0, 1, 1, 1, 2, 2, 2, 2], 0.4086705097217217],
  ];
  for (const [a, b, want] of cases) {
    const v = adjustedMutualInfo(a, b);
    assert.ok(Math.abs(v - want) < 1e-12, `${v} vs ${want}`);
  }
});

test('readSkills: outliers are not a cluster for homogeneity, baseline and ami; amiWithOutliers keeps them', () => {
  const labels = [0, 0, 0, 1, 1, 1, -1, -1, 2, 2, 2, 2];
  const value = [1, 1, 2, 3, 3, 3, 1, 3, 2, 2, 2, 1];
  const r = readSkills(labels, { value, carry: labels.map((l) => (l === 1 ? 1 : 0)) }, 3, 0);
  const v = r.summary[0];
  assert.equal(v.skill, 'value');
  assert.equal(v.clusters, 3);
  assert.equal(v.outliers, 2);
  assert.equal(v.homogeneity, (2 + 3 + 3) / 10);
  // scikit-learn: adjusted_mutual_info_score on the 10 clustered tokens, and on all 12 raw labels
  assert.ok(Math.abs(v.ami - 0.4772899900014571) < 1e-12, `${v.ami}`);
  assert.ok(Math.abs(v.amiWithOutliers - 0.31996324763435735) < 1e-12, `${v.amiWithOutliers}`);
  assert.deepEqual(
    r.perCluster.filter((c) => c.skill === 'value').map((c) => [c.cluster, c.dominant, c.share]),
    [
      [0, 1, 2 / 3],
      [1, 3, 1],
      [2, 2, 3 / 4],
    ],
  );
  assert.equal(r.summary[1].homogeneity, 1);
  const none = readSkills([-1, -1], { digit: [0, 1] }, 2, 0).summary[0];
  assert.ok(Number.isNaN(none.homogeneity) && Number.isNaN(none.baseline) && Number.isNaN(none.ami));
  assert.throws(() => readSkills([0, 0], { digit: [1] }, 2, 0), /skill digit has 1 values for 2 labels/);
});
