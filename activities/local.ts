/**
 * The same DAG without Temporal: every step called in this process, in DAG order. For benches,
 * tests of the numerics end to end, and building a run's artifacts where no Temporal server is
 * wanted. Durability (resume after a crash, several workers) is the workflow's job, not this one's.
 */
import type { ArtifactStore } from '../artifacts/index.ts';
import type { Config } from '../config/schema.ts';
import { emptyProgress, type ExperimentActivities, type ExperimentResult, type ProgressState, runExperimentDag } from '../workflows/dag.ts';
import { InputIntegrityError, type Progress, type StepContext } from './context.ts';
import * as steps from './steps/index.ts';

export interface LocalRunOptions {
  onProgress?(stages: ProgressState, step: string, details: Progress): void;
}

export async function runLocal(c: Config, store: ArtifactStore, runName: string, opts: LocalRunOptions = {}): Promise<ExperimentResult> {
  const progress = emptyProgress(c);
  const ctx = (name: string): StepContext => ({
    store,
    heartbeat: (details) => opts.onProgress?.(progress, name, details),
    owner: `local-${process.pid}-${runName}-${name}`,
  });
  const acts: ExperimentActivities = {
    data: (cfg) => steps.dataStep(ctx('data'), cfg),
    train: (cfg, s, inputs) => steps.trainStep(ctx(`train/${s}`), cfg, s, inputs),
    basis: (cfg, s, inputs) => steps.basisStep(ctx(`basis/${s}`), cfg, s, inputs),
    polca: (cfg, s, inputs) => steps.polcaStep(ctx(`polca/${s}`), cfg, s, inputs),
    trajectories: (cfg, inputs) => steps.trajectoriesStep(ctx('trajectories'), cfg, inputs),
    cluster: (cfg, target, inputs) => steps.clusterStep(ctx(target.name), cfg, target, inputs),
    capture: (cfg, inputs) => steps.captureStep(ctx('capture'), cfg, inputs),
    trajectoriesFirst: (cfg, inputs) => steps.firstTrajectoriesStep(ctx('trajectories/first'), cfg, inputs),
    fisher: (cfg, s, inputs) => steps.fisherStep(ctx(`fisher/${s}`), cfg, s, inputs),
    trajectoriesFisher: (cfg, inputs) => steps.fisherTrajectoriesStep(ctx('trajectories/fisher'), cfg, inputs),
    lcaParams: (cfg, inputs, n) => steps.lcaParamsStep(ctx('lca-params'), cfg, inputs, n),
    lca: (cfg, s, inputs) => steps.lcaStep(ctx(`lca/${s}`), cfg, s, inputs),
    trajectoriesLca: (cfg, inputs) => steps.lcaTrajectoriesStep(ctx('trajectories/lca'), cfg, inputs),
    protocol: (cfg, target, inputs) => steps.protocolStep(ctx(target.name), cfg, target, inputs),
    tags: (cfg, target, inputs) => steps.tagsStep(ctx(target.name), cfg, target, inputs),
    ablate: (cfg, arm, s, inputs) => steps.ablateStep(ctx(`ablate/${arm}/${s}`), cfg, arm, s, inputs),
    ablation: (cfg, inputs) => steps.ablationStep(ctx('ablate/reading'), cfg, inputs),
    report: (cfg, name, keys) => steps.reportStep(ctx('report'), cfg, name, keys),
    saveRun: (record) => steps.saveRun(store, record),
  };
  return runExperimentDag(c, runName, acts, {
    progress,
    integrityKey: (e) => (e instanceof InputIntegrityError ? e.key : undefined),
  });
}
