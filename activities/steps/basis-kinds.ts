/**
 * The basis kinds other than Algorithm 1 (`hessian`, in ./basis.ts): for each, the key parameters
 * of its extension s and how it is computed from the previous basis and, where the kind uses
 * one, a training segment's artifacts. The math is in the core modules named below; the rows of
 * the table each kind writes are described in ./basis.ts.
 *
 * Key parameters hold only what the kind's result depends on beyond its inputs (the random basis
 * no Hessian settings, the principal directions no Hessian sample), so a sweep over settings a
 * kind does not read shares its bases.
 */
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../../artifacts/index.ts';
import type { BasisKind, Config } from '../../config/schema.ts';
import { type BasisExtension, extendBasis } from '../../core/basis/basis.ts';
import { shuffledOrder } from '../../core/basis/basis-order.ts';
import { makeData, modelShape, sliceSequences, taskKeyParams } from '../../core/data.ts';
import { numParams } from '../../core/model/layout.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';
import { foldSketch, sketchBasis, sketchRank, trajectoryRows } from '../../core/basis/pca-basis.ts';
import { adamStabilityLimit, extendPreconditioned, preconditionerSqrt } from '../../core/basis/preconditioned-basis.ts';
import { randomBlock } from '../../core/basis/random-basis.ts';
import { learningRate, type TrainState } from '../../core/train/train.ts';
import { segmentCount } from '../../pipeline/plan.ts';
import { readInput, type StepContext, yieldNow } from './context.ts';
import { loadProducts } from './basis-products.ts';
import { f32, loadCheckpoints } from './io.ts';

export interface KindInput {
  ctx: StepContext;
  /** The step's key (resume points live under it). */
  key: string;
  /** The end state of the training segment the kind uses. */
  state?: TrainState;
  trainKey?: string;
  prevKey?: string;
  /** The previous extension's rows (float32, as stored). */
  B: Float32Array[];
}

export interface KindResult {
  /** Every row of the new basis (the previous ones first, unless `replace`). */
  rows: ArrayLike<number>[];
  /** The basis is recomputed as a whole: the table is rewritten rather than extended. */
  replace: boolean;
  /** The table columns of the new rows (all rows when `replace`). */
  columns: { iteration: number[]; eigenvalue: number[]; residual: number[]; converged: boolean[]; lanczosIterations: number[] };
  /** Kind-specific float64 columns, for the new rows (all rows when `replace`). */
  extra: Record<string, number[]>;
  files: Record<string, Uint8Array>;
  meta: Record<string, unknown>;
}

export interface KindExtension {
  params: Record<string, unknown>;
  /** Whether the data step is an input (the Hessian sample). */
  usesData: boolean;
  compute(input: KindInput): Promise<KindResult>;
}

const noEigen = (n: number, iteration: number): KindResult['columns'] => ({
  iteration: Array(n).fill(iteration),
  eigenvalue: Array(n).fill(Number.NaN),
  residual: Array(n).fill(Number.NaN),
  converged: Array(n).fill(true),
  lanczosIterations: Array(n).fill(0),
});

