import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claimSpread, hasClaimMetrics, type SweepPoint } from '../../report/sweep-claims.ts';
import { buildSweepReport } from '../../report/sweep.ts';

const point = (seed: number, mcs: number, carry: number, held: number): SweepPoint => ({
  point: { seed, 'cluster.minClusterSize': mcs },
  workflowId: `wf-${seed}-${mcs}`,
  metrics: {
    'claim.loss-digit.ami': 0.7 + seed / 100,
    'claim.loss-digit.shuffled': 0.001,
    'claim.loss-digit.threshold': 0.1,
    'claim.loss-digit.reproduced': 1,
    'claim.polca-carry.ami': carry,
    'claim.polca-carry.shuffled': 0.002,
    'claim.polca-carry.threshold': 0.12,
    'claim.polca-carry.reproduced': held,
  },
});

test('claims over seeds: grouped by the non-seed parameters, mean and sample sd per claim', () => {
  const pts = [point(0, 10, 0.05, 0), point(1, 10, 0.2, 1), point(2, 10, 0.08, 0), point(0, 20, 0.3, 1)];
  const s = claimSpread(pts);
  const g10 = s.filter((c) => c.group['cluster.minClusterSize'] === 10);
  assert.equal(g10.length, 3);
  const carry = g10.find((c) => c.claim === 'polca-carry')!;
  assert.deepEqual(carry.seeds, [0, 1, 2]);
  assert.deepEqual(carry.values, [0.05, 0.2, 0.08]);
  const mean = (0.05 + 0.2 + 0.08) / 3;
  assert.ok(Math.abs(carry.mean - mean) < 1e-15);
  const sd = Math.sqrt(((0.05 - mean) ** 2 + (0.2 - mean) ** 2 + (0.08 - mean) ** 2) / 2);
  assert.ok(Math.abs(carry.sd - sd) < 1e-15);
  assert.equal(carry.held, 1);
  assert.equal(carry.checked, 3);
  assert.ok(Math.abs(carry.thresholdMean - 0.12) < 1e-15);
  // a claim without metrics: nothing checked, NaN statistics
  const value = g10.find((c) => c.claim === 'absdloss-value')!;
  assert.equal(value.checked, 0);
  assert.ok(Number.isNaN(value.mean));
  // one point: sd 0
  assert.equal(s.find((c) => c.group['cluster.minClusterSize'] === 20 && c.claim === 'polca-carry')!.sd, 0);
});

test('the sweep page shows the claims over seeds when the points have claim metrics', () => {
  const pts = [point(0, 10, 0.05, 0), point(1, 10, 0.2, 1), point(2, 10, 0.08, 0)];
  assert.ok(hasClaimMetrics(pts));
  const html = Buffer.from(buildSweepReport(pts)['index.html']).toString('utf8');
  assert.match(html, /The paper’s claims over seeds/);
  assert.match(html, /<h3>cluster\.minClusterSize = 10<\/h3>/);
  assert.match(html, /<th>seed 0: AMI \(needs\)<\/th><th>seed 1: AMI \(needs\)<\/th><th>seed 2: AMI \(needs\)<\/th>/);
  assert.match(html, /<td class="num">0\.2 \(0\.12\) ✓<\/td>/);
  assert.match(html, /<td class="num">1 of 3<\/td><\/tr>/);
  assert.ok(!hasClaimMetrics([{ point: {}, workflowId: 'x', metrics: { 'final.loss': 1 } }]));
});
