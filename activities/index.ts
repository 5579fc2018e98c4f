/**
 * The Temporal activities: thin wrappers that run each step (activities/steps/) in the worker's
 * compute pool (compute/pool.ts), never on this thread, which belongs to Temporal. The activity
 * heartbeats `{phase, done, total}` from the compute side's progress, forwards cancellation to the
 * pool (which terminates the step's thread), and turns errors into Temporal failures: bad input is
 * non-retryable, an input that failed its integrity check is a non-retryable failure naming its
 * key so that the workflow recomputes it at once, a store that cannot be written is non-retryable
 * (activities/store-faults.ts), anything else is retried with backoff.
 */
import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { openStore } from '../artifacts/index.ts';
import type { ComputePool } from '../compute/pool.ts';
import type { StepName } from '../compute/task.ts';
import { ConfigError } from '../config/index.ts';
import type { ExperimentActivities, RunRecordInput, StepResult } from '../workflows/dag.ts';
import { BadInputError, InputIntegrityError } from './context.ts';
import { storeFaultFailure } from './store-faults.ts';
import * as steps from './steps/index.ts';

function translate(e: unknown): never {
  if (e instanceof ApplicationFailure) throw e;
  // Not retried: the workflow recomputes the damaged input's producer at once, then this step.
  if (e instanceof InputIntegrityError) throw ApplicationFailure.nonRetryable(e.message, 'InputIntegrityError', e.key);
  if (e instanceof BadInputError || e instanceof ConfigError) throw ApplicationFailure.nonRetryable(e.message, e.name);
  throw e;
}

async function guarded<T>(f: () => Promise<T>, storeLocation?: string): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const ctx = Context.current();
    // Cancelled (by the workflow, or by the server after a timeout): report it as such.
    if (ctx.cancellationSignal.aborted) await ctx.cancelled;
    // A store that cannot be written (read-only, permission denied, no space after a short wait): not retried.
    const fault = storeFaultFailure(e, Date.now() - ctx.info.scheduledTimestampMs, storeLocation);
    if (fault) throw fault;
    translate(e);
  }
}

export function createActivities(pool: ComputePool): ExperimentActivities {
  const worker = `${process.pid}@${hostname()}`;
  const storeLocation = openStore(pool.store).location;
  const run = (step: StepName, args: unknown[]): Promise<StepResult> =>
    guarded(() => {
      const ctx = Context.current();
      const info = ctx.info;
      return pool.run(step, args, {
        owner: `${info.workflowExecution?.workflowId ?? '-'}/${info.workflowExecution?.runId ?? '-'}/${info.activityId}`,
        worker,
        onProgress: (p) => ctx.heartbeat(p),
        signal: ctx.cancellationSignal,
      });
    }, storeLocation);
  return {
    data: (c) => run('data', [c]),
    train: (c, s, inputs) => run('train', [c, s, inputs]),
    basis: (c, s, inputs) => run('basis', [c, s, inputs]),
    polca: (c, s, inputs) => run('polca', [c, s, inputs]),
    trajectories: (c, inputs) => run('trajectories', [c, inputs]),
    cluster: (c, target, inputs) => run('cluster', [c, target, inputs]),
    capture: (c, inputs) => run('capture', [c, inputs]),
    trajectoriesFirst: (c, inputs) => run('trajectoriesFirst', [c, inputs]),
    fisher: (c, s, inputs) => run('fisher', [c, s, inputs]),
    trajectoriesFisher: (c, inputs) => run('trajectoriesFisher', [c, inputs]),
    lcaParams: (c, inputs, n) => run('lcaParams', [c, inputs, n]),
    lca: (c, s, inputs) => run('lca', [c, s, inputs]),
    trajectoriesLca: (c, inputs) => run('trajectoriesLca', [c, inputs]),
    protocol: (c, target, inputs) => run('protocol', [c, target, inputs]),
    tags: (c, target, inputs) => run('tags', [c, target, inputs]),
    ablate: (c, arm, s, inputs) => run('ablate', [c, arm, s, inputs]),
    ablation: (c, inputs) => run('ablation', [c, inputs]),
    report: (c, runName, stepKeys) => run('report', [c, runName, stepKeys]),
    saveRun: (record: RunRecordInput) => guarded(() => steps.saveRun(openStore(pool.store), record), storeLocation),
  };
}
