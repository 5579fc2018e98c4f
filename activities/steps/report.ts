/**
 * The `report` step (report/build.ts) and the run record. Every byte of the report is covered by
 * its key (config and input keys): the run's name (its workflow id) is not in the report, so runs
 * of one config share one report; run records name the runs.
 */
import type { ArtifactStore } from '../../artifacts/index.ts';
import type { RunRecordInput } from '../../workflows/dag.ts';
import type { Config } from '../../config/schema.ts';
import { runStep, type StepContext, type StepResult } from '../context.ts';
import { STEP_VERSIONS } from './io.ts';

/** The run's report (report/build.ts) from every other step's artifacts. */
export async function reportStep(ctx: StepContext, c: Config, _runName: string, steps: Record<string, string>): Promise<StepResult> {
  const spec = {
    step: 'report',
    version: STEP_VERSIONS.report,
    params: { config: c },
    inputs: steps,
  };
  return runStep(ctx, 'report', spec, async () => {
    const { buildReport } = await import('../../report/build.ts');
    ctx.heartbeat({ phase: 'report', done: 0, total: 1 });
    const files = await buildReport(ctx.store, {
      // The run's name is not part of the key: it stays out of the bytes (run records carry it).
      name: '',
      config: c,
      steps,
      // No time stamp: the report is content-addressed, equal inputs give equal bytes.
      createdAt: '',
    });
    return {
      files,
      meta: {
        figures: Object.keys(files).filter((f) => f.endsWith('.svg')).length,
      },
    };
  });
}

/** The run record: a human name (the workflow id) → every step's key, with the config and headline metrics. */
export async function saveRun(store: ArtifactStore, record: RunRecordInput): Promise<void> {
  await store.putRun(record.name, {
    ...record,
    createdAt: new Date().toISOString(),
  });
}
