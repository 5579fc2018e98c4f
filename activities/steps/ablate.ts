/**
 * The `ablate` step: one training segment of an ablated run (core/train/ablate.ts). It starts where the
 * unablated run's chain is at the segment's start (the unablated segment before it, or the previous
 * ablated segment), trains as that run does until `ablate.from` (the same data order, seed and
 * bits) and with every update projected off the arm's directions from then on. Resume points as
 * a training segment's (activities/steps/train.ts); the anchor Aᵀθ_from travels in the state
 * (`ablate_anchor`, float64). Outputs: state.safetensors, train_loss.parquet, eval.parquet (the
 * checkpoints after `from` only) and drift.parquet (per checkpoint after `from` and direction:
 * a_jᵀθ − c_j, and the most one float32 rounding of θ can give it). No checkpoints.safetensors.
 */
import { decodeSafetensors, type Tensor } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { type Ablation, ablation, offsetAlong, orthonormalise, randomDirections, roundingBound } from '../../core/train/ablate.ts';
import { modelShape } from '../../core/data.ts';
import { numParams } from '../../core/model/model.ts';
import { initTrainState, type TrainState } from '../../core/train/train.ts';
import type { AblateInputs } from '../../pipeline/contract.ts';
import { type AblationArm, ablateName, ablationCount, ablationFirstSegment } from '../../pipeline/plan.ts';
import { BadInputError, readInput, type StepContext, type StepResult } from './context.ts';
import { defineStep } from './define.ts';
import { loadBasis, parquet } from './io.ts';
import { runSegment, trainParams } from './train.ts';

const ANCHOR = 'ablate_anchor';

/** The ablation's part of an ablated segment's key: the arm and what defines its directions. */
export function ablateKeyParams(c: Config, arm: AblationArm) {
  const a = c.ablate;
  if (!a) throw new BadInputError('ablate: the config has no `ablate` section');
  return arm === 'basis'
    ? { arm, vectors: a.vectors ?? [], from: a.from }
    : { arm, count: ablationCount(c), seed: a.seed ?? c.seed, from: a.from };
}

/** The step spec (whose stepKey is the artifact's key) of ablated segment s of one arm. */
export function ablateSpec(c: Config, arm: AblationArm, s: number, inputs: AblateInputs) {
  return {
    step: 'ablate',
    version: ablateDef.version,
    params: { ...trainParams(c, s), ablate: ablateKeyParams(c, arm) },
    inputs: {
      data: inputs.data,
      ...(inputs.prev ? { prev: inputs.prev } : {}),
      ...(arm === 'basis' && inputs.basis ? { basis: inputs.basis } : {}),
    },
  };
}

export async function ablateStep(ctx: StepContext, c: Config, arm: AblationArm, s: number, inputs: AblateInputs): Promise<StepResult> {
  const a = c.ablate;
  if (!a) throw new BadInputError('ablate: the config has no `ablate` section');
  const first = ablationFirstSegment(c);
  const E = c.basis.every;
  if (!(s >= first && s < c.train.iterations / E))
    throw new BadInputError(`ablate/${arm}/${s}: the ablated segments are ${first} … ${c.train.iterations / E - 1}`);
  if (arm === 'basis' && !inputs.basis) throw new BadInputError(`ablate/${arm}/${s}: the basis arm needs the run's basis`);
  const spec = ablateSpec(c, arm, s, inputs);
  let A: Float64Array[] = [];
  let abl: Ablation | undefined;
  const directions = async (): Promise<Float64Array[]> => {
    if (arm === 'random') return randomDirections(numParams(modelShape(c)), ablationCount(c), a.seed ?? c.seed);
    const B = await loadBasis(ctx, inputs.basis as string);
    const vectors = a.vectors ?? [];
    const bad = vectors.filter((j) => j >= B.length);
    if (bad.length) throw new BadInputError(`ablate.vectors: ${bad.join(', ')} beyond the basis, which has ${B.length} vectors`);
    return orthonormalise(
      vectors.map((j) => B[j]),
      'basis vector',
    );
  };
  const anchorTensor = (): Record<string, Tensor> => {
    const c0 = abl?.anchor();
    return c0 ? { [ANCHOR]: { dtype: 'F64', shape: [c0.length], data: c0 } } : {};
  };
  const anchorOfTensors = (tensors: Record<string, Tensor>): Float64Array | undefined => {
    const t = tensors[ANCHOR];
    return t ? Float64Array.from(t.data as Float64Array) : undefined;
  };
  return runSegment(ctx, c, ablateName(arm, s), spec, {
    from: s * E,
    until: (s + 1) * E,
    async start(): Promise<TrainState> {
      A = await directions();
      if (!inputs.prev) {
        if (s !== 0) throw new BadInputError(`ablate/${arm}/${s}: a segment after the first needs the state before it (prev)`);
        abl = ablation(A, a.from);
        return initTrainState(c);
      }
      const { tensors, metadata } = decodeSafetensors(await readInput(ctx, inputs.prev, 'state.safetensors'));
      const anchor = anchorOfTensors(tensors);
      // The first ablated segment starts from the unablated chain (no anchor yet); later ones from the previous ablated one.
      if (s > first && !anchor)
        throw new BadInputError(`ablate/${arm}/${s}: its previous segment ${inputs.prev} carries no ablation anchor`);
      if (s === first && anchor) throw new BadInputError(`ablate/${arm}/${s}: the first ablated segment starts from the unablated run`);
      abl = ablation(A, a.from, anchor);
      return {
        step: Number(metadata.step),
        params: tensors.params.data as Float32Array,
        m: tensors.adam_m.data as Float32Array,
        v: tensors.adam_v.data as Float32Array,
      };
    },
    async resumed(tensors) {
      A = await directions();
      abl = ablation(A, a.from, anchorOfTensors(tensors));
    },
    update: (train, state, grad, mask, lr) => (abl as Ablation).update(train, state, grad, mask, lr),
    stateTensors: anchorTensor,
    evalAfter: a.from,
    checkpoints: false,
    finish(checkpoints) {
      const anchor = abl?.anchor();
      const it: number[] = [];
      const dir: number[] = [];
      const off: number[] = [];
      const bound: number[] = [];
      let driftMax = 0;
      let driftRatio = 0;
      if (anchor)
        for (const cp of checkpoints) {
          if (cp.iteration <= a.from) continue;
          const o = offsetAlong(A, cp.params, anchor);
          const b = roundingBound(A, cp.params);
          for (let j = 0; j < A.length; j++) {
            it.push(cp.iteration);
            dir.push(j);
            off.push(o[j]);
            bound.push(b[j]);
            driftMax = Math.max(driftMax, Math.abs(o[j]));
            driftRatio = Math.max(driftRatio, Math.abs(o[j]) / b[j]);
          }
        }
      return {
        files: {
          'drift.parquet': parquet([
            ['iteration', 'int32', Int32Array.from(it)],
            ['direction', 'int32', Int32Array.from(dir)],
            ['offset', 'float64', Float64Array.from(off)],
            ['rounding_bound', 'float64', Float64Array.from(bound)],
          ]),
        },
        meta: { arm, directions: A.length, from: a.from, driftMax, driftRatio },
      };
    },
  });
}

/** The `ablate` step in the registry (activities/steps/registry.ts). */
export const ablateDef = defineStep({ version: '1', label: (_c, arm, s, _inputs) => ablateName(arm, s), run: ablateStep });
