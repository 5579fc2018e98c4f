/**
 * Tasks as a plug-in left every arithmetic key where it was. The literals below were computed on
 * the code before tasks existed (core/data.ts fixing the vocabulary, context and output positions),
 * by building each step's spec as that code did (data: params { seed, data }; train/s: params
 * { seed, data, model, train, segment, from, until } with inputs { data[, prev] }; basis/0:
 * `basisSpec`) for the resolved preset and hashing it with `stepKey`, and `workflowIdFor` of the
 * resolved preset. The same configs must give the same keys and workflow ids now, with `task`
 * absent or spelled out as the default; with `ablate` set, the run's own steps keep their keys.
 *
 * Every step of every preset: the whole DAG is walked by the in-process runner against a store
 * that answers every cache-hit check with "present", so that each step computes its key and
 * returns at once; the steps' names and keys (in DAG order, the report last) are hashed with
 * SHA-256. The digests below were computed this way on the code before the step registry existed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { runLocal } from '../../activities/local.ts';
import { basisSpec } from '../../activities/steps/basis.ts';
import { dataSpec } from '../../activities/steps/data.ts';
import { trainSpec } from '../../activities/steps/train.ts';
import type { ArtifactStore } from '../../artifacts/index.ts';
import { stepKey } from '../../artifacts/keys.ts';
import { workflowIdFor } from '../../cli/temporal.ts';
import { resolveConfig } from '../../config/index.ts';
import { PRESET_NAMES } from '../../config/presets.ts';

const BEFORE = {
  tiny: {
    data: 'data-7fde292d7a088da851e1a358f9b856ad759dacb1',
    train0: 'train-3e9b6ac6757b0f6b44450c509b52cc5efce031f1',
    train1: 'train-c7d2c038acb2f902ce1bd30d582d838036797dbb',
    basis0: 'basis-df29e552744b5d4d03485856334eb7574179dc05',
    workflow: 'polca-tiny-9abd38cec82c',
  },
  small: {
    data: 'data-bccbd576786b608e3dea5ffdf78fc8258bf4a6ec',
    train0: 'train-f5c400c7fc0b7de30fc1953eeee2a951a39ad780',
    train1: 'train-f7da116b015a7167994e91e832098b24a5660821',
    basis0: 'basis-d83abf8fe5e3a85295a8aad2aeeaeb042eeb107b',
    workflow: 'polca-small-3f92f961cf84',
  },
  paper: {
    data: 'data-6041ea7a860b926a30a02a6a194e8345219aa33c',
    train0: 'train-d612ce08adad1d31683ad84a11ed89969e219d2c',
    train1: 'train-c4a596c3456d289924b3c68241cf23ec66017944',
    basis0: 'basis-951f31b2c1fc06d0eff5c126930863d94947987c',
    workflow: 'polca-paper-c33ee314847b',
  },
} as const;

function keysOf(preset: keyof typeof BEFORE, sets?: string[]) {
  const c = resolveConfig({ preset, sets });
  const data = stepKey(dataSpec(c));
  const train0 = stepKey(trainSpec(c, 0, { data }));
  const train1 = stepKey(trainSpec(c, 1, { data, prev: train0 }));
  const basis0 = stepKey(basisSpec(c, 0, { data, train: train0 }));
  return { data, train0, train1, basis0, workflow: workflowIdFor(c) };
}

describe('arithmetic keys are those from before tasks existed', () => {
  for (const preset of Object.keys(BEFORE) as (keyof typeof BEFORE)[]) {
    test(`${preset}: data, train/0, train/1, basis/0 and the workflow id`, () => {
      assert.deepEqual(keysOf(preset), BEFORE[preset]);
    });
    test(`${preset}: an ablation leaves the run's own keys where they were (only the workflow id, a new config's, moves)`, () => {
      const { workflow, ...own } = keysOf(preset, ['ablate.vectors=[0]', 'ablate.from=40']);
      const { workflow: before, ...pinned } = BEFORE[preset];
      assert.deepEqual(own, pinned);
      assert.notEqual(workflow, before);
    });
    test(`${preset}: the same with task.name=arithmetic spelled out`, () => {
      assert.deepEqual(keysOf(preset, ['task.name=arithmetic']), BEFORE[preset]);
      assert.equal(resolveConfig({ preset, sets: ['task.name=arithmetic'] }).task, undefined);
    });
  }
});

/** Steps (count), SHA-256 of their names and keys, and the workflow id, per preset. */
const ALL_STEPS: Record<string, [number, string, string]> = {
  tiny: [28, '21b39bb6f30d43e537b4b35248fe25b2af7e5a48fecf62e90cc56373b5b88f20', 'polca-tiny-9abd38cec82c'],
  small: [70, '492244c72ed0ab1b5632b28ccdb7639d7cd42c43a2ff79effd1e004daf452cc9', 'polca-small-3f92f961cf84'],
  medium: [130, 'c3448d93e2e6ef576f978b5c85f8e220ec7b5a5826795366b96ff0715cd43ab4', 'polca-medium-f2e4fdda847e'],
  paper: [190, 'f57f10b3e2c05a3867218b9511b2c83efaa0787e01112dfb763fa7afb05e5a9b', 'polca-paper-c33ee314847b'],
  iclr: [513, '422cb91ecfa7a156b9a76004326f0dce3a872c5a0ecdb6d2f3dce6b3afa2650f', 'polca-iclr-e0445b82a608'],
  'iclr-probe': [69, 'c80b653bf4c4db312b48e39065571509d5ec61ffb884a45862446ce04cb3a14b', 'polca-iclr-probe-be1832636cea'],
  'english-tiny': [31, '99c53945c4ed393ce032a9053776ac8ee3dd34314006bccecaff8913fe959fd3', 'polca-english-tiny-dcf4e4520b0f'],
  'english-small': [80, 'a145322feac98eb8d7206d86c6763edb1c1c80fbb7d8df9f2ab40724325aca6e', 'polca-english-small-42af87c835ec'],
  'english-small-pca': [80, '68f072b0cf8eba8564c08246965b559fcf79fa978ece95e6dd9322efd57c2535', 'polca-english-small-pca-c81d892b3e1f'],
  'english-iclr': [255, '2d866d3f4bb944b004da85a0880109b6d396a51ffbed6c6dba1bc04bfcc53005', 'polca-english-iclr-51a014daa618'],
};

