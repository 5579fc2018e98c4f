/**
 * The settings the numerics read, as plain types. The experiment's config (config/schema.ts)
 * produces them with its zod schemas, ranges and defaults, and checks there that it does; the
 * numerics never import the config.
 */

export const POLCA_VARIANTS = ['paper', 'exact-curvature', 'path'] as const;
export type PolcaVariant = (typeof POLCA_VARIANTS)[number];

/**
 * How the POLCA basis is built (core/basis-kinds.ts and the modules it names):
 *  - hessian: Algorithm 1, the top-k eigenvectors of P·H_S·P at each basis checkpoint, in order;
 *  - shuffled: Algorithm 1 with the basis checkpoints visited in a seeded random order;
 *  - random: a seeded random orthonormal basis of the same size;
 *  - pca-displacement / pca-update: the top principal directions (uncentred) of the displacements
 *    θ_t − θ_0, resp. of the updates θ_{t+1} − θ_t, over every checkpoint of the run;
 *  - preconditioned: Algorithm 1 on Adam's preconditioned Hessian D^{1/2}·H_S·D^{1/2}.
 */
export const BASIS_KINDS = ['hessian', 'shuffled', 'random', 'pca-displacement', 'pca-update', 'preconditioned'] as const;
export type BasisKind = (typeof BASIS_KINDS)[number];

/** Evaluation set and Hessian sample sizes, in sequences. */
export interface DataSettings {
  evalSize: number;
  hessianSize: number;
}

export interface ModelSettings {
  nLayers: number;
  dModel: number;
  nHeads: number;
  dMlp: number;
}

export interface TrainSettings {
  iterations: number;
  batchSize: number;
  lr: number;
  warmup: number;
  schedule: 'constant' | 'cosine';
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  gradClip: number;
  checkpointEvery: number;
  denseCheckpoints?: { every: number; until: number };
}

export interface BasisSettings {
  kind?: BasisKind;
  every: number;
  k: number;
  maxIter: number;
  tol: number;
}

export interface PolcaSettings {
  variant: PolcaVariant;
  denomTol: number;
  pathTol: number;
  pathMaxSplits: number;
}

/** A run's task by name, with the task's own settings (absent: the default task). */
export interface TaskSelection {
  name: string;
}

/** What training reads of a run. */
export interface RunSettings {
  seed: number;
  data: DataSettings;
  model: ModelSettings;
  train: TrainSettings;
  task?: TaskSelection;
}
