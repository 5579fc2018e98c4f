import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type HdbscanOptions, hdbscan } from '../../core/cluster/hdbscan.ts';
import { adjustedMutualInfo } from '../../core/cluster/skills.ts';

const dir = join(import.meta.dirname, '../fixtures/hdbscan');

/** Same partition up to renaming, noise (−1) in the same places. */
function samePartition(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
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

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface Params {
  min_cluster_size: number;
  min_samples?: number;
  cluster_selection_method?: 'eom' | 'leaf';
  allow_single_cluster?: boolean;
  cluster_selection_epsilon?: number;
}
interface Case {
  params: Params;
  labels: number[];
  probabilities: number[];
  labels_stable: number[];
  probabilities_stable: number[];
  ami_truth: number;
  hdbscan_pkg_labels?: number[];
  hdbscan_pkg_probabilities?: number[];
  hdbscan_pkg_labels_stable?: number[];
  hdbscan_pkg_probabilities_stable?: number[];
}
interface Fixture {
  name: string;
  versions: Record<string, string | null>;
  points: number[][];
  truth: number[];
  cases: Case[];
}

const options = (p: Params): HdbscanOptions => ({
  minClusterSize: p.min_cluster_size,
  minSamples: p.min_samples,
  selection: p.cluster_selection_method ?? 'eom',
  allowSingleCluster: p.allow_single_cluster ?? false,
  clusterSelectionEpsilon: p.cluster_selection_epsilon ?? 0,
});

const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture);

const tally = { cases: 0, sklearnPublic: 0, pkgCases: 0, pkgLabels: 0, pkgProbabilities: 0 };

for (const fx of fixtures) {
  for (const c of fx.cases) {
    test(`HDBSCAN on ${fx.name} ${JSON.stringify(c.params)} matches scikit-learn ${fx.versions.sklearn} and the hdbscan package`, () => {
      const r = hdbscan(fx.points, options(c.params));
      assert.ok(samePartition(r.labels, c.labels_stable), 'labels differ from scikit-learn (stable edge order)');
      assert.equal(r.nClusters, new Set(c.labels_stable.filter((l) => l >= 0)).size);
      const dp = maxAbsDiff(r.probabilities, c.probabilities_stable);
      assert.ok(dp < 1e-12, `probabilities differ by ${dp}`);
      tally.cases++;
      if (samePartition(r.labels, c.labels)) tally.sklearnPublic++;
      if (c.hdbscan_pkg_labels_stable && c.hdbscan_pkg_probabilities_stable) {
        // the hdbscan package's own pipeline (min_samples − 1), direct distances, stable sort
        assert.ok(samePartition(r.labels, c.hdbscan_pkg_labels_stable), `labels differ from the hdbscan package ${fx.versions.hdbscan}`);
        const dq = maxAbsDiff(r.probabilities, c.hdbscan_pkg_probabilities_stable);
        assert.ok(dq < 1e-12, `probabilities differ from the hdbscan package by ${dq}`);
      }
      if (c.hdbscan_pkg_labels) {
        tally.pkgCases++;
        if (samePartition(r.labels, c.hdbscan_pkg_labels)) {
          tally.pkgLabels++;
          if (c.hdbscan_pkg_probabilities && maxAbsDiff(r.probabilities, c.hdbscan_pkg_probabilities) < 1e-9) tally.pkgProbabilities++;
        }
      }
      // AMI against scikit-learn's adjusted_mutual_info_score
      const ami = adjustedMutualInfo(fx.truth, c.labels);
      assert.ok(Math.abs(ami - c.ami_truth) < 1e-10, `AMI ${ami} vs ${c.ami_truth}`);
    });
  }
}

