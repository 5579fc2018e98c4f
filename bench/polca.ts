/**
 * Cost of the Hessian basis and of POLCA on a preset: Hessian-vector products per second,
 * directional-derivative evaluations (token × vector) per second, and the time of one POLCA
 * interval per variant with a random orthonormal basis of m vectors, between two real
 * checkpoints of a short training run. Also checks that no step materialises per-example
 * gradients: the peak TF.js memory of each step must stay far below numTokens × numParams floats.
 *
 *   node --import tsx bench/polca.ts [--preset small] [--m 10] [--out FILE.md]
 *
 * Prints a Markdown report (and writes it to --out when given).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../config/index.ts';
import { initBackend } from '../core/backend.ts';
import { makeData } from '../core/data.ts';
import { hvp } from '../core/hvp.ts';
import { dot } from '../core/linalg.ts';
import { makeTokenLossModel } from '../core/model.ts';
import { directionalDerivatives, polcaInterval } from '../core/polca.ts';
import { normal } from '../core/rng.ts';
import { initTrainState, trainSegment } from '../core/train.ts';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    m: { type: 'string', default: '10' },
    out: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
  },
});
const config = resolveConfig({ preset: values.preset, sets: values.set });
const backend = await initBackend(config.runtime.backend);
const m = Number(values.m);

// Two real checkpoints: θ_t and θ_{t+1} one checkpoint interval apart, after some training.
const t0 = performance.now();
const upTo = 2 * config.train.checkpointEvery;
const seg = await trainSegment(config, initTrainState(config), upTo);
const trainSeconds = (performance.now() - t0) / 1000;
// (a dense early schedule adds checkpoints in between: take the one checkpointEvery before)
const thetaT = seg.checkpoints.find((c) => c.iteration === upTo - config.train.checkpointEvery)!.params;
const thetaT1 = seg.checkpoints.at(-1)!.params;
const data = makeData(config);
const model = makeTokenLossModel(config.model, data.evalExamples, data.hessianExamples);
const d = model.numParams;
const n = model.numTokens;

// A random orthonormal basis of m vectors (Gram–Schmidt twice on Gaussian vectors).
const basis: Float64Array[] = [];
for (let j = 0; j < m; j++) {
  const v = Float64Array.from({ length: d }, (_, i) => normal(config.seed, 100 + j, i));
  for (let pass = 0; pass < 2; pass++)
    for (const b of basis) {
      const c = dot(v, b);
      for (let i = 0; i < d; i++) v[i] -= c * b[i];
    }
  const nv = Math.sqrt(dot(v, v));
  for (let i = 0; i < d; i++) v[i] /= nv;
  basis.push(v);
}

/** Seconds of f, and the peak bytes TF.js held while it ran (above what was held before). */
async function measure<T>(f: () => T): Promise<{ seconds: number; peakBytes: number; result: T }> {
  let result: T | undefined;
  const held = tf.memory().numBytes;
  const s = performance.now();
  const prof = await tf.profile(() => {
    result = f();
  });
  return { seconds: (performance.now() - s) / 1000, peakBytes: prof.peakBytes - held, result: result as T };
}

// Reference peaks: one forward pass over the evaluation set, one mean-loss gradient over S. A step
// that kept per-token gradients would exceed them by numTokens × numParams floats.
const perExampleGradBytes = n * d * 4;
const forwardPeak = (await measure(() => model.tokenLosses(thetaT))).peakBytes;
const gradientPeak = (await measure(() => model.hessianLossGrad(thetaT))).peakBytes;
const rows: { what: string; seconds: number; rate: string; peakMB: number }[] = [];
const check = (what: string, peakBytes: number) => {
  const ref = Math.max(forwardPeak, gradientPeak);
  if (peakBytes > ref + perExampleGradBytes / 10) {
    throw new Error(
      `${what}: peak ${peakBytes} bytes exceeds one forward/backward pass (${ref}) by more than a tenth of per-token gradients (${perExampleGradBytes})`,
    );
  }
};

