/**
 * The compute-thread side of a step: runs one step function (activities/steps/) with a context
 * whose store is opened in this thread and whose heartbeat posts progress to the activity's thread.
 * Errors cross the thread boundary as plain data (name, message, key), so that the activity can
 * rebuild the error classes that decide retry behaviour.
 */
import type { MessagePort } from 'node:worker_threads';
import { type ArtifactStore, openStore, type StoreOptions } from '../artifacts/index.ts';
import type { Progress, StepContext } from '../activities/context.ts';
import * as steps from '../activities/steps/index.ts';
import { type BackendPref, backendInfo, initBackend } from '../core/backend.ts';
import type { StepResult } from '../workflows/dag.ts';

export type StepName =
  | 'data'
  | 'train'
  | 'basis'
  | 'polca'
  | 'trajectories'
  | 'cluster'
  | 'capture'
  | 'protocol'
  | 'tags'
  | 'report'
  | 'trajectoriesFirst'
  | 'fisher'
  | 'trajectoriesFisher'
  | 'lcaParams'
  | 'lca'
  | 'trajectoriesLca'
  | 'ablate'
  | 'ablation';

export interface ComputeTask {
  step: StepName | 'backend';
  args: unknown[];
  store: StoreOptions;
  owner: string;
  worker?: string;
  leaseSeconds?: number;
  /** Progress messages go here. */
  port?: MessagePort;
}

/** What the compute side posts while a step runs. */
export type ComputeMessage = { progress: Progress } | { persist: { path: string; bytes: Uint8Array } };

export interface SerializedError {
  name: string;
  message: string;
  key?: string;
  stack?: string;
}

export type ComputeReply =
  | { ok: true; result: StepResult }
  | { ok: true; backend: { name: string; version?: string } }
  | { ok: false; error: SerializedError };

const stores = new Map<string, ArtifactStore>();
function storeFor(opts: StoreOptions): ArtifactStore {
  const id = JSON.stringify(opts);
  let s = stores.get(id);
  if (!s) stores.set(id, (s = openStore(opts)));
  return s;
}

type AnyStep = (ctx: StepContext, ...args: never[]) => Promise<StepResult>;
const STEPS: Record<StepName, AnyStep> = {
  data: steps.dataStep as AnyStep,
  train: steps.trainStep as AnyStep,
  basis: steps.basisStep as AnyStep,
  polca: steps.polcaStep as AnyStep,
  trajectories: steps.trajectoriesStep as AnyStep,
  cluster: steps.clusterStep as AnyStep,
  capture: steps.captureStep as AnyStep,
  protocol: steps.protocolStep as AnyStep,
  tags: steps.tagsStep as AnyStep,
  report: steps.reportStep as AnyStep,
  trajectoriesFirst: steps.firstTrajectoriesStep as AnyStep,
  fisher: steps.fisherStep as AnyStep,
  trajectoriesFisher: steps.fisherTrajectoriesStep as AnyStep,
  lcaParams: steps.lcaParamsStep as AnyStep,
  lca: steps.lcaStep as AnyStep,
  trajectoriesLca: steps.lcaTrajectoriesStep as AnyStep,
  ablate: steps.ablateStep as AnyStep,
  ablation: steps.ablationStep as AnyStep,
};

/** An error as plain data that crosses the thread boundary (compute/pool.ts rebuilds its class). */
export function serializeError(e: unknown): SerializedError {
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message, key: (err as { key?: string }).key, stack: err.stack };
}

export async function runTask(task: ComputeTask): Promise<ComputeReply> {
  try {
    if (task.step === 'backend') {
      const name = await initBackend(task.args[0] as BackendPref | undefined);
      return { ok: true, backend: { name, version: backendInfo().version } };
    }
    const fn = STEPS[task.step];
    if (!fn) throw new Error(`compute: unknown step ${JSON.stringify(task.step)}`);
    const ctx: StepContext = {
      store: storeFor(task.store),
      heartbeat: (details: Progress) => task.port?.postMessage({ progress: details } satisfies ComputeMessage),
      // Written by the activity's thread, so that synchronous numerics can hand them over.
      persist: task.port
        ? (path: string, bytes: Uint8Array) => {
            const copy = bytes.slice();
            task.port?.postMessage({ persist: { path, bytes: copy } } satisfies ComputeMessage, [copy.buffer]);
          }
        : undefined,
      owner: task.owner,
      worker: task.worker,
      leaseSeconds: task.leaseSeconds,
    };
    const result = await fn(ctx, ...(task.args as never[]));
    return { ok: true, result };
  } catch (e) {
    return { ok: false, error: serializeError(e) };
  } finally {
    task.port?.close();
  }
}
