/**
 * The compute pool: every step of a Temporal worker runs in a worker thread (piscina), never on
 * the event loop that delivers workflow tasks, heartbeats and cancellation. The activity's own
 * thread heartbeats on a timer with the latest progress the compute side posted, so a step that
 * spends minutes inside one Lanczos iteration still heartbeats; cancelling the activity (or the
 * server timing it out, which the next heartbeat reports as a cancellation) aborts the task, and
 * piscina terminates the thread running it: an abandoned attempt keeps no core.
 *
 * One thread per activity slot (maxThreads = the worker's concurrency). A thread keeps its TF.js
 * backend and store clients between tasks; a terminated one is replaced on the next task.
 */
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Progress } from '../activities/steps/context.ts';
import { type ArtifactStore, openStore, type StoreOptions } from '../artifacts/index.ts';
import { ConfigError } from '../config/index.ts';
import type { BackendPref } from '../core/model/backend.ts';
import type { StepResult } from '../pipeline/contract.ts';
import { BadInputError, InputIntegrityError } from '../pipeline/errors.ts';
import type { ComputeMessage, ComputeReply, ComputeTask, SerializedError } from './task.ts';

const THREAD = new URL('./thread.mjs', import.meta.url);

export interface RunOptions {
  owner: string;
  worker?: string;
  leaseSeconds?: number;
  /** Called on the activity's thread for every progress message, and again every `beatMs`. */
  onProgress(p: Progress): void;
  signal?: AbortSignal;
}

/** Rebuild the error classes whose type decides retries (plain Error otherwise). */
export function rebuildError(e: SerializedError): Error {
  let err: Error;
  if (e.name === 'InputIntegrityError' && e.key) err = new InputIntegrityError(e.message, e.key);
  else if (e.name === 'BadInputError') err = new BadInputError(e.message);
  else if (e.name === 'ConfigError') err = new ConfigError(e.message);
  else {
    err = new Error(e.message);
    err.name = e.name;
  }
  if (e.stack) err.stack = e.stack;
  return err;
}

export class ComputePool {
  private readonly pool: Piscina;

  constructor(
    readonly store: StoreOptions,
    readonly threads: number,
    private readonly beatMs = 1000,
    /** A module whose `STEPS` export is the step registry (absent: activities/steps/registry.ts). */
    readonly registry?: URL,
  ) {
    // Threads share the process environment, which only this thread can change: TensorFlow's C++
    // start-up chatter stays off stderr unless asked for.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    this.pool = new Piscina({
      filename: THREAD.href,
      minThreads: 0,
      maxThreads: threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: 10 * 60_000,
      // Steps may spawn helper threads of their own (HDBSCAN distances); nothing is queued beyond the slots.
      maxQueue: 'auto',
    });
  }

  /** The TF.js backend the threads use (initialises it in one thread). */
  async backend(pref?: BackendPref): Promise<{ name: string; version?: string }> {
    const reply = (await this.pool.run({
      step: 'backend',
      args: [pref],
      store: this.store,
      owner: 'backend',
    } satisfies ComputeTask)) as ComputeReply;
    if (!reply.ok) throw rebuildError(reply.error);
    if (!('backend' in reply)) throw new Error('compute: unexpected reply to a backend query');
    return reply.backend;
  }

  private storeHandle?: ArtifactStore;
  private get artifactStore(): ArtifactStore {
    this.storeHandle ??= openStore(this.store);
    return this.storeHandle;
  }

  /** Run the registered step named `step` (its activity name) with `args` in a compute thread. */
  async run(step: string, args: unknown[], opts: RunOptions): Promise<StepResult> {
    const { port1, port2 } = new MessageChannel();
    let last: Progress | undefined;
    // Resume points the compute side hands over, written in order; a failed write only loses a resume point.
    let writes: Promise<unknown> = Promise.resolve();
    port1.on('message', (m: ComputeMessage) => {
      if ('persist' in m) {
        const { key, name, bytes } = m.persist;
        writes = writes.then(() => this.artifactStore.putScratch(key, name, bytes)).catch(() => undefined);
        return;
      }
      last = m.progress;
      opts.onProgress(m.progress);
    });
    const beat = setInterval(() => opts.onProgress(last ?? { phase: step, done: 0, total: 1 }), this.beatMs);
    try {
      const task: ComputeTask = {
        step,
        args,
        ...(this.registry ? { registry: this.registry.href } : {}),
        store: this.store,
        owner: opts.owner,
        worker: opts.worker,
        leaseSeconds: opts.leaseSeconds,
        port: port2,
      };
      const reply = (await this.pool.run(task, { transferList: [port2], signal: opts.signal }).finally(() => writes)) as ComputeReply;
      if (!reply.ok) throw rebuildError(reply.error);
      if (!('result' in reply)) throw new Error('compute: unexpected reply to a step');
      // A stored step needs no resume point: remove any that was written after the step removed its own.
      if (!reply.result.cached) await this.artifactStore.clearScratch(reply.result.key).catch(() => undefined);
      return reply.result;
    } finally {
      clearInterval(beat);
      port1.close();
    }
  }

  /** Threads running or idle (for tests). */
  get size(): number {
    return this.pool.threads.length;
  }

  /** Stop every thread now, running steps included (piscina's close would wait 30 s for them, then fail). */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
