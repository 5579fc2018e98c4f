import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { hdbscan } from '../../core/hdbscan.ts';
import { adjustedMutualInfo } from '../../core/skills.ts';

const dir = join(import.meta.dirname, '../fixtures/hdbscan');

/** Same partition up to renaming, noise (−1) in the same places. */
function samePartition(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((a[i] === -1) !== (b[i] === -1)) return false;
    if (a[i] === -1) continue;
    if ((ab.get(a[i]) ?? b[i]) !== b[i] || (ba.get(b[i]) ?? a[i]) !== a[i]) return false;
    ab.set(a[i], b[i]);
    ba.set(b[i], a[i]);
  }
  return true;
}

interface Fixture {
  name: string;
  points: number[][];
  truth: number[];
  cases: {
    params: { min_cluster_size: number; min_samples?: number; cluster_selection_method?: 'eom' | 'leaf'; allow_single_cluster?: boolean; cluster_selection_epsilon?: number };
    labels: number[];
    probabilities: number[];
    labels_stable: number[];
    probabilities_stable: number[];
    ami_truth: number;
  }[];
}

let publicAgree = 0;
let total = 0;
for (const file of readdirSync(dir).sort()) {
  const fx = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Fixture;
  for (const c of fx.cases) {
    test(`HDBSCAN on ${fx.name} ${JSON.stringify(c.params)} matches scikit-learn`, () => {
      const p = c.params;
      const r = hdbscan(fx.points, {
        minClusterSize: p.min_cluster_size,
        minSamples: p.min_samples,
        selection: p.cluster_selection_method ?? 'eom',
        allowSingleCluster: p.allow_single_cluster ?? false,
        clusterSelectionEpsilon: p.cluster_selection_epsilon ?? 0,
      });
      assert.ok(samePartition(r.labels, c.labels_stable), 'labels differ from scikit-learn (stable edge order)');
      for (let i = 0; i < r.probabilities.length; i++) assert.ok(Math.abs(r.probabilities[i] - c.probabilities_stable[i]) < 1e-9, `probability ${i}`);
      total++;
      if (samePartition(r.labels, c.labels)) publicAgree++;
      // AMI against scikit-learn's adjusted_mutual_info_score
      assert.ok(Math.abs(adjustedMutualInfo(fx.truth, c.labels) - c.ami_truth) < 1e-10);
    });
  }
}

test('agreement with the public sklearn.cluster.HDBSCAN API where its unstable edge sort does not matter', () => {
  console.log(`identical to sklearn.cluster.HDBSCAN(algorithm="brute") labels in ${publicAgree} of ${total} cases`);
  assert.ok(publicAgree >= total - 6 && total >= 25);
});

test('bad input gives a clear error', () => {
  assert.throws(() => hdbscan([[1], [2]], { minClusterSize: 5 }), /at least max\(minClusterSize, minSamples\) = 5 points; got 2/);
  assert.throws(() => hdbscan([[1, Number.NaN], [2, 3], [4, 5]], { minClusterSize: 2 }), /trajectory 0 has a non-finite value NaN at position 1/);
  assert.throws(() => hdbscan([[], [], []], { minClusterSize: 2 }), /length ≥ 1; got length 0/);
  assert.throws(() => hdbscan([[1], [2, 3], [4]], { minClusterSize: 2 }), /trajectory 1 has length 2/);
  assert.throws(() => hdbscan([[1], [2], [3]], { minClusterSize: 1 }), /minClusterSize must be an integer ≥ 2/);
});
