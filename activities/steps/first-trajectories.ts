/**
 * The `trajectories/first` step: first-order POLCA trajectories F(x, b_j, t) = d1(x, b_j, θ_t)·⟨b_j, Δ_t⟩
 * per basis vector, assembled from the `first` column of the POLCA chunks' polca.parquet (nothing
 * is recomputed). Output first.safetensors, tensors vector_<jjjj>: [token, T].
 */
import { decodeParquet, encodeSafetensors, type Tensor } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { evalTokenCount } from '../../core/data.ts';
import { intervalCount } from '../../pipeline/plan.ts';
import { readInput, runStep, type StepContext, type StepResult } from './context.ts';
import { defineStep } from './define.ts';
import { familyTensorName } from './families.ts';
import { f32 } from './io.ts';

export async function firstTrajectoriesStep(ctx: StepContext, c: Config, inputs: { polca: string[] }): Promise<StepResult> {
  const spec = {
    step: 'trajectories-first',
    version: trajectoriesFirstDef.version,
    params: {
      evalSize: c.data.evalSize,
      checkpointEvery: c.train.checkpointEvery,
      ...(c.train.denseCheckpoints ? { denseCheckpoints: c.train.denseCheckpoints } : {}),
    },
    inputs: Object.fromEntries(inputs.polca.map((k, i) => [`polca/${i}`, k])),
  };
  return runStep(ctx, 'trajectories/first', spec, async () => {
    const T = intervalCount(c);
    const n = evalTokenCount(c);
    const rows: Float32Array[] = [];
    for (const [i, key] of inputs.polca.entries()) {
      const t = await decodeParquet(await readInput(ctx, key, 'polca.parquet'), ['interval', 'token', 'vector', 'first']);
      const iv = t.interval as Int32Array;
      const tok = t.token as Int32Array;
      const vec = t.vector as Int32Array;
      const f = t.first as Float32Array;
      for (let r = 0; r < iv.length; r++) {
        const j = vec[r];
        // vector −1 is the `path` variant's out-of-span row: not a basis vector.
        if (j < 0) continue;
        if (tok[r] < 0 || tok[r] >= n || iv[r] < 0 || iv[r] >= T) {
          throw new Error(
            `trajectories/first: ${key} has a row for token ${tok[r]}, interval ${iv[r]}; the run has ${n} tokens and ${T} intervals`,
          );
        }
        while (rows.length <= j) rows.push(new Float32Array(n * T).fill(Number.NaN));
        rows[j][tok[r] * T + iv[r]] = f[r];
      }
      ctx.heartbeat({ phase: 'trajectories/first', done: i + 1, total: inputs.polca.length });
    }
    if (rows.length === 0) throw new Error('trajectories/first: the POLCA chunks hold no basis-vector rows');
    rows.forEach((p, j) => {
      const miss = p.findIndex(Number.isNaN);
      if (miss >= 0) {
        throw new Error(`trajectories/first: no first-order value for vector ${j}, token ${Math.floor(miss / T)}, interval ${miss % T}`);
      }
    });
    const tensors: Record<string, Tensor> = {};
    rows.forEach((p, j) => {
      tensors[familyTensorName('first', j)] = f32(p, [n, T]);
    });
    return {
      files: { 'first.safetensors': encodeSafetensors(tensors, { layout: 'vector_<j>: [token, interval] d1(x, b_j, θ_t)·⟨b_j, Δ_t⟩' }) },
      meta: { tokens: n, intervals: T, vectors: rows.length },
    };
  });
}

/** The `trajectoriesFirst` step in the registry (activities/steps/registry.ts). */
export const trajectoriesFirstDef = defineStep({ version: '1', label: () => 'trajectories/first', run: firstTrajectoriesStep });
