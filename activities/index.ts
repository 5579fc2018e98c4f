/**
 * The Temporal activities: thin wrappers, one per registered step (activities/steps/registry.ts),
 * that run the step in the worker's compute pool (compute/pool.ts), never on this thread, which
 * belongs to Temporal. The activity heartbeats `{phase, done, total}` from the compute side's
 * progress, forwards cancellation to the pool (which terminates the step's thread), and turns
 * errors into Temporal failures: bad input is non-retryable, an input that failed its integrity
 * check is a non-retryable failure naming its key so that the workflow recomputes it at once, a
 * store that cannot be written is non-retryable (activities/store-faults.ts), anything else is
 * retried with backoff.
 */
import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { openStore } from '../artifacts/index.ts';
import type { ComputePool } from '../compute/pool.ts';
import { ConfigError } from '../config/index.ts';
import type { RunRecordActivity } from '../pipeline/contract.ts';
import { BadInputError, InputIntegrityError } from '../pipeline/errors.ts';
import { activitiesOf, type RegistryActivities, type StepRegistry } from './steps/define.ts';
import { STEPS, type StepActivities } from './steps/registry.ts';
import { storeFaultFailure } from './store-faults.ts';
import { saveRun } from './steps/report.ts';

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

/**
 * One activity per step of `registry`, run in `pool` (whose threads load the same registry: the
 * pool's `registry` module, or the built-in one).
 */
export function createStepActivities<R extends StepRegistry>(pool: ComputePool, registry: R): RegistryActivities<R> {
  const worker = `${process.pid}@${hostname()}`;
  const storeLocation = openStore(pool.store).location;
  return activitiesOf(
    registry,
    (step) =>
      (...args) =>
        guarded(() => {
          const ctx = Context.current();
          const info = ctx.info;
          return pool.run(step, args, {
            owner: `${info.workflowExecution?.workflowId ?? '-'}/${info.workflowExecution?.runId ?? '-'}/${info.activityId}`,
            worker,
            onProgress: (p) => ctx.heartbeat(p),
            signal: ctx.cancellationSignal,
          });
        }, storeLocation),
  );
}

/** The run record, written by the activity's thread (small JSON). */
export function createRunRecordActivity(pool: ComputePool): RunRecordActivity {
  const store = openStore(pool.store);
  return { saveRun: (record) => guarded(() => saveRun(store, record), store.location) };
}

/** The experiment's activities: every registered step, and the run record. */
export function createActivities(pool: ComputePool): StepActivities {
  return { ...createStepActivities(pool, STEPS), ...createRunRecordActivity(pool) };
}
