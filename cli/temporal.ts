/**
 * The CLI's side of Temporal: a client from Temporal's usual environment or the local dev server,
 * the stable workflow id of a config, workers for a run when none serves the queue, and live
 * progress from the workflow's `progress` query.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { canonicalJson, sha256Hex } from '../artifacts/keys.ts';
import type { Config } from '../config/schema.ts';
import { namespace as defaultNamespace, polcaHome, taskQueue as defaultTaskQueue } from '../services/env.ts';
import type { ProgressState } from '../pipeline/dag.ts';
import { STAGES } from '../pipeline/plan.ts';
import { connectionOptions } from '../services/connection.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface TemporalTarget {
  client: Client;
  connection: Connection;
  address: string;
  namespace: string;
  taskQueue: string;
  /** Web UI base URL when known (local dev server). */
  uiUrl?: string;
  /** True when this process started the local services. */
  startedServices: boolean;
}

/** TEMPORAL_ADDRESS when set; otherwise the local dev server, started when needed. */
export async function connectTemporal(opts: { startLocal?: boolean } = {}): Promise<TemporalTarget> {
  let address = process.env.TEMPORAL_ADDRESS;
  let uiUrl = process.env.POLCA_TEMPORAL_UI;
  let startedServices = false;
  if (!address) {
    const { ensureLocalServices, readState } = await import('../services/manager.ts');
    if (opts.startLocal === false) {
      const st = readState(polcaHome());
      if (!st?.temporal) throw new Error('no TEMPORAL_ADDRESS and no local services: run `polca services up` or set TEMPORAL_ADDRESS');
      address = st.temporal.address;
      uiUrl ??= st.temporal.uiUrl;
    } else {
      const local = await ensureLocalServices(polcaHome(), { minio: false });
      address = local.temporalAddress;
      uiUrl ??= local.uiUrl;
      startedServices = local.started;
    }
  }
  const connection = await Connection.connect(connectionOptions(address));
  const namespace = defaultNamespace();
  return {
    client: new Client({ connection, namespace }),
    connection,
    address,
    namespace,
    taskQueue: defaultTaskQueue(),
    uiUrl,
    startedServices,
  };
}

/** A stable id: the same config gives the same workflow id (so a rerun attaches or reuses). */
export function workflowIdFor(c: Config, prefix = 'polca'): string {
  return `${prefix}-${c.preset ?? 'custom'}-${sha256Hex(canonicalJson(c)).slice(0, 12)}`;
}

/**
 * Does a live worker poll the task queue for activities? Temporal lists pollers seen in the last
 * minutes, including workers that have since stopped: a poller on this host (identity
 * `pid@host`, the SDK's default) counts only while its process lives; others while seen within 70 s.
 */
export async function queueHasWorker(t: TemporalTarget): Promise<boolean> {
  const r = await t.client.workflowService.describeTaskQueue({
    namespace: t.namespace,
    taskQueue: { name: t.taskQueue },
    taskQueueType: 2, // TASK_QUEUE_TYPE_ACTIVITY
  });
  const now = Date.now();
  const host = hostname();
  return (r.pollers ?? []).some((p) => {
    const m = /^(\d+)@(.+)$/.exec(p.identity ?? '');
    if (m && m[2] === host) {
      try {
        process.kill(Number(m[1]), 0);
        return true;
      } catch {
        return false;
      }
    }
    const seen = Number(p.lastAccessTime?.seconds ?? 0) * 1000;
    return now - seen < 70_000;
  });
}

export interface RunWorkers {
  /**
   * Stop every worker: the in-process one at once (running steps get RUN_WORKER_GRACE, then are
   * cancelled and go back to the server for a retry), the child processes by SIGTERM. With
   * `childWaitMs`, child processes still draining after that long are left to finish on their own.
   */
  stop(opts?: { childWaitMs?: number }): Promise<void>;
  count: number;
}