/** A Lanczos extension at `state` (shuffled, preconditioned), with the Hessian products kept for resume. */
async function lanczosExtension(
  c: Config,
  s: number,
  iteration: number,
  input: KindInput,
  run: (
    model: ReturnType<typeof makeTokenLossModel>,
    state: TrainState,
    products: Awaited<ReturnType<typeof loadProducts>>,
  ) => BasisExtension,
) {
  const state = input.state;
  if (!state) throw new Error(`basis/${s}: no training state given`);
  if (state.step !== iteration) throw new Error(`basis/${s}: train state is at iteration ${state.step}, expected ${iteration}`);
  const { eval: evalSeqs, hessian } = await makeData(c);
  const shape = modelShape(c);
  const model = makeTokenLossModel(shape, sliceSequences(shape, evalSeqs, 0, 1), hessian);
  const maxProducts = (c.basis.maxIter + 1) * (c.basis.k + 1);
  const products = await loadProducts(input.ctx, input.key, maxProducts);
  input.ctx.heartbeat({ phase: 'lanczos', done: 0, total: maxProducts });
  await yieldNow();
  let ext: BasisExtension;
  try {
    ext = run(model, state, products);
  } finally {
    model.dispose();
  }
  const columns: KindResult['columns'] = {
    iteration: ext.vectors.map(() => iteration),
    eigenvalue: ext.eigenvalues,
    residual: ext.residuals,
    converged: ext.converged,
    lanczosIterations: ext.vectors.map(() => ext.iterations),
  };
  const meta = {
    eigenvalues: ext.eigenvalues,
    residuals: ext.residuals,
    converged: ext.converged,
    iterations: ext.iterations,
    ...(products.replayed ? { replayedProducts: products.replayed } : {}),
  };
  return { ext, columns, meta };
}

const hessianSettings = (c: Config) => ({
  kind: c.basis.kind,
  every: c.basis.every,
  k: c.basis.k,
  maxIter: c.basis.maxIter,
  tol: c.basis.tol,
});

/** Algorithm 1 with the basis checkpoints in a seeded order: extension s at the end of segment π(s). */
export function shuffledExtension(c: Config, s: number): KindExtension {
  const order = shuffledOrder(segmentCount(c), c.seed);
  const source = order[s];
  const iteration = (source + 1) * c.basis.every;
  return {
    params: {
      seed: c.seed,
      data: c.data,
      model: c.model,
      ...taskKeyParams(c),
      basis: hessianSettings(c),
      order,
      segment: s,
      source,
      iteration,
    },
    usesData: true,
    async compute(input) {
      const r = await lanczosExtension(c, s, iteration, input, (model, state, products) =>
        extendBasis(model, state.params, input.B, c.basis, c.seed, products),
      );
      return {
        rows: [...input.B, ...r.ext.vectors],
        replace: false,
        columns: r.columns,
        extra: { source_segment: r.ext.vectors.map(() => source) },
        files: {},
        meta: { ...r.meta, sourceSegment: source, order },
      };
    },
  };
}

/** Algorithm 1 on D^{1/2}·H_S·D^{1/2} with Adam's preconditioner at the end of segment s. */
export function preconditionedExtension(c: Config, s: number): KindExtension {
  const iteration = (s + 1) * c.basis.every;
  return {
    params: { seed: c.seed, data: c.data, model: c.model, ...taskKeyParams(c), basis: hessianSettings(c), segment: s, iteration },
    usesData: true,
    async compute(input) {
      // The rate of the last update before this state: at the end of a cosine schedule the next
      // one is 0, and a stability limit at rate 0 says nothing.
      const lr = learningRate(c.train, iteration - 1);
      const limit = adamStabilityLimit(c.train.beta1, lr);
      const r = await lanczosExtension(c, s, iteration, input, (model, state, products) =>
        extendPreconditioned(model, state.params, preconditionerSqrt(state.v, state.step, c.train), input.B, c.basis, c.seed, products),
      );
      const n = r.ext.vectors.length;
      return {
        rows: [...input.B, ...r.ext.vectors],
        replace: false,
        columns: r.columns,
        extra: { lr: Array(n).fill(lr), stability_limit: Array(n).fill(limit) },
        files: {},
        meta: { ...r.meta, lr, stabilityLimit: limit },
      };
    },
  };
}

/** k seeded random orthonormal vectors, orthogonal to the basis so far; no training input. */
export function randomExtension(c: Config, s: number): KindExtension {
  const iteration = (s + 1) * c.basis.every;
  return {
    params: {
      seed: c.seed,
      model: c.model,
      ...taskKeyParams(c),
      basis: { kind: c.basis.kind, every: c.basis.every, k: c.basis.k },
      segment: s,
    },
    usesData: false,
    async compute(input) {
      const vectors = randomBlock(numParams(modelShape(c)), input.B, c.basis.k, c.seed);
      return {
        rows: [...input.B, ...vectors],
        replace: false,
        columns: noEigen(vectors.length, iteration),
        extra: {},
        files: {},
        meta: {},
      };
    },
  };
}

