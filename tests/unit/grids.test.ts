import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { resolveConfig } from '../../config/index.ts';
import { gridPoints, setPath } from '../../workflows/grid.ts';
import { root } from '../../bench/experiment.ts';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : n.endsWith('.json') ? [p] : [];
  });
}

test('every grid file in the repository resolves to valid configs at every point', () => {
  const grids = files(join(root, 'grids'));
  assert.ok(
    grids.some((g) => g.endsWith('paper-table.json')),
    'the paper table grid is there',
  );
  for (const g of grids) {
    const input = JSON.parse(readFileSync(g, 'utf8')) as { base?: Record<string, unknown>; grid: Record<string, unknown[]> };
    const points = gridPoints(input.grid);
    assert.ok(points.length > 0, relative(root, g));
    for (const p of points) {
      let c: Record<string, unknown> = { ...(input.base ?? {}) };
      for (const [path, v] of Object.entries(p)) c = setPath(c, path, v);
      assert.doesNotThrow(() => resolveConfig({ config: c }), `${relative(root, g)} at ${JSON.stringify(p)}`);
    }
  }
});

test('a list of grids is the union of their points, in order, and a bad part is named', () => {
  assert.deepEqual(gridPoints([{ a: [1, 2] }, { b: ['x'], seed: [0] }]), [{ a: 1 }, { a: 2 }, { b: 'x', seed: 0 }]);
  assert.throws(() => gridPoints([{ a: [1] }, { b: [] }]), /grid\[1\]: b: expected a non-empty list/);
  assert.throws(() => gridPoints([]), /non-empty list of grids/);
});
