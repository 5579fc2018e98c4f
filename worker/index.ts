/**
 * A polca worker: polls the task queue (default `polca`) for the experiment workflows and their
 * activities. Activities run on this process's TF.js backend (one core with wasm), so the
 * default is one activity at a time per worker: run one worker per core, on one machine or many.
 */
import { fileURLToPath } from 'node:url';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { type ArtifactStore, openStore } from '../artifacts/index.ts';
import { initBackend } from '../core/backend.ts';
import { namespace, taskQueue } from '../services/env.ts';
import { createActivities } from '../activities/index.ts';
import { connectionOptions } from './connection.ts';

export { connectionOptions };

export interface WorkerOptions {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  store?: ArtifactStore;
  /** Activities at once (POLCA_WORKER_CONCURRENCY, default 1). */
  concurrency?: number;
  identity?: string;
}

let runtimeInstalled = false;

export async function createWorker(opts: WorkerOptions = {}): Promise<Worker> {
  if (!runtimeInstalled) {
    // Keep the SDK's Rust core quiet unless asked.
    const level = (process.env.POLCA_TEMPORAL_LOG ?? 'WARN') as 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';
    Runtime.install({
      logger: new DefaultLogger(level),
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: level }) },
      },
    });
    runtimeInstalled = true;
  }
  await initBackend((process.env.POLCA_BACKEND as never) ?? 'auto');
  const connection = await NativeConnection.connect(connectionOptions(opts.address));
  const concurrency = opts.concurrency ?? Number(process.env.POLCA_WORKER_CONCURRENCY ?? 1);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`POLCA_WORKER_CONCURRENCY: ${process.env.POLCA_WORKER_CONCURRENCY} is not a positive integer`);
  }
  return Worker.create({
    connection,
    namespace: opts.namespace ?? namespace(),
    taskQueue: opts.taskQueue ?? taskQueue(),
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    activities: createActivities(opts.store ?? openStore()),
    maxConcurrentActivityTaskExecutions: concurrency,
    ...(opts.identity ? { identity: opts.identity } : {}),
    shutdownGraceTime: '20s',
  });
}
