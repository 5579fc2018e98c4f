/**
 * The experiment's steps as plain functions of (context, config, input keys): each loads its inputs
 * from the store, calls the numerics in core/, and writes its outputs (docs/artifacts.md). The
 * Temporal activities (activities/index.ts) and the in-process runner share them.
 *
 * Segments: segment s trains iterations (s·E, (s+1)·E] with E = basis.every (segment 0 also
 * holds checkpoint 0). Basis extension s is computed at θ_{(s+1)·E}, the end of segment s. POLCA
 * chunk s covers the checkpoint intervals that start in [s·E, (s+1)·E).
 */
import {
  type ArtifactStore,
  type ColumnType,
  type ColumnValues,
  decodeParquet,
  decodeSafetensors,
  encodeParquet,
  encodeSafetensors,
  stepKey,
  type Tensor,
} from '../artifacts/index.ts';
import type { RunRecordInput } from '../workflows/dag.ts';
import type { Config, Family, PolcaVariant } from '../config/schema.ts';
import { initBackend } from '../core/backend.ts';
import { extendBasis, orthonormalityError } from '../core/basis.ts';
import { makeData, TOKENS_PER_EXAMPLE, tokenRows } from '../core/data.ts';
import { hdbscan } from '../core/hdbscan.ts';
import { makeTokenLossModel, numParams } from '../core/model.ts';
import { type Derivatives, directionalDerivatives, type PolcaIntervalResult, polcaInterval } from '../core/polca.ts';
import { readSkills } from '../core/skills.ts';
import { type EvalRows, exactMatch, initTrainState, type TrainState, trainSegment } from '../core/train.ts';
import { clusterCurves, deltaTrajectories, lossTrajectories, scale } from '../core/trajectories.ts';
import { basisSize, checkpointsPerSegment, type ClusterTarget, intervalCount } from '../workflows/plan.ts';
import { readInput, runStep, scratchPath, type StepContext, type StepResult, yieldNow } from './context.ts';

/** Code versions: bump one when that step's output for the same inputs changes. */
export const STEP_VERSIONS = {
  data: '1',
  train: '1',
  basis: '1',
  polca: '1',
  trajectories: '1',
  cluster: '1',
  report: '1',
} as const;

