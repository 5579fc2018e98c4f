/**
 * The experiment configuration: one zod schema shared by the CLI, the Temporal client and the
 * workflow. Presets are partial configs merged over the defaults (see ./presets.ts).
 *
 * Units: every "iterations" field counts optimizer steps. Sizes count examples (sequences of the
 * task: one arithmetic example `abc+def=` has 4 output tokens).
 *
 * `task` selects the task (core/tasks/index.ts) and holds its settings, validated by that task's
 * own schema. Absent means arithmetic; the default spelled out is dropped on validation
 * (config/index.ts), so step keys and workflow ids of configs without the field are unchanged.
 */
import { z } from 'zod';
import { arithmeticConfigSchema } from '../core/tasks/arithmetic/task.ts';
import { englishConfigSchema } from '../core/tasks/english/spec.ts';
import { checkpointIterations, describeSchedule } from '../core/train/schedule.ts';
import {
  BASIS_KINDS,
  type BasisKind,
  type BasisSettings,
  type DataSettings,
  type ModelSettings,
  POLCA_VARIANTS,
  type PolcaSettings,
  type PolcaVariant,
  type TrainSettings,
} from '../core/settings.ts';
import { DEFAULT_TASK, getTaskSpec } from '../core/tasks/specs.ts';

export { BASIS_KINDS, type BasisKind, POLCA_VARIANTS, type PolcaVariant };

const posInt = () => z.number().int().positive();
const nonNegInt = () => z.number().int().nonnegative();
const posNum = () => z.number().positive();

export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export const CLUSTER_SELECTIONS = ['eom', 'leaf'] as const;
export const TRAJECTORY_SCALINGS = ['none', 'zscore-token', 'unit-norm'] as const;
export const FAMILIES = ['loss', 'dloss', 'absdloss', 'polca'] as const;
/** The trajectory families of the published protocol's table (its rows). */
export const PROTOCOL_FAMILIES = ['loss', 'dloss', 'fisher', 'lca', 'polca-first', 'polca'] as const;

export const dataSchema = z
  .object({
    /** Examples in the evaluation set X (the tokens POLCA decomposes): 4 tokens each. */
    evalSize: posInt().max(100_000).default(1250),
    /** Training examples in the Hessian sample S. */
    hessianSize: posInt().max(100_000).default(1250),
  })
  .strict();

export const modelSchema = z
  .object({
    nLayers: posInt().max(48).default(2),
    dModel: posInt().max(4096).default(512),
    nHeads: posInt().max(64).default(4),
    dMlp: posInt().max(16384).default(2048),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.dModel % m.nHeads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['nHeads'],
        message: `model.nHeads must divide model.dModel (model.dModel=${m.dModel}, model.nHeads=${m.nHeads}; allowed: a divisor of ${m.dModel})`,
      });
    }
  });

export const trainSchema = z
  .object({
    iterations: posInt().max(10_000_000).default(2000),
    batchSize: posInt().max(65_536).default(256),
    /** AdamW: peak learning rate, linear warmup then constant (or cosine, see schedule). */
    lr: posNum().max(10).default(1e-3),
    warmup: nonNegInt().default(100),
    schedule: z.enum(['constant', 'cosine']).default('constant'),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.98),
    eps: posNum().default(1e-8),
    weightDecay: z.number().min(0).default(0.01),
    /** Global gradient-norm clip; 0 disables it. */
    gradClip: z.number().min(0).default(1),
    /** A checkpoint (parameters + per-token evaluation loss) every this many iterations. */
    checkpointEvery: posInt().default(5),
    /**
     * Extra checkpoints early in training, where the loss moves most: also every `every`
     * iterations up to iteration `until` (core/train/schedule.ts). Absent: the uniform schedule.
     */
    denseCheckpoints: z.object({ every: posInt(), until: posInt() }).strict().optional(),
  })
  .strict();

/**
 * Fields of earlier versions that tuned finite differences. Derivatives are now exact (forward-mode
 * Taylor propagation and forward-over-reverse Hessian-vector products), so these have no meaning; a
 * config that sets one is refused with a message saying so.
 */
export const REMOVED_FIELDS: Record<string, string> = {
  'basis.hvpEps':
    'basis.hvpEps was removed: Hessian-vector products are now exact (forward over reverse mode), with no finite-difference step; delete the field',
  'polca.h':
    'polca.h was removed: d1 and d2 are now exact (second-order forward-mode propagation), with no finite-difference step; delete the field',
  'polca.stencil':
    'polca.stencil was removed: d1 and d2 are now exact (second-order forward-mode propagation), with no finite-difference stencil; delete the field',
};