test('the recomputing path (no stored matrix) and two threads give bitwise the same result', () => {
  let checked = 0;
  for (const fx of fixtures)
    for (const c of fx.cases) {
      const base = hdbscan(fx.points, { ...options(c.params), threads: 1 });
      for (const variant of [{ threads: 1, matrixBytes: 0 }, { threads: 2 }, { threads: 2, matrixBytes: 0 }]) {
        const r = hdbscan(fx.points, { ...options(c.params), ...variant });
        assert.deepEqual(r.labels, base.labels, `${fx.name} ${JSON.stringify(variant)}`);
        assert.deepEqual(r.probabilities, base.probabilities, `${fx.name} ${JSON.stringify(variant)}`);
        assert.deepEqual(r.condensed, base.condensed);
      }
      checked++;
    }
  assert.ok(checked >= 35, `${checked} cases`);
});

test('agreement with the public sklearn.cluster.HDBSCAN and with the hdbscan package', () => {
  console.log(
    `identical to sklearn.cluster.HDBSCAN(algorithm="brute") labels in ${tally.sklearnPublic} of ${tally.cases} cases; ` +
      `to the hdbscan package (min_samples − 1) in ${tally.pkgLabels} of ${tally.pkgCases}, probabilities too in ${tally.pkgProbabilities}`,
  );
  assert.ok(tally.cases >= 38, `${tally.cases} cases ran`);
  // the public API differs only where its unstable edge sort or ‖a‖²+‖b‖²−2a·b distances flip a tie
  assert.ok(tally.sklearnPublic >= tally.cases - 6);
  assert.ok(tally.pkgLabels >= tally.pkgCases - 8);
});

test('degenerate inputs give the documented (scikit-learn) result', () => {
  // all points identical: every distance 0, λ = ∞; no split, so only allowSingleCluster finds a cluster
  const same = Array.from({ length: 20 }, () => [1, 2]);
  const r0 = hdbscan(same, { minClusterSize: 5 });
  assert.deepEqual([...new Set(r0.labels)], [-1]);
  assert.equal(r0.nClusters, 0);
  const r1 = hdbscan(same, { minClusterSize: 5, allowSingleCluster: true });
  assert.deepEqual([...new Set(r1.labels)], [0]);
  assert.deepEqual([...new Set(r1.probabilities)], [1]);
  // n exactly minClusterSize: the root is the only candidate, all noise unless allowSingleCluster
  const five = [[0], [0.1], [0.3], [0.35], [1]];
  assert.deepEqual([...hdbscan(five, { minClusterSize: 5 }).labels], [-1, -1, -1, -1, -1]);
  // n below minClusterSize (minSamples ≤ n): all noise, as scikit-learn
  assert.deepEqual([...hdbscan(five, { minClusterSize: 8, minSamples: 2 }).labels], [-1, -1, -1, -1, -1]);
  // two points
  assert.deepEqual([...hdbscan([[0], [1]], { minClusterSize: 2 }).labels], [-1, -1]);
});

test('bad input gives a clear error', () => {
  assert.throws(
    () => hdbscan([[1], [2]], { minClusterSize: 5 }),
    /at least minSamples = 5 points \(minSamples defaults to minClusterSize\); got 2/,
  );
  assert.throws(() => hdbscan([[1], [2], [3]], { minClusterSize: 2, minSamples: 4 }), /at least minSamples = 4 points; got 3/);
  assert.throws(() => hdbscan([[1]], { minClusterSize: 2, minSamples: 1 }), /at least 2 points; got 1/);
  assert.throws(() => hdbscan([], { minClusterSize: 2, minSamples: 1 }), /at least 2 points; got 0/);
  assert.throws(
    () =>
      hdbscan(
        [
          [1, Number.NaN],
          [2, 3],
          [4, 5],
        ],
        { minClusterSize: 2 },
      ),
    /trajectory 0 has a non-finite value NaN at position 1/,
  );
  assert.throws(
    () =>
      hdbscan(
        [
          [1, 2],
          [2, Number.POSITIVE_INFINITY],
          [4, 5],
        ],
        { minClusterSize: 2 },
      ),
    /trajectory 1 has a non-finite value Infinity at position 1/,
  );
  assert.throws(() => hdbscan([[], [], []], { minClusterSize: 2 }), /length ≥ 1; got length 0/);
  assert.throws(() => hdbscan([[1], [2, 3], [4]], { minClusterSize: 2 }), /trajectory 1 has length 2, expected 1/);
  assert.throws(() => hdbscan([[1], [2], [3]], { minClusterSize: 1 }), /minClusterSize must be an integer ≥ 2/);
  assert.throws(() => hdbscan([[1], [2], [3]], { minClusterSize: 2, minSamples: 0 }), /minSamples must be an integer ≥ 1/);
  assert.throws(
    () => hdbscan([[1], [2], [3]], { minClusterSize: 2, clusterSelectionEpsilon: -1 }),
    /clusterSelectionEpsilon must be a finite number ≥ 0/,
  );
  assert.throws(() => hdbscan([[1], [2], [3]], { minClusterSize: 2, threads: 0 }), /threads must be an integer ≥ 1/);
  assert.throws(() => hdbscan([[1], null as any, [3]], { minClusterSize: 2 }), /trajectory 1 is not an array of numbers/);
});

