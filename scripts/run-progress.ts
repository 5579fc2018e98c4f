/**
 * What a run has stored so far, before it has finished: the training chain's keys are derived
 * from the config alone (data → train/0 → train/1 → …, each key from the one before), so the
 * segments already in the store can be read while the workflow is still running, or after it was
 * stopped. Per stored checkpoint: the exact-match accuracy (the share of evaluation sequences whose
 * output tokens are all right), the token accuracy at each output position, and the mean
 * evaluation loss; per stored Hessian basis extension: its eigenvalues and whether Lanczos met its
 * tolerance. With `--sharpness S1,S2,…`: at the end state of those training segments, the raw and
 * Adam-preconditioned sharpness against their stability limits (scripts/study-readings.ts
 * `sharpnessAt`; Lanczos of at most `--sharpness-iter` exact Hessian-vector products over the
 * Hessian sample, default 20). One JSON document on stdout (`--markdown`: tables).
 *
 *   node --import tsx scripts/run-progress.ts [--markdown] [--sharpness 0,1] --preset NAME [--set path=value …]
 *
 * The store is the one polca uses ($POLCA_HOME, $POLCA_STORE, …).
 */
import { parseArgs } from 'node:util';
import { basisSpec } from '../activities/steps/basis.ts';
import { dataSpec } from '../activities/steps/data.ts';
import { trainSpec } from '../activities/steps/train.ts';
import { decodeParquet, decodeSafetensors, openStore, stepKey } from '../artifacts/index.ts';
import { resolveConfig } from '../config/index.ts';
import { makeData, modelShape, sequenceShape, sliceSequences } from '../core/data.ts';
import { initBackend } from '../core/model/backend.ts';
import { makeTokenLossModel } from '../core/model/token-loss-model.ts';
import { exactMatch, learningRate } from '../core/train/train.ts';
import { segmentCount } from '../pipeline/plan.ts';
import { type Sharpness, sharpnessAt } from './study-readings.ts';

export interface CheckpointReading {
  iteration: number;
  exactMatch: number;
  /** Token accuracy per output position (arithmetic: thousands, hundreds, tens, ones). */
  positionAccuracy: number[];
  evalLoss: number;
}