export const basisSchema = z
  .object({
    /**
     * Which basis (BASIS_KINDS); absent means `hessian`. Optional rather than defaulted so that a
     * config that does not set it resolves, and is keyed, exactly as before the field existed.
     */
    kind: z.enum(BASIS_KINDS).optional(),
    /** A basis extension (k Hessian eigenvectors) every this many iterations. */
    every: posInt().default(100),
    /** Eigenvectors per extension. */
    k: posInt().max(64).default(1),
    /**
     * Lanczos iteration cap and tolerance on the true residual ‖PHPv − λv‖ relative to |λ|; a
     * vector that misses it at the cap is kept and flagged (`converged` in basis.parquet).
     */
    maxIter: posInt().max(1000).default(40),
    tol: posNum().default(1e-3),
  })
  .strict();

export const polcaSchema = z
  .object({
    variant: z.enum(POLCA_VARIANTS).default('paper'),
    /** `paper` variant: below this |D1(t+1) − D1(t)| the ratio falls back to d2(x,b,θ_t). */
    denomTol: posNum().default(1e-6),
    /** `path` variant: adaptive Simpson until |completeness error| ≤ pathTol, at most pathMaxSplits. */
    pathTol: posNum().default(1e-3),
    pathMaxSplits: posInt().max(1024).default(32),
  })
  .strict();

export const clusterSchema = z
  .object({
    minClusterSize: z.number().int().min(2).default(25),
    /** Defaults to minClusterSize (scikit-learn's convention) when omitted. */
    minSamples: posInt().optional(),
    selection: z.enum(CLUSTER_SELECTIONS).default('eom'),
    allowSingleCluster: z.boolean().default(false),
    clusterSelectionEpsilon: z.number().min(0).default(0),
    /** Per-token trajectory scaling before clustering. */
    scaling: z.enum(TRAJECTORY_SCALINGS).default('none'),
    families: z.array(z.enum(FAMILIES)).nonempty().default(['loss', 'dloss', 'absdloss', 'polca']),
    /** Shuffled-label permutations for the homogeneity baseline. */
    shuffles: posInt().max(1000).default(20),
  })
  .strict();

/**
 * The published evaluation protocol (core/cluster/protocol.ts), computed next to the `cluster` reading:
 * filters, HDBSCAN on raw trajectories with settings relative to the token count, the top-1
 * carry cluster and the hidden-breakthrough fraction, per trajectory family. `fisher` and `lca`
 * cost derivatives of their own and are computed only when listed.
 */
export const protocolSchema = z
  .object({
    families: z.array(z.enum(PROTOCOL_FAMILIES)).nonempty().default(['loss', 'dloss', 'polca-first', 'polca']),
    /** min_cluster_size as a share of the evaluation tokens (the paper: 150 of 5000). */
    minClusterShare: z.number().gt(0).max(1).default(0.03),
    /** min_samples = tokens kept after the filters / this (the paper: 15). */
    minSamplesDivisor: z.number().gt(0).default(15),
    /** A carry cluster needs more than this share of its carry tokens in the tens or hundreds place. */
    carryPlaceShare: z.number().gt(0).lt(1).default(0.85),
    /** Lag Δ of the breakthrough time, in iterations; default train.iterations / 100 (the paper: 100 of 10,000). */
    lag: posInt().optional(),
    /** A cluster is hidden when its breakthrough time is later than this iteration; default train.iterations / 10. */
    hiddenAfter: posInt().optional(),
    /** `lca` family: how many of the largest-magnitude parameters (|θ| at the last checkpoint). */
    lcaParams: posInt().max(10_000).default(50),
    /**
     * The part-of-speech reading of a task with tags (English; core/tasks/english/tag-reading.ts): the coverage
     * a position's tag set must reach (the paper: 70 %), the most tags a position may need for a
     * simple label (2), and the tag shuffles that give chance's count. Absent: these defaults.
     */
    tags: z
      .object({
        coverage: z.number().gt(0).max(1).default(0.7),
        maxTags: posInt().max(20).default(2),
        shuffles: posInt().max(10_000).default(100),
      })
      .strict()
      .optional(),
  })
  .strict();

export const runtimeSchema = z
  .object({
    backend: z.enum(BACKENDS).default('auto'),
    /** Most activities of one fan-out running at once. */
    concurrency: posInt().max(1024).default(4),
    /**
     * Heartbeat timeout of the training, POLCA and clustering activities: a worker silent this
     * long is taken for lost and its activity is retried elsewhere (training resumes from its
     * last checkpoint). Basis extensions get at least 10 minutes (one Lanczos run is one long
     * computation). Not part of any step key.
     */
    heartbeatSeconds: posInt().max(86_400).default(60),
  })
  .strict();

