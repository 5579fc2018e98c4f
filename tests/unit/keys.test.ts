import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { canonicalJson, KEY_PATTERN, type StepSpec, stepKey } from '../../artifacts/keys.ts';

const base: StepSpec = {
  step: 'train',
  version: '3',
  params: { lr: 0.001, steps: 1000, model: { layers: 2, dModel: 128 }, seeds: [1, 2] },
  inputs: { data: 'data-0123456789abcdef0123456789abcdef01234567' },
};

describe('canonical form', () => {
  test('is the documented text: sorted keys at every depth, no spaces, shortest numbers', () => {
    const v = { b: 1.0, a: { d: [1, { f: 2, e: 3 }], c: 'x' }, é: true, Z: null };
    // written by hand: code-unit order puts 'Z' (0x5a) before 'a' and 'é' (0xe9) last
    assert.equal(canonicalJson(v), '{"Z":null,"a":{"c":"x","d":[1,{"e":3,"f":2}]},"b":1,"é":true}');
  });

  test('the key is the step name and the first 40 hex digits of SHA-256 of the canonical text', () => {
    // the canonical text written by hand and hashed independently: a change to the canonical form
    // (which would re-key every stored artifact) fails here
    const text =
      '{"inputs":{"data":"data-0123456789abcdef0123456789abcdef01234567"},' +
      '"params":{"lr":0.001,"model":{"dModel":128,"layers":2},"seeds":[1,2],"steps":1000},"step":"train","version":"3"}';
    const expected = `train-${createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 40)}`;
    assert.equal(stepKey(base), expected);
    assert.match(expected, KEY_PATTERN);
  });
});

describe('what does not change a key', () => {
  const k = stepKey(base);

  test('key order, at every depth and in inputs', () => {
    const reordered: StepSpec = {
      inputs: { ...base.inputs },
      params: { seeds: [1, 2], model: { dModel: 128, layers: 2 }, steps: 1000, lr: 0.001 },
      version: '3',
      step: 'train',
    };
    assert.equal(stepKey(reordered), k);
    const two = { step: 'polca', version: '1', params: {}, inputs: { a: 'a-1', b: 'b-2' } };
    assert.equal(stepKey(two), stepKey({ ...two, inputs: { b: 'b-2', a: 'a-1' } }));
  });

  test('number spelling in a config text: 1 vs 1.0 vs 1e0, 1000 vs 1e3 vs 1000.000, 0.001 vs 1e-3', () => {
    const texts = [
      '{"lr":0.001,"steps":1000,"model":{"layers":2,"dModel":128},"seeds":[1,2]}',
      '{"lr":1e-3,"steps":1e3,"model":{"layers":2.0,"dModel":1.28e2},"seeds":[1.0,2e0]}',
      '{"lr":0.0010,"steps":1000.000,"model":{"layers":2,"dModel":128.0},"seeds":[10e-1,0.2e1]}',
    ];
    for (const t of texts) assert.equal(stepKey({ ...base, params: JSON.parse(t) }), k, t);
  });

  test('undefined fields, and -0 against 0', () => {
    assert.equal(stepKey({ ...base, params: { ...(base.params as object), extra: undefined } }), k);
    const a = stepKey({ step: 's', version: '1', params: { x: -0, y: { z: undefined } }, inputs: {} });
    assert.equal(a, stepKey({ step: 's', version: '1', params: { x: 0, y: {} }, inputs: {} }));
  });

  test('params undefined is the same as params null', () => {
    assert.equal(
      stepKey({ step: 's', version: '1', params: undefined, inputs: {} }),
      stepKey({ step: 's', version: '1', params: null, inputs: {} }),
    );
  });
});

describe('what changes a key', () => {
  const k = stepKey(base);
  const variants: [string, StepSpec][] = [
    ['the code version', { ...base, version: '4' }],
    ['the step name', { ...base, step: 'basis' }],
    ['an input key', { ...base, inputs: { data: 'data-1123456789abcdef0123456789abcdef01234567' } }],
    ['an input name', { ...base, inputs: { other: base.inputs.data } }],
    ['a parameter value', { ...base, params: { ...(base.params as object), lr: 0.0010000000000000002 } }],
    ['an added parameter', { ...base, params: { ...(base.params as object), warmup: 0 } }],
    ['a parameter null instead of absent', { ...base, params: { ...(base.params as object), warmup: null } }],
    ['array order', { ...base, params: { ...(base.params as object), seeds: [2, 1] } }],
    ['a number against its string', { ...base, params: { ...(base.params as object), steps: '1000' } }],
  ];
  for (const [what, spec] of variants) {
    test(what, () => assert.notEqual(stepKey(spec), k));
  }

  test('an undefined array element is null, not a hole that disappears', () => {
    assert.equal(canonicalJson([1, undefined, 2]), '[1,null,2]');
    assert.notEqual(canonicalJson([1, undefined, 2]), canonicalJson([1, 2]));
  });
});

describe('what a key refuses', () => {
  test('NaN and infinities, naming the field', () => {
    assert.throws(() => canonicalJson({ a: { b: [0, Number.NaN] } }), /\$\.a\.b\[1\]: NaN cannot be part of a step key/);
    assert.throws(() => canonicalJson({ x: Number.POSITIVE_INFINITY }), /\$\.x: Infinity/);
  });

  test('functions, symbols and non-plain objects', () => {
    assert.throws(() => canonicalJson({ f: () => 1 }), /\$\.f: a function/);
    assert.throws(() => canonicalJson({ s: Symbol('x') }), /\$\.s: a symbol/);
    assert.throws(() => canonicalJson({ d: new Date(0) }), /\$\.d: a Date cannot be part of a step key/);
    assert.throws(() => canonicalJson({ m: new Map() }), /\$\.m: a Map/);
    assert.throws(() => canonicalJson({ t: Float32Array.of(1) }), /\$\.t: a Float32Array/);
    // an object without a prototype is a plain record
    const bare = Object.assign(Object.create(null), { b: 2, a: 1 });
    assert.equal(canonicalJson(bare), '{"a":1,"b":2}');
  });

  test('step names that are not lower-case words', () => {
    for (const bad of ['Train', 'train step', '', '1train', 'train/2', '-x']) {
      assert.throws(() => stepKey({ step: bad, version: '1', params: {}, inputs: {} }), /allowed: lower-case/, bad);
    }
  });
});
