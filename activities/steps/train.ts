/**
 * The `train` step: one training segment (core/train/train.ts), with a resume point at every checkpoint.
 * `runSegment` is the segment as a step, shared with the ablated segments (activities/steps/ablate.ts).
 */
import { modelShape, sequenceShape, taskKeyParams } from '../../core/data.ts';
import { decodeSafetensors, encodeSafetensors, type StepSpec, stepKey, type Tensor } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { numParams } from '../../core/model/model.ts';
import { type EvalRows, exactMatch, initTrainState, type TrainHooks, type TrainState, trainSegment } from '../../core/train/train.ts';
import { runStep, type StepContext, type StepResult, yieldNow } from './context.ts';
import { defineStep } from './define.ts';
import { backend, f32, iterName, loadState, parquet } from './io.ts';

/** The key parameters of training segment s (an ablated segment's start from them). */
export function trainParams(c: Config, s: number) {
  return {
    seed: c.seed,
    data: c.data,
    model: c.model,
    ...taskKeyParams(c),
    train: c.train,
    segment: s,
    from: s * c.basis.every,
    until: (s + 1) * c.basis.every,
  };
}

function encodeState(state: TrainState, extra: Record<string, string> = {}, tensors: Record<string, Tensor> = {}): Uint8Array {
  const d = state.params.length;
  return encodeSafetensors(
    {
      params: f32(state.params, [d]),
      adam_m: f32(state.m, [d]),
      adam_v: f32(state.v, [d]),
      ...tensors,
    },
    // The data position of iteration k is k itself (the task's trainBatch, core/tasks/, is a pure function
    // of seed and step) and no other RNG state is carried between iterations.
    { step: String(state.step), data_position: String(state.step), ...extra },
  );
}

interface Partial {
  /** The TF.js backend that computed it (resume points only). */
  backend?: string;
  state: TrainState;
  checkpoints: { iteration: number; params: Float32Array }[];
  evalRows: EvalRows[];
  trainLoss: { iteration: number[]; loss: number[]; lr: number[] };
  /** Tensors a segment keeps beside its state (an ablation's anchor), by name. */
  extra: Record<string, Tensor>;
}

/** Names of the tensors of a resume point that are not `extra`. */
const PARTIAL_OWN = /^(params|adam_m|adam_v|train_iteration|train_loss|train_lr|iter_\d+|eval_loss_\d+|eval_correct_\d+)$/;

function encodePartial(p: Partial, backend: string): Uint8Array {
  const d = p.state.params.length;
  const tensors: Record<string, Tensor> = {
    params: f32(p.state.params, [d]),
    adam_m: f32(p.state.m, [d]),
    adam_v: f32(p.state.v, [d]),
    train_iteration: {
      dtype: 'I32',
      shape: [p.trainLoss.iteration.length],
      data: Int32Array.from(p.trainLoss.iteration),
    },
    train_loss: {
      dtype: 'F64',
      shape: [p.trainLoss.loss.length],
      data: Float64Array.from(p.trainLoss.loss),
    },
    train_lr: {
      dtype: 'F64',
      shape: [p.trainLoss.lr.length],
      data: Float64Array.from(p.trainLoss.lr),
    },
  };
  for (const [name, t] of Object.entries(p.extra)) tensors[name] = t;
  for (const cp of p.checkpoints) tensors[iterName(cp.iteration)] = f32(cp.params, [d]);
  for (const r of p.evalRows) {
    tensors[`eval_loss_${r.iteration}`] = f32(r.loss, [r.loss.length]);
    tensors[`eval_correct_${r.iteration}`] = {
      dtype: 'I32',
      shape: [r.correct.length],
      data: Int32Array.from(r.correct),
    };
  }
  return encodeSafetensors(tensors, { step: String(p.state.step), backend });
}

/** A resume point that cannot be read is ignored: the segment then starts from its inputs. */
function tryDecodePartial(bytes: Uint8Array): Partial | undefined {
  try {
    return decodePartial(bytes);
  } catch {
    return undefined;
  }
}

