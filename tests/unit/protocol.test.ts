import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { breakthroughTime, cumulative, defaultTiming, keptTokens, relativeHdbscanSettings, rowSums } from '../../core/cluster/protocol.ts';
import { topCarryCluster } from '../../core/tasks/arithmetic/carry.ts';

/** Tokens of a hand-built evaluation set: [digit, carry] each (0 = thousands … 3 = ones). */
function tokens(spec: [number, number, number][]): { digit: number[]; carry: number[] } {
  const digit: number[] = [];
  const carry: number[] = [];
  for (const [d, c, count] of spec)
    for (let i = 0; i < count; i++) {
      digit.push(d);
      carry.push(c);
    }
  return { digit, carry };
}

describe('top-1 carry cluster with the place rule', () => {
  // cluster 0: 10 thousands tokens, all "carry" (the carry out of the hundreds = their value)
  // cluster 1: 8 tens/hundreds carry tokens + 2 without carry
  // cluster 2: 5 hundreds carry + 1 thousands carry + 4 without: 5/6 in place, below 0.85
  // outliers: 6 carry tokens in the tens, 4 ones tokens
  const { digit, carry } = tokens([
    [0, 1, 10],
    [1, 1, 4],
    [2, 1, 4],
    [3, 0, 2],
    [1, 1, 5],
    [0, 1, 1],
    [3, 0, 4],
    [2, 1, 6],
    [3, 0, 4],
  ]);
  const labels = [...Array(10).fill(0), ...Array(10).fill(1), ...Array(10).fill(2), ...Array(10).fill(-1)];
  const all = labels.map((_, i) => i);
  const allCarry = carry.filter(Boolean).length; // 10 + 8 + 6 + 6 = 30

  test('a thousands-only carry cluster does not count, however homogeneous', () => {
    const { clusters, top } = topCarryCluster(labels, all, carry, digit, 0.85);
    assert.equal(allCarry, 30);
    assert.equal(clusters[0].homogeneity, 1);
    assert.equal(clusters[0].placeShare, 0);
    assert.equal(clusters[2].placeShare, 5 / 6);
    assert.ok(top);
    assert.equal(top.cluster, 1);
    assert.equal(top.homogeneity, 0.8);
    assert.equal(top.recall, 8 / 30);
    assert.ok(Math.abs(top.f1 - (2 * 0.8 * (8 / 30)) / (0.8 + 8 / 30)) < 1e-15);
  });

  test('the 85 % rule is strict, and no qualifying cluster gives none', () => {
    // with the threshold at 5/6 − ε cluster 2 qualifies (h 0.6 < 0.8: cluster 1 stays on top)
    assert.equal(topCarryCluster(labels, all, carry, digit, 5 / 6 - 1e-9).top?.cluster, 1);
    const onlyThousands = labels.map((l) => (l === 0 ? 0 : -1));
    assert.equal(topCarryCluster(onlyThousands, all, carry, digit).top, undefined);
  });

  test('recall counts every carry token of the evaluation set, also those not passed', () => {
    // only the first 20 tokens are passed: the denominator is still all 30 carry tokens
    const sub = all.slice(0, 20);
    const r = topCarryCluster(labels.slice(0, 20), sub, carry, digit);
    assert.equal(r.top?.recall, 8 / 30);
  });
});

describe('filters', () => {
  test('rising rows are dropped, falling and flat kept', () => {
    const rows = [Float64Array.of(-1, 0.5), Float64Array.of(0.2, 0.1), Float64Array.of(0, 0), Float64Array.of(-3, 2.9)];
    assert.deepEqual([...keptTokens(rows)], [0, 2, 3]);
    const { perRow, total } = rowSums(rows);
    assert.deepEqual(
      [...perRow].map((v) => Math.round(v * 1e12) / 1e12),
      [-0.5, 0.3, 0, -0.1],
    );
    assert.ok(Math.abs(total - -0.3) < 1e-12);
  });

  test('HDBSCAN settings relative to the token count: the paper’s 150 and tokens / 15', () => {
    assert.deepEqual(relativeHdbscanSettings({ minClusterShare: 0.03, minSamplesDivisor: 15 }, 5000, 5000), {
      minClusterSize: 150,
      minSamples: 333,
    });
    assert.deepEqual(relativeHdbscanSettings({ minClusterShare: 0.03, minSamplesDivisor: 15 }, 2000, 900), {
      minClusterSize: 60,
      minSamples: 60,
    });
    assert.deepEqual(relativeHdbscanSettings({ minClusterShare: 0.0001, minSamplesDivisor: 15 }, 100, 3), {
      minClusterSize: 2,
      minSamples: 1,
    });
  });
});

describe('breakthrough time', () => {
  // a falling sigmoid: m(t) = 1 / (1 + exp((t − t0)/w)); m'' > 0 after t0, largest at
  // t0 + w·ln(2 + √3) (where m''' = 0); a second difference with a small lag peaks there
  const t0 = 600;
  const w = 40;
  const sig = (t: number) => 1 / (1 + Math.exp((t - t0) / w));
  const peak = t0 + w * Math.log(2 + Math.sqrt(3));

  test('on a uniform schedule, at the sigmoid’s largest curvature', () => {
    const its = Array.from({ length: 401 }, (_, i) => i * 5);
    const at = breakthroughTime(its, its.map(sig), 5);
    assert.ok(Math.abs(at - peak) <= 5, `${at} vs ${peak}`);
  });

  test('on a non-uniform schedule (dense early, sparse late), interpolating between checkpoints', () => {
    const its = [...Array.from({ length: 80 }, (_, i) => i * 5), ...Array.from({ length: 81 }, (_, i) => 400 + i * 20)];
    const at = breakthroughTime(its, its.map(sig), 20);
    assert.ok(Math.abs(at - peak) <= 20, `${at} vs ${peak}`);
    assert.ok(its.includes(at));
  });

  test('a run shorter than twice the lag has none; bad lag and ragged input throw', () => {
    assert.ok(Number.isNaN(breakthroughTime([0, 10, 20], [1, 0.5, 0], 11)));
    assert.throws(() => breakthroughTime([0, 10], [1, 0.5], 0), /lag must be positive/);
    assert.throws(() => breakthroughTime([0, 10], [1], 5), /1 values at 2 iterations/);
  });

  test('cumulative turns a change trajectory into a curve from 0, and the default timing scales with the run', () => {
    assert.deepEqual([...cumulative([1, -2, 0.5])], [0, 1, -1, -0.5]);
    assert.deepEqual(defaultTiming(10_000), { lag: 100, hiddenAfter: 1000 });
    assert.deepEqual(defaultTiming(2000), { lag: 20, hiddenAfter: 200 });
  });
});
