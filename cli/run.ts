/**
 * `polca run`, `polca worker`, `polca status`, `polca sweep`: the experiment through Temporal.
 */
import type { FamilyReading } from '../core/cluster/protocol.ts';
import type { ClaimCheck } from '../report/claims.ts';
import { headlineLines, loadClaimChecks } from '../report/headline.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { openStore } from '../artifacts/open.ts';
import { ConfigError, resolveConfig } from '../config/index.ts';
import { resolveTask } from '../core/data.ts';
import type { Config } from '../config/schema.ts';
import type { StepResult } from '../pipeline/contract.ts';
import type { ExperimentResult, ProgressState } from '../pipeline/dag.ts';
import { ablationSummaryLine } from '../report/ablation-line.ts';
import type { SweepInput, SweepPointResult } from '../workflows/index.ts';
import { intOption, presetChoices, readConfigFile } from './common.ts';
import { type Interruption, InterruptedError, interruptedLines, watchInterrupt } from './interrupt.ts';
import {
  connectTemporal,
  queueHasWorker,
  type RunWorkers,
  showProgress,
  startRunWorkers,
  type TemporalTarget,
  workflowIdFor,
} from './temporal.ts';

interface RunOptions {
  preset?: string;
  config?: string;
  set: string[];
  detach?: boolean;
  json?: boolean;
  workers?: string;
  id?: string;
}

function uiLink(t: TemporalTarget, workflowId: string, runId?: string): string | undefined {
  if (!t.uiUrl) return undefined;
  return `${t.uiUrl}/namespaces/${t.namespace}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`;
}

/** Where a user finds the report: a file path for the local store, a download command otherwise. */
function reportLocation(reportKey: string): string {
  const store = openStore();
  const loc = store.location;
  if (loc.startsWith('local:')) return join(loc.slice('local:'.length), 'objects', reportKey, 'index.html');
  return `${loc} (polca artifacts download ${reportKey} --out DIR)`;
}

const noop = () => undefined;

const fmt = (x: unknown, digits = 3) => {
  if (typeof x !== 'number' || !Number.isFinite(x)) return String(x ?? 'n/a');
  return x !== 0 && Math.abs(x) < 10 ** -digits ? x.toExponential(1) : x.toFixed(digits);
};

type ClusterMetric = {
  name: string;
  clusters?: number;
  summary?: { scope?: string; skill: string; coverage?: number; homogeneity: number; baseline: number; ami: number }[];
};

/**
 * The run's summary. A run of the arithmetic task opens with the three readings of the paper's
 * findings side by side (report/headline.ts): basis capture, the published protocol's verdict and
 * polca's claim rule (`claims`, read from the stored clusterings; absent: said so).
 */
