/**
 * Tasks as a plug-in left every arithmetic key where it was. The literals below were computed on
 * the code before tasks existed (core/data.ts fixing the vocabulary, context and output positions),
 * by building each step's spec as that code did (data: params { seed, data }; train/s: params
 * { seed, data, model, train, segment, from, until } with inputs { data[, prev] }; basis/0:
 * `basisSpec`) for the resolved preset and hashing it with `stepKey`, and `workflowIdFor` of the
 * resolved preset. The same configs must give the same keys and workflow ids now, with `task`
 * absent or spelled out as the default; with `ablate` set, the run's own steps keep their keys.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { basisSpec } from '../../activities/steps/basis.ts';
import { dataSpec } from '../../activities/steps/data.ts';
import { trainSpec } from '../../activities/steps/train.ts';
import { stepKey } from '../../artifacts/keys.ts';
import { workflowIdFor } from '../../cli/temporal.ts';
import { resolveConfig } from '../../config/index.ts';

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
