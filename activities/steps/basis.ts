/**
 * The `basis` step: one extension of the POLCA basis, for segment s, of the kind `basis.kind`
 * names (config/schema.ts BASIS_KINDS; activities/steps/basis-kinds.ts computes each):
 *  - hessian (Algorithm 1, core/basis/basis.ts): the top-k eigenvectors of P·H_S·P at the end of
 *    segment s; key, bytes and meta exactly those of the step before other kinds existed;
 *  - shuffled: the same at the end of segment π(s) (core/basis/basis-order.ts);
 *  - preconditioned: the top-k of Adam's preconditioned P·D^{1/2}H_S D^{1/2}·P at the end of
 *    segment s (core/basis/preconditioned-basis.ts);
 *  - random: k seeded random orthonormal vectors (core/basis/random-basis.ts), no training input;
 *  - pca-displacement / pca-update: segment s's checkpoints folded into a trajectory sketch
 *    (core/basis/pca-basis.ts); this extension's basis is the top (s+1)·k principal directions of
 *    the trajectory up to the end of segment s, all of them recomputed, and the sketch is kept
 *    beside it (`sketch.safetensors`) for the next extension.
 * Every kind writes basis.safetensors (tensor B, [vectors, d], orthonormal rows) and basis.parquet
 * (vector, iteration, eigenvalue, residual, converged, lanczos_iterations, then kind-specific
 * columns; eigenvalue and residual are NaN where a kind computes no eigenvalue), so POLCA,
 * trajectories and clustering read every kind alike.
 */
import { decodeParquet, encodeSafetensors, type StepSpec, stepKey } from '../../artifacts/index.ts';
import { basisKind, type Config } from '../../config/schema.ts';
import { extendBasis, orthonormalityError } from '../../core/basis/basis.ts';
import { makeData, modelShape, sliceSequences, taskKeyParams } from '../../core/data.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';
import { basisTrainSegment, segmentCount } from '../../pipeline/plan.ts';
import { readInput, runStep, type StepContext, type StepResult, yieldNow } from './context.ts';
import { defineStep } from './define.ts';
import { loadProducts } from './basis-products.ts';
import { type KindExtension, pcaExtension, preconditionedExtension, randomExtension, shuffledExtension } from './basis-kinds.ts';
import { backend, f32, loadBasis, loadState, parquet } from './io.ts';

export interface BasisInputs {
  data: string;
  /** The training segment whose end state the extension uses (none for `random`). */
  train?: string;
  prev?: string;
}

/** What a non-hessian kind's extension s is and the step spec (key) it has. */
function kindSpec(c: Config, s: number, inputs: BasisInputs) {
  const kind = basisKind(c.basis);
  const S = segmentCount(c);
  if (!Number.isInteger(s) || s < 0 || s >= S) throw new Error(`basis/${s}: segment outside 0 … ${S - 1}`);
  const source = basisTrainSegment(c, s);
  if (source !== undefined && !inputs.train)
    throw new Error(`basis/${s}: basis.kind=${kind} needs the state of training segment ${source}`);
  if (s > 0 && !inputs.prev) throw new Error(`basis/${s}: the chain needs the previous extension`);
  const ext: KindExtension =
    kind === 'random'
      ? randomExtension(c, s)
      : kind === 'shuffled'
        ? shuffledExtension(c, s)
        : kind === 'preconditioned'
          ? preconditionedExtension(c, s)
          : pcaExtension(c, s, kind as 'pca-displacement' | 'pca-update');
  const spec = {
    step: 'basis',
    version: basisDef.version,
    params: ext.params,
    inputs: {
      ...(ext.usesData ? { data: inputs.data } : {}),
      ...(source !== undefined ? { train: inputs.train as string } : {}),
      ...(inputs.prev ? { prev: inputs.prev } : {}),
    },
  };
  return { kind, ext, spec };
}

/** The step spec (whose stepKey is the artifact's key) of basis extension s of any kind. */
export function basisSpec(c: Config, s: number, inputs: BasisInputs): StepSpec {
  return basisKind(c.basis) === 'hessian' ? hessianSpec(c, s, inputs) : kindSpec(c, s, inputs).spec;
}

