/**
 * The experiment's steps as plain functions of (context, config, input keys), one file each: each
 * loads its inputs from the store, calls the numerics in core/, and writes its outputs
 * (docs/artifacts.md). activities/steps/registry.ts lists them; the Temporal activities
 * (activities/index.ts), the compute threads and the in-process runner (activities/local.ts) are
 * derived from it.
 *
 * Segments: segment s trains iterations (s·E, (s+1)·E] with E = basis.every (segment 0 also
 * holds checkpoint 0). Basis extension s is computed at θ_{(s+1)·E}, the end of segment s. POLCA
 * chunk s covers the checkpoint intervals that start in [s·E, (s+1)·E).
 */
export { ablateStep } from './ablate.ts';
export { ablationStep } from './ablation.ts';
export { basisStep } from './basis.ts';
export { captureStep } from './capture.ts';
export { clusterStep } from './cluster.ts';
export { dataStep } from './data.ts';
export {
  BASELINE_FAMILIES,
  type BaselineFamily,
  countFamilyTrajectories,
  familySize,
  loadFamilyTrajectories,
} from './families.ts';
export { firstTrajectoriesStep } from './first-trajectories.ts';
export { fisherCheckpoints, fisherStep } from './fisher.ts';
export { fisherTrajectoriesStep } from './fisher-trajectories.ts';
export { lcaStep } from './lca.ts';
export { DEFAULT_LCA_PARAMS, lcaParamsStep } from './lca-params.ts';
export { lcaTrajectoriesStep } from './lca-trajectories.ts';
export { polcaStep } from './polca.ts';
export { protocolStep } from './protocol.ts';
export { tagsStep } from './tags.ts';
export { STEP_VERSIONS, STEPS, type StepName, type Steps } from './registry.ts';
export { reportStep, saveRun } from './report.ts';
export { trainStep } from './train.ts';
export { trajectoriesStep } from './trajectories.ts';
