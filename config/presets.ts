/**
 * Presets are partial configs merged over the schema defaults.
 *  - tiny: for tests; the whole DAG in about a minute on 2 cores.
 *  - small: the default of `polca run`; learns 3-digit addition on 2 CPU cores in minutes (cosine
 *    decay: with a constant rate the exact-match accuracy swings between 85 % and 100 % late in
 *    training, so the end point would be luck). Checkpoints every 5 iterations up to 400 (the
 *    paper's spacing), every 20 after: measured on seed 0, the thousands digit is learned by
 *    iteration ~60, the hundreds gradually over 40–300, the ones and tens at ~190–240, so the
 *    learning phase gets 80 intervals instead of 20. Trajectories are scaled to unit norm before
 *    clustering: on raw values most POLCA vectors get no cluster at all, so the paper's figure
 *    (the top three clusters of every vector) cannot be drawn (docs/findings.md, the study).
 *  - medium: the published optimiser on `small`'s model, for fidelity rather than capture (the
 *    regime study, docs/study.md): AdamW weight decay 0.1, betas (0.9, 0.95), 100 warm-up steps then
 *    constant, batch 64 — at lr 1e-3, since the published 1e-5 (and 3e-5 over 8000 steps) does not
 *    learn the task on this model — 4000 iterations, a checkpoint every 20 (200 intervals), a basis
 *    vector every 200 (20 vectors), 500 evaluation examples. About an hour on 2 cores (BENCHMARKS.md).
 *  - paper: the paper's setting (2 layers, d_model 512, 4 heads, MLP 2048; 1250 evaluation
 *    examples = 5000 tokens; a checkpoint every 5 iterations; a basis vector every 100
 *    iterations; Hessian sample of 1250 training examples; unit-norm trajectories, as `small`). For
 *    GPUs or many workers.
 *  - iclr: the full paper's published arithmetic configuration, verbatim where it states it: 3
 *    layers, d_model 512, 4 heads, MLP 2048; 10,000 steps, batch 64, AdamW lr 1e-5, weight decay
 *    0.1, betas (0.9, 0.95), warm-up min(i/100, 1) then constant; a basis vector every 200 steps
 *    (k = 1, 50 vectors), Hessian sample 1250; 1250 evaluation examples (5000 tokens); HDBSCAN
 *    min_cluster_size 150 and min_samples = tokens / 15 on raw trajectories (the published
 *    protocol's defaults are exactly these: 0.03 of 5000 and ÷ 15, and the cluster reading uses
 *    the same). Checkpoints every 20 steps (the paper's text; its settings table says 5). Not
 *    stated there, so polca's defaults: gradient clipping at norm 1, eps 1e-8, Lanczos maxIter 40.
 *    For GPUs or a pool of workers: BENCHMARKS.md projects its run time from measured segments.
 *  - iclr-probe: the `iclr` model and optimiser verbatim (3 layers, d_model 512, 10,000 steps at
 *    batch 64, AdamW lr 1e-5, weight decay 0.1, betas (0.9, 0.95), 100 warm-up steps then
 *    constant) with an evaluation reduced to fit a few hours on 2 cores: a checkpoint every 200
 *    steps (50 intervals), a basis vector every 1000 (10 vectors), a Hessian sample of 256
 *    examples, Lanczos maxIter 30, 500 evaluation examples (2000 tokens), HDBSCAN at the
 *    protocol's shares of 2000 tokens (min_cluster_size 60 = 0.03 × 2000, min_samples 133 =
 *    2000 / 15), the loss, first-order POLCA and POLCA rows of the table. Sized from bench/paper.ts
 *    at this shape (BENCHMARKS.md); grids/iclr-probe.json runs it beside the principal-direction
 *    basis on the same training.
 *  - english-tiny: English language modelling (core/tasks/english/task.ts) for tests: the built-in
 *    corpus, 500 words, context 16, 1 layer; the whole DAG in about a minute.
 *  - english-small: English language modelling on 2 cores (README, docs/findings.md): the
 *    built-in corpus (Moby-Dick), a 2000-word vocabulary, context 32, `small`'s 2-layer d64 model,
 *    2048 evaluation tokens; the published protocol on the loss and on POLCA, read against POS tags,
 *    with the paper's English min_cluster_size as a share of the tokens (300 of 12,600 = 0.0238).
 *  - english-small-pca: english-small on the principal directions of the displacements θ_t − θ_0
 *    (`basis.kind` pca-displacement): the basis that carries most of the learning there (about 80 %
 *    of the loss change over 3 seeds, where the Hessian basis carries 5–7 %; docs/findings.md).
 *  - english-iclr: the full paper's English configuration where it states one: 3 layers, d_model
 *    512, 4 heads, MLP 2048, context 128, batch 64, 14,000 steps, AdamW lr 1e-5, weight decay 0.1,
 *    betas (0.9, 0.95), 100 warm-up steps then constant, checkpoints every 200 steps, k = 1, Hessian
 *    sample 1000, HDBSCAN min_cluster_size 300 (the protocol's share 0.0238 of 12,672 tokens = 301)
 *    and min_samples = tokens / 15; 99 evaluation
 *    sequences = 12,672 tokens (the paper's 12,600 is not a multiple of 128); a basis vector every
 *    400 steps = 35 vectors (the paper's 30 every 750 does not fit in 14,000 steps); the vocabulary
 *    every distinct lower-cased word of the built-in corpus's training text and UNK (16,046). For GPUs or a
 *    pool of workers: BENCHMARKS.md projects its run time from measured segments.
 */
