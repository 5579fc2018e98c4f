/**
 * A polca worker: polls the task queue (default `polca`) for the experiment workflows and their
 * activities. Activities run on this process's TF.js backend (one core with wasm), so the
 * default is one activity at a time per worker: run one worker per core, on one machine or many.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { type ArtifactStore, openStore } from '../artifacts/index.ts';
import { initBackend } from '../core/backend.ts';
import { namespace, polcaHome, taskQueue, workerConcurrency } from '../services/env.ts';
import { createActivities } from '../activities/index.ts';
import { connectionOptions } from './connection.ts';
import { runtimeLogOptions } from './logging.ts';

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
    // SDK and Rust-core logs: to stderr or a log file at POLCA_LOG_LEVEL, never stdout (worker/logging.ts).
    Runtime.install(runtimeLogOptions());
    runtimeInstalled = true;
  }
  await initBackend((process.env.POLCA_BACKEND as never) ?? 'auto');
  const connection = await NativeConnection.connect(connectionOptions(opts.address));
  const concurrency = opts.concurrency ?? workerConcurrency();
  return Worker.create({
    ...(await workflowBundle()),
    connection,
    namespace: opts.namespace ?? namespace(),
    taskQueue: opts.taskQueue ?? taskQueue(),
    activities: createActivities(opts.store ?? openStore()),
    maxConcurrentActivityTaskExecutions: concurrency,
    ...(opts.identity ? { identity: opts.identity } : {}),
    shutdownGraceTime: '20s',
  });
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