/**
 * The top (s+1)·k principal directions of the trajectory up to the end of segment s: the sketch
 * of extension s−1 (`sketch.safetensors`: the sketch rows as float32, θ_0 and the last checkpoint
 * folded, the squared movement so far and what truncation dropped) with segment s's checkpoints
 * folded in.
 */
export function pcaExtension(c: Config, s: number, kind: Extract<BasisKind, 'pca-displacement' | 'pca-update'>): KindExtension {
  const S = segmentCount(c);
  const iteration = (s + 1) * c.basis.every;
  return {
    params: { model: c.model, ...taskKeyParams(c), basis: { kind, every: c.basis.every, k: c.basis.k }, segments: S, segment: s },
    usesData: false,
    async compute(input) {
      if (!input.trainKey) throw new Error(`basis/${s}: no training segment given`);
      const cps = [...(await loadCheckpoints(input.ctx, input.trainKey)).entries()].sort((a, b) => a[0] - b[0]);
      if (cps.length === 0 || cps[cps.length - 1][0] !== iteration)
        throw new Error(`basis/${s}: training segment's checkpoints end at ${cps.at(-1)?.[0]}, expected ${iteration}`);
      const d = cps[0][1].length;
      let sketch: ArrayLike<number>[] = [];
      let origin: Float32Array;
      let last: Float32Array | undefined;
      let total = 0;
      let dropped = 0;
      if (input.prevKey) {
        const { tensors, metadata } = decodeSafetensors(await readInput(input.ctx, input.prevKey, 'sketch.safetensors'));
        const W = tensors.W.data as Float32Array;
        const r = tensors.W.shape[0];
        sketch = Array.from({ length: r }, (_, j) => W.subarray(j * d, (j + 1) * d));
        origin = tensors.origin.data as Float32Array;
        last = tensors.last.data as Float32Array;
        total = Number(metadata.total);
        dropped = Number(metadata.dropped);
      } else {
        if (cps[0][0] !== 0) throw new Error(`basis/0: the first training segment has no checkpoint 0 (θ_0)`);
        origin = cps[0][1];
      }
      const rows = trajectoryRows(
        kind,
        cps.map(([, p]) => p),
        origin,
        last,
      );
      for (const row of rows) for (let i = 0; i < d; i++) total += row[i] * row[i];
      const keep = sketchRank(S * c.basis.k, d);
      input.ctx.heartbeat({ phase: 'pca', done: 0, total: 1 });
      await yieldNow();
      const fold = foldSketch(sketch, rows, keep);
      dropped += fold.dropped;
      const m = (s + 1) * c.basis.k;
      const basis = sketchBasis(fold.rows, m);
      const sigma2 = fold.sigma2.slice(0, m);
      const r = fold.rows.length;
      const W = new Float32Array(r * d);
      fold.rows.forEach((w, j) => {
        W.set(w, j * d);
      });
      const sketchTensors: Record<string, Tensor> = {
        W: f32(W, [r, d]),
        origin: f32(origin, [d]),
        last: f32(cps[cps.length - 1][1], [d]),
      };
      const captured = sigma2.reduce((a, b) => a + b, 0);
      return {
        rows: basis,
        replace: true,
        columns: noEigen(m, iteration),
        extra: { singular_value: sigma2.map(Math.sqrt), explained: sigma2.map((x) => x / total) },
        files: {
          'sketch.safetensors': encodeSafetensors(sketchTensors, { total: String(total), dropped: String(dropped), kind }),
        },
        meta: { explained: captured / total, sketchComponents: r, sketchRank: keep, dropped, foldedRows: rows.length },
      };
    },
  };
}