/**
 * Ablating directions during training (core/train/ablate.ts): from the checkpoint `from` on, training
 * continues with every optimiser update projected off the span of the directions, once for the
 * basis vectors named and once for as many random orthonormal directions (the control); the run
 * itself, unablated, is the baseline (same data order and seed). Either `vectors` (indices into the
 * run's finished basis, 0-based in basis order; an empty list removes nothing, a check) or
 * `random` (that many random directions alone). Absent: no ablation, and no step key or workflow
 * id changes.
 */
export const ablateSchema = z
  .object({
    vectors: z.array(nonNegInt()).max(64).optional(),
    random: posInt().max(64).optional(),
    /** Seed of the random directions; default the run's seed. */
    seed: nonNegInt()
      .max(2 ** 31 - 1)
      .optional(),
    /** The checkpoint iteration from which the updates are projected (θ_from is the unablated run's). */
    from: nonNegInt(),
  })
  .strict();

/** One schema per task, selected by `name` (core/tasks/*.ts `configSchema`). */
export const taskSchema = z.discriminatedUnion('name', [arithmeticConfigSchema, englishConfigSchema]);
export type TaskConfig = z.infer<typeof taskSchema>;

export const configSchema = z
  .object({
    /**
     * Which preset the config started from (informational; presets are merged by resolveConfig):
     * one of the preset registry's names (config/presets.ts PRESET_NAMES), checked by
     * config/index.ts validateConfig, which also lists them in the JSON Schema. The registry is
     * typed by this schema, so this schema does not import it.
     */
    preset: z.string().optional(),
    seed: nonNegInt()
      .max(2 ** 31 - 1)
      .default(0),
    /** The task and its settings, by `name` (absent: arithmetic). */
    task: taskSchema.optional(),
    data: dataSchema.default(dataSchema.parse({})),
    model: modelSchema.default(modelSchema.parse({})),
    train: trainSchema.default(trainSchema.parse({})),
    basis: basisSchema.default(basisSchema.parse({})),
    polca: polcaSchema.default(polcaSchema.parse({})),
    cluster: clusterSchema.default(clusterSchema.parse({})),
    protocol: protocolSchema.default(protocolSchema.parse({})),
    runtime: runtimeSchema.default(runtimeSchema.parse({})),
    /** Directions removed from training from a checkpoint on (absent: none). */
    ablate: ablateSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.basis.every % c.train.checkpointEvery !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['basis', 'every'],
        message: `basis.every must be a multiple of train.checkpointEvery (${c.train.checkpointEvery}); got ${c.basis.every}`,
      });
    }
    const dense = c.train.denseCheckpoints;
    if (dense && dense.every >= c.train.checkpointEvery) {
      ctx.addIssue({
        code: 'custom',
        path: ['train', 'denseCheckpoints', 'every'],
        message: `train.denseCheckpoints.every must be smaller than train.checkpointEvery (${c.train.checkpointEvery}); got ${dense.every}`,
      });
    }
    if (c.train.iterations % c.basis.every !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['train', 'iterations'],
        message: `train.iterations must be a multiple of basis.every (${c.basis.every}); got ${c.train.iterations}`,
      });
    }
    // The evaluation set and the Hessian sample are drawn without overlap from the 10^6 operand
    // pairs; their caps (100 000 each) keep both well inside the example space.
    const T = getTaskSpec(c.task?.name ?? DEFAULT_TASK).shape(c.task ?? { name: DEFAULT_TASK }).outputsPerSequence;
    if (c.data.evalSize > 0 && c.cluster.minClusterSize > c.data.evalSize * T) {
      ctx.addIssue({
        code: 'custom',
        path: ['cluster', 'minClusterSize'],
        message: `cluster.minClusterSize must be at most the number of evaluation tokens, ${T} × data.evalSize = ${c.data.evalSize * T}; got ${c.cluster.minClusterSize}`,
      });
    }
    if (c.cluster.minSamples !== undefined && c.cluster.minSamples > c.data.evalSize * T) {
      ctx.addIssue({
        code: 'custom',
        path: ['cluster', 'minSamples'],
        message: `cluster.minSamples must be at most the number of evaluation tokens, ${T} × data.evalSize = ${c.data.evalSize * T}; got ${c.cluster.minSamples}`,
      });
    }
    if (c.protocol.lag !== undefined && 2 * c.protocol.lag > c.train.iterations) {
      ctx.addIssue({
        code: 'custom',
        path: ['protocol', 'lag'],
        message: `protocol.lag must be at most half of train.iterations (${c.train.iterations}) so that a second difference fits in the run; got ${c.protocol.lag}`,
      });
    }
    // A principal-direction basis extension adds k directions per segment: a segment must bring
    // at least k new rows (its checkpoints) for the trajectory so far to have that many.
    const kind = basisKind(c.basis);
    if ((kind === 'pca-displacement' || kind === 'pca-update') && c.basis.k > c.basis.every / c.train.checkpointEvery) {
      ctx.addIssue({
        code: 'custom',
        path: ['basis', 'k'],
        message: `basis.k must be at most the checkpoints per basis segment, basis.every / train.checkpointEvery = ${c.basis.every / c.train.checkpointEvery}, for basis.kind=${kind}; got ${c.basis.k}`,
      });
    }
    for (const i of ablateIssues(c)) ctx.addIssue({ code: 'custom', path: ['ablate', i.field], message: i.message });
    // A Krylov space of m Lanczos iterations holds at most m Ritz pairs: k eigenvectors need k iterations.
    if (c.basis.maxIter < c.basis.k) {
      ctx.addIssue({
        code: 'custom',
        path: ['basis', 'maxIter'],
        message: `basis.maxIter must be at least basis.k (${c.basis.k}): Lanczos finds at most one eigenvector per iteration; got ${c.basis.maxIter}`,
      });
    }
  });