const f32 = (data: Float32Array, shape: number[]): Tensor => ({
  dtype: 'F32',
  shape,
  data,
});
/** Typed arrays of one kind, end to end. */
function concat<T extends Int32Array | Float32Array>(Ctor: new (n: number) => T, parts: T[]): T {
  const out = new Ctor(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
/** A Parquet table from [name, type, values] columns. */
const parquet = (cols: [string, ColumnType, ColumnValues][]) => encodeParquet(cols.map(([name, type, values]) => ({ name, type, values })));
const iterName = (it: number) => `iter_${String(it).padStart(8, '0')}`;

let backendName: string | undefined;
async function backend(c: Config): Promise<string> {
  backendName = await initBackend(c.runtime.backend);
  return backendName;
}

// ---------------------------------------------------------------------------------------- data

export async function dataStep(ctx: StepContext, c: Config): Promise<StepResult> {
  const spec = {
    step: 'data',
    version: STEP_VERSIONS.data,
    params: { seed: c.seed, data: c.data },
    inputs: {},
  };
  return runStep(ctx, 'data', spec, async () => {
    const { evalExamples, hessianExamples } = makeData(c);
    const all = [...evalExamples.map((e) => ['eval', e] as const), ...hessianExamples.map((e) => ['hessian', e] as const)];
    const counter = () => {
      let i = 0;
      return () => i++;
    };
    const ie = counter();
    const ih = counter();
    const examples = parquet([
      ['split', 'utf8', all.map(([s]) => s)],
      ['index', 'int32', Int32Array.from(all.map(([s]) => (s === 'eval' ? ie() : ih())))],
      ['a', 'int32', Int32Array.from(all.map(([, e]) => e.a))],
      ['b', 'int32', Int32Array.from(all.map(([, e]) => e.b))],
      ['sum', 'int32', Int32Array.from(all.map(([, e]) => e.a + e.b))],
    ]);
    const t = tokenRows(evalExamples);
    const tokens = parquet([
      ['token', 'int32', t.token],
      ['example', 'int32', t.example],
      ['a', 'int32', t.a],
      ['b', 'int32', t.b],
      ['digit', 'int32', t.digit],
      ['carry', 'boolean', t.carry],
      ['value', 'int32', t.value],
    ]);
    return {
      files: { 'examples.parquet': examples, 'tokens.parquet': tokens },
      meta: { tokens: t.token.length },
    };
  });
}

// ---------------------------------------------------------------------------------------- train

function trainParams(c: Config, s: number) {
  return {
    seed: c.seed,
    data: c.data,
    model: c.model,
    train: c.train,
    segment: s,
    from: s * c.basis.every,
    until: (s + 1) * c.basis.every,
  };
}

async function loadState(ctx: StepContext, key: string): Promise<TrainState> {
  const { tensors, metadata } = decodeSafetensors(await readInput(ctx, key, 'state.safetensors'));
  return {
    step: Number(metadata.step),
    params: tensors.params.data as Float32Array,
    m: tensors.adam_m.data as Float32Array,
    v: tensors.adam_v.data as Float32Array,
  };
}

function encodeState(state: TrainState, extra: Record<string, string> = {}): Uint8Array {
  const d = state.params.length;
  return encodeSafetensors(
    {
      params: f32(state.params, [d]),
      adam_m: f32(state.m, [d]),
      adam_v: f32(state.v, [d]),
    },
    // The data position of iteration k is k itself (core/data.ts trainBatch is a pure function
    // of seed and step) and no other RNG state is carried between iterations.
    { step: String(state.step), data_position: String(state.step), ...extra },
  );
}

interface Partial {
  state: TrainState;
  checkpoints: { iteration: number; params: Float32Array }[];
  evalRows: EvalRows[];
  trainLoss: { iteration: number[]; loss: number[]; lr: number[] };
}

function encodePartial(p: Partial): Uint8Array {
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
  for (const cp of p.checkpoints) tensors[iterName(cp.iteration)] = f32(cp.params, [d]);
  for (const r of p.evalRows) {
    tensors[`eval_loss_${r.iteration}`] = f32(r.loss, [r.loss.length]);
    tensors[`eval_correct_${r.iteration}`] = {
      dtype: 'I32',
      shape: [r.correct.length],
      data: Int32Array.from(r.correct),
    };
  }
  return encodeSafetensors(tensors, { step: String(p.state.step) });
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
  for (const [name, t] of Object.entries(tensors)) {
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
  };
}

/**
 * One training segment. Progress is made durable at every checkpoint: the state so far goes to
 * `scratch/<key>/partial.safetensors` (then the heartbeat names its iteration), so a retry on any
 * worker continues from there and ends with the same bytes as an uninterrupted run.
 */
export async function trainStep(ctx: StepContext, c: Config, s: number, inputs: { data: string; prev?: string }): Promise<StepResult> {
  const params = trainParams(c, s);
  const spec = {
    step: 'train',
    version: STEP_VERSIONS.train,
    params,
    inputs: {
      data: inputs.data,
      ...(inputs.prev ? { prev: inputs.prev } : {}),
    },
  };
  return runStep(ctx, `train/${s}`, spec, async () => {
    const be = await backend(c);
    const scratch = scratchPath(stepKey(spec), 'partial.safetensors');
    let acc: Partial = {
      state: undefined as unknown as TrainState,
      checkpoints: [],
      evalRows: [],
      trainLoss: { iteration: [], loss: [], lr: [] },
    };
    let resumedFrom: number | undefined;
    // The state at the last checkpoint of an earlier attempt, on whichever worker it ran: written
    // before each heartbeat, so it is at least as recent as the last heartbeated iteration.
    const raw = await ctx.store.backend.getObject(scratch);
    const partial = raw ? tryDecodePartial(raw) : undefined;
    if (partial) {
      acc = partial;
      resumedFrom = acc.state.step;
    } else if (inputs.prev) {
      acc.state = await loadState(ctx, inputs.prev);
    } else {
      acc.state = initTrainState(c);
    }
    if (acc.state.step < params.from || acc.state.step > params.until) {
      throw new Error(`train/${s}: start state is at iteration ${acc.state.step}, outside the segment (${params.from}, ${params.until}]`);
    }
    const total = params.until - params.from;
    const r = await trainSegment(c, acc.state, params.until, {
      onIteration(iteration, loss, lr) {
        acc.trainLoss.iteration.push(iteration);
        acc.trainLoss.loss.push(loss);
        acc.trainLoss.lr.push(lr);
      },
      async onCheckpoint(state, cp, rows) {
        if (acc.checkpoints.some((x) => x.iteration === cp.iteration))
          throw new Error(`train/${s}: checkpoint ${cp.iteration} emitted twice`);
        acc.checkpoints.push(cp);
        acc.evalRows.push(rows);
        acc.state = state;
        // The segment's start needs no resume point (a retry starts from the same inputs).
        if (state.step > params.from && state.step < params.until) await ctx.store.backend.putObject(scratch, encodePartial(acc));
        ctx.heartbeat({
          phase: 'train',
          done: state.step - params.from,
          total,
          iteration: state.step,
        });
        await yieldNow();
      },
    });
    const d = numParams(c.model);
    const cps: Record<string, Tensor> = {};
    for (const cp of acc.checkpoints) cps[iterName(cp.iteration)] = f32(cp.params, [d]);
    const evalIter: number[] = [];
    const evalToken: number[] = [];
    const evalLoss: number[] = [];
    const evalCorrect: boolean[] = [];
    for (const row of acc.evalRows) {
      for (let x = 0; x < row.loss.length; x++) {
        evalIter.push(row.iteration);
        evalToken.push(x);
        evalLoss.push(row.loss[x]);
        evalCorrect.push(row.correct[x] === 1);
      }
    }
    const last = acc.evalRows[acc.evalRows.length - 1];
    const accuracy = last ? exactMatch(last.correct) : Number.NaN;
    const files = {
      'checkpoints.safetensors': encodeSafetensors(cps, { backend: be }),
      'state.safetensors': encodeState(r.state, { backend: be }),
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
    };
    return {
      files,
      meta: {
        backend: be,
        accuracy,
        evalLoss: last ? last.loss.reduce((a, b) => a + b, 0) / last.loss.length : Number.NaN,
        ...(resumedFrom !== undefined ? { resumedFrom } : {}),
      },
    };
  });
}

// ---------------------------------------------------------------------------------------- basis

async function loadBasis(ctx: StepContext, key: string): Promise<Float32Array[]> {
  const { tensors } = decodeSafetensors(await readInput(ctx, key, 'basis.safetensors'));
  const B = tensors.B;
  const [m, d] = B.shape;
  return Array.from({ length: m }, (_, j) => (B.data as Float32Array).slice(j * d, (j + 1) * d));
}

/** Algorithm 1, one extension: the top-k eigenvectors of P·H_S·P at the end of segment s. */
export async function basisStep(
  ctx: StepContext,
  c: Config,
  s: number,
  inputs: { data: string; train: string; prev?: string },
): Promise<StepResult> {
  const iteration = (s + 1) * c.basis.every;
  const spec = {
    step: 'basis',
    version: STEP_VERSIONS.basis,
    params: {
      seed: c.seed,
      data: c.data,
      model: c.model,
      basis: c.basis,
      segment: s,
      iteration,
    },
    inputs: {
      data: inputs.data,
      train: inputs.train,
      ...(inputs.prev ? { prev: inputs.prev } : {}),
    },
  };
  return runStep(ctx, `basis/${s}`, spec, async () => {
    const be = await backend(c);
    const state = await loadState(ctx, inputs.train);
    if (state.step !== iteration) throw new Error(`basis/${s}: train state is at iteration ${state.step}, expected ${iteration}`);
    const B = inputs.prev ? await loadBasis(ctx, inputs.prev) : [];
    let prevRows: Awaited<ReturnType<typeof decodeParquet>> | undefined;
    if (inputs.prev) prevRows = await decodeParquet(await readInput(ctx, inputs.prev, 'basis.parquet'));
    const { evalExamples, hessianExamples } = makeData(c);
    const model = makeTokenLossModel(c.model, evalExamples.slice(0, 1), hessianExamples);
    ctx.heartbeat({ phase: 'lanczos', done: 0, total: c.basis.maxIter });
    await yieldNow();
    let ext: ReturnType<typeof extendBasis>;
    try {
      ext = extendBasis(model, state.params, B, c.basis, c.seed);
    } finally {
      model.dispose();
    }
    const d = state.params.length;
    const rows = [...B, ...ext.vectors.map((v) => Float32Array.from(v))];
    const flat = new Float32Array(rows.length * d);
    rows.forEach((r, j) => {
      flat.set(r, j * d);
    });
    const ortho = orthonormalityError(rows);
    const prevN = prevRows ? (prevRows.vector as Int32Array).length : 0;
    const cat = <T extends number>(prev: ArrayLike<T> | undefined, next: T[]) => [...(prev ? Array.from(prev) : []), ...next];
    const table = parquet([
      [
        'vector',
        'int32',
        Int32Array.from(
          cat(
            prevRows?.vector as Int32Array,
            ext.vectors.map((_, i) => prevN + i),
          ),
        ),
      ],
      [
        'iteration',
        'int32',
        Int32Array.from(
          cat(
            prevRows?.iteration as Int32Array,
            ext.vectors.map(() => iteration),
          ),
        ),
      ],
      ['eigenvalue', 'float64', Float64Array.from(cat(prevRows?.eigenvalue as Float64Array, ext.eigenvalues))],
      ['residual', 'float64', Float64Array.from(cat(prevRows?.residual as Float64Array, ext.residuals))],
      [
        'lanczos_iterations',
        'int32',
        Int32Array.from(
          cat(
            prevRows?.lanczos_iterations as Int32Array,
            ext.vectors.map(() => ext.iterations),
          ),
        ),
      ],
    ]);
    return {
      files: {
        'basis.safetensors': encodeSafetensors({ B: f32(flat, [rows.length, d]) }, { backend: be, orthonormality_error: String(ortho) }),
        'basis.parquet': table,
      },
      meta: {
        eigenvalues: ext.eigenvalues,
        residuals: ext.residuals,
        iterations: ext.iterations,
        orthonormalityError: ortho,
        vectors: rows.length,
      },
    };
  });
}

// ---------------------------------------------------------------------------------------- polca

async function loadCheckpoints(ctx: StepContext, key: string): Promise<Map<number, Float32Array>> {
  const { tensors } = decodeSafetensors(await readInput(ctx, key, 'checkpoints.safetensors'));
  const out = new Map<number, Float32Array>();
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith('iter_')) out.set(Number(name.slice(5)), t.data as Float32Array);
  return out;
}

const VARIANTS_FROM_DERIVATIVES = ['paper', 'exact-curvature'] as const;

/**
 * POLCA for the intervals starting in [s·E, (s+1)·E) with the final basis. Derivatives at each
 * checkpoint are computed once and shared by the two intervals that meet there; the `paper` and
 * `exact-curvature` completeness errors come from the same derivatives and are always recorded.
 */
export async function polcaStep(
  ctx: StepContext,
  c: Config,
  s: number,
  inputs: { data: string; basis: string; train: string; prevTrain?: string },
): Promise<StepResult> {
  const ce = c.train.checkpointEvery;
  const first = (s * c.basis.every) / ce;
  const count = checkpointsPerSegment(c);
  const spec = {
    step: 'polca',
    version: STEP_VERSIONS.polca,
    params: {
      seed: c.seed,
      data: c.data,
      model: c.model,
      polca: c.polca,
      checkpointEvery: ce,
      intervals: [first, first + count],
    },
    inputs: {
      data: inputs.data,
      basis: inputs.basis,
      train: inputs.train,
      ...(inputs.prevTrain ? { prevTrain: inputs.prevTrain } : {}),
    },
  };
  return runStep(ctx, `polca/${s}`, spec, async () => {
    await backend(c);
    const cps = await loadCheckpoints(ctx, inputs.train);
    if (inputs.prevTrain) cps.set(s * c.basis.every, (await loadState(ctx, inputs.prevTrain)).params);
    const basis = await loadBasis(ctx, inputs.basis);
    const { evalExamples, hessianExamples } = makeData(c);
    const model = makeTokenLossModel(c.model, evalExamples, hessianExamples.slice(0, 1));
    /** Every variant's result per interval (completeness, summary), and the configured variant's (rows). */
    const computed: { variant: string; r: PolcaIntervalResult }[] = [];
    const chosen: PolcaIntervalResult[] = [];
    try {
      const derivs = new Map<number, Derivatives>();
      const at = (it: number) => {
        let dv = derivs.get(it);
        if (!dv) {
          const theta = cps.get(it);
          if (!theta) throw new Error(`polca/${s}: checkpoint ${it} is not among the inputs`);
          dv = directionalDerivatives(model, theta, basis, c.polca.h, c.polca.stencil);
          derivs.set(it, dv);
        }
        return dv;
      };
      const variants: PolcaVariant[] = c.polca.variant === 'path' ? [...VARIANTS_FROM_DERIVATIVES, 'path'] : [...VARIANTS_FROM_DERIVATIVES];
      for (let i = 0; i < count; i++) {
        const interval = first + i;
        const itT = interval * ce;
        const itT1 = itT + ce;
        const thetaT = cps.get(itT);
        const thetaT1 = cps.get(itT1);
        if (!thetaT || !thetaT1) throw new Error(`polca/${s}: checkpoints ${itT} and ${itT1} are needed`);
        const atT = at(itT);
        const atT1 = at(itT1);
        derivs.delete(itT - ce);
        for (const variant of variants) {
          const r = polcaInterval({ model, interval, thetaT, thetaT1, basis, polca: { ...c.polca, variant }, atT, atT1 });
          computed.push({ variant, r });
          if (variant === c.polca.variant) chosen.push(r);
        }
        ctx.heartbeat({ phase: 'polca', done: i + 1, total: count, interval });
        await yieldNow();
      }
    } finally {
      model.dispose();
    }
    const rows = chosen.map((r) => r.rows);
    const comp = computed.map(({ r }) => r.completeness);
    const summ = computed.map(({ r }) => r.summary);
    return {
      files: {
        'polca.parquet': parquet([
          [
            'interval',
            'int32',
            concat(
              Int32Array,
              rows.map((x) => x.interval),
            ),
          ],
          [
            'token',
            'int32',
            concat(
              Int32Array,
              rows.map((x) => x.token),
            ),
          ],
          [
            'vector',
            'int32',
            concat(
              Int32Array,
              rows.map((x) => x.vector),
            ),
          ],
          [
            'first',
            'float32',
            concat(
              Float32Array,
              rows.map((x) => x.first),
            ),
          ],
          [
            'second',
            'float32',
            concat(
              Float32Array,
              rows.map((x) => x.second),
            ),
          ],
          [
            'polca',
            'float32',
            concat(
              Float32Array,
              rows.map((x) => x.polca),
            ),
          ],
        ]),
        'completeness.parquet': parquet([
          ['variant', 'utf8', computed.flatMap(({ variant, r }) => new Array<string>(r.completeness.token.length).fill(variant))],
          [
            'interval',
            'int32',
            concat(
              Int32Array,
              comp.map((x) => x.interval),
            ),
          ],
          [
            'token',
            'int32',
            concat(
              Int32Array,
              comp.map((x) => x.token),
            ),
          ],
          [
            'dloss',
            'float32',
            concat(
              Float32Array,
              comp.map((x) => x.dloss),
            ),
          ],
          [
            'error',
            'float32',
            concat(
              Float32Array,
              comp.map((x) => x.error),
            ),
          ],
        ]),
        'summary.parquet': parquet([
          ['interval', 'int32', Int32Array.from(summ, (x) => x.interval)],
          ['variant', 'utf8', summ.map((x) => x.variant)],
          ['fallbacks', 'int32', Int32Array.from(summ, (x) => x.fallbacks)],
          ['panels', 'int32', Int32Array.from(summ, (x) => x.panels)],
          ['out_of_span', 'float64', Float64Array.from(summ, (x) => x.outOfSpan)],
          ['max_abs_error', 'float64', Float64Array.from(summ, (x) => x.maxAbsError)],
          ['within_tol', 'float64', Float64Array.from(summ, (x) => x.withinTol)],
        ]),
      },
      meta: {
        intervals: count,
        fallbacks: chosen.reduce((a, r) => a + r.summary.fallbacks, 0),
        maxAbsError: Math.max(...chosen.map((r) => r.summary.maxAbsError)),
      },
    };
  });
}

// ---------------------------------------------------------------------------------------- trajectories

/** Per-token trajectories over all checkpoints: loss (T+1 points) and POLCA per basis vector (T points). */
export async function trajectoriesStep(
  ctx: StepContext,
  c: Config,
  inputs: { data: string; train: string[]; polca: string[] },
): Promise<StepResult> {
  const spec = {
    step: 'trajectories',
    version: STEP_VERSIONS.trajectories,
    params: { checkpointEvery: c.train.checkpointEvery },
    inputs: Object.fromEntries([
      ['data', inputs.data],
      ...inputs.train.map((k, i) => [`train/${i}`, k]),
      ...inputs.polca.map((k, i) => [`polca/${i}`, k]),
    ]),
  };
  return runStep(ctx, 'trajectories', spec, async () => {
    const T = intervalCount(c);
    const ce = c.train.checkpointEvery;
    const n = c.data.evalSize * TOKENS_PER_EXAMPLE;
    const loss = new Float32Array((T + 1) * n).fill(Number.NaN);
    for (const key of inputs.train) {
      const t = await decodeParquet(await readInput(ctx, key, 'eval.parquet'), ['iteration', 'token', 'loss']);
      const it = t.iteration as Int32Array;
      const tok = t.token as Int32Array;
      const l = t.loss as Float32Array;
      for (let r = 0; r < it.length; r++) loss[(it[r] / ce) * n + tok[r]] = l[r];
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
        itCol[r] = t * ce;
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

// ---------------------------------------------------------------------------------------- cluster

async function familyRows(ctx: StepContext, c: Config, key: string, family: Family, vector: number): Promise<Float64Array[]> {
  const n = c.data.evalSize * TOKENS_PER_EXAMPLE;
  const T = intervalCount(c);
  if (family === 'polca') {
    const { tensors } = decodeSafetensors(await readInput(ctx, key, 'polca.safetensors'));
    const t = tensors[`vector_${String(vector).padStart(4, '0')}`];
    if (!t) throw new Error(`cluster: basis vector ${vector} has no POLCA trajectory`);
    return Array.from({ length: n }, (_, x) => Float64Array.from((t.data as Float32Array).subarray(x * T, (x + 1) * T)));
  }
  const tab = await decodeParquet(await readInput(ctx, key, 'loss.parquet'), ['loss']);
  const l = tab.loss as Float32Array;
  const perCheckpoint = Array.from({ length: T + 1 }, (_, t) => Float64Array.from({ length: n }, (_, x) => l[x * (T + 1) + t]));
  const loss = lossTrajectories(perCheckpoint);
  if (family === 'loss') return loss;
  return deltaTrajectories(loss, family === 'absdloss');
}

/** HDBSCAN of one trajectory family (or one basis vector's POLCA trajectories) and its skill reading. */
export async function clusterStep(
  ctx: StepContext,
  c: Config,
  target: ClusterTarget,
  inputs: { data: string; trajectories: string },
): Promise<StepResult> {
  const { families: _families, ...clusterParams } = c.cluster;
  const spec = {
    step: 'cluster',
    version: STEP_VERSIONS.cluster,
    params: {
      seed: c.seed,
      cluster: clusterParams,
      family: target.family,
      vector: target.vector,
    },
    inputs: { data: inputs.data, trajectories: inputs.trajectories },
  };
  return runStep(ctx, target.name, spec, async () => {
    const raw = await familyRows(ctx, c, inputs.trajectories, target.family, target.vector);
    const rows = scale(raw, c.cluster.scaling);
    ctx.heartbeat({ phase: 'hdbscan', done: 0, total: 1 });
    await yieldNow();
    const res = hdbscan(rows, {
      minClusterSize: c.cluster.minClusterSize,
      minSamples: c.cluster.minSamples,
      selection: c.cluster.selection,
      allowSingleCluster: c.cluster.allowSingleCluster,
      clusterSelectionEpsilon: c.cluster.clusterSelectionEpsilon,
    });
    const tok = await decodeParquet(await readInput(ctx, inputs.data, 'tokens.parquet'), ['digit', 'carry', 'value']);
    const skills = {
      digit: tok.digit as Int32Array,
      carry: Int32Array.from(tok.carry as boolean[], (b) => (b ? 1 : 0)),
      value: tok.value as Int32Array,
    };
    const { perCluster, summary } = readSkills(res.labels, skills, c.cluster.shuffles, c.seed);
    const curves = clusterCurves(raw, res.labels);
    const n = rows.length;
    const fam = (k: number) => new Array<string>(k).fill(target.family);
    const vec = (k: number) => new Int32Array(k).fill(target.vector);
    const files = {
      'labels.parquet': parquet([
        ['family', 'utf8', fam(n)],
        ['vector', 'int32', vec(n)],
        ['token', 'int32', Int32Array.from({ length: n }, (_, i) => i)],
        ['label', 'int32', res.labels],
        ['probability', 'float32', Float32Array.from(res.probabilities)],
      ]),
      'skills.parquet': parquet([
        ['family', 'utf8', fam(perCluster.length)],
        ['vector', 'int32', vec(perCluster.length)],
        ['cluster', 'int32', Int32Array.from(perCluster.map((p) => p.cluster))],
        ['size', 'int32', Int32Array.from(perCluster.map((p) => p.size))],
        ['skill', 'utf8', perCluster.map((p) => p.skill)],
        ['dominant', 'int32', Int32Array.from(perCluster.map((p) => p.dominant))],
        ['share', 'float64', Float64Array.from(perCluster.map((p) => p.share))],
      ]),
      'summary.parquet': parquet([
        ['family', 'utf8', fam(summary.length)],
        ['vector', 'int32', vec(summary.length)],
        ['skill', 'utf8', summary.map((s) => s.skill)],
        ['homogeneity', 'float64', Float64Array.from(summary.map((s) => s.homogeneity))],
        ['baseline', 'float64', Float64Array.from(summary.map((s) => s.baseline))],
        ['ami', 'float64', Float64Array.from(summary.map((s) => s.ami))],
        ['clusters', 'int32', Int32Array.from(summary.map((s) => s.clusters))],
        ['outliers', 'int32', Int32Array.from(summary.map((s) => s.outliers))],
      ]),
      'curves.parquet': parquet([
        ['family', 'utf8', fam(curves.length)],
        ['vector', 'int32', vec(curves.length)],
        ['cluster', 'int32', Int32Array.from(curves.map((p) => p.cluster))],
        ['checkpoint', 'int32', Int32Array.from(curves.map((p) => p.checkpoint))],
        ['mean', 'float64', Float64Array.from(curves.map((p) => p.mean))],
        ['std', 'float64', Float64Array.from(curves.map((p) => p.std))],
      ]),
    };
    return {
      files,
      meta: {
        family: target.family,
        vector: target.vector,
        clusters: res.nClusters,
        summary: summary.map((s) => ({
          skill: s.skill,
          homogeneity: s.homogeneity,
          baseline: s.baseline,
          ami: s.ami,
          outliers: s.outliers,
        })),
      },
    };
  });
}

// ---------------------------------------------------------------------------------------- report

/** The run's report (report/build.ts) from every other step's artifacts. */
export async function reportStep(ctx: StepContext, c: Config, runName: string, steps: Record<string, string>): Promise<StepResult> {
  const spec = {
    step: 'report',
    version: STEP_VERSIONS.report,
    params: { config: c },
    inputs: steps,
  };
  return runStep(ctx, 'report', spec, async () => {
    const { buildReport } = await import('../report/build.ts');
    ctx.heartbeat({ phase: 'report', done: 0, total: 1 });
    const files = await buildReport(ctx.store, {
      name: runName,
      config: c,
      steps,
      // No time stamp: the report is content-addressed, equal inputs give equal bytes.
      createdAt: '',
    });
    return {
      files,
      meta: {
        figures: Object.keys(files).filter((f) => f.endsWith('.svg')).length,
      },
    };
  });
}

/** The run record: a human name (the workflow id) → every step's key, with the config and headline metrics. */
export async function saveRun(store: ArtifactStore, record: RunRecordInput): Promise<void> {
  await store.putRun(record.name, {
    ...record,
    createdAt: new Date().toISOString(),
  });
}
