/**
 * core/tasks/english/tag-reading.ts against independent computations: the smallest covering tag set against a
 * brute-force search over every subset; cluster labels on a hand-made example; the shuffled count
 * (a clustering made of the tags is simply labelled, its shuffles rarely are); the medoid and its
 * neighbours against a direct O(m²) search; core/tasks/english/tag-families.ts's counts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { randInt } from '../../core/rng.ts';
import { tagFamilies } from '../../core/tasks/english/tag-families.ts';
import { clusterTagLabels, coveringSet, medoidNeighbours, shuffledSimpleCount } from '../../core/tasks/english/tag-reading.ts';

/** The size of the smallest subset of tags whose tokens are ≥ coverage of all, by trying every subset. */
function bruteSmallest(codes: number[], coverage: number): number {
  const tags = [...new Set(codes)];
  let best = tags.length;
  for (let mask = 1; mask < 1 << tags.length; mask++) {
    const chosen = tags.filter((_, i) => mask & (1 << i));
    const covered = codes.filter((c) => chosen.includes(c)).length;
    if (covered >= coverage * codes.length - 1e-9 * codes.length) best = Math.min(best, chosen.length);
  }
  return best;
}

describe('tag reading', () => {
  test('the covering set is the smallest (brute force over subsets)', () => {
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + randInt(30, 1, 1, trial);
      const k = 1 + randInt(7, 1, 2, trial);
      const codes = Array.from({ length: n }, (_, i) => randInt(k, 1, 3 + trial, i));
      for (const cov of [0.5, 0.7, 0.9, 1]) {
        const r = coveringSet(codes, cov);
        assert.equal(r.set.length, bruteSmallest(codes, cov), `trial ${trial} coverage ${cov}: ${codes}`);
        assert.ok(r.covered >= cov - 1e-12);
      }
    }
    // 7 of 10 covers 0.7 exactly
    assert.deepEqual(coveringSet([0, 0, 0, 0, 0, 0, 0, 1, 2, 3], 0.7).set, [0]);
  });
  test('labels of a hand-made clustering', () => {
    // cluster 0: target tag 0 always, predecessors mixed over 2 tags → simple; cluster 1: 4 tags evenly at the target → not
    const labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, -1];
    const tags = [
      [0, 0, 0, 0, 0, 1, 2, 3, 4, 5],
      [1, 1, 2, 2, 1, 0, 0, 0, 0, 5],
      [3, 3, 3, 3, 3, 1, 1, 1, 1, 5],
      [4, 4, 4, 4, 2, 2, 2, 2, 2, 5],
    ];
    const r = clusterTagLabels(labels, tags, { coverage: 0.7, maxTags: 2 });
    assert.equal(r.length, 2);
    assert.deepEqual(r[0].sets, [[0], [1, 2], [3], [4]]);
    assert.equal(r[0].simple, true);
    assert.deepEqual(r[1].sets[0].length, 3);
    assert.equal(r[1].simple, false);
    assert.deepEqual(r[0].covered, [1, 1, 1, 0.8]);
  });
  test('a clustering by the tags is simply labelled; with the tags shuffled, rarely', () => {
    const n = 600;
    const tags = [0, 1, 2, 3].map((p) => Int32Array.from({ length: n }, (_, i) => randInt(8, 9, p, i)));
    // clusters of 100 tokens each, by target tag class (tags 0,1 / 2,3 / …): simple at the target only,
    // and the 3 predecessors are uniform over 8 tags, so not simple; make cluster 0 also share predecessors
    const labels = Int32Array.from({ length: n }, (_, i) => (tags[0][i] < 2 ? 0 : tags[0][i] < 4 ? 1 : -1));
    for (let i = 0; i < n; i++) if (labels[i] === 0) for (const p of [1, 2, 3]) tags[p][i] = i % 2;
    const o = { coverage: 0.7, maxTags: 2 };
    const r = clusterTagLabels(labels, tags, o);
    assert.equal(r.find((c) => c.cluster === 0)?.simple, true);
    assert.equal(r.find((c) => c.cluster === 1)?.simple, false);
    const hits = shuffledSimpleCount(labels, tags, { ...o, shuffles: 50, seed: 3 });
    assert.ok(hits <= 2, `shuffled tags gave a simple cluster ${hits} of 50 times`);
    // the same seed gives the same count
    assert.equal(shuffledSimpleCount(labels, tags, { ...o, shuffles: 50, seed: 3 }), hits);
    // a single tag everywhere is simple under every shuffle
    const flat = [0, 1, 2, 3].map(() => new Int32Array(n));
    assert.equal(shuffledSimpleCount(labels, flat, { ...o, shuffles: 10, seed: 3 }), 10);
  });
  test('medoid and nearest members against a direct search', () => {
    const rows = Array.from({ length: 40 }, (_, i) => Float64Array.from({ length: 5 }, (_, t) => randInt(1000, 5, i, t) / 100));
    const idx = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 3 !== 0);
    const d = (a: Float64Array, b: Float64Array) => Math.hypot(...a.map((x, t) => x - b[t]));
    let best = -1;
    let bestSum = Infinity;
    for (const x of idx) {
      const s = idx.reduce((acc, y) => acc + d(rows[x], rows[y]), 0);
      if (s < bestSum) {
        bestSum = s;
        best = x;
      }
    }
    const m = medoidNeighbours(rows, idx, 10);
    assert.equal(m.medoid, best);
    const want = idx
      .map((y) => ({ y, dist: d(rows[best], rows[y]) }))
      .sort((a, b) => a.dist - b.dist || a.y - b.y)
      .slice(0, 10);
    assert.deepEqual(
      m.nearest.map((p) => p.token),
      want.map((w) => w.y),
    );
    assert.equal(m.nearest[0].token, best);
  });
  test('family counts: kept members, with a simple cluster, chance', () => {
    const f = tagFamilies([
      { family: 'polca', member: 0, dropped: false, clusters: 3, simpleClusters: 1, hasSimple: true, shuffledHits: 10, shuffles: 100 },
      { family: 'polca', member: 1, dropped: true, clusters: 0, simpleClusters: 0, hasSimple: false, shuffledHits: 0, shuffles: 100 },
      { family: 'polca', member: 2, dropped: false, clusters: 2, simpleClusters: 0, hasSimple: false, shuffledHits: 30, shuffles: 100 },
      { family: 'loss', member: -1, dropped: false, clusters: 4, simpleClusters: 0, hasSimple: false, shuffledHits: 0, shuffles: 100 },
    ]);
    assert.deepEqual(
      f.find((x) => x.family === 'polca'),
      { family: 'polca', members: 3, kept: 2, withSimple: 1, chance: 0.4, simpleClusters: 1, clusters: 5 },
    );
    assert.equal(f.find((x) => x.family === 'loss')?.withSimple, 0);
  });
});
