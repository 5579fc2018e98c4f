/**
 * Temporal workflows: `polcaExperiment` (one experiment's DAG) and `polcaSweep` (a parent with one
 * child experiment per grid point). Deterministic orchestration only: activities do the work and
 * the workflows pass artifact keys.
 *
 * Versioning: a change to the order or kind of activities a workflow schedules goes behind
 * `patched('<change-id>')` (and later `deprecatePatch`), so that workflows started by an older
 * worker replay unchanged on a newer one.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  executeChild,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { ConfigError, resolveConfig, withoutRemovedFields } from '../config/index.ts';
import type { Config } from '../config/schema.ts';
import { type Grid, gridPoints, setPath } from './grid.ts';
import type { StepActivities } from '../activities/steps/registry.ts';
import { type ExperimentResult, emptyProgress, mapLimit, type ProgressState, runExperimentDag } from '../pipeline/dag.ts';

export interface ProgressView {
  runName: string;
  stages: ProgressState;
  status: 'running' | 'done';
}
export const progressQuery = defineQuery<ProgressView>('progress');

/** Input accepted by `polcaExperiment`: a (partial) config, optionally with a preset name. */
export type ExperimentInput = Record<string, unknown> & { preset?: string };

const NON_RETRYABLE = ['BadInputError', 'ConfigError'];
const retry = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 20,
  nonRetryableErrorTypes: NON_RETRYABLE,
};

function activities(heartbeatTimeout: string, startToCloseTimeout: string) {
  return proxyActivities<StepActivities>({
    heartbeatTimeout,
    startToCloseTimeout,
    retry,
  });
}

function validate(input: unknown): Config {
  // Workflows started before the finite-difference fields were removed carry them in their input
  // (a resolved config): those go on without them; new ones are told the fields are gone.
  if (!patched('exact-derivatives-config')) input = withoutRemovedFields(input);
  try {
    return resolveConfig({ config: input ?? {} });
  } catch (e) {
    if (e instanceof ConfigError) throw ApplicationFailure.nonRetryable(e.message, 'ConfigError', e.issues);
    throw ApplicationFailure.nonRetryable(`invalid input: ${(e as Error).message}`, 'ConfigError');
  }
}

function integrityKey(err: unknown): string | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'InputIntegrityError') {
    const k = err.cause.details?.[0];
    return typeof k === 'string' ? k : undefined;
  }
  return undefined;
}

export async function polcaExperiment(input: ExperimentInput): Promise<ExperimentResult> {
  const config = validate(input);
  const runName = workflowInfo().workflowId;
  // Basis capture and the published protocol: workflows started before them replay without them.
  const readings = patched('paper-table-readings');
  const progress = emptyProgress(config, readings);
  let status: ProgressView['status'] = 'running';
  setHandler(progressQuery, () => ({ runName, stages: progress, status }));

  // One heartbeat timeout for every step: each runs in the worker's compute pool while the
  // activity's own thread heartbeats every second, so even one long Lanczos iteration heartbeats,
  // and a dead worker is noticed within heartbeatSeconds.
  const hb = `${config.runtime.heartbeatSeconds}s`;
  const quick = activities(hb, '1h');
  const long = activities(hb, '24h');
  const acts: StepActivities = {
    data: quick.data,
    train: long.train,
    basis: long.basis,
    polca: long.polca,
    trajectories: quick.trajectories,
    cluster: long.cluster,
    capture: quick.capture,
    trajectoriesFirst: quick.trajectoriesFirst,
    fisher: long.fisher,
    trajectoriesFisher: quick.trajectoriesFisher,
    lcaParams: quick.lcaParams,
    lca: long.lca,
    trajectoriesLca: quick.trajectoriesLca,
    protocol: long.protocol,
    tags: long.tags,
    ablate: long.ablate,
    ablation: long.ablation,
    report: quick.report,
    saveRun: (record) => quick.saveRun({ ...record, workflowId: runName }),
  };
  const result = await runExperimentDag(config, runName, acts, {
    integrityKey,
    progress,
    readings,
  });
  status = 'done';
  return result;
}

export interface SweepInput {
  /** The config every point starts from (may name a preset). */
  base?: ExperimentInput;
  /** Dotted config path → values; the grid is their cartesian product (a list of grids: their union). */
  grid: Grid;
  /** Child experiments running at once. */
  parallel?: number;
}

export interface SweepPointResult {
  point: Record<string, unknown>;
  workflowId: string;
  result: ExperimentResult;
}

export const sweepProgressQuery = defineQuery<{ points: number; done: number }>('sweepProgress');

export async function polcaSweep(input: SweepInput): Promise<SweepPointResult[]> {
  if (!input || typeof input.grid !== 'object' || input.grid === null) {
    throw ApplicationFailure.nonRetryable(
      'sweep input: `grid` must be an object of config path → list of values, or a list of such objects',
      'ConfigError',
    );
  }
  let points: Record<string, unknown>[];
  try {
    points = gridPoints(input.grid);
  } catch (e) {
    throw ApplicationFailure.nonRetryable((e as Error).message, 'ConfigError');
  }
  const configs = points.map((p) => {
    let c: Record<string, unknown> = { ...(input.base ?? {}) };
    for (const [path, v] of Object.entries(p)) c = setPath(c, path, v);
    validate(c); // every point is checked before any child starts
    return c;
  });
  let done = 0;
  setHandler(sweepProgressQuery, () => ({ points: points.length, done }));
  const parent = workflowInfo().workflowId;
  return mapLimit(configs, input.parallel ?? 2, async (c, i) => {
    const workflowId = `${parent}-point-${i}`;
    const result = await executeChild(polcaExperiment, {
      args: [c],
      workflowId,
    });
    done++;
    return { point: points[i], workflowId, result };
  });
}