/** One basis extension of the kind `c.basis.kind`. */
export async function basisStep(ctx: StepContext, c: Config, s: number, inputs: BasisInputs): Promise<StepResult> {
  if (basisKind(c.basis) === 'hessian') return hessianStep(ctx, c, s, inputs);
  const { kind, ext, spec } = kindSpec(c, s, inputs);
  return runStep(ctx, basisDef.label(c, s, inputs), spec, async () => {
    const be = await backend(c);
    const prevRows = inputs.prev ? await decodeParquet(await readInput(ctx, inputs.prev, 'basis.parquet')) : undefined;
    const r = await ext.compute({
      ctx,
      key: stepKey(spec),
      state: inputs.train ? await loadState(ctx, inputs.train) : undefined,
      trainKey: inputs.train,
      prevKey: inputs.prev,
      B: inputs.prev ? await loadBasis(ctx, inputs.prev) : [],
    });
    const d = r.rows[0].length;
    const flat = new Float32Array(r.rows.length * d);
    r.rows.forEach((row, j) => {
      flat.set(row, j * d);
    });
    // The stored (float32) rows, as POLCA will read them.
    const stored = r.rows.map((_, j) => flat.subarray(j * d, (j + 1) * d));
    const ortho = orthonormalityError(stored);
    if (!(ortho <= 1e-4)) throw new Error(`basis/${s}: the ${kind} basis is not orthonormal (max |BBᵀ − I| = ${ortho})`);
    // Appending kinds extend the previous table; a recomputed basis replaces it.
    const keep = r.replace ? undefined : prevRows;
    const prevN = keep ? (keep.vector as ArrayLike<number>).length : 0;
    const cat = <T>(name: string, next: T[]): T[] => [...(keep ? Array.from(keep[name] as ArrayLike<T>) : []), ...next];
    const n = r.columns.eigenvalue.length;
    if (prevN + n !== r.rows.length) throw new Error(`basis/${s}: ${prevN + n} table rows for ${r.rows.length} vectors`);
    const table = parquet([
      [
        'vector',
        'int32',
        Int32Array.from(
          cat(
            'vector',
            Array.from({ length: n }, (_, i) => prevN + i),
          ),
        ),
      ],
      ['iteration', 'int32', Int32Array.from(cat('iteration', r.columns.iteration))],
      ['eigenvalue', 'float64', Float64Array.from(cat('eigenvalue', r.columns.eigenvalue))],
      ['residual', 'float64', Float64Array.from(cat('residual', r.columns.residual))],
      ['converged', 'boolean', cat('converged', r.columns.converged)],
      ['lanczos_iterations', 'int32', Int32Array.from(cat('lanczos_iterations', r.columns.lanczosIterations))],
      ...Object.entries(r.extra).map(([name, values]) => [name, 'float64', Float64Array.from(cat(name, values))] as const),
    ] as Parameters<typeof parquet>[0]);
    return {
      files: {
        'basis.safetensors': encodeSafetensors(
          { B: f32(flat, [r.rows.length, d]) },
          { backend: be, kind, orthonormality_error: String(ortho) },
        ),
        'basis.parquet': table,
        ...r.files,
      },
      meta: { kind, ...r.meta, orthonormalityError: ortho, vectors: r.rows.length },
    };
  });
}

/** Algorithm 1's spec: exactly that of the step before `basis.kind` existed. */
function hessianSpec(c: Config, s: number, inputs: BasisInputs) {
  const iteration = (s + 1) * c.basis.every;
  if (!inputs.train) throw new Error(`basis/${s}: Algorithm 1 needs the state of training segment ${s}`);
  return {
    step: 'basis',
    version: basisDef.version,
    params: {
      seed: c.seed,
      data: c.data,
      model: c.model,
      ...taskKeyParams(c),
      // `kind` is absent here (or `hessian`, dropped): the key of every config from before it existed
      basis: { every: c.basis.every, k: c.basis.k, maxIter: c.basis.maxIter, tol: c.basis.tol },
      segment: s,
      iteration,
    },
    inputs: {
      data: inputs.data,
      train: inputs.train,
      ...(inputs.prev ? { prev: inputs.prev } : {}),
    },
  };
}