/** How long a step running in a run's own worker gets to finish when the run stops (Ctrl-C) before it is cancelled. */
export const RUN_WORKER_GRACE = '2s';

/**
 * Workers for a run when none serves the queue: one in this process, and `n − 1` child
 * processes (`polca worker`). One is the default: its compute pool already uses every core (one
 * slot per core).
 */
export async function startRunWorkers(t: TemporalTarget, n = 1): Promise<RunWorkers> {
  const { createWorker } = await import('../worker/index.ts');
  const worker = await createWorker({
    address: t.address,
    namespace: t.namespace,
    taskQueue: t.taskQueue,
    shutdownGraceTime: RUN_WORKER_GRACE,
  });
  const running = worker.run();
  const children: { proc: ChildProcess; exited: Promise<unknown> }[] = [];
  for (let i = 1; i < n; i++) {
    const proc = spawn(process.execPath, [join(root, 'bin', 'polca.mjs'), 'worker'], {
      env: { ...process.env, TEMPORAL_ADDRESS: t.address, TEMPORAL_NAMESPACE: t.namespace, POLCA_TASK_QUEUE: t.taskQueue },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push({ proc, exited: new Promise((r) => proc.once('exit', r)) });
  }
  return {
    count: n,
    async stop(opts = {}) {
      for (const c of children) c.proc.kill('SIGTERM');
      // A SIGINT or SIGTERM may have started the shutdown already (the SDK's own signal handling).
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      const exited = Promise.all(children.map((c) => c.exited));
      if (opts.childWaitMs === undefined) await exited;
      else await Promise.race([exited, new Promise((r) => setTimeout(r, opts.childWaitMs).unref())]);
    },
  };
}

const noop = () => undefined;

/** Live progress on stderr: bars when it is a terminal, a line per change otherwise. */
export async function showProgress(poll: () => Promise<ProgressState | undefined>, done: Promise<unknown>, quiet: boolean): Promise<void> {
  if (quiet) return;
  let finished = false;
  done.then(
    () => (finished = true),
    () => (finished = true),
  );
  const tty = process.stderr.isTTY;
  let bars: import('cli-progress').MultiBar | undefined;
  const barOf = new Map<string, import('cli-progress').SingleBar>();
  if (tty) {
    const { MultiBar, Presets } = await import('cli-progress');
    bars = new MultiBar(
      { format: ' {stage} [{bar}] {value}/{total} {extra}', hideCursor: true, clearOnComplete: false, stream: process.stderr },
      Presets.shades_grey,
    );
  }
  let lastLine = '';
  // A query needs a worker: once the run is over (or interrupted, its worker gone) none is waited for.
  const over = done.then(noop, noop);
  while (!finished) {
    const st = await Promise.race([poll().catch(noop), over]);
    if (st) {
      if (bars) {
        for (const s of STAGES) {
          const p = st[s];
          // stages this run does not have (a family not asked for; a workflow older than the stage)
          if (!p || p.total === 0) continue;
          const extra = `${p.cached ? `${p.cached} cached` : ''}${p.running ? ` ${p.running} running` : ''}`;
          let bar = barOf.get(s);
          if (!bar) barOf.set(s, (bar = bars.create(p.total, p.done, { stage: s.padEnd(12), extra })));
          bar.update(p.done, { extra });
        }
      } else {
        const line = STAGES.filter((s) => st[s] && st[s].total > 0)
          .map((s) => `${s} ${st[s].done}/${st[s].total}`)
          .join('  ');
        if (line !== lastLine) process.stderr.write(`${line}\n`);
        lastLine = line;
      }
    }
    await Promise.race([new Promise((r) => setTimeout(r, 500)), done.catch(() => undefined)]);
  }
  const st = await Promise.race([poll().catch(noop), delay(2000, undefined, { ref: false })]);
  if (bars) {
    if (st) for (const s of STAGES) barOf.get(s)?.update(st[s].done);
    bars.stop();
  }
}
