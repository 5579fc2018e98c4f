import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasTableMetrics, paperTableHtml, spread } from '../../report/sweep-table.ts';
import type { SweepPoint } from '../../report/sweep-claims.ts';

const point = (seed: number, kind: string, m: Record<string, number>): SweepPoint => ({
  point: { seed, 'basis.kind': kind },
  workflowId: `w-${seed}-${kind}`,
  metrics: m,
});

describe('the paper’s table over seeds', () => {
  const points = [
    point(0, 'hessian', { 'protocol.polca.homogeneity': 0.5, 'protocol.polca.recall': 0.1, 'capture.total': 0.01 }),
    point(1, 'hessian', { 'protocol.polca.homogeneity': 0.7, 'protocol.polca.recall': 0.3, 'capture.total': 0.03 }),
    point(2, 'hessian', { 'protocol.polca.recall': 0.2, 'capture.total': 0.02 }),
    point(0, 'random', { 'protocol.polca.homogeneity': 0.9, 'capture.total': 0.001 }),
  ];

  test('mean and sample sd over the seeds that have a value, and how many do', () => {
    const s = spread(points.slice(0, 3), 'protocol.polca.homogeneity');
    assert.equal(s.n, 2);
    assert.equal(s.of, 3);
    assert.ok(Math.abs(s.mean - 0.6) < 1e-15);
    assert.ok(Math.abs(s.sd - Math.sqrt(0.02)) < 1e-15);
    assert.equal(spread(points.slice(0, 3), 'protocol.loss.f1').n, 0);
  });

  test('a point without basis.kind is Algorithm 1’s, and the families a point computes do not split the basis table', () => {
    const all = ['loss', 'dloss', 'fisher', 'lca', 'polca-first', 'polca'];
    const union: SweepPoint[] = [
      { point: { 'protocol.families': all, seed: 0 }, workflowId: 'a0', metrics: { 'protocol.polca.homogeneity': 0.4 } },
      { point: { 'protocol.families': all, seed: 1 }, workflowId: 'a1', metrics: { 'protocol.polca.homogeneity': 0.6 } },
      { point: { 'basis.kind': 'random', seed: 0 }, workflowId: 'b0', metrics: { 'protocol.polca.homogeneity': 0.9 } },
    ];
    const html = paperTableHtml(union);
    const basisTable = html.slice(html.indexOf('POLCA per basis kind'));
    assert.match(basisTable, /<td>hessian<\/td><td class="num">0\.973[\s\S]*?0\.500 ± 0\.141/);
    assert.match(basisTable, /<td>random<\/td>[\s\S]*?0\.900 ± 0\.000/);
    assert.equal((html.match(/POLCA per basis kind/g) ?? []).length, 1);
    // the random points computed no family table: said so, not shown as empty readings
    assert.match(html, /not computed in these runs/);
  });

  test('the html holds the paper’s numbers beside ours, a row per basis kind, and says when seeds are missing', () => {
    const html = paperTableHtml(points);
    assert.match(html, /0\.973 \/ 0\.736 \/ 0\.838/); // POLCA, the paper
    assert.match(html, /0\.902 \/ 0\.655 \/ 0\.759/); // random basis, the paper
    assert.match(html, /0\.600 ± 0\.141 \(2 of 3\)/); // ours, hessian, POLCA homogeneity
    assert.match(html, /POLCA per basis kind/);
    assert.match(html, /0\.020 ± 0\.010/); // capture over the three hessian seeds
    assert.ok(hasTableMetrics(points));
    assert.ok(!hasTableMetrics([point(0, 'hessian', { 'final.loss': 1 })]));
  });
});

describe('the English reading over seeds', () => {
  test('members with a simply-labelled cluster, kept and chance, mean ± sd, next to the paper’s count; no carry table', () => {
    const en = (seed: number, withSimple: number, chance: number): SweepPoint => ({
      point: { seed },
      workflowId: `e-${seed}`,
      metrics: { 'tags.polca.kept': 9, 'tags.polca.withSimple': withSimple, 'tags.polca.chance': chance, 'capture.total': 0.05 },
    });
    const html = paperTableHtml([en(0, 2, 0.5), en(1, 4, 1.5)]);
    assert.match(
      html,
      /POLCA, published protocol<\/td><td>22 of 26 kept vectors<\/td><td class="num">3\.000 ± 1\.414<\/td><td class="num">9\.000 ± 0\.000<\/td><td class="num">1\.000 ± 0\.707<\/td>/,
    );
    assert.doesNotMatch(html, /exact loss, published protocol/, 'a family the runs did not compute has no row');
    assert.doesNotMatch(html, /paper: homogeneity \/ recall \/ F1<\/th><th>paper: hidden<\/th><th>ours: homogeneity/);
  });
});