function decodePartial(bytes: Uint8Array): Partial {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const checkpoints: Partial['checkpoints'] = [];
  const evalRows: EvalRows[] = [];
  const extra: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (!PARTIAL_OWN.test(name)) extra[name] = t;
    if (name.startsWith('iter_'))
      checkpoints.push({
        iteration: Number(name.slice(5)),
        params: t.data as Float32Array,
      });
    if (name.startsWith('eval_loss_')) {
      const it = Number(name.slice('eval_loss_'.length));
      evalRows.push({
        iteration: it,
        loss: t.data as Float32Array,
        correct: Uint8Array.from(tensors[`eval_correct_${it}`].data),
      });
    }
  }
  checkpoints.sort((a, b) => a.iteration - b.iteration);
  evalRows.sort((a, b) => a.iteration - b.iteration);
  return {
    backend: metadata.backend,
    state: {
      step: Number(metadata.step),
      params: tensors.params.data as Float32Array,
      m: tensors.adam_m.data as Float32Array,
      v: tensors.adam_v.data as Float32Array,
    },
    checkpoints,
    evalRows,
    trainLoss: {
      iteration: [...(tensors.train_iteration.data as Int32Array)],
      loss: [...(tensors.train_loss.data as Float64Array)],
      lr: [...(tensors.train_lr.data as Float64Array)],
    },
    extra,
  };
}

/** The step spec (whose stepKey is the artifact's key) of training segment s. */
export function trainSpec(c: Config, s: number, inputs: { data: string; prev?: string }) {
  return {
    step: 'train',
    version: trainDef.version,
    params: trainParams(c, s),
    inputs: {
      data: inputs.data,
      ...(inputs.prev ? { prev: inputs.prev } : {}),
    },
  };
}

/**
 * One training segment. Progress is made durable at every checkpoint: the state so far goes to
 * `scratch/<key>/partial.safetensors` (then the heartbeat names its iteration), so a retry on any
 * worker continues from there and ends with the same bytes as an uninterrupted run.
 */
export async function trainStep(ctx: StepContext, c: Config, s: number, inputs: { data: string; prev?: string }): Promise<StepResult> {
  const params = trainParams(c, s);
  return runSegment(ctx, c, trainDef.label(c, s, inputs), trainSpec(c, s, inputs), {
    from: params.from,
    until: params.until,
    start: async () => (inputs.prev ? loadState(ctx, inputs.prev) : initTrainState(c)),
  });
}

/** What varies between a training segment and an ablated one (activities/steps/ablate.ts). */
export interface SegmentOptions {
  /** The segment trains iterations (from, until]. */
  from: number;
  until: number;
  /** The state the segment starts from when there is no resume point. */
  start(): Promise<TrainState>;
  /** The optimiser update (core/train.ts `TrainHooks.update`); absent: AdamW. */
  update?: TrainHooks['update'];
  /** Tensors kept beside the state, in state.safetensors and in every resume point. */
  stateTensors?(): Record<string, Tensor>;
  /** Called with the kept tensors of a resume point the segment continues from. */
  resumed?(tensors: Record<string, Tensor>): Promise<void>;
  /** Only the evaluations of checkpoints after this iteration go to eval.parquet (default: all). */
  evalAfter?: number;
  /** Write checkpoints.safetensors (default true). */
  checkpoints?: boolean;
  /** Files and meta added to the step's output, from the segment's checkpoints. */
  finish?(checkpoints: { iteration: number; params: Float32Array }[]): { files: Record<string, Uint8Array>; meta: Record<string, unknown> };
}

