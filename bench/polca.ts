/**
 * Cost of the Hessian basis and of POLCA on a preset: Hessian-vector products per second,
 * directional-derivative evaluations (token × vector) per second — the exact methods (forward-mode
 * jets, reverse over forward; core/model/jet.ts) against the finite-difference ones they replaced
 * (core/model/finite-differences.ts) in the same run, with the largest difference between
 * them — and the time of one POLCA
 * interval per variant with a random orthonormal basis of m vectors, between two real
 * checkpoints of a short training run. Also checks that no step materialises per-example
 * gradients: the peak TF.js memory of each step must stay far below numTokens × numParams floats.
 *
 *   node --import tsx bench/polca.ts [--preset small] [--m 10] [--out FILE.md]
 *
 * Prints a Markdown report (and writes it to --out when given).
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../config/index.ts';
import { initBackend } from '../core/model/backend.ts';
import { modelShape } from '../core/data.ts';
import { encodeSequences, makeSplits } from '../core/tasks/arithmetic/task.ts';
import { dot, relativeError } from '../core/linalg.ts';
import { makeTokenLossModel } from '../core/model/token-loss-model.ts';
import { polcaInterval } from '../core/attribution/polca.ts';
import { normal } from '../core/rng.ts';
import { initTrainState, trainSegment } from '../core/train/train.ts';
import { directionalDerivatives, hvp } from '../core/model/finite-differences.ts';

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
const data = makeSplits(config);
const model = makeTokenLossModel(modelShape(config), encodeSequences(data.evalExamples), encodeSequences(data.hessianExamples));
/** Finite-difference settings of the replaced methods (their former defaults). */
const FD = { h: 3e-3, stencil: 5 as const, hvpEps: 1e-3 };
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

/**
 * Seconds of f, and the peak bytes TF.js held while it ran (above what was held before). tf.profile
 * spreads its list of kernels into Math.max, which overflows the stack past ~10⁵ kernels, so a
 * call made of many passes gives `probe` (one pass of the same size) for the memory figure.
 */
async function measure<T>(f: () => T, probe?: () => unknown): Promise<{ seconds: number; peakBytes: number; result: T }> {
  const held = tf.memory().numBytes;
  let peakBytes = 0;
  if (probe) peakBytes = (await tf.profile(() => void probe())).peakBytes - held;
  let result: T | undefined;
  const s = performance.now();
  if (probe) result = f();
  else
    peakBytes =
      (
        await tf.profile(() => {
          result = f();
        })
      ).peakBytes - held;
  return { seconds: (performance.now() - s) / 1000, peakBytes, result: result as T };
}

// Reference peaks: one forward pass over the evaluation set, one mean-loss gradient over S. A step
// that kept per-token gradients would exceed them by numTokens × numParams floats.
const perExampleGradBytes = n * d * 4;
const forwardPeak = (await measure(() => model.tokenLosses(thetaT))).peakBytes;
const gradientPeak = (await measure(() => model.hessianLossGrad(thetaT))).peakBytes;
const rows: { what: string; seconds: number; rate: string; peakMB: number }[] = [];
const check = (what: string, peakBytes: number) => {
  if (peakBytes >= perExampleGradBytes) {
    throw new Error(`${what}: peak ${peakBytes} bytes reaches the size of per-token gradients (${perExampleGradBytes})`);
  }
};

// HVPs: exact (forward over reverse) against central gradient differences, same directions
const hvpReps = 10;
const hvpOut: Record<string, Float64Array[]> = {};
/** One forward-over-reverse pass over the whole Hessian sample (the default: one chunk). */
const hvpProbe = makeTokenLossModel(
  modelShape(config),
  encodeSequences(data.evalExamples.slice(0, 1)),
  encodeSequences(data.hessianExamples),
);
for (const [name, f] of [
  ['exact', (v: Float64Array) => model.hvp(thetaT, v)],
  ['gradient differences', (v: Float64Array) => hvp(model, thetaT, v, FD.hvpEps)],
] as const) {
  const outs: Float64Array[] = [];
  const r = await measure(
    () => {
      for (let k = 0; k < hvpReps; k++) outs.push(f(basis[k % m]));
    },
    name === 'exact' ? () => hvpProbe.hvp(thetaT, basis[0]) : () => f(basis[0]),
  );
  hvpOut[name] = outs;
  check(`hvp ${name}`, r.peakBytes);
  rows.push({
    what: `HVP, ${name === 'exact' ? 'exact (forward over reverse: the hand-written gradient on dual numbers, one pass)' : `central gradient differences, ε = ${FD.hvpEps} (2 gradients)`} over the Hessian sample (${config.data.hessianSize} examples)`,
    seconds: r.seconds / hvpReps,
    rate: `${(hvpReps / r.seconds).toFixed(2)} HVP/s`,
    peakMB: r.peakBytes / 2 ** 20,
  });
}
let hvpDiff = 0;
hvpOut.exact.forEach((e, k) => {
  hvpDiff = Math.max(hvpDiff, relativeError(hvpOut['gradient differences'][k], e));
});

