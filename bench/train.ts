/**
 * Training throughput of the transformer per TF.js backend: forward tokens/s on the evaluation
 * set, training iterations/s (batch, forward, backward, AdamW), the achieved GFLOP/s of a
 * training step next to a plain tf.matMul of comparable size, and a kernel-by-kernel profile of
 * one training step (forward + backward).
 *
 *   node --import tsx bench/train.ts [--preset small] [--backends wasm,cpu] [--out FILE.md]
 *
 * Prints a Markdown report (and writes it to --out when given).
 *   node --import tsx bench/train.ts --full-run      # also trains the preset's whole schedule
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { type Config, resolveConfig } from '../config/index.ts';
import { type BackendPref, initBackend } from '../core/model/backend.ts';
import { modelShape } from '../core/data.ts';
import {
  ARITHMETIC_SHAPE,
  encodeSequences,
  INPUT_LEN,
  makeSplits,
  TOKENS_PER_EXAMPLE,
  trainBatch,
  VOCAB_SIZE,
} from '../core/tasks/arithmetic/task.ts';
import { lossAndGrad } from '../core/model/backward.ts';
import { decayMask, disposeBatch, encodeBatch, evaluate, initParams, numParams } from '../core/model/model.ts';
import { adamwStep, exactMatch, initTrainState, learningRate, trainSegment } from '../core/train/train.ts';
import { describeSchedule } from '../core/train/schedule.ts';

/** Multiply–add FLOPs (2 per MAC) of one forward pass over n examples; elementwise ops not counted. */
export function forwardFlops(m: Config['model'], n: number): number {
  const T = n * INPUT_LEN;
  const D = m.dModel;
  const dh = D / m.nHeads;
  const perLayer = 2 * T * D * 3 * D + 2 * 2 * n * m.nHeads * INPUT_LEN * INPUT_LEN * dh + 2 * T * D * D + 2 * 2 * T * D * m.dMlp;
  return 2 * T * VOCAB_SIZE * D + m.nLayers * perLayer + 2 * n * TOKENS_PER_EXAMPLE * D * VOCAB_SIZE;
}

function timeIt(f: () => void, reps: number, minMs = 0): { min: number; median: number } {
  f(); // warm-up
  const t: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < reps || performance.now() - t0 < minMs; i++) {
    const s = performance.now();
    f();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return { min: t[0], median: t[t.length >> 1] };
}

interface BackendFigures {
  backend: string;
  forwardMs: { min: number; median: number };
  stepMs: { min: number; median: number };
  iterationsPerSec: number;
  stepGflops: number;
  matmuls: { shape: string; ms: number; gflops: number }[];
  profile: { kernel: string; calls: number; ms: number }[];
  profileTotalMs: number;
}

