/**
 * A polca worker: polls the task queue (default `polca`) for the experiment workflows and their
 * activities. Every step runs in the worker's compute pool (compute/pool.ts), one thread per
 * activity slot, so this thread stays free for workflow tasks, heartbeats and cancellation.
 * Slots default to one per core (services/env.ts `defaultWorkerConcurrency`, with the measurement).
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.ts';
import { type StoreOptions, storeOptionsFromEnv } from '../artifacts/index.ts';
import { ComputePool } from '../compute/pool.ts';
import type { BackendPref } from '../core/model/backend.ts';
import { defaultWorkerConcurrency, namespace, polcaHome, taskQueue, workerConcurrency } from '../services/env.ts';
import { connectionOptions } from '../services/connection.ts';
import { runtimeLogOptions } from './logging.ts';

export { connectionOptions };

export interface WorkerOptions {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  store?: StoreOptions;
  /** Activities at once (POLCA_WORKER_CONCURRENCY; default by backend). */
  concurrency?: number;
  identity?: string;
  /** How long running activities get to finish when the worker shuts down before they are cancelled (default 20 s). */
  shutdownGraceTime?: string;
}

let runtimeInstalled = false;

export async function createWorker(opts: WorkerOptions = {}): Promise<Worker> {
  if (!runtimeInstalled) {
    // SDK and Rust-core logs: to stderr or a log file at POLCA_LOG_LEVEL, never stdout (worker/logging.ts).
    Runtime.install(runtimeLogOptions());
    runtimeInstalled = true;
  }
  const store = opts.store ?? storeOptionsFromEnv();
  const explicit = opts.concurrency ?? workerConcurrency();
  const pool = new ComputePool(store, explicit ?? availableParallelism());
  const backend = await pool.backend((process.env.POLCA_BACKEND as BackendPref | undefined) ?? 'auto');
  const concurrency = explicit ?? defaultWorkerConcurrency(backend.name);
  process.stderr.write(
    `compute: backend ${backend.name}${backend.version ? ` (libtensorflow ${backend.version})` : ''}, ${concurrency} activity slot(s), one thread each\n`,
  );
  const connection = await NativeConnection.connect(connectionOptions(opts.address));
  const worker = await Worker.create({
    ...(await workflowBundle()),
    connection,
    namespace: opts.namespace ?? namespace(),
    taskQueue: opts.taskQueue ?? taskQueue(),
    activities: createActivities(pool),
    maxConcurrentActivityTaskExecutions: concurrency,
    ...(opts.identity ? { identity: opts.identity } : {}),
    shutdownGraceTime: opts.shutdownGraceTime ?? '20s',
  });
  // The threads go with the worker: once it has shut down, nothing may keep computing.
  const run = worker.run.bind(worker);
  worker.run = () => run().finally(() => pool.close());
  return worker;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const workflowsPath = join(root, 'workflows', 'index.ts');

/**
 * The workflow bundle (webpack, a few seconds) is cached under $POLCA_HOME/cache keyed by the
 * content of every source it may include and the SDK version, so that workers start quickly.
 */
async function workflowBundle(): Promise<{ workflowBundle: { code: string } } | { workflowsPath: string }> {
  const h = createHash('sha256');
  for (const dir of ['workflows', 'config']) {
    for (const f of readdirSync(join(root, dir)).sort()) if (f.endsWith('.ts')) h.update(f).update(readFileSync(join(root, dir, f)));
  }
  h.update(readFileSync(join(root, 'node_modules', '@temporalio', 'workflow', 'package.json')));
  const cacheDir = join(polcaHome(), 'cache');
  const file = join(cacheDir, `workflow-bundle-${h.digest('hex').slice(0, 16)}.js`);
  if (existsSync(file)) return { workflowBundle: { code: readFileSync(file, 'utf8') } };
  try {
    const { bundleWorkflowCode } = await import('@temporalio/worker');
    const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') });
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, code);
    renameSync(tmp, file);
    return { workflowBundle: { code } };
  } catch {
    return { workflowsPath };
  }
}
