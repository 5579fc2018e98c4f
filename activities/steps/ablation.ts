/**
 * The `ablation` step: the reading of an ablation (core/train/ablation-reading.ts). Per group of
 * evaluation tokens (all, each skill value, each cluster of the unablated run's POLCA along each
 * ablated vector) and arm, the loss over the rest of training ablated minus unablated, and per
 * cluster the question: does removing b hurt the tokens POLCA grouped along b more than the others,
 * and more than removing random directions does? Tables: groups.parquet (one row per arm and
 * group), clusters.parquet (one row per ablated vector and cluster), curves.parquet (per arm, group
 * and checkpoint from `from` on: the group's mean loss, unablated and ablated).
 */
import { decodeParquet } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { type ArmLosses, readAblation, summariseAblation, type TokenGroup } from '../../core/train/ablation-reading.ts';
import { evalTokenCount, taskOf } from '../../core/data.ts';
import { checkpointIterations } from '../../core/train/schedule.ts';
import type { AblationInputs } from '../../pipeline/contract.ts';
import { ablationCount, ablationReadingName } from '../../pipeline/plan.ts';
import { BadInputError, readInput, runStep, type StepContext, type StepResult } from './context.ts';
import { defineStep } from './define.ts';
import { parquet } from './io.ts';

export function ablationSpec(c: Config, inputs: AblationInputs) {
  return {
    step: 'ablation',
    version: ablationDef.version,
    params: {
      ablate: c.ablate,
      count: ablationCount(c),
      checkpointEvery: c.train.checkpointEvery,
      ...(c.train.denseCheckpoints ? { denseCheckpoints: c.train.denseCheckpoints } : {}),
      iterations: c.train.iterations,
    },
    inputs: Object.fromEntries([
      ['data', inputs.data],
      ...inputs.train.map((k, i) => [`train/${i}`, k]),
      ...inputs.arms.flatMap((a) => a.segments.map((k, i) => [`ablate/${a.arm}/${i}`, k])),
      ...inputs.clusters.map((k, i) => [`cluster/${i}`, k]),
    ]),
  };
}

/** Per-token loss at each iteration of `its` from the eval.parquet of `keys` (rows at other iterations ignored). */
async function lossAt(ctx: StepContext, keys: string[], its: number[], n: number, what: string): Promise<Float32Array[]> {
  const index = new Map(its.map((it, t) => [it, t]));
  const out = its.map(() => new Float32Array(n).fill(Number.NaN));
  for (const key of keys) {
    const t = await decodeParquet(await readInput(ctx, key, 'eval.parquet'), ['iteration', 'token', 'loss']);
    const it = t.iteration as Int32Array;
    const tok = t.token as Int32Array;
    const l = t.loss as Float32Array;
    for (let r = 0; r < it.length; r++) {
      const k = index.get(it[r]);
      if (k !== undefined) out[k][tok[r]] = l[r];
    }
  }
  out.forEach((row, k) => {
    if (row.some(Number.isNaN)) throw new Error(`ablation: ${what} has no evaluation of every token at iteration ${its[k]}`);
  });
  return out;
}

