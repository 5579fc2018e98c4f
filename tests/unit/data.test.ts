import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSequences } from '../../core/tasks/task.ts';
import {
  arithmeticTask,
  encodeExamples,
  EQUALS,
  makeSplits,
  pairIndex,
  pairOf,
  PLUS,
  sequenceOf,
  skillsOf,
  tokenRows,
  trainBatch,
} from '../../core/tasks/arithmetic/task.ts';

// Independent formulation: column addition on decimal strings.
function reference(a: number, b: number) {
  const A = String(a).padStart(3, '0');
  const B = String(b).padStart(3, '0');
  const carryInto = [0, 0, 0, 0]; // index by output digit 0..3 (thousands..ones)
  let carry = 0;
  for (let col = 2; col >= 0; col--) {
    const s = Number(A[col]) + Number(B[col]) + carry;
    carry = s >= 10 ? 1 : 0;
    carryInto[col] = carry; // carry produced at hundreds/tens/ones flows into the digit on its left
  }
  const S = String(a + b).padStart(4, '0');
  return [0, 1, 2, 3].map((k) => ({ digit: k, carry: k < 3 ? carryInto[k] === 1 : false, value: Number(S[k]) }));
}

test('skill labels and sequences match column addition for all 10^6 operand pairs', () => {
  const carries = [0, 0, 0, 0];
  for (let i = 0; i < 1_000_000; i++) {
    const { a, b } = pairOf(i);
    assert.equal(pairIndex({ a, b }), i);
    const got = skillsOf({ a, b });
    const want = reference(a, b);
    const seq = sequenceOf({ a, b });
    for (let k = 0; k < 4; k++) {
      if (got[k].carry !== want[k].carry || got[k].value !== want[k].value || got[k].digit !== k || seq[8 + k] !== want[k].value) {
        assert.fail(`pair ${a}+${b}, digit ${k}: got ${JSON.stringify(got[k])}, want ${JSON.stringify(want[k])}`);
      }
      if (got[k].carry) carries[k]++;
    }
    // the inputs spell the operands
    if (seq[0] * 100 + seq[1] * 10 + seq[2] !== a || seq[4] * 100 + seq[5] * 10 + seq[6] !== b || seq[3] !== PLUS || seq[7] !== EQUALS) {
      assert.fail(`pair ${a}+${b}: sequence ${seq}`);
    }
  }
  // Exact carry counts over all pairs: into the tens digit 45% of pairs (a0 + b0 ≥ 10), into the
  // hundreds 49.5%, into the thousands (carry out of the hundreds) 49.95%, never into the ones.
  assert.deepEqual(carries, [499_500, 495_000, 450_000, 0]);
});

test('edge cases', () => {
  assert.deepEqual(
    skillsOf({ a: 999, b: 999 }).map((s) => [s.carry, s.value]),
    [
      [true, 1],
      [true, 9],
      [true, 9],
      [false, 8],
    ],
  );
  assert.deepEqual(
    skillsOf({ a: 0, b: 0 }).map((s) => [s.carry, s.value]),
    [
      [false, 0],
      [false, 0],
      [false, 0],
      [false, 0],
    ],
  );
  assert.deepEqual(
    skillsOf({ a: 1, b: 999 }).map((s) => [s.carry, s.value]),
    [
      [true, 1],
      [true, 0],
      [true, 0],
      [false, 0],
    ],
  );
  assert.deepEqual(
    skillsOf({ a: 500, b: 500 }).map((s) => [s.carry, s.value]),
    [
      [true, 1],
      [false, 0],
      [false, 0],
      [false, 0],
    ],
  );
  assert.deepEqual(
    skillsOf({ a: 55, b: 45 }).map((s) => [s.carry, s.value]),
    [
      [false, 0],
      [true, 1],
      [true, 0],
      [false, 0],
    ],
  );
  const rows = tokenRows([
    { a: 987, b: 65 },
    { a: 1, b: 2 },
  ]);
  assert.deepEqual([...rows.value], [1, 0, 5, 2, 0, 0, 0, 3]);
  assert.deepEqual(rows.carry, [true, true, true, false, false, false, false, false]);
  assert.deepEqual([...rows.digit], [0, 1, 2, 3, 0, 1, 2, 3]);
  assert.deepEqual([...rows.example], [0, 0, 0, 0, 1, 1, 1, 1]);
});