/** What is wrong with a config's `ablate` against the rest of it: field and message, naming what is allowed. */
function ablateIssues(c: {
  ablate?: z.infer<typeof ablateSchema>;
  train: z.infer<typeof trainSchema>;
  basis: z.infer<typeof basisSchema>;
  cluster: z.infer<typeof clusterSchema>;
}): { field: string; message: string }[] {
  const a = c.ablate;
  if (!a) return [];
  const out: { field: string; message: string }[] = [];
  const m = (c.train.iterations / c.basis.every) * c.basis.k;
  if ((a.vectors === undefined) === (a.random === undefined))
    out.push({
      field: a.vectors === undefined ? 'vectors' : 'random',
      message: `ablate: give exactly one of ablate.vectors (basis vector indices, 0 … ${m - 1}) and ablate.random (a count of random directions, 1 … 64)`,
    });
  if (a.vectors) {
    const bad = a.vectors.filter((j) => j >= m);
    if (bad.length)
      out.push({
        field: 'vectors',
        message: `ablate.vectors: ${bad.join(', ')} beyond the basis, which has ${m} vectors (train.iterations / basis.every × basis.k); allowed: 0 … ${m - 1}`,
      });
    if (new Set(a.vectors).size !== a.vectors.length)
      out.push({ field: 'vectors', message: `ablate.vectors: each vector at most once; got ${JSON.stringify(a.vectors)}` });
    if (!c.cluster.families.includes('polca'))
      out.push({
        field: 'vectors',
        message: `ablate.vectors: the reading needs the clusters of POLCA along each ablated vector; cluster.families must include "polca" (given ${JSON.stringify(c.cluster.families)})`,
      });
  }
  const its = checkpointIterations(c.train);
  if (!its.includes(a.from) || a.from >= c.train.iterations) {
    const shown = its.length > 8 ? `${its.slice(0, 4).join(', ')}, …, ${its.slice(-3, -1).join(', ')}` : its.slice(0, -1).join(', ');
    out.push({
      field: 'from',
      message: `ablate.from must be a checkpoint iteration before the last (train.iterations = ${c.train.iterations}; checkpoints ${describeSchedule(c.train)}): one of ${shown}; got ${a.from}`,
    });
  }
  return out;
}

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type Family = (typeof FAMILIES)[number];
export type ProtocolFamily = (typeof PROTOCOL_FAMILIES)[number];
/** The basis kind of a config (`hessian` when the field is absent). */
export const basisKind = (basis: { kind?: BasisKind }): BasisKind => basis.kind ?? 'hessian';

/** The numerics read their settings through core/settings.ts's types: each part of the config must be one. */
type Fits<A extends B, B> = A;
export type ConfigFitsCore = [
  Fits<Config['data'], DataSettings>,
  Fits<Config['model'], ModelSettings>,
  Fits<Config['train'], TrainSettings>,
  Fits<Config['basis'], BasisSettings>,
  Fits<Config['polca'], PolcaSettings>,
];
