/** The `basis` step: Algorithm 1, one extension of the POLCA basis (core/basis.ts). */
import { decodeParquet, encodeSafetensors, stepKey } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { extendBasis, orthonormalityError } from '../../core/basis.ts';
import { makeData } from '../../core/data.ts';
import { makeTokenLossModel } from '../../core/token-loss-model.ts';
import { readInput, runStep, type StepContext, type StepResult, yieldNow } from '../context.ts';
import { loadProducts } from './basis-products.ts';
import { backend, f32, loadBasis, loadState, parquet, STEP_VERSIONS } from './io.ts';

/** Algorithm 1, one extension: the top-k eigenvectors of P·H_S·P at the end of segment s. */
export async function basisStep(
  ctx: StepContext,
  c: Config,
  s: number,
  inputs: { data: string; train: string; prev?: string },
): Promise<StepResult> {
  const iteration = (s + 1) * c.basis.every;
  const spec = {
    step: 'basis',
    version: STEP_VERSIONS.basis,
    params: {
      seed: c.seed,
      data: c.data,
      model: c.model,
      basis: c.basis,
      segment: s,
      iteration,
    },
    inputs: {
      data: inputs.data,
      train: inputs.train,
      ...(inputs.prev ? { prev: inputs.prev } : {}),
    },
  };
  return runStep(ctx, `basis/${s}`, spec, async () => {
    const be = await backend(c);
    const state = await loadState(ctx, inputs.train);
    if (state.step !== iteration) throw new Error(`basis/${s}: train state is at iteration ${state.step}, expected ${iteration}`);
    const B = inputs.prev ? await loadBasis(ctx, inputs.prev) : [];
    let prevRows: Awaited<ReturnType<typeof decodeParquet>> | undefined;
    if (inputs.prev) prevRows = await decodeParquet(await readInput(ctx, inputs.prev, 'basis.parquet'));
    const { evalExamples, hessianExamples } = makeData(c);
    const model = makeTokenLossModel(c.model, evalExamples.slice(0, 1), hessianExamples);
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
