import assert from 'node:assert/strict';
import { test } from 'node:test';
import { samePartition, shuffledStats } from '../../core/cluster/skill-scopes.ts';
import { scopedSkillTable } from '../../core/tasks/arithmetic/scopes.ts';
import { adjustedMutualInfo, shuffledBaseline, weightedHomogeneity } from '../../core/cluster/skills.ts';
import { randInt, STREAMS } from '../../core/rng.ts';
import { evalTokens } from '../helpers/tokens.ts';

test('samePartition: same groups under renaming, not merely correlated', () => {
  assert.ok(samePartition([0, 0, 1, 1], [5, 5, 3, 3]));
  assert.ok(!samePartition([0, 0, 1, 1], [5, 5, 5, 3]));
  assert.ok(!samePartition([0, 1, 1, 1], [0, 0, 1, 1]));
});

test('rows: every skill on all tokens; within digits only where the skill varies, coincidences named', () => {
  const tok = evalTokens(500);
  const labels = Int32Array.from(tok.digit);
  const rows = scopedSkillTable(labels, tok, 3, 0);
  assert.deepEqual(
    rows.map((r) => `${r.scope}/${r.skill}/${r.coincidesWith}`),
    [
      'all/digit/',
      'all/carry/',
      'all/value/',
      // on the thousands digit carry out of the hundreds is the value (0 or 1)
      'thousands/carry/value',
      'thousands/value/carry',
      'hundreds/carry/',
      'hundreds/value/',
      'tens/carry/',
      'tens/value/',
      // the ones digit never receives a carry
      'ones/value/',
    ],
  );
  for (const r of rows) assert.equal(r.tokens, r.scope === 'all' ? 2000 : 500);
});

test('per-scope metrics against direct computations on the scope’s tokens', () => {
  const tok = evalTokens(200);
  const n = tok.digit.length;
  // clusters: carry on hundreds tokens with some outliers; tens tokens all outliers; others by digit
  const labels = Int32Array.from({ length: n }, (_, i) => {
    if (tok.digit[i] === 1) return i % 5 === 0 ? -1 : 10 + tok.carry[i];
    if (tok.digit[i] === 2) return -1;
    return tok.digit[i];
  });
  const rows = scopedSkillTable(labels, tok, 7, 3);
  const get = (scope: string, skill: string) => rows.find((r) => r.scope === scope && r.skill === skill)!;
  const idx = (d: number) => Array.from({ length: n }, (_, i) => i).filter((i) => tok.digit[i] === d);
  const h = get('hundreds', 'carry');
  const hi = idx(1);
  const hl = hi.map((i) => labels[i]);
  const hc = hi.map((i) => tok.carry[i]);
  const inC = hi.filter((i) => labels[i] >= 0);
  assert.equal(h.tokens, 200);
  assert.equal(h.clustered, inC.length);
  assert.equal(h.outliers, 40);
  assert.equal(h.coverage, 160 / 200);
  assert.equal(h.clusters, 2);
  assert.equal(h.ami, 1);
  assert.equal(h.homogeneity, 1);
  assert.equal(h.amiWithOutliers, adjustedMutualInfo(hl, hc), 'outliers as one more label over the scope’s tokens');
  assert.ok(h.amiWithOutliers < h.ami);
  // the homogeneity baseline uses exactly core/cluster/skills.ts shuffledBaseline's permutations
  assert.equal(h.baseline, shuffledBaseline(hl, hc, 7, 3));
  const t = get('tens', 'carry');
  assert.equal(t.clustered, 0);
  assert.equal(t.coverage, 0);
  for (const k of ['homogeneity', 'baseline', 'ami', 'amiShuffledMean', 'amiShuffledSd'] as const) assert.ok(Number.isNaN(t[k]), k);
  // all tokens: ami on clustered tokens, with outliers as a label
  const a = get('all', 'digit');
  const clustered = Array.from({ length: n }, (_, i) => i).filter((i) => labels[i] >= 0);
  assert.equal(a.coverage, clustered.length / n);
  assert.equal(
    a.ami,
    adjustedMutualInfo(
      clustered.map((i) => labels[i]),
      clustered.map((i) => tok.digit[i]),
    ),
  );
  assert.equal(
    a.homogeneity,
    weightedHomogeneity(
      clustered.map((i) => labels[i]),
      clustered.map((i) => tok.digit[i]),
    ),
  );
});

test('shuffled AMI: about 0 with a spread that shrinks with the token count; the real AMI stands out', () => {
  const tok = evalTokens(500);
  const n = tok.digit.length;
  const labels = Int32Array.from({ length: n }, (_, i) => tok.carry[i]);
  const s = shuffledStats(labels, tok.carry, 50, 1);
  assert.ok(Math.abs(s.amiMean) < 0.005, `mean ${s.amiMean}`);
  assert.ok(s.amiSd > 0 && s.amiSd < 0.005, `sd ${s.amiSd}`);
  const small = shuffledStats(labels.subarray(0, 40), tok.carry.subarray(0, 40), 50, 1);
  assert.ok(small.amiSd > s.amiSd * 3, `40 tokens: sd ${small.amiSd}`);
  // the same permutations as the homogeneity baseline
  assert.equal(s.baseline, shuffledBaseline(labels, tok.carry, 50, 1));
  assert.equal(shuffledStats(labels, tok.carry, 50, 1).amiSd, s.amiSd, 'seeded');
  assert.throws(() => shuffledStats(labels, tok.carry, 0, 1), /shuffles must be an integer ≥ 1/);
});

test('shuffled AMI from shared parts equals the AMI of each explicitly permuted labeling', () => {
  const tok = evalTokens(100);
  const labels = Int32Array.from(tok.digit, (d, i) => (d * 3 + (i % 3)) % 5);
  const shuffles = 6;
  const s = shuffledStats(labels, tok.value, shuffles, 9);
  const amis: number[] = [];
  for (let k = 0; k < shuffles; k++) {
    const perm = Float64Array.from(tok.value);
    for (let i = perm.length - 1; i > 0; i--) {
      const j = randInt(i + 1, 9, STREAMS.shuffle, k, i);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    amis.push(adjustedMutualInfo(labels, perm));
  }
  const mean = amis.reduce((a, b) => a + b, 0) / shuffles;
  const sd = Math.sqrt(amis.reduce((a, b) => a + (b - mean) ** 2, 0) / shuffles);
  assert.ok(Math.abs(s.amiMean - mean) < 1e-12, `${s.amiMean} vs ${mean}`);
  assert.ok(Math.abs(s.amiSd - sd) < 1e-12, `${s.amiSd} vs ${sd}`);
});
