/**
 * The registry of steps: activity name → definition (code version, invocation name, function).
 * The one list of the experiment's steps: the Temporal activities (activities/index.ts), the
 * compute threads' table (compute/task.ts), the in-process runner (activities/local.ts) and the
 * code versions are derived from it. Adding a step: its file (a function and `defineStep`) and a
 * line here; the DAG (pipeline/dag.ts) calls the steps named in pipeline/contract.ts
 * `ExperimentSteps`, which this registry must satisfy.
 *
 * Activity names are recorded in workflow histories: a registered name never changes.
 */
import type { ExperimentSteps, RunRecordActivity } from '../../pipeline/contract.ts';
import { ablateDef } from './ablate.ts';
import { ablationDef } from './ablation.ts';
import { basisDef } from './basis.ts';
import { captureDef } from './capture.ts';
import { clusterDef } from './cluster.ts';
import { dataDef } from './data.ts';
import { type RegistryActivities, type StepDef, versionsOf } from './define.ts';
import { trajectoriesFirstDef } from './first-trajectories.ts';
import { fisherDef } from './fisher.ts';
import { trajectoriesFisherDef } from './fisher-trajectories.ts';
import { lcaDef } from './lca.ts';
import { lcaParamsDef } from './lca-params.ts';
import { trajectoriesLcaDef } from './lca-trajectories.ts';
import { polcaDef } from './polca.ts';
import { protocolDef } from './protocol.ts';
import { reportDef } from './report.ts';
import { tagsDef } from './tags.ts';
import { trainDef } from './train.ts';
import { trajectoriesDef } from './trajectories.ts';

export const STEPS = {
  data: dataDef,
  train: trainDef,
  basis: basisDef,
  polca: polcaDef,
  trajectories: trajectoriesDef,
  cluster: clusterDef,
  capture: captureDef,
  protocol: protocolDef,
  tags: tagsDef,
  report: reportDef,
  trajectoriesFirst: trajectoriesFirstDef,
  fisher: fisherDef,
  trajectoriesFisher: trajectoriesFisherDef,
  lcaParams: lcaParamsDef,
  lca: lcaDef,
  trajectoriesLca: trajectoriesLcaDef,
  ablate: ablateDef,
  ablation: ablationDef,
} satisfies { [K in keyof ExperimentSteps]: StepDef<ExperimentSteps[K]> };

export type Steps = typeof STEPS;
export type StepName = keyof Steps;

/** Code versions by activity name: bump a step's `version` when its output for the same inputs changes. */
export const STEP_VERSIONS = versionsOf(STEPS);

/** The experiment's activities: one per registered step, and the run record. */
export type StepActivities = RegistryActivities<Steps> & RunRecordActivity;