/** A training segment as a step: resume points, checkpoints, state, training loss and evaluation. */
export async function runSegment(ctx: StepContext, c: Config, name: string, spec: StepSpec, opts: SegmentOptions): Promise<StepResult> {
  const params = { from: opts.from, until: opts.until };
  return runStep(ctx, name, spec, async () => {
    const be = await backend(c);
    const key = stepKey(spec);
    const scratch = 'partial.safetensors';
    let acc: Partial = {
      state: undefined as unknown as TrainState,
      checkpoints: [],
      evalRows: [],
      trainLoss: { iteration: [], loss: [], lr: [] },
      extra: {},
    };
    let resumedFrom: number | undefined;
    // The state at the last checkpoint of an earlier attempt, on whichever worker it ran: written
    // before each heartbeat, so it is at least as recent as the last heartbeated iteration.
    const raw = await ctx.store.getScratch(key, scratch);
    const partial = raw ? tryDecodePartial(raw) : undefined;
    // Resume is bit-identical per backend: a resume point made on another backend is not used.
    if (partial && partial.backend === be) {
      acc = partial;
      resumedFrom = acc.state.step;
      await opts.resumed?.(acc.extra);
    } else {
      acc.state = await opts.start();
    }
    if (acc.state.step < params.from || acc.state.step > params.until) {
      throw new Error(`${name}: start state is at iteration ${acc.state.step}, outside the segment (${params.from}, ${params.until}]`);
    }
    const total = params.until - params.from;
    const r = await trainSegment(c, acc.state, params.until, {
      ...(opts.update ? { update: opts.update } : {}),
      onIteration(iteration, loss, lr) {
        acc.trainLoss.iteration.push(iteration);
        acc.trainLoss.loss.push(loss);
        acc.trainLoss.lr.push(lr);
      },
      async onCheckpoint(state, cp, rows) {
        if (acc.checkpoints.some((x) => x.iteration === cp.iteration)) throw new Error(`${name}: checkpoint ${cp.iteration} emitted twice`);
        acc.checkpoints.push(cp);
        acc.evalRows.push(rows);
        acc.state = state;
        acc.extra = opts.stateTensors?.() ?? {};
        // The segment's start needs no resume point (a retry starts from the same inputs). Resume
        // points are written at the multiples of checkpointEvery only: the extra checkpoints of a
        // dense schedule would make the writes quadratic in their number, and a retry recomputes
        // the few iterations since the last resume point with the same bytes.
        if (state.step > params.from && state.step < params.until && state.step % c.train.checkpointEvery === 0)
          await ctx.store.putScratch(key, scratch, encodePartial(acc, be));
        ctx.heartbeat({
          phase: 'train',
          done: state.step - params.from,
          total,
          iteration: state.step,
        });
        await yieldNow();
      },
    });
    const d = numParams(modelShape(c));
    const cps: Record<string, Tensor> = {};
    for (const cp of acc.checkpoints) cps[iterName(cp.iteration)] = f32(cp.params, [d]);
    const evalIter: number[] = [];
    const evalToken: number[] = [];
    const evalLoss: number[] = [];
    const evalCorrect: boolean[] = [];
    const evalRows = acc.evalRows.filter((row) => opts.evalAfter === undefined || row.iteration > opts.evalAfter);
    for (const row of evalRows) {
      for (let x = 0; x < row.loss.length; x++) {
        evalIter.push(row.iteration);
        evalToken.push(x);
        evalLoss.push(row.loss[x]);
        evalCorrect.push(row.correct[x] === 1);
      }
    }
    const last = acc.evalRows[acc.evalRows.length - 1];
    const accuracy = last ? exactMatch(last.correct, sequenceShape(c).outputsPerSequence) : Number.NaN;
    const extra = opts.finish?.(acc.checkpoints);
    const files = {
      ...(opts.checkpoints === false ? {} : { 'checkpoints.safetensors': encodeSafetensors(cps, { backend: be }) }),
      'state.safetensors': encodeState(r.state, { backend: be }, opts.stateTensors?.() ?? {}),
      'train_loss.parquet': parquet([
        ['iteration', 'int32', Int32Array.from(acc.trainLoss.iteration)],
        ['loss', 'float32', Float32Array.from(acc.trainLoss.loss)],
        ['lr', 'float32', Float32Array.from(acc.trainLoss.lr)],
      ]),
      'eval.parquet': parquet([
        ['iteration', 'int32', Int32Array.from(evalIter)],
        ['token', 'int32', Int32Array.from(evalToken)],
        ['loss', 'float32', Float32Array.from(evalLoss)],
        ['correct', 'boolean', evalCorrect],
      ]),
      ...extra?.files,
    };
    return {
      files,
      meta: {
        backend: be,
        accuracy,
        evalLoss: last ? last.loss.reduce((a, b) => a + b, 0) / last.loss.length : Number.NaN,
        ...(resumedFrom !== undefined ? { resumedFrom } : {}),
        ...extra?.meta,
      },
    };
  });
}

/** The `train` step in the registry (activities/steps/registry.ts). */
export const trainDef = defineStep({ version: '3', label: (_c, s, _inputs) => `train/${s}`, run: trainStep });
