/**
 * The compute-thread side of a step: runs one registered step (activities/steps/registry.ts, or
 * the registry module a pool was given) with a context whose store is opened in this thread and
 * whose heartbeat posts progress to the activity's thread. Errors cross the thread boundary as
 * plain data (name, message, key), so that the activity can rebuild the error classes that decide
 * retry behaviour.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Progress, StepContext } from '../activities/steps/context.ts';
import { runByName, type StepRegistry } from '../activities/steps/define.ts';
import { STEPS } from '../activities/steps/registry.ts';
import { type ArtifactStore, openStore, type StoreOptions } from '../artifacts/index.ts';
import { type BackendPref, backendInfo, initBackend } from '../core/model/backend.ts';
import type { StepResult } from '../pipeline/contract.ts';

export interface ComputeTask {
  /** A registered step's activity name, or `backend` (initialise the TF.js backend and name it). */
  step: string;
  args: unknown[];
  /** The module whose `STEPS` export is the registry (absent: activities/steps/registry.ts). */
  registry?: string;
  store: StoreOptions;
  owner: string;
  worker?: string;
  leaseSeconds?: number;
  /** Progress messages go here. */
  port?: MessagePort;
}

/** What the compute side posts while a step runs. */
export type ComputeMessage = { progress: Progress } | { persist: { key: string; name: string; bytes: Uint8Array } };

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

/** The registry a task names: the built-in one, or a module's `STEPS` export (loaded once per thread). */
const registries = new Map<string, Promise<StepRegistry>>();
function registryFor(url: string | undefined): Promise<StepRegistry> {
  if (url === undefined) return Promise.resolve(STEPS);
  let r = registries.get(url);
  if (!r) {
    r = import(url).then((m: { STEPS?: StepRegistry }) => {
      if (!m.STEPS || typeof m.STEPS !== 'object') throw new Error(`compute: ${url} exports no STEPS registry`);
      return m.STEPS;
    });
    registries.set(url, r);
  }
  return r;
}

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
    const registry = await registryFor(task.registry);
    const ctx: StepContext = {
      store: storeFor(task.store),
      heartbeat: (details: Progress) => task.port?.postMessage({ progress: details } satisfies ComputeMessage),
      // Written by the activity's thread, so that synchronous numerics can hand them over.
      persist: task.port
        ? (key: string, name: string, bytes: Uint8Array) => {
            const copy = bytes.slice();
            task.port?.postMessage({ persist: { key, name, bytes: copy } } satisfies ComputeMessage, [copy.buffer]);
          }
        : undefined,
      owner: task.owner,
      worker: task.worker,
      leaseSeconds: task.leaseSeconds,
    };
    const result = await runByName(registry, task.step, ctx, task.args);
    return { ok: true, result };
  } catch (e) {
    return { ok: false, error: serializeError(e) };
  } finally {
    task.port?.close();
  }
}
