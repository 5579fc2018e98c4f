/**
 * The experiment's steps as plain functions of (context, config, input keys), one file each: each
 * loads its inputs from the store, calls the numerics in core/, and writes its outputs
 * (docs/artifacts.md). The Temporal activities (activities/index.ts) and the in-process runner
 * (activities/local.ts) share them.
 *
 * Segments: segment s trains iterations (s·E, (s+1)·E] with E = basis.every (segment 0 also
 * holds checkpoint 0). Basis extension s is computed at θ_{(s+1)·E}, the end of segment s. POLCA
 * chunk s covers the checkpoint intervals that start in [s·E, (s+1)·E).
 */
export { basisStep } from './basis.ts';
export { captureStep } from './capture.ts';
export { clusterStep } from './cluster.ts';
export { dataStep } from './data.ts';
export { STEP_VERSIONS } from './io.ts';
export { polcaStep } from './polca.ts';
export { protocolStep } from './protocol.ts';
export { reportStep, saveRun } from './report.ts';
export { trainStep } from './train.ts';
export { trajectoriesStep } from './trajectories.ts';