export function summaryLines(r: ExperimentResult, claims?: ClaimCheck[]): string[] {
  const m = r.metrics;
  const tags = m.tags as TagFamilyReading[] | undefined;
  const cap0 = m.capture as CaptureMetric | undefined;
  const head = tags ? [] : headlineLines({ capture: cap0?.capture, protocol: m.protocol as FamilyReading[] | undefined, claims });
  const lines = [
    ...head,
    tags
      ? `evaluation loss ${fmt(m.evalLoss)} (perplexity ${fmt(Math.exp(Number(m.evalLoss)))})`
      : `exact-match accuracy ${fmt(m.accuracy)}, evaluation loss ${fmt(m.evalLoss)}`,
    ((m.eigenvalues as number[] | undefined) ?? []).length > 0
      ? `basis eigenvalues ${(m.eigenvalues as number[]).map((e) => fmt(e, 2)).join(', ')}`
      : `basis: ${r.config.basis.kind ?? 'hessian'} directions (no eigenvalues)`,
    `coverage; homogeneity (shuffled baseline) / AMI on clustered tokens per skill${tags ? '' : '; carry AMI within hundreds / tens'}:`,
  ];
  for (const c of (m.clustering as ClusterMetric[]) ?? []) {
    const all = (c.summary ?? []).filter((s) => (s.scope ?? 'all') === 'all');
    const cells = all.map((s) => `${s.skill} ${fmt(s.homogeneity, 2)} (${fmt(s.baseline, 2)}) / ${fmt(s.ami, 2)}`);
    const within = ['hundreds', 'tens'].map((scope) =>
      fmt((c.summary ?? []).find((s) => s.scope === scope && s.skill === 'carry')?.ami, 2),
    );
    lines.push(
      `  ${c.name.padEnd(18)} ${String(c.clusters ?? '?').padStart(3)} clusters  ${fmt(all[0]?.coverage, 2)}  ${cells.join('   ')}${tags ? '' : `   carry ${within.join(' / ')}`}`,
    );
  }
  const cap = m.capture as CaptureMetric | undefined;
  if (cap) {
    const pt = cap.perToken;
    lines.push(
      `basis capture ${fmt(cap.capture)} of the loss change (first order ${fmt(cap.captureFirst)}, second order ${fmt(cap.captureSecond)}): per token ΔL ${fmt(pt.dloss)}, Σ POLCA ${fmt(pt.polca)} = ${fmt(pt.first)} + ${fmt(pt.second)}, remainder ${fmt(pt.remainder)}; ${cap.risingVectors} of ${cap.vectors.length} vectors rising; the basis spans ${fmt(cap.motionShare)} of the motion, ${fmt(cap.displacementShare)} of the net displacement`,
    );
  }
  const protocol = m.protocol as FamilyReading[] | undefined;
  if (tags?.length) {
    lines.push(
      "part-of-speech reading of the clusters (loss, polca: the published protocol's clusterings; cluster:*: polca's own; simply labelled: at the target and each of its 3 predecessors at most 2 tags cover 70 % of the cluster; chance: the count with the tags shuffled):",
    );
    for (const f of tags)
      lines.push(
        `  ${f.family.padEnd(14)} ${f.withSimple} of ${f.kept} kept with a simply-labelled cluster (chance ${fmt(f.chance, 2)}; ${f.simpleClusters} of ${f.clusters} clusters simple; ${f.members - f.kept} dropped by the filters)`,
      );
  } else if (protocol?.length) {
    lines.push(
      'published protocol: top-1 carry cluster homogeneity / recall / F1, hidden-breakthrough fraction (members kept by the filters):',
    );
    for (const f of protocol)
      lines.push(
        `  ${f.family.padEnd(12)} ${f.top ? `${fmt(f.top.homogeneity)} / ${fmt(f.top.recall)} / ${fmt(f.top.f1)}` : 'no qualifying carry cluster'}   hidden ${fmt(f.hiddenFraction)}   (${f.kept} of ${f.members} kept${f.top && f.top.member >= 0 ? `, best member ${f.top.member}` : ''})`,
      );
  }
  const ablation = ablationSummaryLine(m.ablation);
  if (ablation) lines.push(ablation);
  return lines;
}

type TagFamilyReading = import('../core/tasks/english/tag-families.ts').TagFamilyReading;

type CaptureMetric = {
  capture: number;
  captureFirst: number;
  captureSecond: number;
  perToken: { dloss: number; first: number; second: number; polca: number; remainder: number };
  risingVectors: number;
  vectors: unknown[];
  motionShare: number;
  displacementShare: number;
};

/** Most workers a run or sweep starts on one machine. */
const MAX_WORKERS = 256;

/** `--workers`, checked before anything starts. */
const workersOption = (raw: string | undefined) => (raw === undefined ? undefined : intOption('--workers', raw, 0, MAX_WORKERS));

async function withWorkers<T>(t: TemporalTarget, want: number | undefined, f: () => Promise<T>, interrupt?: Interruption): Promise<T> {
  let workers: RunWorkers | undefined;
  if (want !== 0 && (want !== undefined || !(await queueHasWorker(t)))) {
    workers = await startRunWorkers(t, want);
    process.stderr.write(`started ${workers.count} worker(s) on task queue ${t.taskQueue}\n`);
  }
  try {
    return await f();
  } finally {
    // Interrupted: child workers still draining after a few seconds finish on their own.
    await workers?.stop(interrupt?.fired ? { childWaitMs: 5000 } : undefined);
  }
}

/**
 * Run `body` (which starts or attaches to workflow `workflowId`, calls `started()`, and waits for
 * it, returning undefined once `interrupt` fired) with the run's workers. Ctrl-C or SIGTERM: the
 * workers stop, the command says that the workflow keeps running on the server with the commands
 * to continue, follow and cancel it, and ends with an InterruptedError (exit 130, SIGTERM 143).
 */