export async function ablationStep(ctx: StepContext, c: Config, inputs: AblationInputs): Promise<StepResult> {
  const a = c.ablate;
  if (!a) throw new BadInputError('ablation: the config has no `ablate` section');
  const vectors = a.vectors ?? [];
  if (inputs.clusters.length !== vectors.length)
    throw new BadInputError(`ablation: ${inputs.clusters.length} clusterings for ${vectors.length} ablated vectors`);
  return runStep(ctx, ablationReadingName, ablationSpec(c, inputs), async () => {
    const n = evalTokenCount(c);
    const its = checkpointIterations(c.train).filter((it) => it >= a.from);
    const control = await lossAt(ctx, inputs.train, its, n, 'the unablated run');
    const arms: ArmLosses[] = [];
    for (const arm of inputs.arms) arms.push({ arm: arm.arm, loss: await lossAt(ctx, arm.segments, its.slice(1), n, `arm ${arm.arm}`) });
    ctx.heartbeat({ phase: 'ablation', done: 0, total: 1 });
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const groups: TokenGroup[] = [{ kind: 'all', vector: -1, cluster: -1, skill: '', value: '', tokens: all }];
    const task = taskOf(c);
    const tok = await decodeParquet(await readInput(ctx, inputs.data, 'tokens.parquet'), [...task.skillColumns]);
    for (const skill of task.skillColumns) {
      const col = tok[skill] as ArrayLike<unknown> | undefined;
      if (!col) throw new Error(`ablation: tokens.parquet has no column ${skill}, a skill of task ${task.name}`);
      const by = new Map<string, number[]>();
      for (let x = 0; x < n; x++) {
        const v = String(col[x]);
        let l = by.get(v);
        if (!l) by.set(v, (l = []));
        l.push(x);
      }
      const values = [...by.keys()].sort((p, q) =>
        Number.isFinite(Number(p)) && Number.isFinite(Number(q)) ? Number(p) - Number(q) : p < q ? -1 : 1,
      );
      for (const v of values)
        groups.push({ kind: 'skill', vector: -1, cluster: -1, skill, value: v, tokens: Int32Array.from(by.get(v) ?? []) });
    }
    for (let i = 0; i < vectors.length; i++) {
      const t = await decodeParquet(await readInput(ctx, inputs.clusters[i], 'labels.parquet'), ['vector', 'token', 'label']);
      const vec = t.vector as Int32Array;
      if (vec.length && vec[0] !== vectors[i])
        throw new BadInputError(`ablation: clustering ${inputs.clusters[i]} is of vector ${vec[0]}, expected ${vectors[i]}`);
      const token = t.token as Int32Array;
      const label = t.label as Int32Array;
      const by = new Map<number, number[]>();
      for (let r = 0; r < token.length; r++) {
        let l = by.get(label[r]);
        if (!l) by.set(label[r], (l = []));
        l.push(token[r]);
      }
      for (const k of [...by.keys()].sort((p, q) => p - q))
        groups.push({ kind: 'cluster', vector: vectors[i], cluster: k, skill: '', value: '', tokens: Int32Array.from(by.get(k) ?? []) });
    }
    const r = readAblation({ iterations: its, control, arms, groups });
    const summary = summariseAblation(r);
    const col = <T, K extends keyof T>(rows: T[], k: K) => rows.map((x) => x[k]);
    const files = {
      'groups.parquet': parquet([
        ['arm', 'utf8', col(r.rows, 'arm')],
        ['kind', 'utf8', col(r.rows, 'kind')],
        ['vector', 'int32', Int32Array.from(col(r.rows, 'vector'))],
        ['cluster', 'int32', Int32Array.from(col(r.rows, 'cluster'))],
        ['skill', 'utf8', col(r.rows, 'skill')],
        ['value', 'utf8', col(r.rows, 'value')],
        ['tokens', 'int32', Int32Array.from(col(r.rows, 'tokens'))],
        ['delta', 'float64', Float64Array.from(col(r.rows, 'delta'))],
        ['delta_final', 'float64', Float64Array.from(col(r.rows, 'deltaFinal'))],
        ['control', 'float64', Float64Array.from(col(r.rows, 'control'))],
        ['ablated', 'float64', Float64Array.from(col(r.rows, 'ablated'))],
      ]),
      'clusters.parquet': parquet([
        ['vector', 'int32', Int32Array.from(col(r.questions, 'vector'))],
        ['cluster', 'int32', Int32Array.from(col(r.questions, 'cluster'))],
        ['tokens', 'int32', Int32Array.from(col(r.questions, 'tokens'))],
        ['delta', 'float64', Float64Array.from(col(r.questions, 'delta'))],
        ['delta_others', 'float64', Float64Array.from(col(r.questions, 'deltaOthers'))],
        ['delta_random', 'float64', Float64Array.from(col(r.questions, 'deltaRandom'))],
        ['excess_others', 'float64', Float64Array.from(col(r.questions, 'excessOthers'))],
        ['excess_random', 'float64', Float64Array.from(col(r.questions, 'excessRandom'))],
      ]),
      'curves.parquet': parquet([
        ['arm', 'utf8', col(r.curves, 'arm')],
        ['kind', 'utf8', col(r.curves, 'kind')],
        ['vector', 'int32', Int32Array.from(col(r.curves, 'vector'))],
        ['cluster', 'int32', Int32Array.from(col(r.curves, 'cluster'))],
        ['skill', 'utf8', col(r.curves, 'skill')],
        ['value', 'utf8', col(r.curves, 'value')],
        ['iteration', 'int32', Int32Array.from(col(r.curves, 'iteration'))],
        ['control', 'float64', Float64Array.from(col(r.curves, 'control'))],
        ['ablated', 'float64', Float64Array.from(col(r.curves, 'ablated'))],
      ]),
    };
    return {
      files,
      meta: {
        from: a.from,
        vectors,
        count: ablationCount(c),
        arms: inputs.arms.map((x) => x.arm),
        ...summary,
        questions: r.questions,
      },
    };
  });
}

/** The `ablation` step in the registry (activities/steps/registry.ts). */
export const ablationDef = defineStep({ version: '1', label: () => ablationReadingName, run: ablationStep });