/** A seeded permutation of 0..n−1 (Fisher–Yates on a small LCG; test data only). */
function permutation(n: number, seed: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

test('with ids, permuting the input permutes the labels and probabilities and changes nothing else', () => {
  let checked = 0;
  for (const fx of fixtures)
    for (const c of fx.cases) {
      const n = fx.points.length;
      const ids = Int32Array.from({ length: n }, (_, i) => i);
      const base = hdbscan(fx.points, { ...options(c.params), ids });
      // identity ids are the input order: the scikit-learn reference result
      const plain = hdbscan(fx.points, options(c.params));
      assert.deepEqual(base.labels, plain.labels);
      assert.deepEqual(base.probabilities, plain.probabilities);
      for (const seed of [1, 2, 3]) {
        const perm = permutation(n, seed); // position k holds point perm[k]
        const r = hdbscan(
          Array.from(perm, (i) => fx.points[i]),
          { ...options(c.params), ids: Array.from(perm, (i) => ids[i]) },
        );
        for (let k = 0; k < n; k++) {
          assert.equal(r.labels[k], base.labels[perm[k]], `${fx.name} seed ${seed}: label of point ${perm[k]}`);
          assert.equal(r.probabilities[k], base.probabilities[perm[k]], `${fx.name} seed ${seed}: probability of point ${perm[k]}`);
        }
        assert.equal(r.nClusters, base.nClusters);
      }
      checked++;
    }
  assert.ok(checked >= 38, `${checked} cases`);
});

test('without ids, tied distances make the labels of the fixtures depend on the input order (what ids fix)', () => {
  let differs = 0;
  for (const fx of fixtures)
    for (const c of fx.cases) {
      const base = hdbscan(fx.points, options(c.params));
      for (const seed of [1, 2, 3]) {
        const perm = permutation(fx.points.length, seed);
        const r = hdbscan(
          Array.from(perm, (i) => fx.points[i]),
          options(c.params),
        );
        const back = new Int32Array(perm.length);
        for (let k = 0; k < perm.length; k++) back[perm[k]] = r.labels[k];
        if (!samePartition(back, base.labels)) differs++;
      }
    }
  // measured: 9 of 38 cases change under some of 10 permutations (blobs_unequal, duplicated,
  // elongated, trajectories, uniform_noise)
  assert.ok(differs > 0, 'no permutation changed any result: the fixtures have no effective ties');
});

test('ids that are not one distinct integer per point are refused', () => {
  const pts = [[0], [1], [2], [3]];
  assert.throws(() => hdbscan(pts, { minClusterSize: 2, ids: [0, 1, 2] }), /ids must have one entry per point: 3 ids for 4 points/);
  assert.throws(() => hdbscan(pts, { minClusterSize: 2, ids: [0, 1, 1, 2] }), /ids must be distinct; 1 appears twice/);
  assert.throws(() => hdbscan(pts, { minClusterSize: 2, ids: [0, 1, 2.5, 3] }), /ids must be integers; ids\[2\] = 2.5/);
});
