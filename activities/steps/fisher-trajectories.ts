/**
 * The `trajectories/fisher` step: per-token Fisher information trajectories along each basis
 * vector, F_b(x, θ_t) = d1(x, b_j, θ_t)² at t = 0 … T (core/attribution/fisher.ts), assembled from the
 * `fisher` chunks. Output fisher.safetensors, tensors vector_<jjjj>: [token, T + 1].
 */
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { evalTokenCount } from '../../core/data.ts';
import { intervalCount } from '../../pipeline/plan.ts';
import { readInput, runStep, type StepContext, type StepResult } from './context.ts';
import { defineStep } from './define.ts';
import { familyTensorName } from './families.ts';
import { f32 } from './io.ts';

export async function fisherTrajectoriesStep(ctx: StepContext, c: Config, inputs: { fisher: string[] }): Promise<StepResult> {
  const spec = {
    step: 'trajectories-fisher',
    version: trajectoriesFisherDef.version,
    params: {
      evalSize: c.data.evalSize,
      checkpointEvery: c.train.checkpointEvery,
      ...(c.train.denseCheckpoints ? { denseCheckpoints: c.train.denseCheckpoints } : {}),
    },
    inputs: Object.fromEntries(inputs.fisher.map((k, i) => [`fisher/${i}`, k])),
  };
  return runStep(ctx, 'trajectories/fisher', spec, async () => {
    const T1 = intervalCount(c) + 1;
    const n = evalTokenCount(c);
    let m = -1;
    let out: Float32Array[] = [];
    const seen = new Uint8Array(T1);
    for (const [i, key] of inputs.fisher.entries()) {
      const { tensors } = decodeSafetensors(await readInput(ctx, key, 'fisher.safetensors'));
      const cp = tensors.checkpoint?.data as Int32Array | undefined;
      const f = tensors.fisher;
      if (!cp || !f || f.shape.length !== 3)
        throw new Error(`trajectories/fisher: ${key} does not hold checkpoint and fisher [checkpoint, vector, token]`);
      const [k, mm, nn] = f.shape;
      if (nn !== n || k !== cp.length)
        throw new Error(
          `trajectories/fisher: ${key} has shape [${f.shape.join(', ')}] for ${cp.length} checkpoints; the run has ${n} tokens`,
        );
      if (m < 0) {
        m = mm;
        out = Array.from({ length: m }, () => new Float32Array(n * T1));
      } else if (mm !== m) throw new Error(`trajectories/fisher: ${key} has ${mm} vectors, the first chunk ${m}`);
      const data = f.data as Float32Array;
      cp.forEach((t, r) => {
        if (t < 0 || t >= T1 || seen[t])
          throw new Error(`trajectories/fisher: checkpoint ${t} of ${key} is outside 0..${T1 - 1} or given twice`);
        seen[t] = 1;
        for (let j = 0; j < m; j++) {
          const src = data.subarray((r * m + j) * n, (r * m + j + 1) * n);
          for (let x = 0; x < n; x++) out[j][x * T1 + t] = src[x];
        }
      });
      ctx.heartbeat({ phase: 'trajectories/fisher', done: i + 1, total: inputs.fisher.length });
    }
    const missing = seen.indexOf(0);
    if (missing >= 0) throw new Error(`trajectories/fisher: no chunk holds checkpoint ${missing}`);
    const tensors: Record<string, Tensor> = {};
    out.forEach((p, j) => {
      tensors[familyTensorName('fisher', j)] = f32(p, [n, T1]);
    });
    return {
      files: { 'fisher.safetensors': encodeSafetensors(tensors, { layout: 'vector_<j>: [token, checkpoint] (b_jᵀ∇ℓ_x(θ_t))²' }) },
      meta: { tokens: n, checkpoints: T1, vectors: m },
    };
  });
}

/** The `trajectoriesFisher` step in the registry (activities/steps/registry.ts). */
export const trajectoriesFisherDef = defineStep({ version: '1', label: () => 'trajectories/fisher', run: fisherTrajectoriesStep });
