/**
 * The step contract: what a step returns, what each step of the experiment takes, and what the
 * DAG (pipeline/dag.ts) calls. Types only, shared by the steps (activities/steps/), their runners
 * (Temporal and in process) and the workflow code; the registry of step functions
 * (activities/steps/registry.ts) is checked against `ExperimentSteps`.
 */
import type { Config } from '../config/schema.ts';
import type { AblationArm, ClusterTarget, ProtocolTarget, TagTarget } from './plan.ts';

export interface StepResult {
  name: string;
  key: string;
  cached: boolean;
  /** The stored artifact was damaged (or removed as a damaged input) and was computed again. */
  recomputed?: boolean;
  seconds: number;
  meta?: Record<string, unknown>;
}

/** What a running step reports (Temporal: the activity heartbeat's details). */
export interface Progress {
  phase: string;
  done: number;
  total: number;
  [extra: string]: unknown;
}

/** The run record's input: the run's name, config and every step's result (metrics are aggregated from them where it is saved). */
export interface RunRecordInput {
  name: string;
  workflowId?: string;
  config: Config;
  steps: Record<string, string>;
  /** Every step's result in DAG order (name, key and the step's small metadata). */
  results: StepResult[];
}

export interface TrainInputs {
  data: string;
  prev?: string;
}
/** `train` is the segment basisTrainSegment names (absent for a basis that reads none). */
export interface BasisInputs {
  data: string;
  train?: string;
  prev?: string;
}
/** The inputs of a per-chunk step (polca, fisher): the data, the final basis, segment s's training and the one before. */
export interface ChunkInputs {
  data: string;
  basis: string;
  train: string;
  prevTrain?: string;
}
export interface TrajectoriesInputs {
  data: string;
  train: string[];
  polca: string[];
}
export interface ClusterInputs {
  data: string;
  trajectories: string;
}
export interface CaptureInputs {
  trajectories: string;
  basis: string;
  train: string[];
  polca: string[];
}
export interface LcaInputs {
  data: string;
  train: string;
  prevTrain?: string;
  lcaParams: string;
}
/** One segment of an ablated run (config `ablate`): `prev` the state it starts from, `basis` the finished basis (the `basis` arm). */
export interface AblateInputs {
  data: string;
  prev?: string;
  basis?: string;
}
/** The reading of an ablation: the unablated chain, each arm's ablated segments, the clusters of POLCA along each ablated vector. */
export interface AblationInputs {
  data: string;
  train: string[];
  arms: { arm: AblationArm; segments: string[] }[];
  clusters: string[];
}
export interface TagsInputs {
  data: string;
  trajectories: string;
  clustering: string;
}

/** Every step the experiment's DAG calls: its activity name → its arguments. */
export interface ExperimentSteps {
  data: [c: Config];
  train: [c: Config, s: number, inputs: TrainInputs];
  basis: [c: Config, s: number, inputs: BasisInputs];
  polca: [c: Config, s: number, inputs: ChunkInputs];
  trajectories: [c: Config, inputs: TrajectoriesInputs];
  cluster: [c: Config, target: ClusterTarget, inputs: ClusterInputs];
  capture: [c: Config, inputs: CaptureInputs];
  trajectoriesFirst: [c: Config, inputs: { polca: string[] }];
  fisher: [c: Config, s: number, inputs: ChunkInputs];
  trajectoriesFisher: [c: Config, inputs: { fisher: string[] }];
  lcaParams: [c: Config, inputs: { train: string }, lcaParams: number];
  lca: [c: Config, s: number, inputs: LcaInputs];
  trajectoriesLca: [c: Config, inputs: { lcaParams: string; lca: string[] }];
  protocol: [c: Config, target: ProtocolTarget, inputs: ClusterInputs];
  tags: [c: Config, target: TagTarget, inputs: TagsInputs];
  ablate: [c: Config, arm: AblationArm, s: number, inputs: AblateInputs];
  ablation: [c: Config, inputs: AblationInputs];
  report: [c: Config, runName: string, steps: Record<string, string>];
}

/** Activities from step arguments: every argument and result is small and serialisable (keys, not tensors). */
export type ActivitiesOf<S> = { [K in keyof S]: S[K] extends unknown[] ? (...args: S[K]) => Promise<StepResult> : never };

/** The run record is written last; it returns the run's headline metrics, aggregated from the step results. */
export interface RunRecordActivity {
  saveRun(record: RunRecordInput): Promise<Record<string, unknown>>;
}

/** What the DAG calls. */
export type ExperimentActivities = ActivitiesOf<ExperimentSteps> & RunRecordActivity;
