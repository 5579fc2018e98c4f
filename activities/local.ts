/**
 * The same DAG without Temporal: every step called in this process, in DAG order. For benches,
 * tests of the numerics end to end, and building a run's artifacts where no Temporal server is
 * wanted. Durability (resume after a crash, several workers) is the workflow's job, not this one's.
 * The calls are derived from the step registry (activities/steps/registry.ts).
 */
import type { ArtifactStore } from '../artifacts/index.ts';
import type { Config } from '../config/schema.ts';
import { emptyProgress, type ExperimentResult, type ProgressState, runExperimentDag } from '../pipeline/dag.ts';
import { InputIntegrityError } from '../pipeline/errors.ts';
import type { Progress, StepContext } from './steps/context.ts';
import { activitiesOf, labelByName, type RegistryActivities, runByName, type StepRegistry } from './steps/define.ts';
import { STEPS, type StepActivities } from './steps/registry.ts';
import { saveRun } from './steps/report.ts';

export interface LocalRunOptions {
  onProgress?(stages: ProgressState, step: string, details: Progress): void;
}

/** One in-process call per step of `registry`, each with the context `ctx` makes for its invocation name (`polca/3`). */
export function localActivities<R extends StepRegistry>(registry: R, ctx: (name: string) => StepContext): RegistryActivities<R> {
  return activitiesOf(
    registry,
    (step) =>
      (...args) =>
        runByName(registry, step, ctx(labelByName(registry, step, args)), args),
  );
}

export async function runLocal(c: Config, store: ArtifactStore, runName: string, opts: LocalRunOptions = {}): Promise<ExperimentResult> {
  const progress = emptyProgress(c);
  const ctx = (name: string): StepContext => ({
    store,
    heartbeat: (details) => opts.onProgress?.(progress, name, details),
    owner: `local-${process.pid}-${runName}-${name}`,
  });
  const acts: StepActivities = { ...localActivities(STEPS, ctx), saveRun: (record) => saveRun(store, record) };
  return runExperimentDag(c, runName, acts, {
    progress,
    integrityKey: (e) => (e instanceof InputIntegrityError ? e.key : undefined),
  });
}
