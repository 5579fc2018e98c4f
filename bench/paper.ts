/**
 * The `paper` preset's cost on this machine and backend, and the projection of a full run from it.
 * Timed with the real core/ functions at the preset's shape (θ at initialisation; the cost of these
 * operations does not depend on θ):
 *   iteration  one training iteration (batch, forward, backward, AdamW), as trainSegment runs it
 *   evaluation the per-token loss of the evaluation set, as at every checkpoint
 *   HVP        one exact Hessian-vector product over the Hessian sample (forward over reverse,
 *              core/model/backward.ts; one Lanczos iteration), timed on the first --hvp-sequences
 *              sequences (default: all) and scaled to the whole sample
 *   jet        exact per-token d1, d2 along q = min(K, 10) directions at one checkpoint
 *              (model.tokenDerivatives, the second-order forward-mode pass the POLCA step uses),
 *              timed on the first --jet-examples evaluation examples and scaled to the whole
 *              set (its cost is linear in the examples: passes of a fixed size)
 * and projected (E = basis.every, c = checkpointEvery, S = iterations / E segments, K = S·basis.k
 * final basis vectors):
 *   training segment = E·iteration + (E/c)·evaluation
 *   basis extension  = basis.maxIter·HVP (Lanczos without early stop: an upper bound)
 *   POLCA chunk      = (E/c + 1)·(K/q)·jet (derivatives at every checkpoint of the segment, shared
 *                      by the two intervals that meet there, along the final basis)
 *   full run         = S·(segment + extension + chunk), one step at a time: an upper bound, as
 *                      the worker runs one POLCA chunk per core (on `small`, two at once on 2 cores
 *                      gave 1.4x the throughput; clustering and the report, minutes, are left out).
 *
 *   node --import tsx bench/paper.ts [--preset paper] [--reps 3] [--jet-examples N] [--hvp-sequences N] [--out bench/results/paper.md]
 */
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../config/index.ts';
import { initBackend } from '../core/model/backend.ts';
import { makeData, modelShape, sequenceShape, sliceSequences } from '../core/data.ts';
import { lossAndGrad } from '../core/model/backward.ts';
import { decayMask, disposeBatch, encodeBatch, evaluate, numParams } from '../core/model/model.ts';
import { makeTokenLossModel } from '../core/model/token-loss-model.ts';
import { normal } from '../core/rng.ts';
import { adamwStep, initTrainState, learningRate } from '../core/train/train.ts';
import { writeSection } from './sections.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'paper' },
    reps: { type: 'string', default: '3' },
    'jet-examples': { type: 'string', default: '125' },
    'hvp-sequences': { type: 'string' },
    out: { type: 'string', default: join(here, 'results', 'paper.md') },
  },
});
const reps = Number(values.reps);
const loadStart = loadavg().map((x) => x.toFixed(2));
const config = resolveConfig({ preset: values.preset });
const backend = await initBackend();
const threads = backend === 'tensorflow' ? Number(process.env.TF_NUM_INTRAOP_THREADS) || cpus().length : 1;

