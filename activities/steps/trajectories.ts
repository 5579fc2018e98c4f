/** The `trajectories` step: per-token loss and POLCA trajectories over all checkpoints (core/attribution/trajectories.ts). */
import { decodeParquet, encodeSafetensors, type Tensor } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { evalTokenCount } from '../../core/data.ts';
import { checkpointIndex, checkpointIterations } from '../../core/train/schedule.ts';
import { basisSize, intervalCount } from '../../pipeline/plan.ts';
import { readInput, runStep, type StepContext, type StepResult } from './context.ts';
import { defineStep } from './define.ts';
import { f32, parquet } from './io.ts';

/** Per-token trajectories over all checkpoints: loss (T+1 points) and POLCA per basis vector (T points). */
export async function trajectoriesStep(
  ctx: StepContext,
  c: Config,
  inputs: { data: string; train: string[]; polca: string[] },
): Promise<StepResult> {
  const spec = {
    step: 'trajectories',
    version: trajectoriesDef.version,
    params: {
      checkpointEvery: c.train.checkpointEvery,
      ...(c.train.denseCheckpoints ? { denseCheckpoints: c.train.denseCheckpoints } : {}),
    },
    inputs: Object.fromEntries([
      ['data', inputs.data],
      ...inputs.train.map((k, i) => [`train/${i}`, k]),
      ...inputs.polca.map((k, i) => [`polca/${i}`, k]),
    ]),
  };
  return runStep(ctx, 'trajectories', spec, async () => {
    const T = intervalCount(c);
    const its = checkpointIterations(c.train);
    const index = checkpointIndex(its);
    const n = evalTokenCount(c);
    const loss = new Float32Array((T + 1) * n).fill(Number.NaN);
    for (const key of inputs.train) {
      const t = await decodeParquet(await readInput(ctx, key, 'eval.parquet'), ['iteration', 'token', 'loss']);
      const it = t.iteration as Int32Array;
      const tok = t.token as Int32Array;
      const l = t.loss as Float32Array;
      for (let r = 0; r < it.length; r++) {
        const t = index.get(it[r]);
        if (t === undefined) throw new Error(`trajectories: iteration ${it[r]} of ${key} is not a checkpoint of the schedule`);
        loss[t * n + tok[r]] = l[r];
      }
    }
    if (loss.some(Number.isNaN)) throw new Error('trajectories: the evaluation losses do not cover every checkpoint and token');
    const m = basisSize(c);
    const pol = Array.from({ length: m }, () => new Float32Array(n * T));
    for (const key of inputs.polca) {
      const t = await decodeParquet(await readInput(ctx, key, 'polca.parquet'), ['interval', 'token', 'vector', 'polca']);
      const iv = t.interval as Int32Array;
      const tok = t.token as Int32Array;
      const vec = t.vector as Int32Array;
      const p = t.polca as Float32Array;
      for (let r = 0; r < iv.length; r++) if (vec[r] >= 0) pol[vec[r]][tok[r] * T + iv[r]] = p[r];
      ctx.heartbeat({
        phase: 'trajectories',
        done: inputs.polca.indexOf(key) + 1,
        total: inputs.polca.length,
      });
    }
    const tokCol = new Int32Array((T + 1) * n);
    const cpCol = new Int32Array((T + 1) * n);
    const itCol = new Int32Array((T + 1) * n);
    const lossCol = new Float32Array((T + 1) * n);
    let r = 0;
    for (let x = 0; x < n; x++)
      for (let t = 0; t <= T; t++, r++) {
        tokCol[r] = x;
        cpCol[r] = t;
        itCol[r] = its[t];
        lossCol[r] = loss[t * n + x];
      }
    const tensors: Record<string, Tensor> = {};
    pol.forEach((p, j) => {
      tensors[`vector_${String(j).padStart(4, '0')}`] = f32(p, [n, T]);
    });
    return {
      files: {
        'loss.parquet': parquet([
          ['token', 'int32', tokCol],
          ['checkpoint', 'int32', cpCol],
          ['iteration', 'int32', itCol],
          ['loss', 'float32', lossCol],
        ]),
        'polca.safetensors': encodeSafetensors(tensors, {
          layout: 'vector_<j>: [token, interval] POLCA(x, b_j, t)',
        }),
      },
      meta: { tokens: n, checkpoints: T + 1, vectors: m },
    };
  });
}

/** The `trajectories` step in the registry (activities/steps/registry.ts). */
export const trajectoriesDef = defineStep({ version: '1', label: () => 'trajectories', run: trajectoriesStep });
