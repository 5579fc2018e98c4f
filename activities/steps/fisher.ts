/**
 * The `fisher` step: per-token Fisher information along the basis, F_b(x, θ_t) = d1(x, b, θ_t)²
 * (core/attribution/fisher.ts), at the checkpoints of one POLCA chunk. Chunk s covers the checkpoints that
 * start its intervals; the last chunk also the final checkpoint, so the chunks together cover
 * t = 0 … T once. Output `fisher.safetensors`: `checkpoint` [k] (int32, checkpoint indices) and
 * `fisher` [k, m, n] (float32).
 */
import { encodeSafetensors, stepKey } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { basisFisher } from '../../core/attribution/fisher.ts';
import { checkpointIterations } from '../../core/train/schedule.ts';
import { segmentCount, segmentIntervals } from '../../pipeline/plan.ts';
import { runStep, type StepContext, type StepResult, yieldNow } from './context.ts';
import { defineStep } from './define.ts';
import { backend, chunkKeyParams, evaluationModel, loadBasis, loadChunkCheckpoints } from './io.ts';
import { loadRows, saveRows } from './row-scratch.ts';

/** Checkpoint indices of chunk s: the starts of its intervals, and T itself for the last chunk. */
export function fisherCheckpoints(c: Config, s: number): number[] {
  const { first, count } = segmentIntervals(c, s);
  const out = Array.from({ length: count }, (_, i) => first + i);
  if (s === segmentCount(c) - 1) out.push(first + count);
  return out;
}

export async function fisherStep(
  ctx: StepContext,
  c: Config,
  s: number,
  inputs: { data: string; basis: string; train: string; prevTrain?: string },
): Promise<StepResult> {
  const cpIdx = fisherCheckpoints(c, s);
  const its = checkpointIterations(c.train);
  const spec = {
    step: 'fisher',
    version: fisherDef.version,
    params: {
      ...chunkKeyParams(c),
      checkpoints: [cpIdx[0], cpIdx[cpIdx.length - 1] + 1],
    },
    inputs: {
      data: inputs.data,
      basis: inputs.basis,
      train: inputs.train,
      ...(inputs.prevTrain ? { prevTrain: inputs.prevTrain } : {}),
    },
  };
  return runStep(ctx, fisherDef.label(c, s, inputs), spec, async () => {
    await backend(c);
    const cps = await loadChunkCheckpoints(ctx, c, s, inputs);
    const basis = await loadBasis(ctx, inputs.basis);
    const model = await evaluationModel(c);
    const m = basis.length;
    const n = model.numTokens;
    const out = new Float32Array(cpIdx.length * m * n);
    const key = stepKey(spec);
    let replayed = 0;
    try {
      for (let k = 0; k < cpIdx.length; k++) {
        const t = cpIdx[k];
        // A retry continues where an earlier attempt stopped: finished checkpoints are in scratch/.
        let values = await loadRows(ctx, key, 'checkpoint', t, m * n);
        if (values) replayed++;
        else {
          const theta = cps.get(its[t]);
          if (!theta) throw new Error(`fisher/${s}: checkpoint ${its[t]} is not among the inputs`);
          values = Float32Array.from(basisFisher(model, theta, basis));
          await saveRows(ctx, key, 'checkpoint', t, values);
        }
        out.set(values, k * m * n);
        ctx.heartbeat({ phase: 'fisher', done: k + 1, total: cpIdx.length, checkpoint: t });
        await yieldNow();
      }
    } finally {
      model.dispose();
    }
    return {
      files: {
        'fisher.safetensors': encodeSafetensors(
          {
            checkpoint: { dtype: 'I32', shape: [cpIdx.length], data: Int32Array.from(cpIdx) },
            fisher: { dtype: 'F32', shape: [cpIdx.length, m, n], data: out },
          },
          { layout: 'fisher: [checkpoint, vector, token] (b_jᵀ∇ℓ_x(θ_t))²' },
        ),
      },
      meta: { checkpoints: cpIdx.length, vectors: m, tokens: n, replayed },
    };
  });
}

/** The `fisher` step in the registry (activities/steps/registry.ts). */
export const fisherDef = defineStep({ version: '1', label: (_c, s, _inputs) => `fisher/${s}`, run: fisherStep });