import type { ConfigInput } from './schema.ts';

export const PRESET_NAMES = [
  'tiny',
  'small',
  'medium',
  'paper',
  'iclr',
  'iclr-probe',
  'english-tiny',
  'english-small',
  'english-small-pca',
  'english-iclr',
] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** The full paper's optimiser (both of its experiments): AdamW, 100 warm-up steps then constant. */
const PUBLISHED_OPTIMISER = {
  batchSize: 64,
  lr: 1e-5,
  warmup: 100,
  schedule: 'constant',
  beta1: 0.9,
  beta2: 0.95,
  weightDecay: 0.1,
} as const;

/** The full paper's model (both of its experiments): 3 layers, d_model 512, 4 heads, MLP 2048. */
const PUBLISHED_MODEL = { nLayers: 3, dModel: 512, nHeads: 4, dMlp: 2048 } as const;

/** english-small, also the base of english-small-pca. */
const ENGLISH_SMALL: ConfigInput = {
  task: { name: 'english', vocabSize: 2000, contextLength: 32 },
  data: { evalSize: 64, hessianSize: 128 },
  model: { nLayers: 2, dModel: 64, nHeads: 4, dMlp: 256 },
  train: { iterations: 1500, batchSize: 32, lr: 3e-3, warmup: 100, schedule: 'cosine', checkpointEvery: 15 },
  basis: { every: 150, k: 1, maxIter: 30 },
  cluster: { minClusterSize: 20, scaling: 'unit-norm' },
  protocol: { families: ['loss', 'polca'], minClusterShare: 0.0238 },
  runtime: { concurrency: 2 },
};

