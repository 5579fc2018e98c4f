/**
 * The `lca` step: Loss Change Allocation to the selected parameters (core/attribution/lca.ts) for the
 * intervals of one POLCA chunk (those starting in [s·E, (s+1)·E)). The derivatives at each
 * checkpoint are computed once and shared by the two intervals that meet there. Output
 * `lca.safetensors`: `interval` [count] (int32), `lca` [count, P, n] (float32, LCA_i(x, t) with i
 * in the selection's rank order) and `dloss` [count, n] (float32, ΔL_x(t) from the same passes).
 * The basis plays no part: the step's key does not change with it.
 */
import { encodeSafetensors, stepKey } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { lcaInterval, type ParamGradients } from '../../core/attribution/lca.ts';
import { checkpointIterations } from '../../core/train/schedule.ts';
import { segmentIntervals } from '../../pipeline/plan.ts';
import { runStep, type StepContext, type StepResult, yieldNow } from './context.ts';
import { defineStep } from './define.ts';
import { backend, chunkKeyParams, evaluationModel, loadChunkCheckpoints } from './io.ts';
import { loadLcaParams } from './lca-params.ts';
import { loadRows, saveRows } from './row-scratch.ts';

export async function lcaStep(
  ctx: StepContext,
  c: Config,
  s: number,
  inputs: { data: string; train: string; prevTrain?: string; lcaParams: string },
): Promise<StepResult> {
  const { first, count } = segmentIntervals(c, s);
  const its = checkpointIterations(c.train);
  const spec = {
    step: 'lca',
    version: lcaDef.version,
    params: {
      ...chunkKeyParams(c),
      intervals: [first, first + count],
    },
    inputs: {
      data: inputs.data,
      train: inputs.train,
      ...(inputs.prevTrain ? { prevTrain: inputs.prevTrain } : {}),
      lcaParams: inputs.lcaParams,
    },
  };
  return runStep(ctx, lcaDef.label(c, s, inputs), spec, async () => {
    await backend(c);
    const cps = await loadChunkCheckpoints(ctx, c, s, inputs);
    const sel = await loadLcaParams(ctx, inputs.lcaParams);
    const indices = Int32Array.from(sel, (p) => p.index);
    const model = await evaluationModel(c);
    const P = indices.length;
    const n = model.numTokens;
    // Per interval: LCA [P·n] then ΔL [n], as stored.
    const per = (P + 1) * n;
    const out = new Float32Array(count * per);
    const key = stepKey(spec);
    const t0 = Date.now();
    let replayed = 0;
    try {
      let carried: { it: number; at: ParamGradients } | undefined;
      for (let i = 0; i < count; i++) {
        const interval = first + i;
        // A retry continues where an earlier attempt stopped: finished intervals are in scratch/.
        let values = await loadRows(ctx, key, 'interval', interval, per);
        if (values) replayed++;
        else {
          const itT = its[interval];
          const itT1 = its[interval + 1];
          const thetaT = cps.get(itT);
          const thetaT1 = cps.get(itT1);
          if (!thetaT || !thetaT1) throw new Error(`lca/${s}: checkpoints ${itT} and ${itT1} are needed`);
          const r = lcaInterval({ model, thetaT, thetaT1, indices, atT: carried?.it === itT ? carried.at : undefined });
          carried = { it: itT1, at: r.atT1 };
          values = new Float32Array(per);
          values.set(r.lca);
          values.set(r.dloss, P * n);
          await saveRows(ctx, key, 'interval', interval, values);
        }
        out.set(values, i * per);
        ctx.heartbeat({ phase: 'lca', done: i + 1, total: count, interval });
        await yieldNow();
      }
    } finally {
      model.dispose();
    }
    const lca = new Float32Array(count * P * n);
    const dloss = new Float32Array(count * n);
    let sumLca = 0;
    let sumDloss = 0;
    for (let i = 0; i < count; i++) {
      const v = out.subarray(i * per, (i + 1) * per);
      lca.set(v.subarray(0, P * n), i * P * n);
      dloss.set(v.subarray(P * n), i * n);
      for (let r = 0; r < P * n; r++) sumLca += v[r];
      for (let x = 0; x < n; x++) sumDloss += v[P * n + x];
    }
    return {
      files: {
        'lca.safetensors': encodeSafetensors(
          {
            interval: { dtype: 'I32', shape: [count], data: Int32Array.from({ length: count }, (_, i) => first + i) },
            lca: { dtype: 'F32', shape: [count, P, n], data: lca },
            dloss: { dtype: 'F32', shape: [count, n], data: dloss },
          },
          { layout: 'lca: [interval, param (rank), token] LCA_i(x, t); dloss: [interval, token] ΔL_x(t)' },
        ),
      },
      meta: {
        intervals: count,
        params: P,
        tokens: n,
        replayed,
        computeSeconds: (Date.now() - t0) / 1000,
        /** Σ LCA over the selected parameters, tokens and intervals ÷ Σ ΔL: the share they carry. */
        captured: sumLca / sumDloss,
      },
    };
  });
}

/** The `lca` step in the registry (activities/steps/registry.ts). */
export const lcaDef = defineStep({ version: '1', label: (_c, s, _inputs) => `lca/${s}`, run: lcaStep });