/** Algorithm 1, one extension: the top-k eigenvectors of P·H_S·P at the end of segment s. */
async function hessianStep(ctx: StepContext, c: Config, s: number, inputs: BasisInputs): Promise<StepResult> {
  const iteration = (s + 1) * c.basis.every;
  const spec = hessianSpec(c, s, inputs);
  return runStep(ctx, basisDef.label(c, s, inputs), spec, async () => {
    const be = await backend(c);
    const state = await loadState(ctx, inputs.train as string);
    if (state.step !== iteration) throw new Error(`basis/${s}: train state is at iteration ${state.step}, expected ${iteration}`);
    const B = inputs.prev ? await loadBasis(ctx, inputs.prev) : [];
    let prevRows: Awaited<ReturnType<typeof decodeParquet>> | undefined;
    if (inputs.prev) prevRows = await decodeParquet(await readInput(ctx, inputs.prev, 'basis.parquet'));
    const { eval: evalSeqs, hessian } = await makeData(c);
    const shape = modelShape(c);
    const model = makeTokenLossModel(shape, sliceSequences(shape, evalSeqs, 0, 1), hessian);
    // The products of an interrupted attempt (resume points), and a place for this attempt's.
    // At most maxIter Krylov products, plus k for each check of the true residuals.
    const maxProducts = (c.basis.maxIter + 1) * (c.basis.k + 1);
    const products = await loadProducts(ctx, stepKey(spec), maxProducts);
    ctx.heartbeat({ phase: 'lanczos', done: 0, total: maxProducts });
    await yieldNow();
    let ext: ReturnType<typeof extendBasis>;
    try {
      ext = extendBasis(model, state.params, B, c.basis, c.seed, products);
    } finally {
      model.dispose();
    }
    const d = state.params.length;
    const rows = [...B, ...ext.vectors.map((v) => Float32Array.from(v))];
    const flat = new Float32Array(rows.length * d);
    rows.forEach((r, j) => {
      flat.set(r, j * d);
    });
    const ortho = orthonormalityError(rows);
    const prevN = prevRows ? (prevRows.vector as Int32Array).length : 0;
    const cat = <T extends number | boolean>(prev: ArrayLike<T> | undefined, next: T[]) => [...(prev ? Array.from(prev) : []), ...next];
    const table = parquet([
      [
        'vector',
        'int32',
        Int32Array.from(
          cat(
            prevRows?.vector as Int32Array,
            ext.vectors.map((_, i) => prevN + i),
          ),
        ),
      ],
      [
        'iteration',
        'int32',
        Int32Array.from(
          cat(
            prevRows?.iteration as Int32Array,
            ext.vectors.map(() => iteration),
          ),
        ),
      ],
      ['eigenvalue', 'float64', Float64Array.from(cat(prevRows?.eigenvalue as Float64Array, ext.eigenvalues))],
      ['residual', 'float64', Float64Array.from(cat(prevRows?.residual as Float64Array, ext.residuals))],
      ['converged', 'boolean', cat(prevRows?.converged as boolean[] | undefined, ext.converged)],
      [
        'lanczos_iterations',
        'int32',
        Int32Array.from(
          cat(
            prevRows?.lanczos_iterations as Int32Array,
            ext.vectors.map(() => ext.iterations),
          ),
        ),
      ],
    ]);
    return {
      files: {
        'basis.safetensors': encodeSafetensors({ B: f32(flat, [rows.length, d]) }, { backend: be, orthonormality_error: String(ortho) }),
        'basis.parquet': table,
      },
      meta: {
        eigenvalues: ext.eigenvalues,
        residuals: ext.residuals,
        converged: ext.converged,
        iterations: ext.iterations,
        orthonormalityError: ortho,
        vectors: rows.length,
        ...(products.replayed ? { replayedProducts: products.replayed } : {}),
      },
    };
  });
}

/** The `basis` step in the registry (activities/steps/registry.ts). */
export const basisDef = defineStep({ version: '5', label: (_c, s, _inputs) => `basis/${s}`, run: basisStep });