/** A store that has every artifact: each step computes its key and returns it as a cache hit. */
const everything = {
  location: 'every key present',
  async check(key: string) {
    return { state: 'ok', manifest: { key, meta: {} }, hashed: true };
  },
  async putRun() {},
} as unknown as ArtifactStore;

describe('every step key of every preset is the one from before the step registry', () => {
  test('every preset is pinned', () => {
    assert.deepEqual(Object.keys(ALL_STEPS).sort(), [...PRESET_NAMES].sort());
  });
  for (const preset of PRESET_NAMES) {
    test(`${preset}: every step's name and key, and the workflow id`, async () => {
      const c = resolveConfig({ preset });
      const r = await runLocal(c, everything, 'keys');
      assert.ok(r.steps.every((s) => s.cached));
      const steps = Object.fromEntries(r.steps.map((s) => [s.name, s.key]));
      steps.report = r.report;
      const digest = createHash('sha256').update(JSON.stringify(steps)).digest('hex');
      assert.deepEqual([Object.keys(steps).length, digest, workflowIdFor(c)], ALL_STEPS[preset]);
    });
  }
});

describe('the task field', () => {
  test('an unknown task is refused, naming the field and the allowed tasks', () => {
    assert.throws(
      () => resolveConfig({ preset: 'tiny', sets: ['task.name=klingon'] }),
      (e: Error) => /task\.name/.test(e.message) && /arithmetic/.test(e.message) && /english/.test(e.message),
    );
  });
  test('the english task: its settings checked by its own schema, naming the field', () => {
    const c = resolveConfig({ preset: 'english-small' });
    assert.deepEqual(c.task, { name: 'english', textColumn: 'text', vocabSize: 2000, contextLength: 32, lowercase: true });
    assert.throws(
      () => resolveConfig({ preset: 'english-small', sets: ['task.contextLength=2'] }),
      (e: Error) => /task\.contextLength/.test(e.message),
    );
    assert.throws(
      () => resolveConfig({ preset: 'english-small', sets: ['task.corpusSha256="abc"'] }),
      (e: Error) => /task\.corpusSha256/.test(e.message),
    );
  });
  test('a setting arithmetic does not have is refused, naming it', () => {
    assert.throws(
      () => resolveConfig({ preset: 'tiny', sets: ['task={"name":"arithmetic","corpus":"x.txt"}'] }),
      (e: Error) => /task: Unrecognized key/.test(e.message) && /corpus/.test(e.message),
    );
  });
});