test('sequence layout: a2 a1 a0 + b2 b1 b0 = s3 s2 s1 s0', () => {
  assert.deepEqual(sequenceOf({ a: 987, b: 65 }), [9, 8, 7, 10, 0, 6, 5, 11, 1, 0, 5, 2]);
  const { inputs, targets } = encodeExamples([{ a: 987, b: 65 }]);
  assert.deepEqual([...inputs], [9, 8, 7, 10, 0, 6, 5, 11, 1, 0, 5]);
  assert.deepEqual([...targets], [1, 0, 5, 2]);
});

test('splits are seeded, disjoint, and the training stream avoids the evaluation set', () => {
  const cfg = { seed: 3, data: { evalSize: 500, hessianSize: 300 } };
  const a = makeSplits(cfg);
  const b = makeSplits(cfg);
  assert.deepEqual(a.evalExamples, b.evalExamples);
  assert.equal(new Set(a.evalExamples.map((e) => e.a * 1000 + e.b)).size, 500);
  for (const h of a.hessianExamples) assert.ok(!a.evalSet.has(h.a * 1000 + h.b));
  for (let step = 0; step < 50; step++) for (const e of trainBatch(3, step, 64, a.evalSet)) assert.ok(!a.evalSet.has(e.a * 1000 + e.b));
  assert.deepEqual(trainBatch(3, 7, 16, a.evalSet), trainBatch(3, 7, 16, a.evalSet));
  assert.notDeepEqual(makeSplits({ ...cfg, seed: 4 }).evalExamples, a.evalExamples);
  assert.equal(new Set(a.hessianExamples.map(pairIndex)).size, 300);
});

test('with a large evaluation set the training stream really skips it and stays uniform elsewhere', () => {
  const { evalSet, hessianExamples } = makeSplits({ seed: 9, data: { evalSize: 100_000, hessianSize: 1000 } });
  assert.equal(evalSet.size, 100_000);
  for (const h of hessianExamples) assert.ok(!evalSet.has(pairIndex(h)));
  const seen = new Set<number>();
  let draws = 0;
  const firstDigit = new Array(10).fill(0);
  for (let step = 0; step < 200; step++)
    for (const e of trainBatch(9, step, 256, evalSet)) {
      assert.ok(!evalSet.has(pairIndex(e)), `step ${step}: ${e.a}+${e.b} is in the evaluation set`);
      seen.add(pairIndex(e));
      firstDigit[Math.floor(e.a / 100)]++;
      draws++;
    }
  assert.equal(draws, 200 * 256);
  // with replacement from 900 000 pairs: almost all distinct; hundreds digit of a near-uniform
  assert.ok(seen.size > 0.97 * draws);
  for (const c of firstDigit) assert.ok(Math.abs(c - draws / 10) < 5 * Math.sqrt(draws / 10), `${firstDigit}`);
});

test('the arithmetic task through the task interface: the same sequences, splits and token columns', async () => {
  const c = { seed: 3, data: { evalSize: 50, hessianSize: 20 } };
  const splits = makeSplits(c);
  const d = await arithmeticTask.makeData({ ...c, task: { name: 'arithmetic' } });
  const shape = arithmeticTask.shape({ name: 'arithmetic' });
  assert.deepEqual(shape, { vocabSize: 12, contextLength: 11, outputsPerSequence: 4 });
  for (const [got, ex] of [
    [d.eval, splits.evalExamples],
    [d.hessian, splits.hessianExamples],
    [d.trainBatch(17, 32), trainBatch(3, 17, 32, splits.evalSet)],
  ] as const) {
    checkSequences(shape, got);
    const want = encodeExamples(ex);
    assert.equal(got.n, ex.length);
    assert.deepEqual(got.inputs, want.inputs);
    assert.deepEqual(got.targets, want.targets);
  }
  // targets are the tokens after the last T input positions: sequence positions 8..11
  const seq = sequenceOf(splits.evalExamples[0]);
  assert.deepEqual(Array.from(d.eval.targets.subarray(0, 4)), seq.slice(8, 12));
  const t = tokenRows(splits.evalExamples);
  const cols = Object.fromEntries(d.tokenColumns.map((col) => [col.name, col.values]));
  assert.deepEqual(Object.keys(cols), ['a', 'b', 'digit', 'carry', 'value']);
  assert.deepEqual(cols.digit, t.digit);
  assert.deepEqual(cols.carry, t.carry);
  for (const s of arithmeticTask.skillColumns) assert.ok(s in cols, s);
  const ex = Object.fromEntries(d.exampleColumns.map((col) => [col.name, col.values]));
  assert.deepEqual(
    Array.from(ex.sum as Int32Array),
    [...splits.evalExamples, ...splits.hessianExamples].map((e) => e.a + e.b),
  );
});
