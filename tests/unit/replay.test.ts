/**
 * Workflow versioning guard: the recorded history of a `tiny` experiment (tests/fixtures/histories,
 * made by scripts/fixtures/record-history.ts) must replay on the current workflow code without a
 * nondeterminism error. A change that fails here would break workflows running during a worker
 * upgrade: put it behind `patched()` instead.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';

const { temporal } = proto;
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('a recorded polcaExperiment history replays on the current workflow code', { timeout: 120_000 }, async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const history = temporal.api.history.v1.History.decode(
    readFileSync(join(root, 'tests', 'fixtures', 'histories', 'polca-experiment-tiny.pb')),
  );
  assert.ok(history.events.length > 50, 'a whole experiment was recorded');
  assert.ok(history.events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'polca'));
  await Worker.runReplayHistory({ workflowsPath: join(root, 'workflows', 'index.ts') }, history, 'replay-tiny-v1');
});
