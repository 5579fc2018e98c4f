/**
 * The Temporal activities: thin wrappers that give each step (activities/steps/) its context —
 * the store, heartbeats with `{phase, done, total}`, cancellation — and turn errors into Temporal failures: bad input is
 * non-retryable, an input that failed its integrity check is a non-retryable failure naming its
 * key so that the workflow recomputes it at once, anything else is retried with backoff.
 */
import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactStore } from '../artifacts/index.ts';
import { ConfigError } from '../config/index.ts';
import type { ExperimentActivities, RunRecordInput } from '../workflows/dag.ts';
import { BadInputError, InputIntegrityError, type Progress, type StepContext } from './context.ts';
import * as steps from './steps/index.ts';

function stepContext(store: ArtifactStore): StepContext {
  const ctx = Context.current();
  const info = ctx.info;
  return {
    store,
    heartbeat: (details: Progress) => ctx.heartbeat(details),
    signal: ctx.cancellationSignal,
    worker: `${process.pid}@${hostname()}`,
    owner: `${info.workflowExecution?.workflowId ?? '-'}/${info.workflowExecution?.runId ?? '-'}/${info.activityId}`,
  };
}

function translate(e: unknown): never {
  if (e instanceof ApplicationFailure) throw e;
  // Not retried: the workflow recomputes the damaged input's producer at once, then this step.
  if (e instanceof InputIntegrityError) throw ApplicationFailure.nonRetryable(e.message, 'InputIntegrityError', e.key);
  if (e instanceof BadInputError || e instanceof ConfigError) throw ApplicationFailure.nonRetryable(e.message, e.name);
  throw e;
}

async function guarded<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    translate(e);
  }
}

export function createActivities(store: ArtifactStore): ExperimentActivities {
  return {
    data: (c) => guarded(() => steps.dataStep(stepContext(store), c)),
    train: (c, s, inputs) => guarded(() => steps.trainStep(stepContext(store), c, s, inputs)),
    basis: (c, s, inputs) => guarded(() => steps.basisStep(stepContext(store), c, s, inputs)),
    polca: (c, s, inputs) => guarded(() => steps.polcaStep(stepContext(store), c, s, inputs)),
    trajectories: (c, inputs) => guarded(() => steps.trajectoriesStep(stepContext(store), c, inputs)),
    cluster: (c, target, inputs) => guarded(() => steps.clusterStep(stepContext(store), c, target, inputs)),
    report: (c, runName, stepKeys) => guarded(() => steps.reportStep(stepContext(store), c, runName, stepKeys)),
    saveRun: (record: RunRecordInput) => guarded(() => steps.saveRun(store, record)),
  };
}