export const PRESETS: Record<PresetName, ConfigInput> = {
  tiny: {
    data: { evalSize: 100, hessianSize: 64 },
    model: { nLayers: 1, dModel: 32, nHeads: 2, dMlp: 64 },
    train: { iterations: 120, batchSize: 64, lr: 3e-3, warmup: 10, checkpointEvery: 10 },
    basis: { every: 40, k: 1, maxIter: 20 },
    cluster: { minClusterSize: 10, shuffles: 5 },
    runtime: { concurrency: 2 },
  },
  small: {
    data: { evalSize: 500, hessianSize: 256 },
    model: { nLayers: 2, dModel: 64, nHeads: 4, dMlp: 256 },
    train: {
      iterations: 2000,
      batchSize: 128,
      lr: 3e-3,
      warmup: 100,
      schedule: 'cosine',
      checkpointEvery: 20,
      denseCheckpoints: { every: 5, until: 400 },
    },
    basis: { every: 200, k: 1, maxIter: 30 },
    cluster: { minClusterSize: 20, scaling: 'unit-norm' },
    runtime: { concurrency: 2 },
  },
  medium: {
    data: { evalSize: 500, hessianSize: 256 },
    model: { nLayers: 2, dModel: 64, nHeads: 4, dMlp: 256 },
    train: { ...PUBLISHED_OPTIMISER, lr: 1e-3, iterations: 4000, checkpointEvery: 20 },
    basis: { every: 200, k: 1, maxIter: 30 },
    cluster: { minClusterSize: 20, scaling: 'unit-norm' },
    runtime: { concurrency: 2 },
  },
  iclr: {
    data: { evalSize: 1250, hessianSize: 1250 },
    model: PUBLISHED_MODEL,
    train: { ...PUBLISHED_OPTIMISER, iterations: 10_000, checkpointEvery: 20 },
    basis: { every: 200, k: 1, maxIter: 40 },
    cluster: { minClusterSize: 150, minSamples: 333 },
    protocol: { families: ['loss', 'dloss', 'fisher', 'lca', 'polca-first', 'polca'] },
    runtime: { concurrency: 8 },
  },
  'iclr-probe': {
    data: { evalSize: 500, hessianSize: 256 },
    model: PUBLISHED_MODEL,
    train: { ...PUBLISHED_OPTIMISER, iterations: 10_000, checkpointEvery: 200 },
    basis: { every: 1000, k: 1, maxIter: 30 },
    cluster: { minClusterSize: 60, minSamples: 133 },
    protocol: { families: ['loss', 'polca-first', 'polca'] },
    runtime: { concurrency: 2 },
  },
  'english-tiny': {
    task: { name: 'english', vocabSize: 500, contextLength: 16 },
    data: { evalSize: 16, hessianSize: 32 },
    model: { nLayers: 1, dModel: 32, nHeads: 2, dMlp: 64 },
    train: { iterations: 120, batchSize: 32, lr: 3e-3, warmup: 10, checkpointEvery: 10 },
    basis: { every: 40, k: 1, maxIter: 20 },
    cluster: { minClusterSize: 10, shuffles: 5 },
    protocol: { families: ['loss', 'polca'] },
    runtime: { concurrency: 2 },
  },
  'english-small': ENGLISH_SMALL,
  'english-small-pca': { ...ENGLISH_SMALL, basis: { ...ENGLISH_SMALL.basis, kind: 'pca-displacement' } },
  'english-iclr': {
    task: { name: 'english', vocabSize: 16_046, contextLength: 128 },
    data: { evalSize: 99, hessianSize: 1000 },
    model: PUBLISHED_MODEL,
    train: { ...PUBLISHED_OPTIMISER, iterations: 14_000, checkpointEvery: 200 },
    basis: { every: 400, k: 1, maxIter: 40 },
    cluster: { minClusterSize: 300, minSamples: 844 },
    protocol: { families: ['loss', 'polca'], minClusterShare: 0.0238 },
    runtime: { concurrency: 8 },
  },
  paper: {
    data: { evalSize: 1250, hessianSize: 1250 },
    model: { nLayers: 2, dModel: 512, nHeads: 4, dMlp: 2048 },
    train: { iterations: 3000, batchSize: 256, lr: 1e-3, warmup: 100, checkpointEvery: 5 },
    basis: { every: 100, k: 1, maxIter: 40 },
    cluster: { minClusterSize: 25, scaling: 'unit-norm' },
    runtime: { concurrency: 8 },
  },
};
