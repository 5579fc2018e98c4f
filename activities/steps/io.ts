/**
 * What the steps share: code versions, tensor and table helpers, the backend, and readers of the
 * artifacts that several steps consume (train state, checkpoints, basis).
 */
import { type ColumnType, type ColumnValues, decodeSafetensors, encodeParquet, type Tensor } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { initBackend } from '../../core/model/backend.ts';
import { makeData, modelShape, taskKeyParams } from '../../core/data.ts';
import { sliceSequences } from '../../core/tasks/task.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';
import type { TrainState } from '../../core/train/train.ts';
import { readInput, type StepContext } from './context.ts';

export const f32 = (data: Float32Array, shape: number[]): Tensor => ({
  dtype: 'F32',
  shape,
  data,
});
/** Typed arrays of one kind, end to end. */
export function concat<T extends Int32Array | Float32Array>(Ctor: new (n: number) => T, parts: T[]): T {
  const out = new Ctor(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
/** A Parquet table from [name, type, values] columns. */
export const parquet = (cols: [string, ColumnType, ColumnValues][]) =>
  encodeParquet(cols.map(([name, type, values]) => ({ name, type, values })));
export const iterName = (it: number) => `iter_${String(it).padStart(8, '0')}`;

let backendName: string | undefined;
export async function backend(c: Config): Promise<string> {
  backendName = await initBackend(c.runtime.backend);
  return backendName;
}

export async function loadState(ctx: StepContext, key: string): Promise<TrainState> {
  const { tensors, metadata } = decodeSafetensors(await readInput(ctx, key, 'state.safetensors'));
  return {
    step: Number(metadata.step),
    params: tensors.params.data as Float32Array,
    m: tensors.adam_m.data as Float32Array,
    v: tensors.adam_v.data as Float32Array,
  };
}

export async function loadBasis(ctx: StepContext, key: string): Promise<Float32Array[]> {
  const { tensors } = decodeSafetensors(await readInput(ctx, key, 'basis.safetensors'));
  const B = tensors.B;
  const [m, d] = B.shape;
  return Array.from({ length: m }, (_, j) => (B.data as Float32Array).slice(j * d, (j + 1) * d));
}

export async function loadCheckpoints(ctx: StepContext, key: string): Promise<Map<number, Float32Array>> {
  const { tensors } = decodeSafetensors(await readInput(ctx, key, 'checkpoints.safetensors'));
  const out = new Map<number, Float32Array>();
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith('iter_')) out.set(Number(name.slice(5)), t.data as Float32Array);
  return out;
}

/**
 * The key parameters every per-chunk step (polca, fisher, lca) shares: seed, data, model, task and
 * the checkpoint schedule. Spread into a step's params, they give the same key as writing them out.
 */
export function chunkKeyParams(c: Config) {
  return {
    seed: c.seed,
    data: c.data,
    model: c.model,
    ...taskKeyParams(c),
    checkpointEvery: c.train.checkpointEvery,
    ...(c.train.denseCheckpoints ? { denseCheckpoints: c.train.denseCheckpoints } : {}),
  };
}

/** The checkpoints of chunk s: segment s's, and the previous segment's end state (the chunk's first checkpoint). */
export async function loadChunkCheckpoints(
  ctx: StepContext,
  c: Config,
  s: number,
  inputs: { train: string; prevTrain?: string },
): Promise<Map<number, Float32Array>> {
  const cps = await loadCheckpoints(ctx, inputs.train);
  if (inputs.prevTrain) cps.set(s * c.basis.every, (await loadState(ctx, inputs.prevTrain)).params);
  return cps;
}

/** The token-loss model over the evaluation set (the Hessian sample cut to one sequence: these steps need no HVP). */
export async function evaluationModel(c: Config) {
  const { eval: evalSeqs, hessian } = await makeData(c);
  const shape = modelShape(c);
  return makeTokenLossModel(shape, evalSeqs, sliceSequences(shape, hessian, 0, 1));
}