/** Exact match, per-position accuracy and mean loss of each checkpoint in an eval.parquet's columns. */
export function readCheckpoints(
  cols: { iteration: Int32Array; token: Int32Array; loss: Float32Array; correct: ArrayLike<boolean> },
  perSequence: number,
): CheckpointReading[] {
  const its = [...new Set(cols.iteration)].sort((a, b) => a - b);
  return its.map((it) => {
    const rows = [...cols.iteration.keys()].filter((r) => cols.iteration[r] === it).sort((a, b) => cols.token[a] - cols.token[b]);
    const correct = Uint8Array.from(rows, (r) => (cols.correct[r] ? 1 : 0));
    const positionAccuracy = Array.from({ length: perSequence }, (_, t) => {
      let ok = 0;
      for (let x = t; x < correct.length; x += perSequence) ok += correct[x];
      return ok / (correct.length / perSequence);
    });
    return {
      iteration: it,
      exactMatch: exactMatch(correct, perSequence),
      positionAccuracy,
      evalLoss: rows.reduce((a, r) => a + cols.loss[r], 0) / rows.length,
    };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string' },
      set: { type: 'string', multiple: true },
      markdown: { type: 'boolean' },
      sharpness: { type: 'string' },
      'sharpness-iter': { type: 'string', default: '20' },
    },
  });
  const c = resolveConfig({ preset: values.preset, sets: values.set ?? [] });
  const store = openStore();
  const T = sequenceShape(c).outputsPerSequence;
  const data = stepKey(dataSpec(c));
  const checkpoints: CheckpointReading[] = [];
  const basis: { segment: number; eigenvalues: number[]; converged: boolean[] }[] = [];
  const trainKeys: string[] = [];
  let prev: string | undefined;
  let prevBasis: string | undefined;
  for (let s = 0; s < segmentCount(c); s++) {
    const train = stepKey(trainSpec(c, s, { data, ...(prev ? { prev } : {}) }));
    if (!(await store.has(train))) break;
    trainKeys.push(train);
    const t = await decodeParquet(await store.get(train, 'eval.parquet'), ['iteration', 'token', 'loss', 'correct']);
    checkpoints.push(
      ...readCheckpoints(
        {
          iteration: t.iteration as Int32Array,
          token: t.token as Int32Array,
          loss: t.loss as Float32Array,
          correct: t.correct as boolean[],
        },
        T,
      ).filter((r) => !checkpoints.some((x) => x.iteration === r.iteration)),
    );
    const b = stepKey(basisSpec(c, s, { data, train, ...(prevBasis ? { prev: prevBasis } : {}) }));
    if (prevBasis !== undefined || s === 0) {
      if (await store.has(b)) {
        const rows = await decodeParquet(await store.get(b, 'basis.parquet'));
        const n = (rows.vector as Int32Array).length;
        const from = basis.reduce((a, x) => a + x.eigenvalues.length, 0);
        basis.push({
          segment: s,
          eigenvalues: Array.from({ length: n - from }, (_, i) => Number((rows.eigenvalue as Float32Array | Float64Array)[from + i])),
          converged: Array.from({ length: n - from }, (_, i) => Boolean((rows.converged as ArrayLike<boolean>)[from + i])),
        });
        prevBasis = b;
      } else prevBasis = undefined;
    }
    prev = train;
  }
  const sharpness: (Sharpness & { segment: number })[] = [];
  const wanted = (values.sharpness ?? '').split(',').filter(Boolean).map(Number);
  if (wanted.some((s) => trainKeys[s] === undefined)) throw new Error(`--sharpness: stored segments are 0 … ${trainKeys.length - 1}`);
  if (wanted.length) {
    await initBackend(c.runtime.backend);
    const { eval: evalSeqs, hessian } = await makeData(c);
    const shape = modelShape(c);
    const model = makeTokenLossModel(shape, sliceSequences(shape, evalSeqs, 0, 1), hessian);
    try {
      for (const s of wanted) {
        const { tensors, metadata } = decodeSafetensors(await store.get(trainKeys[s], 'state.safetensors'));
        const step = Number(metadata.step);
        const theta = tensors.params.data as Float32Array;
        const r = sharpnessAt(
          (x) => model.hvp(theta, x),
          { step, v: tensors.adam_v.data as Float32Array },
          c.train,
          learningRate(c.train, step - 1),
          {
            maxIter: Number(values['sharpness-iter']),
            tol: 1e-3,
            seed: 7,
          },
        );
        sharpness.push({ segment: s, ...r });
        console.error(`sharpness at iteration ${step}: raw ${r.raw.toPrecision(4)}, preconditioned ${r.preconditioned.toPrecision(4)}`);
      }
    } finally {
      model.dispose();
    }
  }
  if (values.markdown) {
    console.log(`| iteration | exact match | token accuracy per position | evaluation loss |\n|---|---|---|---|`);
    for (const r of checkpoints)
      console.log(
        `| ${r.iteration} | ${r.exactMatch.toFixed(3)} | ${r.positionAccuracy.map((a) => a.toFixed(3)).join(' / ')} | ${r.evalLoss.toPrecision(4)} |`,
      );
    console.log(`\n| basis extension | eigenvalues | converged |\n|---|---|---|`);
    for (const b of basis)
      console.log(`| ${b.segment} | ${b.eigenvalues.map((e) => e.toPrecision(4)).join(', ')} | ${b.converged.join(', ')} |`);
    if (sharpness.length) {
      console.log(
        `\n| iteration | lr | raw λ | λ ÷ (2/lr) | preconditioned μ | μ ÷ Adam's limit | converged |\n|---|---|---|---|---|---|---|`,
      );
      for (const r of sharpness)
        console.log(
          `| ${r.iteration} | ${r.lr.toExponential(2)} | ${r.raw.toPrecision(4)} | ${r.rawOverLimit.toPrecision(3)} | ${r.preconditioned.toPrecision(4)} | ${r.preconditionedOverLimit.toPrecision(3)} | ${r.converged.join(', ')} |`,
        );
    }
  } else console.log(JSON.stringify({ segments: segmentCount(c), stored: trainKeys.length, checkpoints, basis, sharpness }));
}
