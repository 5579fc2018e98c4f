import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { basisCapture, stepMotion } from '../../core/attribution/capture.ts';

describe('basis capture', () => {
  // 2 tokens, 2 intervals, 2 vectors, plus an out-of-span row (vector −1) that must not count
  const rows = {
    interval: [0, 0, 0, 0, 1, 1, 1, 1, 1],
    vector: [0, 1, 0, 1, 0, 1, 0, 1, -1],
    first: [-1, -0.5, -2, 0.25, -0.5, 0, -0.5, 0.5, 9],
    second: [0.5, 0.25, 1, 0, 0, 0.125, 0, 0.125, 0],
    polca: [-0.5, -0.25, -1, 0.25, -0.5, 0.125, -0.5, 0.625, 9],
  };
  const dloss = [-2, -1];

  test('overall, first- and second-order parts, per interval, per vector (hand-computed)', () => {
    const c = basisCapture(rows, dloss, 2, 2);
    // Σ POLCA over the basis: interval 0: −1.5, interval 1: −0.25 → −1.75 of −3
    assert.equal(c.capture, -1.75 / -3);
    assert.equal(c.captureFirst, (-3.25 + -0.5) / -3);
    assert.equal(c.captureSecond, (1.75 + 0.25) / -3);
    assert.deepEqual(
      c.intervals.map((i) => [i.dloss, i.polca, i.capture]),
      [
        [-2, -1.5, 0.75],
        [-1, -0.25, 0.25],
      ],
    );
    assert.deepEqual(
      c.vectors.map((v) => [v.polca, v.rising]),
      [
        [-2.5, false],
        [0.75, true],
      ],
    );
    assert.equal(c.risingVectors, 1);
    assert.deepEqual(c.perToken, { dloss: -1.5, first: -1.875, second: 1, polca: -0.875, remainder: -0.625, outOfSpan: 4.5 });
  });

  test('rows outside the intervals or the basis are refused', () => {
    assert.throws(() => basisCapture({ ...rows, interval: [...rows.interval.slice(0, 8), 2] }, dloss, 2, 2), /interval 2, outside 0..1/);
    assert.throws(() => basisCapture(rows, dloss, 2, 1), /vector 1, outside 0..0/);
  });

  test('an interval without loss change has an undefined capture', () => {
    assert.ok(Number.isNaN(basisCapture(rows, [0, -1], 2, 2).intervals[0].capture));
  });
});

describe('motion in the span of the basis', () => {
  test('Σ_b ⟨b, Δ⟩² against ‖Δ‖² for an orthonormal basis of a plane in R³', () => {
    const s = Math.SQRT1_2;
    const B = [Float64Array.of(s, s, 0), Float64Array.of(0, 0, 1)];
    const m = stepMotion(B, [1, 2, 3], [2, 0, 5]); // Δ = (1, −2, 2)
    assert.ok(Math.abs(m.inSpan - ((s * 1 + s * -2) ** 2 + 4)) < 1e-12);
    assert.equal(m.total, 9);
    assert.throws(() => stepMotion(B, [1, 2], [1, 2, 3]), /2 and 3 entries/);
  });
});
