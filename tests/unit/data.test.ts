import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeExamples, makeData, pairOf, sequenceOf, skillsOf, trainBatch } from '../../core/data.ts';

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

test('skill labels match column addition for all 10^6 operand pairs', () => {
  for (let i = 0; i < 1_000_000; i++) {
    const { a, b } = pairOf(i);
    const got = skillsOf({ a, b });
    const want = reference(a, b);
    for (let k = 0; k < 4; k++) {
      if (got[k].carry !== want[k].carry || got[k].value !== want[k].value || got[k].digit !== k) {
        assert.fail(`pair ${a}+${b}, digit ${k}: got ${JSON.stringify(got[k])}, want ${JSON.stringify(want[k])}`);
      }
    }
  }
});

test('sequence layout: a2 a1 a0 + b2 b1 b0 = s3 s2 s1 s0', () => {
  assert.deepEqual(sequenceOf({ a: 987, b: 65 }), [9, 8, 7, 10, 0, 6, 5, 11, 1, 0, 5, 2]);
  const { inputs, targets } = encodeExamples([{ a: 987, b: 65 }]);
  assert.deepEqual([...inputs], [9, 8, 7, 10, 0, 6, 5, 11, 1, 0, 5]);
  assert.deepEqual([...targets], [1, 0, 5, 2]);
});

test('splits are seeded, disjoint, and the training stream avoids the evaluation set', () => {
  const cfg = { seed: 3, data: { evalSize: 500, hessianSize: 300 } };
  const a = makeData(cfg);
  const b = makeData(cfg);
  assert.deepEqual(a.evalExamples, b.evalExamples);
  assert.equal(new Set(a.evalExamples.map((e) => e.a * 1000 + e.b)).size, 500);
  for (const h of a.hessianExamples) assert.ok(!a.evalSet.has(h.a * 1000 + h.b));
  for (let step = 0; step < 50; step++) for (const e of trainBatch(3, step, 64, a.evalSet)) assert.ok(!a.evalSet.has(e.a * 1000 + e.b));
  assert.deepEqual(trainBatch(3, 7, 16, a.evalSet), trainBatch(3, 7, 16, a.evalSet));
  assert.notDeepEqual(makeData({ ...cfg, seed: 4 }).evalExamples, a.evalExamples);
});