async function interruptible<T>(
  t: TemporalTarget,
  workflowId: string,
  workers: number | undefined,
  body: (interrupt: Interruption, started: () => void) => Promise<T | undefined>,
): Promise<T> {
  const interrupt = watchInterrupt();
  let started = false;
  try {
    const out = await withWorkers(
      t,
      workers,
      async () => {
        if (interrupt.fired) return undefined;
        return body(interrupt, () => {
          started = true;
        });
      },
      interrupt,
    );
    if (!interrupt.fired && out !== undefined) return out;
  } catch (e) {
    if (!interrupt.fired) throw e;
  } finally {
    interrupt.dispose();
  }
  if (!started) throw new InterruptedError('interrupted before the workflow started: nothing runs on the server', interrupt.exitCode);
  for (const line of interruptedLines(workflowId, t.address, process.argv.slice(2))) process.stderr.write(`${line}\n`);
  throw new InterruptedError(`interrupted; workflow ${workflowId} keeps running on the server`, interrupt.exitCode);
}

function resolveFromOptions(opts: RunOptions): Config {
  return resolveConfig({ preset: opts.preset, config: opts.config ? readConfigFile(opts.config) : undefined, sets: opts.set });
}

async function runCommand(opts: RunOptions): Promise<void> {
  // Bad config or options, or a corpus that is missing, empty or too small: nothing is started.
  const config = await resolveTask(resolveFromOptions(opts));
  const workers = workersOption(opts.workers);
  const t0 = Date.now();
  const t = await connectTemporal();
  const workflowId = opts.id ?? workflowIdFor(config);
  const start = async () =>
    t.client.workflow.start((await import('../workflows/index.ts')).polcaExperiment, {
      taskQueue: t.taskQueue,
      workflowId,
      args: [config as unknown as Record<string, unknown>],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
  if (opts.detach) {
    if (!(await queueHasWorker(t))) {
      process.stderr.write(`note: no worker polls task queue ${t.taskQueue}; start one with \`polca worker\`\n`);
    }
    const handle = await start();
    const out = { workflowId, runId: handle.firstExecutionRunId, ui: uiLink(t, workflowId, handle.firstExecutionRunId) };
    console.log(opts.json ? JSON.stringify(out) : `started ${workflowId} (run ${out.runId})${out.ui ? `\n${out.ui}` : ''}`);
    await t.connection.close();
    return;
  }
  // Everything stored and checked, the workflow completed: its summary, with no worker started.
  const stored = await storedRun(t, config, workflowId);
  if (stored) {
    if (!opts.json) {
      process.stderr.write(
        `${workflowId}: every step is stored and passes the cache-hit check, and the workflow completed: nothing to run (no worker started)\n`,
      );
    }
    await printResult(t, workflowId, stored.runId, stored.r, t0, opts.json);
    await t.connection.close();
    return;
  }
  if (!opts.json && process.stderr.isTTY) {
    // Progress bars own the terminal: worker logs (this process's and its children's) go to a file.
    const { routeLogsToFile } = await import('../worker/logging.ts');
    const { polcaHome } = await import('../services/env.ts');
    const logPath = join(polcaHome(), 'logs', `${workflowId}.log`);
    process.env.POLCA_LOG_FILE = logPath;
    routeLogsToFile(logPath);
    process.stderr.write(`worker logs: ${logPath}\n`);
  }
  const result = await interruptible(t, workflowId, workers, async (interrupt, started) => {
    const handle = await start();
    started();
    if (!opts.json) {
      process.stderr.write(`workflow ${workflowId} on ${t.address}${uiLink(t, workflowId) ? `  ${uiLink(t, workflowId)}` : ''}\n`);
    }
    const done = handle.result();
    // Until the run ends or is interrupted (the bars stop before the command says what happened).
    const settled = Promise.race([done.then(noop, noop), interrupt.promise]);
    await showProgress(async () => (await handle.query<{ stages: ProgressState }>('progress')).stages, settled, !!opts.json);
    if (interrupt.fired) return undefined;
    const desc = await handle.describe();
    return { r: await done, runId: desc.runId };
  });
  await printResult(t, workflowId, result.runId, result.r, t0, opts.json);
  await t.connection.close();
}

/** A run's summary on stdout: one JSON object with `json`, else the text summary. */
async function printResult(
  t: TemporalTarget,
  workflowId: string,
  runId: string,
  r: ExperimentResult,
  t0: number,
  json?: boolean,
): Promise<void> {
  const report = reportLocation(r.report);
  if (json) {
    console.log(
      JSON.stringify({
        workflowId,
        runId,
        store: openStore().location,
        steps: r.steps.map((s) => ({ name: s.name, key: s.key, cached: s.cached, recomputed: s.recomputed === true, seconds: s.seconds })),
        report,
        metrics: r.metrics,
        seconds: (Date.now() - t0) / 1000,
      }),
    );
  } else {
    const computed = r.steps.filter((s) => !s.cached && !s.recomputed).length;
    const recomputed = r.steps.filter((s) => s.recomputed);
    const cached = r.steps.filter((s) => s.cached).length;
    console.log(
      `\n${workflowId}: ${r.steps.length} steps (${computed} computed, ${recomputed.length} recomputed, ${cached} cached) in ${fmt((Date.now() - t0) / 1000, 1)} s`,
    );
    if (recomputed.length) console.log(`recomputed (their stored artifacts were damaged): ${recomputed.map((s) => s.name).join(', ')}`);
    for (const l of summaryLines(r, await storedClaims(r))) console.log(l);
    console.log(`report: ${report}`);
    const ui = uiLink(t, workflowId, runId);
    if (ui) console.log(`Temporal Web UI: ${ui}`);
  }
}

/** polca's claim checks of a finished arithmetic run, from its stored clusterings (undefined when they cannot be read). */
async function storedClaims(r: ExperimentResult): Promise<ClaimCheck[] | undefined> {
  if (r.metrics.tags) return undefined;
  return loadClaimChecks(openStore(), Object.fromEntries(r.steps.map((s) => [s.name, s.key]))).catch(() => undefined);
}

/**
 * The summary a rerun would give, when nothing is left to run: the run record `workflowId` exists
 * and holds this config; the workflow with that id has completed (its latest run) with this
 * config and the same steps and keys as the record; and every step's artifact passes the same
 * cache-hit check a step makes (activities/steps/context.ts: manifest, sizes, and SHA-256 up to
 * POLCA_HIT_HASH_MAX_MIB). Then every step is reported `cached`, with the seconds its check took,
 * and the metrics and report of the completed run. Undefined (run the workflow) when anything is
 * missing, damaged or different. Needs only a Temporal client: no worker, no workflow bundle.
 */
async function storedRun(
  t: TemporalTarget,
  config: Config,
  workflowId: string,
): Promise<{ r: ExperimentResult; runId: string } | undefined> {
  const store = openStore();
  const { canonicalJson } = await import('../artifacts/keys.ts');
  const same = (a: unknown, b: unknown) => {
    try {
      return canonicalJson(a) === canonicalJson(b);
    } catch {
      return false;
    }
  };
  const record = await store.getRun(workflowId).catch(() => undefined);
  if (!record || typeof record.steps !== 'object' || record.steps === null || !same(record.config, config)) return undefined;
  const handle = t.client.workflow.getHandle(workflowId);
  const desc = await handle.describe().catch(() => undefined);
  if (desc?.status.name !== 'COMPLETED' || desc.type !== 'polcaExperiment') return undefined;
  const done = (await handle.result().catch(() => undefined)) as ExperimentResult | undefined;
  if (!done || !Array.isArray(done.steps) || !same(done.config, config)) return undefined;
  const keys = Object.fromEntries(done.steps.map((s) => [s.name, s.key]));
  if (!same(keys, record.steps) || record.steps.report !== done.report) return undefined;
  const { hitHashMaxBytes } = await import('../activities/steps/context.ts');
  const limit = hitHashMaxBytes();
  const steps: StepResult[] = [];
  for (const s of done.steps) {
    const t1 = Date.now();
    const c = await store.check(s.key, limit);
    if (c.state !== 'ok') return undefined;
    steps.push({ name: s.name, key: s.key, cached: true, seconds: (Date.now() - t1) / 1000, meta: s.meta });
  }
  return { r: { ...done, steps }, runId: desc.runId };
}

async function workerCommand(opts: { concurrency?: string }): Promise<void> {
  const concurrency = opts.concurrency === undefined ? undefined : intOption('--concurrency', opts.concurrency, 1, 1024);
  const { createWorker } = await import('../worker/index.ts');
  const { taskQueue } = await import('../services/env.ts');
  let address = process.env.TEMPORAL_ADDRESS;
  if (!address) {
    const { readState } = await import('../services/manager.ts');
    const { polcaHome } = await import('../services/env.ts');
    address = readState(polcaHome())?.temporal?.address;
  }
  const worker = await createWorker({ address, concurrency });
  process.stderr.write(
    `polca worker ${process.pid}: task queue ${taskQueue()} at ${address ?? '127.0.0.1:7233'}, store ${openStore().location}; SIGTERM or Ctrl-C stops it gracefully\n`,
  );
  // The SDK shuts down gracefully on SIGINT/SIGTERM: running activities get shutdownGraceTime to
  // finish, then are cancelled and retried elsewhere (training resumes from its last checkpoint).
  await worker.run();
}

async function statusCommand(workflowId: string, opts: { json?: boolean }): Promise<void> {
  const t = await connectTemporal({ startLocal: false });
  const handle = t.client.workflow.getHandle(workflowId);
  const desc = await handle.describe();
  const out: Record<string, unknown> = {
    workflowId,
    runId: desc.runId,
    status: desc.status.name,
    type: desc.type,
    startTime: desc.startTime,
  };
  if (desc.status.name === 'RUNNING') {
    // A query needs a worker; a run in progress has one.
    out.progress = await Promise.race([
      handle
        .query<{ stages: ProgressState }>('progress')
        .then((p) => p.stages)
        .catch(() => undefined),
      new Promise((r) => setTimeout(r, 10_000)),
    ]);
  }
  if (desc.status.name === 'COMPLETED' && desc.type === 'polcaExperiment') {
    // A finished run's progress comes from its result (no worker needed).
    const r = (await handle.result()) as ExperimentResult;
    const stages: Record<string, { done: number; total: number; cached: number; running: number }> = {};
    for (const st of r.steps) {
      const s = (stages[st.name.split('/')[0]] ??= { done: 0, total: 0, cached: 0, running: 0 });
      s.done++;
      s.total++;
      if (st.cached) s.cached++;
    }
    out.progress = stages;
    out.report = reportLocation(r.report);
    out.metrics = r.metrics;
  }
  if (opts.json) console.log(JSON.stringify(out));
  else {
    console.log(`${workflowId}  ${desc.status.name}  (run ${desc.runId}, ${desc.type}, started ${desc.startTime.toISOString()})`);
    const p = out.progress as ProgressState | undefined;
    if (p)
      for (const [stage, s] of Object.entries(p))
        console.log(
          `  ${stage.padEnd(13)} ${s.done}/${s.total}${s.cached ? `  ${s.cached} cached` : ''}${s.running ? `  ${s.running} running` : ''}`,
        );
    if (out.report) console.log(`report: ${out.report}`);
    const ui = uiLink(t, workflowId, desc.runId);
    if (ui) console.log(`Temporal Web UI: ${ui}`);
  }
  await t.connection.close();
}

function readGrid(path: string): SweepInput {
  const raw = readConfigFile(path, '--grid') as Partial<SweepInput>;
  if (typeof raw !== 'object' || raw === null || typeof raw.grid !== 'object' || raw.grid === null) {
    throw new ConfigError(
      `--grid ${path}: expected {"base": {...config}, "grid": {"path.to.field": [values...]}} (or "grid": [{...}, {...}], a union of grids)`,
    );
  }
  return raw as SweepInput;
}

async function sweepCommand(opts: {
  grid: string;
  parallel?: string;
  json?: boolean;
  workers?: string;
  id?: string;
  out?: string;
}): Promise<void> {
  const input = readGrid(opts.grid);
  const parallel =
    opts.parallel === undefined
      ? input.parallel === undefined
        ? 2
        : intOption(`--grid ${opts.grid}: parallel`, input.parallel, 1, 1024)
      : intOption('--parallel', opts.parallel, 1, 1024);
  const workers = workersOption(opts.workers);
  // Check every point before anything starts.
  const { gridPoints } = await import('../workflows/grid.ts');
  const points = gridPoints(input.grid);
  for (const p of points) {
    await resolveTask(resolveConfig({ config: input.base ?? {}, sets: Object.entries(p).map(([k, v]) => `${k}=${JSON.stringify(v)}`) }));
  }
  // A corpus file named by the base (and by no point) is keyed by its content: its hash goes in.
  const base = input.base as { task?: { corpus?: string } } | undefined;
  if (base?.task?.corpus !== undefined && !points.some((p) => Object.keys(p).some((k) => k.startsWith('task'))))
    input.base = { ...input.base, task: (await resolveTask(resolveConfig({ config: input.base ?? {} }))).task } as typeof input.base;
  const t = await connectTemporal();
  const { canonicalJson, sha256Hex } = await import('../artifacts/keys.ts');
  const workflowId = opts.id ?? `polca-sweep-${sha256Hex(canonicalJson({ base: input.base ?? {}, grid: input.grid })).slice(0, 12)}`;
  const { polcaSweep } = await import('../workflows/index.ts');
  const results = await interruptible(t, workflowId, workers, async (interrupt, started) => {
    const handle = await t.client.workflow.start(polcaSweep, {
      taskQueue: t.taskQueue,
      workflowId,
      args: [{ ...input, parallel }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    started();
    if (!opts.json) process.stderr.write(`sweep ${workflowId}: ${gridPoints(input.grid).length} points, ${parallel} at once\n`);
    const done = handle.result();
    await Promise.race([done.then(noop, noop), interrupt.promise]);
    return interrupt.fired ? undefined : done;
  });
  // The headline numbers of each point are the report's (report/metrics.ts), read from its run record.
  const { runMetrics } = await import('../report/build.ts');
  const store = openStore();
  const rows = await Promise.all(
    results.map(async (p: SweepPointResult) => {
      const record = await store.getRun(p.workflowId);
      return {
        point: p.point,
        workflowId: p.workflowId,
        reportPath: reportLocation(p.result.report),
        metrics: record ? await runMetrics(store, record) : {},
        trained: p.result.steps.filter((s) => s.name.startsWith('train/') && !s.cached).length,
      };
    }),
  );
  let sweepReport: string | undefined;
  try {
    const { buildSweepReport } = await import('../report/sweep.ts');
    const dir = resolve(opts.out ?? `polca-sweep-${workflowId}`);
    mkdirSync(dir, { recursive: true });
    for (const [name, data] of Object.entries(buildSweepReport(rows))) writeFileSync(join(dir, name), data);
    sweepReport = join(dir, 'index.html');
  } catch (e) {
    process.stderr.write(`sweep report not written: ${(e as Error).message}\n`);
  }
  if (opts.json) {
    console.log(JSON.stringify({ workflowId, points: rows, report: sweepReport }));
    await t.connection.close();
    return;
  }
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.point)))];
  const mkeys = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))];
  console.log([...keys, ...mkeys, 'workflow'].join('\t'));
  for (const r of rows)
    console.log([...keys.map((k) => JSON.stringify(r.point[k])), ...mkeys.map((k) => fmt(r.metrics[k])), r.workflowId].join('\t'));
  if (sweepReport) console.log(`sweep report: ${sweepReport}`);
  await t.connection.close();
}

