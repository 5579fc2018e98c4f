/**
 * Runs the wiring workflow end to end: a worker on a fresh task queue (workflow code bundled from
 * workflows/wiring.ts by the SDK's webpack bundler, activities bound to the given store), a client
 * that executes the workflow, and a clean shutdown of both.
 */
import { randomBytes } from 'node:crypto';
import type { Connection as ClientConnection } from '@temporalio/client';
import { fileURLToPath } from 'node:url';
import { createWiringActivities, type WiringInput } from '../activities/wiring.ts';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { WiringWorkflowResult } from '../workflows/wiring.ts';
import { connectionOptions } from './connection.ts';

export const WIRING_WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/wiring.ts', import.meta.url));

export interface WiringOptions {
  address: string;
  namespace?: string;
  store: ArtifactStore;
  taskQueue?: string;
  workflowId?: string;
  input?: Partial<WiringInput>;
  timeoutMs?: number;
  /** Runtime log level of the worker (the SDK logs bundling and worker state at INFO). */
  logLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

export interface WiringRun extends WiringWorkflowResult {
  /** Worker creation, including bundling the workflow code. */
  workerStartMs: number;
  /** Workflow start to result. */
  workflowMs: number;
}

let runtimeInstalled = false;

/** Install the worker runtime with a quieter logger once per process (ignored when already set). */
async function installRuntime(level: NonNullable<WiringOptions['logLevel']>): Promise<void> {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const { Runtime, DefaultLogger } = await import('@temporalio/worker');
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // a runtime already exists in this process; keep it
  }
}

export async function runWiringCheck(opts: WiringOptions): Promise<WiringRun> {
  const namespace = opts.namespace ?? 'default';
  const suffix = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const taskQueue = opts.taskQueue ?? `polca-wiring-${suffix}`;
  const workflowId = opts.workflowId ?? `polca-wiring-${suffix}`;
  const input: WiringInput = { token: `wiring-${suffix}`, ...opts.input };
  await installRuntime(opts.logLevel ?? 'WARN');
  const { NativeConnection, Worker } = await import('@temporalio/worker');
  const { Client, Connection } = await import('@temporalio/client');
  const t0 = Date.now();
  const nativeConnection = await NativeConnection.connect(connectionOptions(opts.address));
  let connection: ClientConnection | undefined;
  try {
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace,
      taskQueue,
      workflowsPath: WIRING_WORKFLOWS_PATH,
      activities: createWiringActivities(opts.store),
    });
    const workerStartMs = Date.now() - t0;
    connection = await Connection.connect(connectionOptions(opts.address));
    const client = new Client({ connection, namespace });
    const t1 = Date.now();
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const result = await worker.runUntil(
      client.workflow.execute('wiringWorkflow', {
        taskQueue,
        workflowId,
        args: [input],
        workflowExecutionTimeout: timeoutMs,
      }) as Promise<WiringWorkflowResult>,
    );
    return { ...result, workerStartMs, workflowMs: Date.now() - t1 };
  } finally {
    await connection?.close();
    await nativeConnection.close();
  }
}
