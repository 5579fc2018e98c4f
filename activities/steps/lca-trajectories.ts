/**
 * The `trajectories/lca` step: LCA trajectories LCA_i(x, t) per selected parameter (core/attribution/lca.ts),
 * assembled from the `lca` chunks. Output lca.safetensors, tensors param_<iiii>: [token, T] with
 * i the parameter's rank in the selection, and lca-params.parquet, the selection itself (a copy
 * of the `lca-params` step's table: rank, index, name, element, value).
 */
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { evalTokenCount } from '../../core/data.ts';
import { intervalCount } from '../../pipeline/plan.ts';
import { readInput, runStep, type StepContext, type StepResult } from './context.ts';
import { defineStep } from './define.ts';
import { familyTensorName } from './families.ts';
import { f32 } from './io.ts';
import { loadLcaParams } from './lca-params.ts';

export async function lcaTrajectoriesStep(ctx: StepContext, c: Config, inputs: { lcaParams: string; lca: string[] }): Promise<StepResult> {
  const spec = {
    step: 'trajectories-lca',
    version: trajectoriesLcaDef.version,
    params: {
      evalSize: c.data.evalSize,
      checkpointEvery: c.train.checkpointEvery,
      ...(c.train.denseCheckpoints ? { denseCheckpoints: c.train.denseCheckpoints } : {}),
    },
    inputs: Object.fromEntries([['lcaParams', inputs.lcaParams], ...inputs.lca.map((k, i) => [`lca/${i}`, k])]),
  };
  return runStep(ctx, 'trajectories/lca', spec, async () => {
    const T = intervalCount(c);
    const n = evalTokenCount(c);
    const sel = await loadLcaParams(ctx, inputs.lcaParams);
    const P = sel.length;
    const out = Array.from({ length: P }, () => new Float32Array(n * T));
    const seen = new Uint8Array(T);
    let sumLca = 0;
    let sumDloss = 0;
    for (const [i, key] of inputs.lca.entries()) {
      const { tensors } = decodeSafetensors(await readInput(ctx, key, 'lca.safetensors'));
      const iv = tensors.interval?.data as Int32Array | undefined;
      const l = tensors.lca;
      const dl = tensors.dloss?.data as Float32Array | undefined;
      if (!iv || !l || !dl || l.shape.length !== 3)
        throw new Error(`trajectories/lca: ${key} does not hold interval, lca [interval, param, token] and dloss`);
      const [k, pp, nn] = l.shape;
      if (k !== iv.length || pp !== P || nn !== n) {
        throw new Error(
          `trajectories/lca: ${key} has shape [${l.shape.join(', ')}] for ${iv.length} intervals; expected ${P} parameters and ${n} tokens`,
        );
      }
      const data = l.data as Float32Array;
      iv.forEach((t, r) => {
        if (t < 0 || t >= T || seen[t]) throw new Error(`trajectories/lca: interval ${t} of ${key} is outside 0..${T - 1} or given twice`);
        seen[t] = 1;
        for (let p = 0; p < P; p++) {
          const src = data.subarray((r * P + p) * n, (r * P + p + 1) * n);
          for (let x = 0; x < n; x++) {
            out[p][x * T + t] = src[x];
            sumLca += src[x];
          }
        }
        for (let x = 0; x < n; x++) sumDloss += dl[r * n + x];
      });
      ctx.heartbeat({ phase: 'trajectories/lca', done: i + 1, total: inputs.lca.length });
    }
    const missing = seen.indexOf(0);
    if (missing >= 0) throw new Error(`trajectories/lca: no chunk holds interval ${missing}`);
    const tensors: Record<string, Tensor> = {};
    out.forEach((p, i) => {
      tensors[familyTensorName('lca', i)] = f32(p, [n, T]);
    });
    return {
      files: {
        'lca.safetensors': encodeSafetensors(tensors, {
          layout: 'param_<i>: [token, interval] LCA_i(x, t), i = rank in lca-params.parquet',
        }),
        'lca-params.parquet': await readInput(ctx, inputs.lcaParams, 'lca-params.parquet'),
      },
      meta: { tokens: n, intervals: T, params: P, captured: sumLca / sumDloss },
    };
  });
}

/** The `trajectoriesLca` step in the registry (activities/steps/registry.ts). */
export const trajectoriesLcaDef = defineStep({ version: '1', label: () => 'trajectories/lca', run: lcaTrajectoriesStep });
