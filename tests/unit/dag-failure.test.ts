/**
 * A step that fails for good (a non-retryable store fault, a bad input) fails the experiment's DAG
 * with that step's error and leaves no promise rejected without a handler: in a Temporal workflow
 * an unhandled rejection fails the workflow task instead of the workflow, which then retries that
 * task forever and never ends. Driven with activities that fail a chosen step.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../../config/index.ts';
import type { ExperimentActivities, StepResult } from '../../pipeline/contract.ts';
import { emptyProgress, runExperimentDag } from '../../pipeline/dag.ts';

const c = resolveConfig({ preset: 'tiny' });

/** Activities that succeed (a made-up key per call) except `failing`, which rejects on its `at`-th call. */
function activities(failing: string, at = 0): { acts: ExperimentActivities; calls: string[] } {
  const calls: string[] = [];
  const counts = new Map<string, number>();
  const acts = new Proxy({} as ExperimentActivities, {
    get:
      (_, name: string) =>
      async (...args: unknown[]) => {
        const n = counts.get(name) ?? 0;
        counts.set(name, n + 1);
        calls.push(name);
        await new Promise((r) => setImmediate(r));
        if (name === failing && n === at) throw new Error(`${name} failed for good`);
        if (name === 'saveRun') return undefined;
        const s = typeof args[1] === 'number' ? `/${args[1]}` : '';
        return { name: `${name}${s}`, key: `${name}-${n}`, cached: false, seconds: 0 } satisfies StepResult;
      },
  });
  return { acts, calls };
}

for (const [failing, at] of [
  ['train', 0],
  ['train', 1],
  ['basis', 0],
  ['polca', 1],
  ['cluster', 0],
  ['report', 0],
] as const) {
  test(`${failing} #${at} failing for good fails the DAG with its error, and no rejection goes unhandled`, async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { acts, calls } = activities(failing, at);
      await assert.rejects(
        runExperimentDag(c, 'dag-failure', acts, { integrityKey: () => undefined, progress: emptyProgress(c) }),
        new RegExp(`^Error: ${failing} failed for good$`),
      );
      assert.ok(!calls.includes('saveRun'), 'no run record for a failed run');
      // let every pending promise settle, so that an unhandled rejection would be reported
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      assert.deepEqual(unhandled.map(String), []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
}