// d1, d2: exact jets (several directions per pass) against the finite-difference stencils
const dd: Record<string, { d1: Float64Array; d2: Float64Array }> = {};
for (const perPass of [1, 2, 4, 10]) {
  const jm = makeTokenLossModel(modelShape(config), encodeSequences(data.evalExamples), encodeSequences(data.hessianExamples.slice(0, 1)), {
    directionsPerPass: perPass,
  });
  // one pass: ceil(128 / perPass) examples (the default chunk) along perPass directions
  const probe = makeTokenLossModel(
    modelShape(config),
    encodeSequences(data.evalExamples.slice(0, Math.ceil(128 / perPass))),
    encodeSequences(data.hessianExamples.slice(0, 1)),
  );
  const r = await measure(
    () => jm.tokenDerivatives(thetaT, basis),
    () => probe.tokenDerivatives(thetaT, basis.slice(0, perPass)),
  );
  jm.dispose();
  probe.dispose();
  check('tokenDerivatives', r.peakBytes);
  if (perPass === 10) dd.exact = r.result;
  rows.push({
    what: `d1, d2 of ${n} tokens along ${m} vectors at one θ, exact (second-order jets, ${perPass} direction${perPass > 1 ? 's' : ''} per pass${perPass === 10 ? ', the default' : ''}; ${Math.ceil(m / perPass)} passes)`,
    seconds: r.seconds,
    rate: `${Math.round((n * m) / r.seconds).toLocaleString('en')} token×vector/s`,
    peakMB: r.peakBytes / 2 ** 20,
  });
}
for (const refine of [true, false]) {
  const r = await measure(() => directionalDerivatives(model, thetaT, basis, FD.h, FD.stencil, undefined, { refine }));
  check('directionalDerivatives', r.peakBytes);
  if (refine) dd.fd = r.result;
  const passes = 1 + m * (4 + (refine ? 2 : 0));
  rows.push({
    what: `d1, d2 of ${n} tokens along ${m} vectors at one θ, finite differences (5-point, h = ${FD.h}, ${refine ? 'with' : 'without'} step refinement; ${passes} forward passes)`,
    seconds: r.seconds,
    rate: `${Math.round((n * m) / r.seconds).toLocaleString('en')} token×vector/s`,
    peakMB: r.peakBytes / 2 ** 20,
  });
}
const ddDiff = (k: 'd1' | 'd2') => {
  const s = Float64Array.from(dd.exact[k], (v, t) => Math.abs(v - dd.fd[k][t]) / Math.max(Math.abs(v), k === 'd1' ? 1e-2 : 1));
  return s.reduce((a, b) => Math.max(a, b), 0);
};

// One interval per variant (derivatives at both ends computed inside, nothing shared)
const intervals: string[] = [];
for (const variant of ['exact-curvature', 'paper', 'path'] as const) {
  const r = await measure(
    () => polcaInterval({ model, interval: 0, thetaT, thetaT1, basis, polca: { ...config.polca, variant } }),
    () => {
      const probe = makeTokenLossModel(
        modelShape(config),
        encodeSequences(data.evalExamples.slice(0, 32)),
        encodeSequences(data.hessianExamples.slice(0, 1)),
      );
      probe.tokenDerivatives(thetaT, basis.slice(0, 4));
      probe.dispose();
    },
  );
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
hvpProbe.dispose();

const lines: string[] = [];
lines.push(`# POLCA cost (\`${values.preset}\` preset, backend ${backend})`);
lines.push('');
lines.push(
  `${d.toLocaleString('en')} parameters; evaluation set ${config.data.evalSize} examples = ${n} tokens; Hessian sample ${config.data.hessianSize} examples; ` +
    `a random orthonormal basis of m = ${m} vectors; θ_t, θ_{t+1} are checkpoints ${config.train.checkpointEvery} iterations apart after ${upTo} iterations of training (${trainSeconds.toFixed(1)} s). ` +
    `Finite differences for comparison: h = ${FD.h}, 5-point stencil, HVP ε = ${FD.hvpEps} (the former defaults).`,
);
lines.push('');
const cpu = cpus()[0]?.model ?? 'unknown CPU';
lines.push(
  `Machine: ${cpu}, ${cpus().length} cores, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(
      ' / ',
    )} (1/5/15 min) at the end of the run; Node ${process.version}, TF.js ${tf.version.tfjs}, ${new Date().toISOString().slice(0, 10)}.`,
);
lines.push('');
lines.push(`| step | seconds | rate | peak TF.js memory |`);
lines.push('|---|---|---|---|');
for (const r of rows) lines.push(`| ${r.what} | ${r.seconds.toFixed(3)} | ${r.rate} | ${r.peakMB.toFixed(1)} MB |`);
lines.push('');
lines.push(
  `Exact against finite differences on the same inputs: HVP max relative difference in norm ${hvpDiff.toExponential(2)}; d1 max |Δ| / max(|d1|, 1e-2) ${ddDiff('d1').toExponential(2)}; d2 max |Δ| / max(|d2|, 1) ${ddDiff('d2').toExponential(2)} (the finite-difference error: the exact values agree with a float64 reference to 1e-5, tests/unit/jet.test.ts).`,
);
lines.push('');
lines.push(
  `No step materialises per-example gradients: per-token gradients of all ${n} tokens would take ${(perExampleGradBytes / 2 ** 20).toFixed(0)} MB; every step's peak TF.js memory is checked to stay below that (the run aborts otherwise); for scale, one forward pass over the evaluation set holds ${(forwardPeak / 2 ** 20).toFixed(1)} MB and one gradient over the Hessian sample ${(gradientPeak / 2 ** 20).toFixed(1)} MB. A pass's memory is set by its chunk of examples and directions (core/model/jet.ts), not by the number of tokens × parameters. d1 and d2 come from forward-mode passes only; an exact HVP from one first-order forward-mode pass over the Hessian sample and its gradient.`,
);
lines.push('');
lines.push(
  `Completeness on this interval with a random basis (most of Δ is out of span, so only \`path\`, which adds the out-of-span row, is complete): ${intervals.join('; ')}.`,
);
console.log(lines.join('\n'));
if (values.out) writeFileSync(values.out, `${lines.join('\n')}\n`);
process.exit(0);
