/**
 * `polca verify [run] [--repair]`: hash every artifact of a run (or, without a run, of the whole
 * store) against its manifest — every file's size and SHA-256 — and list what is damaged or
 * missing. With `--repair` (a run only) the damaged artifacts are removed and the run is computed
 * again by the in-process runner (activities/local.ts): every sound artifact is a cache hit, so
 * exactly the removed steps (and nothing downstream: keys depend on inputs' keys, not bytes) are
 * recomputed; the run is then verified again. Exit code 1 when anything is left damaged.
 */
import type { Command } from 'commander';
import type { ArtifactStore, RunRecord } from '../artifacts/store.ts';
import { NotFoundError } from '../artifacts/store.ts';

export interface VerifyRow {
  /** Step name in the run record, or the artifact's step kind for a whole-store check. */
  step: string;
  key: string;
  state: 'ok' | 'damaged' | 'missing';
  problem?: string;
}

export interface VerifyResult {
  store: string;
  run?: string;
  artifacts: number;
  ok: number;
  damaged: VerifyRow[];
  /** Steps recomputed by --repair. */
  repaired: string[];
  rows: VerifyRow[];
}

/** Check every artifact of `steps` (step name → key) in full. */
export async function verifySteps(store: ArtifactStore, steps: Record<string, string>): Promise<VerifyRow[]> {
  const rows: VerifyRow[] = [];
  const names = Object.keys(steps).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  for (const step of names) {
    const key = steps[step];
    const c = await store.check(key, Number.POSITIVE_INFINITY);
    if (c.state === 'ok') rows.push({ step, key, state: 'ok' });
    else if (c.state === 'absent') rows.push({ step, key, state: 'missing', problem: `artifact ${key} is not in the store` });
    else rows.push({ step, key, state: 'damaged', problem: c.problem }); // damaged, or files without a manifest
  }
  return rows;
}

/** Every artifact the store holds (by the directories under objects/, manifests or not). */
async function storeKeys(store: ArtifactStore): Promise<Record<string, string>> {
  return Object.fromEntries((await store.objectKeys()).map((k) => [k, k]));
}

export async function verifyRun(
  store: ArtifactStore,
  run: string | undefined,
  opts: { repair?: boolean; onRepair?: (steps: string[]) => void } = {},
): Promise<VerifyResult> {
  let record: RunRecord | undefined;
  if (run !== undefined) {
    record = await store.getRun(run);
    if (!record) {
      const runs = await store.listRuns();
      throw new NotFoundError(`no run ${JSON.stringify(run)} in ${store.location}; runs: ${runs.length ? runs.join(', ') : '(none)'}`);
    }
  } else if (opts.repair) {
    throw new Error('--repair needs a run: the run record holds the config to recompute from');
  }
  const steps = record ? record.steps : await storeKeys(store);
  let rows = await verifySteps(store, steps);
  const bad = rows.filter((r) => r.state !== 'ok');
  const repaired: string[] = [];
  if (opts.repair && record && bad.length) {
    for (const r of bad) await store.delete(r.key);
    opts.onRepair?.(bad.map((r) => r.step));
    const { resolveConfig } = await import('../config/index.ts');
    const { runLocal } = await import('../activities/local.ts');
    const config = resolveConfig({ config: record.config ?? {} });
    const result = await runLocal(config, store, record.name);
    // the runner rewrites the run record; keep what the original carried (its workflow id)
    const rewritten = await store.getRun(record.name);
    if (rewritten && record.workflowId) await store.putRun(record.name, { ...rewritten, workflowId: record.workflowId });
    for (const s of result.steps) if (!s.cached) repaired.push(s.name);
    rows = await verifySteps(store, record.steps);
  }
  const damaged = rows.filter((r) => r.state !== 'ok');
  return {
    store: store.location,
    ...(record ? { run: record.name } : {}),
    artifacts: rows.length,
    ok: rows.length - damaged.length,
    damaged,
    repaired,
    rows,
  };
}

async function defaultStore(): Promise<ArtifactStore> {
  const { openStore } = await import('../artifacts/index.ts');
  return openStore();
}

export function register(program: Command, open: () => Promise<ArtifactStore> = defaultStore): void {
  program
    .command('verify')
    .description('Hash every artifact of a run (default: the whole store) against its manifest; --repair recomputes what fails')
    .argument('[run]', 'a run name (the workflow id)')
    .option('--repair', 'remove damaged or missing artifacts of the run and compute them again (in this process)')
    .option('--json', 'print one JSON object')
    .action(async (run: string | undefined, opts: { repair?: boolean; json?: boolean }) => {
      const store = await open();
      const r = await verifyRun(store, run, {
        repair: opts.repair,
        onRepair: (steps) => {
          if (!opts.json) process.stderr.write(`repairing ${steps.length} step(s): ${steps.join(', ')}\n`);
        },
      });
      if (opts.json) console.log(JSON.stringify(r, null, 2));
      else {
        const what = r.run ? `run ${r.run}` : 'store';
        for (const d of r.damaged) console.log(`${d.state.toUpperCase()}  ${d.step}  ${d.problem}`);
        if (r.repaired.length) console.log(`recomputed: ${r.repaired.join(', ')}`);
        console.log(
          `${what} in ${r.store}: ${r.artifacts} artifact(s), ${r.ok} verified${r.damaged.length ? `, ${r.damaged.length} damaged or missing` : ''}`,
        );
      }
      if (r.damaged.length) process.exitCode = 1;
    });
}
