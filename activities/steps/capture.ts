/**
 * The `capture` step: how much of the loss change the basis explains, per interval, per vector
 * and overall, and how much of the parameters' motion it spans (core/attribution/capture.ts). Reads the POLCA
 * chunks (first, second, polca per token, vector and interval), the trajectories' losses (ΔL) and
 * the checkpoints with the basis (the motion). Tables: docs/artifacts.md.
 */
import { decodeParquet } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { basisCapture, stepMotion } from '../../core/attribution/capture.ts';
import { evalTokenCount } from '../../core/data.ts';
import { checkpointIterations } from '../../core/train/schedule.ts';
import { basisSize, intervalCount } from '../../pipeline/plan.ts';
import { readInput, runStep, type StepContext, type StepResult } from './context.ts';
import { defineStep } from './define.ts';
import { concat, loadBasis, loadCheckpoints, parquet } from './io.ts';

export async function captureStep(
  ctx: StepContext,
  c: Config,
  inputs: { trajectories: string; basis: string; train: string[]; polca: string[] },
): Promise<StepResult> {
  const spec = {
    step: 'capture',
    version: captureDef.version,
    params: {},
    inputs: Object.fromEntries([
      ['trajectories', inputs.trajectories],
      ['basis', inputs.basis],
      ...inputs.train.map((k, i) => [`train/${i}`, k]),
      ...inputs.polca.map((k, i) => [`polca/${i}`, k]),
    ]),
  };
  return runStep(ctx, 'capture', spec, async () => {
    const T = intervalCount(c);
    const n = evalTokenCount(c);
    const m = basisSize(c);
    const its = checkpointIterations(c.train);
    // ΔL per interval from the trajectories' losses (token-major, T+1 checkpoints per token)
    const lt = await decodeParquet(await readInput(ctx, inputs.trajectories, 'loss.parquet'), ['loss']);
    const loss = lt.loss as Float32Array;
    if (loss.length !== n * (T + 1)) throw new Error(`capture: loss.parquet has ${loss.length} rows, expected ${n * (T + 1)}`);
    const dloss = new Float64Array(T);
    for (let x = 0; x < n; x++) for (let t = 0; t < T; t++) dloss[t] += loss[x * (T + 1) + t + 1] - loss[x * (T + 1) + t];
    const parts = {
      interval: [] as Int32Array[],
      vector: [] as Int32Array[],
      first: [] as Float32Array[],
      second: [] as Float32Array[],
      polca: [] as Float32Array[],
    };
    for (const [i, key] of inputs.polca.entries()) {
      const t = await decodeParquet(await readInput(ctx, key, 'polca.parquet'), ['interval', 'vector', 'first', 'second', 'polca']);
      parts.interval.push(t.interval as Int32Array);
      parts.vector.push(t.vector as Int32Array);
      parts.first.push(t.first as Float32Array);
      parts.second.push(t.second as Float32Array);
      parts.polca.push(t.polca as Float32Array);
      ctx.heartbeat({ phase: 'capture', done: i + 1, total: inputs.polca.length + inputs.train.length });
    }
    const cap = basisCapture(
      {
        interval: concat(Int32Array, parts.interval),
        vector: concat(Int32Array, parts.vector),
        first: concat(Float32Array, parts.first),
        second: concat(Float32Array, parts.second),
        polca: concat(Float32Array, parts.polca),
      },
      dloss,
      n,
      m,
    );
    // Motion: ⟨b, Δ_t⟩² summed over the basis against ‖Δ_t‖², checkpoint by checkpoint.
    const B = await loadBasis(ctx, inputs.basis);
    const inSpan = new Float64Array(T);
    const total = new Float64Array(T);
    let prev: Float32Array | undefined;
    let theta0: Float32Array | undefined;
    let t = 0;
    for (const [i, key] of inputs.train.entries()) {
      const cps = await loadCheckpoints(ctx, key);
      for (const it of [...cps.keys()].sort((a, b) => a - b)) {
        const theta = cps.get(it)!;
        if (it !== its[t]) throw new Error(`capture: checkpoint ${it} of ${key} is not checkpoint ${t} (${its[t]}) of the schedule`);
        if (prev) {
          const mo = stepMotion(B, prev, theta);
          inSpan[t - 1] = mo.inSpan;
          total[t - 1] = mo.total;
        } else theta0 = theta;
        prev = theta;
        t++;
      }
      ctx.heartbeat({ phase: 'capture', done: inputs.polca.length + i + 1, total: inputs.polca.length + inputs.train.length });
    }
    if (t !== T + 1 || !prev || !theta0) throw new Error(`capture: the training segments hold ${t} checkpoints, expected ${T + 1}`);
    const net = stepMotion(B, theta0, prev);
    const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
    const motionShare = sum(inSpan) / sum(total);
    const displacementShare = net.inSpan / net.total;
    const iv = cap.intervals;
    return {
      files: {
        'intervals.parquet': parquet([
          ['interval', 'int32', Int32Array.from(iv, (r) => r.interval)],
          ['iteration', 'int32', Int32Array.from(iv, (r) => its[r.interval])],
          ['next_iteration', 'int32', Int32Array.from(iv, (r) => its[r.interval + 1])],
          ['dloss', 'float64', Float64Array.from(iv, (r) => r.dloss)],
          ['first', 'float64', Float64Array.from(iv, (r) => r.first)],
          ['second', 'float64', Float64Array.from(iv, (r) => r.second)],
          ['polca', 'float64', Float64Array.from(iv, (r) => r.polca)],
          ['capture', 'float64', Float64Array.from(iv, (r) => r.capture)],
          ['motion_in_span', 'float64', inSpan],
          ['motion', 'float64', total],
        ]),
        'vectors.parquet': parquet([
          ['vector', 'int32', Int32Array.from(cap.vectors, (r) => r.vector)],
          ['first', 'float64', Float64Array.from(cap.vectors, (r) => r.first)],
          ['second', 'float64', Float64Array.from(cap.vectors, (r) => r.second)],
          ['polca', 'float64', Float64Array.from(cap.vectors, (r) => r.polca)],
          ['share', 'float64', Float64Array.from(cap.vectors, (r) => r.share)],
          ['rising', 'boolean', cap.vectors.map((r) => r.rising)],
        ]),
      },
      meta: {
        capture: cap.capture,
        captureFirst: cap.captureFirst,
        captureSecond: cap.captureSecond,
        perToken: cap.perToken,
        risingVectors: cap.risingVectors,
        vectors: cap.vectors.map((v) => ({ vector: v.vector, share: v.share, rising: v.rising })),
        motionShare,
        displacementShare,
      },
    };
  });
}

/** The `capture` step in the registry (activities/steps/registry.ts). */
export const captureDef = defineStep({ version: '1', label: () => 'capture', run: captureStep });
