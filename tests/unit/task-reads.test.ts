/**
 * What a task reads (TaskReadings) is asked of its spec in one place (core/tasks/specs.ts
 * `taskReads`), and every reading a task asks for is backed by its skill columns: the digit-place
 * table by digit, carry and value; the carry reading by digit and carry; the tag readings by the
 * tag columns. The plan schedules the `tags` steps exactly for a task that asks for them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../../config/index.ts';
import { TAG_POSITIONS } from '../../core/tasks/english/spec.ts';
import { TASK_NAMES, TASKS } from '../../core/tasks/index.ts';
import { TASK_SPECS, taskReads } from '../../core/tasks/specs.ts';
import { tagTargets } from '../../pipeline/plan.ts';

test('every task asks only for readings its skill columns back', () => {
  for (const name of TASK_NAMES) {
    const spec = TASK_SPECS[name];
    const cols = new Set(spec.skillColumns);
    const has = (...c: string[]) => c.every((x) => cols.has(x));
    if (spec.reads.digitPlaces) assert.ok(has('digit', 'carry', 'value'), `${name}: digit places without digit, carry and value`);
    if (spec.reads.carry) assert.ok(has('digit', 'carry'), `${name}: a carry reading without digit and carry`);
    if (spec.reads.tags) assert.ok(has(...TAG_POSITIONS), `${name}: tag readings without the tag columns`);
    assert.equal(TASKS[name].reads, spec.reads, `${name}: the task and its spec read the same`);
  }
});

test('arithmetic reads digit places and carries, English reads tags, and the plan follows', () => {
  assert.deepEqual(taskReads({}), { digitPlaces: true, carry: true, tags: false });
  assert.deepEqual(taskReads({ task: { name: 'english' } }), { digitPlaces: false, carry: false, tags: true });
  assert.equal(tagTargets(resolveConfig({ preset: 'tiny' })).length, 0);
  assert.ok(tagTargets(resolveConfig({ preset: 'english-tiny' })).length > 0);
  assert.throws(() => taskReads({ task: { name: 'klingon' } }), /task\.name.*arithmetic, english/);
});