export function register(program: Command): void {
  const collect = (v: string, acc: string[]) => [...acc, v];
  program
    .command('run')
    .description('Run the POLCA experiment (the embedded default: the `small` preset, a local Temporal dev server and the local store)')
    .option('--preset <name>', presetChoices())
    .option('--config <file>', 'a JSON file with a (partial) config; see `polca config schema`')
    .option('--set <path=value>', 'override one config field, e.g. --set train.lr=0.001 (repeatable)', collect, [])
    .option('--detach', 'start the workflow and return at once')
    .option('--json', 'print one JSON object: workflowId, runId, store, steps, report, metrics')
    .option(
      '--workers <n>',
      'worker processes to start for this run (default: one, whose compute threads use every core, when no worker serves the queue; 0 = none)',
    )
    .option('--id <workflowId>', 'workflow id (default: derived from the config)')
    .action(async (opts: RunOptions) => {
      if (!opts.preset && !opts.config) opts.preset = 'small';
      await runCommand(opts);
    });
  program
    .command('worker')
    .description('Serve the task queue (POLCA_TASK_QUEUE, default `polca`) until SIGTERM/SIGINT')
    .option(
      '--concurrency <n>',
      'activities at once, one compute thread each (default POLCA_WORKER_CONCURRENCY, else 1 on the native TensorFlow backend and one per core on wasm)',
    )
    .action(workerCommand);
  program
    .command('status')
    .description('Where a run is: per-stage progress, and its report and metrics once done')
    .argument('<workflowId>')
    .option('--json', 'print JSON')
    .action(statusCommand);
  program
    .command('sweep')
    .description('A parent workflow with one child experiment per grid point; shared steps are computed once')
    .requiredOption('--grid <file>', 'JSON: {"base": {...config}, "grid": {"seed": [0, 1], "cluster.minClusterSize": [10, 20]}}')
    .option('--parallel <n>', 'child experiments at once (default 2)')
    .option('--workers <n>', 'worker processes to start (default: one, whose compute threads use every core, when none serves the queue)')
    .option('--json', 'print JSON')
    .option('--id <workflowId>', 'workflow id (default: derived from the grid)')
    .option('--out <dir>', 'where the sweep report goes (default ./polca-sweep-<workflowId>)')
    .action(sweepCommand);
}