async function benchBackend(pref: BackendPref, config: Config, reps: number): Promise<BackendFigures> {
  const backend = await initBackend(pref);
  const m = modelShape(config);
  const { evalExamples, evalSet } = makeSplits(config);
  const evalBatch = encodeBatch(ARITHMETIC_SHAPE, encodeSequences(evalExamples));
  const theta = initParams(m, config.seed);
  const forwardMs = timeIt(() => evaluate(m, theta, evalBatch), reps);
  disposeBatch(evalBatch);

  // A training iteration as trainSegment runs it, without checkpoints: batch, loss+grad, AdamW.
  const state = initTrainState(config);
  const mask = decayMask(m);
  const iteration = () => {
    const batch = encodeBatch(ARITHMETIC_SHAPE, encodeSequences(trainBatch(config.seed, state.step, config.train.batchSize, evalSet)));
    const { grad } = lossAndGrad(m, state.params, batch);
    disposeBatch(batch);
    adamwStep(config.train, state, grad, mask, learningRate(config.train, state.step));
  };
  const stepMs = timeIt(iteration, reps);
  const stepFlops = 3 * forwardFlops(m, config.train.batchSize);

  const T = config.train.batchSize * INPUT_LEN;
  const shapes: [number, number, number][] = [
    [T, m.dModel, m.dMlp],
    [T, m.dMlp, m.dModel],
    [1024, 512, 512],
  ];
  const matmuls = shapes.map(([a, b, c]) => {
    const x = tf.randomNormal([a, b]);
    const w = tf.randomNormal([b, c]);
    const t = timeIt(() => {
      const y = tf.matMul(x, w);
      y.dataSync();
      y.dispose();
    }, reps);
    tf.dispose([x, w]);
    return { shape: `[${a}×${b}]·[${b}×${c}]`, ms: t.min, gflops: (2 * a * b * c) / t.min / 1e6 };
  });

  // Kernel-by-kernel profile of one training step (forward and backward).
  const batch = encodeBatch(ARITHMETIC_SHAPE, encodeSequences(trainBatch(config.seed, 0, config.train.batchSize, evalSet)));
  const prof = await tf.profile(() => {
    lossAndGrad(m, state.params, batch);
  });
  disposeBatch(batch);
  const agg = new Map<string, { calls: number; ms: number }>();
  let profileTotalMs = 0;
  for (const k of prof.kernels) {
    // the customGrad wrapper ("forward") and fused-op wrappers repeat the time of their inner kernels
    if (k.name === 'forward' || k.name.endsWith('__op')) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key = `${k.name} ${k.inputShapes.map((s) => `[${s?.join(',') ?? ''}]`).join(' ')}`;
    const a = agg.get(key) ?? { calls: 0, ms: 0 };
    a.calls++;
    a.ms += ms;
    profileTotalMs += ms;
    agg.set(key, a);
  }
  const profile = [...agg]
    .map(([kernel, v]) => ({ kernel, ...v }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 15);
  return {
    backend,
    forwardMs,
    stepMs,
    iterationsPerSec: 1000 / stepMs.median,
    stepGflops: stepFlops / stepMs.min / 1e6,
    matmuls,
    profile,
    profileTotalMs,
  };
}

async function fullRun(config: Config) {
  await initBackend(config.runtime.backend);
  const t0 = performance.now();
  const curve: string[] = [];
  let last = { iteration: 0, exact: 0, loss: 0 };
  await trainSegment(config, initTrainState(config), config.train.iterations, {
    onCheckpoint(_s, cp, ev) {
      const loss = ev.loss.reduce((a, b) => a + b, 0) / ev.loss.length;
      last = { iteration: cp.iteration, exact: exactMatch(ev.correct), loss };
      if (cp.iteration % (config.train.iterations / 10) === 0) {
        curve.push(`${cp.iteration}: ${(100 * last.exact).toFixed(1)}%`);
        console.log(`iteration ${cp.iteration}: eval loss ${loss.toFixed(4)}, exact match ${(100 * last.exact).toFixed(1)}%`);
      }
    },
  });
  return { seconds: (performance.now() - t0) / 1000, ...last, curve };
}

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    backends: { type: 'string', default: 'wasm,cpu' },
    reps: { type: 'string', default: '10' },
    out: { type: 'string' },
    'full-run': { type: 'boolean', default: false },
    set: { type: 'string', multiple: true, default: [] },
  },
});
const config = resolveConfig({ preset: values.preset, sets: values.set });
const reps = Number(values.reps);
const results: BackendFigures[] = [];
for (const b of values.backends!.split(',') as BackendPref[]) {
  const r = await benchBackend(b, config, b === 'cpu' ? Math.max(2, Math.floor(reps / 5)) : reps);
  results.push(r);
  console.log(
    `${r.backend}: forward ${r.forwardMs.min.toFixed(1)} ms, step ${r.stepMs.min.toFixed(1)} ms (${r.iterationsPerSec.toFixed(2)} it/s), ${r.stepGflops.toFixed(2)} GFLOP/s`,
  );
}
const m = modelShape(config);
const nEval = config.data.evalSize;
const lines: string[] = [];
lines.push(`# Training throughput (\`${values.preset}\` preset)`);
lines.push('');
lines.push(
  `Model: ${m.nLayers} layers, d_model ${m.dModel}, ${m.nHeads} heads, MLP ${m.dMlp}: ${numParams(m).toLocaleString('en')} parameters. ` +
    `Batch ${config.train.batchSize} examples (${config.train.batchSize * INPUT_LEN} input tokens); evaluation set ${nEval} examples ` +
    `(${nEval * INPUT_LEN} input tokens, ${nEval * TOKENS_PER_EXAMPLE} output tokens). FLOPs count matrix products only ` +
    `(forward ${(forwardFlops(m, config.train.batchSize) / 1e6).toFixed(0)} MFLOP per batch; a training step is counted as 3× forward).`,
);
lines.push('');
lines.push(
  'Machine: 2 cores, shared with other jobs while measuring (figures are the minimum over repetitions; medians in brackets), Node ' +
    process.version +
    ', TF.js ' +
    tf.version.tfjs +
    ', ' +
    new Date().toISOString().slice(0, 10) +
    '.',
);
lines.push('');
lines.push(
  '| backend | forward, eval set | forward output tokens/s | forward input tokens/s | training iteration | iterations/s | step GFLOP/s | plain matMul GFLOP/s |',
);
lines.push('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  lines.push(
    `| ${r.backend} | ${r.forwardMs.min.toFixed(1)} ms (${r.forwardMs.median.toFixed(1)}) | ${Math.round((nEval * TOKENS_PER_EXAMPLE * 1000) / r.forwardMs.min).toLocaleString('en')} | ${Math.round((nEval * INPUT_LEN * 1000) / r.forwardMs.min).toLocaleString('en')} | ${r.stepMs.min.toFixed(1)} ms (${r.stepMs.median.toFixed(1)}) | ${(1000 / r.stepMs.min).toFixed(2)} | ${r.stepGflops.toFixed(2)} | ${r.matmuls.map((x) => `${x.shape} ${x.gflops.toFixed(1)}`).join('; ')} |`,
  );
}
for (const r of results) {
  lines.push('');
  lines.push(`## Kernel profile of one training step, ${r.backend} (top 15 by time; kernel sum ${r.profileTotalMs.toFixed(1)} ms)`);
  lines.push('');
  lines.push('| kernel, input shapes | calls | ms |');
  lines.push('|---|---|---|');
  for (const k of r.profile) lines.push(`| ${k.kernel} | ${k.calls} | ${k.ms.toFixed(2)} |`);
}
if (values['full-run']) {
  const f = await fullRun(config);
  lines.push('');
  lines.push(`## Full schedule`);
  lines.push('');
  lines.push(
    `${config.train.iterations} iterations with evaluation ${describeSchedule(config.train)}: ${(f.seconds / 60).toFixed(1)} min; final exact match ${(100 * f.exact).toFixed(1)}% (evaluation loss ${f.loss.toFixed(4)}). Curve: ${f.curve.join(', ')}.`,
  );
}
console.log(lines.join('\n'));
if (values.out) {
  writeFileSync(values.out, `${lines.join('\n')}\n`);
  console.log(`wrote ${values.out}`);
}
process.exit(0);