/** Median seconds of f over n calls, after one warm-up call unless warm is false. */
function seconds(f: () => void, n = reps, warm = true): number {
  if (warm) f();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    f();
    t.push((performance.now() - s) / 1000);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

const m = modelShape(config);
const data = await makeData(config);
const shape = sequenceShape(config);
const state = initTrainState(config);
const mask = decayMask(m);
const iteration = seconds(() => {
  const batch = encodeBatch(shape, data.trainBatch(state.step, config.train.batchSize));
  const { grad } = lossAndGrad(m, state.params, batch);
  disposeBatch(batch);
  adamwStep(config.train, state, grad, mask, learningRate(config.train, state.step));
});
console.log(`iteration ${iteration.toFixed(2)} s`);
const evalBatch = encodeBatch(shape, data.eval);
const evaluation = seconds(() => evaluate(m, state.params, evalBatch));
disposeBatch(evalBatch);
console.log(`evaluation ${evaluation.toFixed(2)} s`);
// The HVP's cost is linear in the Hessian sample (passes of a fixed size): --hvp-sequences times it
// on the first N sequences and scales to the whole sample.
const hvpN = Math.min(Number(values['hvp-sequences'] ?? data.hessian.n), data.hessian.n);
const model = makeTokenLossModel(m, data.eval, sliceSequences(shape, data.hessian, 0, hvpN));
const dir = (() => {
  const v = Float64Array.from({ length: model.numParams }, (_, i) => normal(config.seed, 400, i));
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return Float32Array.from(v, (x) => x / n);
})();
// HVP and pass: the kernels are warm from the iteration and the evaluation; no warm-up call
const hvpPart = seconds(() => model.hvp(state.params, dir), Math.min(reps, 2), false);
const hvpSeconds = (hvpPart * data.hessian.n) / hvpN;
console.log(`HVP ${hvpSeconds.toFixed(2)} s (${hvpPart.toFixed(2)} s measured on ${hvpN} of ${data.hessian.n} sequences)`);
const E = config.basis.every;
const ce = config.train.checkpointEvery;
const S = config.train.iterations / E;
const K = S * config.basis.k;
const q = Math.min(K, 10);
const dirs = Array.from({ length: q }, (_, j) => {
  const v = Float64Array.from({ length: model.numParams }, (_, i) => normal(config.seed, 401 + j, i));
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return Float32Array.from(v, (x) => x / n);
});
model.dispose();
const jetN = Math.min(Number(values['jet-examples']), data.eval.n);
const jetModel = makeTokenLossModel(m, sliceSequences(shape, data.eval, 0, jetN), sliceSequences(shape, data.hessian, 0, 1));
const jetPart = seconds(() => jetModel.tokenDerivatives(state.params, dirs), 1, false);
jetModel.dispose();
const jet = (jetPart * data.eval.n) / jetN;
console.log(
  `jet d1, d2 along ${q} directions: ${jetPart.toFixed(2)} s for ${jetN} examples, ${jet.toFixed(2)} s scaled to the evaluation set`,
);

const segment = E * iteration + (E / ce) * evaluation;
const extension = config.basis.maxIter * hvpSeconds;
const chunk = (E / ce + 1) * (K / q) * jet;
const total = S * (segment + extension + chunk);
const h = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`);

const lines: string[] = [];
lines.push(
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; load average (1, 5, 15 min) at the start ${loadStart.join(', ')}, at the end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(
      ', ',
    )}; ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}. Node ${process.version}, TF.js ${tf.version.tfjs} backend **${backend}** on ${threads} thread(s).`,
);
lines.push('');
lines.push(
  `\`${values.preset}\`: ${numParams(m).toLocaleString('en')} parameters (d_model ${m.dModel}, ${m.nHeads} heads, MLP ${m.dMlp}, ${m.nLayers} layers), batch ${config.train.batchSize}, evaluation set ${config.data.evalSize} examples, Hessian sample ${config.data.hessianSize}, ${config.train.iterations} iterations, a checkpoint every c = ${ce}, a basis vector every E = ${E} (S = ${S} segments, K = ${K} final basis vectors), Lanczos maxIter ${config.basis.maxIter}. Medians of ${reps} after one warm-up (HVP: ${Math.min(reps, 2)}, jet: 1, no warm-up).`,
);
lines.push('');
lines.push('| measured | seconds |');
lines.push('|---|---|');
lines.push(`| one training iteration | ${iteration.toFixed(2)} |`);
lines.push(`| evaluation of the ${config.data.evalSize} examples (a checkpoint) | ${evaluation.toFixed(2)} |`);
lines.push(
  `| one exact HVP over the Hessian sample (a Lanczos iteration; ${hvpPart.toFixed(2)} s measured on ${hvpN} of ${data.hessian.n} sequences, scaled) | ${hvpSeconds.toFixed(2)} |`,
);
lines.push(
  `| exact per-token d1, d2 along ${q} directions over the evaluation set (one jet call; ${jetPart.toFixed(2)} s measured on ${jetN} examples, scaled) | ${jet.toFixed(2)} |`,
);
lines.push('');
lines.push('Projection:');
lines.push('');
lines.push(`- training segment = ${E}·${iteration.toFixed(2)} + ${E / ce}·${evaluation.toFixed(2)} = ${h(segment)}`);
lines.push(`- basis extension = ${config.basis.maxIter}·${hvpSeconds.toFixed(2)} = ${h(extension)} (at most)`);
lines.push(`- POLCA chunk = ${E / ce + 1} checkpoints · ${K}/${q} jet calls · ${jet.toFixed(2)} = ${h(chunk)}`);
lines.push(
  `- full run = ${S}·(${h(segment)} + ${h(extension)} + ${h(chunk)}) = **${h(total)}** (training ${h(S * segment)}, basis ${h(S * extension)}, POLCA ${h(S * chunk)})`,
);
const body = lines.join('\n');
console.log(`\n${body}`);
writeSection(
  values.out!,
  `paper-${backend}-${threads}`,
  `## ${backend} on ${threads} thread(s) (bench/paper.ts)\n\n${body}\n`,
  `# The \`${values.preset}\` preset: cost and projection (bench/paper.ts)`,
);
console.log(`wrote ${values.out}`);
process.exit(0);