// HVPs
const hvpReps = 10;
const h = await measure(() => {
  for (let r = 0; r < hvpReps; r++) hvp(model, thetaT, basis[r % m], config.basis.hvpEps);
});
check('hvp', h.peakBytes);
rows.push({
  what: `HVP (2 gradients over the Hessian sample, ${config.data.hessianSize} examples)`,
  seconds: h.seconds / hvpReps,
  rate: `${(hvpReps / h.seconds).toFixed(2)} HVP/s`,
  peakMB: h.peakBytes / 2 ** 20,
});

// directional derivatives, with and without the step refinement
for (const refine of [true, false]) {
  const r = await measure(() => directionalDerivatives(model, thetaT, basis, config.polca.h, config.polca.stencil, undefined, { refine }));
  check('directionalDerivatives', r.peakBytes);
  const passes = 1 + m * ((config.polca.stencil === 5 ? 4 : 2) + (refine ? 2 : 0));
  rows.push({
    what: `d1, d2 of ${n} tokens along ${m} vectors at one θ (${config.polca.stencil}-point, ${refine ? 'with' : 'without'} step refinement; ${passes} forward passes)`,
    seconds: r.seconds,
    rate: `${Math.round((n * m) / r.seconds).toLocaleString('en')} token×vector/s`,
    peakMB: r.peakBytes / 2 ** 20,
  });
}

// One interval per variant (derivatives at both ends computed inside, nothing shared)
const intervals: string[] = [];
for (const variant of ['exact-curvature', 'paper', 'path'] as const) {
  const r = await measure(() => polcaInterval({ model, interval: 0, thetaT, thetaT1, basis, polca: { ...config.polca, variant } }));
  check(`polcaInterval ${variant}`, r.peakBytes);
  const s = r.result.summary;
  rows.push({
    what: `one POLCA interval, \`${variant}\`${variant === 'path' ? ` (${s.panels} Simpson panels)` : ''}`,
    seconds: r.seconds,
    rate: `${Math.round((n * m) / r.seconds).toLocaleString('en')} token×vector/s`,
    peakMB: r.peakBytes / 2 ** 20,
  });
  intervals.push(`${variant}: |completeness error| median ${s.errorQuantiles[0].toExponential(2)}, max ${s.maxAbsError.toExponential(2)}`);
}
model.dispose();

const lines: string[] = [];
lines.push(`# POLCA cost (\`${values.preset}\` preset, backend ${backend})`);
lines.push('');
lines.push(
  `${d.toLocaleString('en')} parameters; evaluation set ${config.data.evalSize} examples = ${n} tokens; Hessian sample ${config.data.hessianSize} examples; ` +
    `a random orthonormal basis of m = ${m} vectors; θ_t, θ_{t+1} are checkpoints ${config.train.checkpointEvery} iterations apart after ${upTo} iterations of training (${trainSeconds.toFixed(1)} s). ` +
    `h = ${config.polca.h}, ${config.polca.stencil}-point stencil, HVP ε = ${config.basis.hvpEps}.`,
);
lines.push('');
lines.push(
  `Machine: 2 cores, shared with other jobs while measuring; Node ${process.version}, TF.js ${tf.version.tfjs}, ${new Date().toISOString().slice(0, 10)}.`,
);
lines.push('');
lines.push(`| step | seconds | rate | peak TF.js memory |`);
lines.push('|---|---|---|---|');
for (const r of rows) lines.push(`| ${r.what} | ${r.seconds.toFixed(3)} | ${r.rate} | ${r.peakMB.toFixed(1)} MB |`);
lines.push('');
lines.push(
  `No step materialises per-example gradients: per-token gradients of all ${n} tokens would take ${(perExampleGradBytes / 2 ** 20).toFixed(0)} MB; every step's peak TF.js memory is checked to stay within that of one forward pass over the evaluation set (${(forwardPeak / 2 ** 20).toFixed(1)} MB) or one gradient over the Hessian sample (${(gradientPeak / 2 ** 20).toFixed(1)} MB) plus a tenth of that size (the run aborts otherwise). d1 and d2 come from forward passes only; HVPs from two mean-loss gradients.`,
);
lines.push('');
lines.push(
  `Completeness on this interval with a random basis (most of Δ is out of span, so only \`path\`, which adds the out-of-span row, is complete): ${intervals.join('; ')}.`,
);
console.log(lines.join('\n'));
if (values.out) writeFileSync(values.out, `${lines.join('\n')}\n`);
process.exit(0);
