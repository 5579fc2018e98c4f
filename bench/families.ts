/**
 * Cost of the baseline trajectory families on a preset, for the first POLCA chunk (the intervals
 * starting in [0, basis.every)), between the real checkpoints of a training run of that length:
 *   lca     LCA on the P largest |θ| (core/attribution/lca.ts): per interval one midpoint and one new endpoint,
 *           each a first-order jet pass along P one-hot directions;
 *   fisher  (bᵀ∇ℓ_x)² along a random orthonormal basis of m vectors (core/attribution/fisher.ts): one
 *           first-order jet pass along m directions per checkpoint.
 * The selection is taken at the chunk's last checkpoint, or with --final at the run's final
 * checkpoint (the whole run is trained then); it says which tensors the P parameters fall in.
 * Projected to the whole run: seconds per interval (LCA) or per checkpoint (Fisher) times the
 * run's count.
 *
 *   node --import tsx bench/families.ts [--preset small] [--m 10] [--p 50] [--intervals N] [--final] [--out FILE.md]
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../config/index.ts';
import { initBackend } from '../core/model/backend.ts';
import { modelShape } from '../core/data.ts';
import { encodeSequences, makeSplits } from '../core/tasks/arithmetic/task.ts';
import { basisFisher } from '../core/attribution/fisher.ts';
import { lcaInterval, type ParamGradients, selectLcaParams } from '../core/attribution/lca.ts';
import { paramLayout } from '../core/model/layout.ts';
import { dot } from '../core/linalg.ts';
import { makeTokenLossModel } from '../core/model/token-loss-model.ts';
import { normal } from '../core/rng.ts';
import { checkpointIterations } from '../core/train/schedule.ts';
import { initTrainState, trainSegment } from '../core/train/train.ts';
import { intervalCount, segmentIntervals } from '../pipeline/plan.ts';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    m: { type: 'string', default: '10' },
    p: { type: 'string', default: '50' },
    intervals: { type: 'string' },
    final: { type: 'boolean', default: false },
    out: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
  },
});
const config = resolveConfig({ preset: values.preset, sets: values.set });
const backend = await initBackend(config.runtime.backend);
const m = Number(values.m);
const P = Number(values.p);
const { first, count: chunkIntervals } = segmentIntervals(config, 0);
const count = Math.min(chunkIntervals, values.intervals ? Number(values.intervals) : chunkIntervals);
const its = checkpointIterations(config.train);
const T = intervalCount(config);

const t0 = performance.now();
const trainedTo = values.final ? config.train.iterations : config.basis.every;
const seg = await trainSegment(config, initTrainState(config), trainedTo);
const trainSeconds = (performance.now() - t0) / 1000;
const byIt = new Map(seg.checkpoints.map((c) => [c.iteration, c.params]));
byIt.set(0, initTrainState(config).params);
const theta = (t: number) => {
  const th = byIt.get(its[t]);
  if (!th) throw new Error(`checkpoint ${its[t]} was not trained`);
  return th;
};
const data = makeSplits(config);
const model = makeTokenLossModel(modelShape(config), encodeSequences(data.evalExamples), encodeSequences(data.hessianExamples.slice(0, 1)));
const d = model.numParams;
const n = model.numTokens;

// LCA
const selectAt = values.final ? T : first + chunkIntervals;
const sel = selectLcaParams(theta(selectAt), paramLayout(modelShape(config)), P);
const tensors = new Map<string, number>();
for (const p of sel) tensors.set(p.name, (tensors.get(p.name) ?? 0) + 1);
const indices = Int32Array.from(sel, (p) => p.index);
let carried: ParamGradients | undefined;
const lcaSeconds: number[] = [];
let captured = 0;
let dlossSum = 0;
for (let i = 0; i < count; i++) {
  const s = performance.now();
  const r = lcaInterval({ model, thetaT: theta(first + i), thetaT1: theta(first + i + 1), indices, atT: carried });
  carried = r.atT1;
  lcaSeconds.push((performance.now() - s) / 1000);
  for (const v of r.lca) captured += v;
  for (const v of r.dloss) dlossSum += v;
}

// Fisher, along a random orthonormal basis of m vectors (Gram–Schmidt twice).
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
const fisherSeconds: number[] = [];
for (let i = 0; i < count; i++) {
  const s = performance.now();
  basisFisher(model, theta(first + i), basis);
  fisherSeconds.push((performance.now() - s) / 1000);
}
model.dispose();

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
// The first LCA interval computes its start endpoint too: steady state is the mean of the rest.
const lcaSteady = count > 1 ? sum(lcaSeconds.slice(1)) / (count - 1) : lcaSeconds[0];
const fisherEach = sum(fisherSeconds) / count;
const lines = [
  `# Baseline families on \`${values.preset}\`, chunk 0 (${count} of its ${chunkIntervals} intervals)`,
  '',
  `Machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}, backend ${backend}, ${new Date().toISOString()}.`,
  `Model: ${d} parameters, ${n} evaluation tokens; training to iteration ${trainedTo}: ${trainSeconds.toFixed(1)} s.`,
  '',
  '| family | per unit | chunk (measured) | whole run (projected) |',
  '|---|---|---|---|',
  `| lca, P = ${P} | ${lcaSteady.toFixed(2)} s / interval (first: ${lcaSeconds[0].toFixed(2)} s) | ${sum(lcaSeconds).toFixed(1)} s | ${(lcaSeconds[0] + lcaSteady * (T - 1)).toFixed(0)} s for ${T} intervals |`,
  `| fisher, m = ${m} | ${fisherEach.toFixed(2)} s / checkpoint | ${sum(fisherSeconds).toFixed(1)} s | ${(fisherEach * (T + 1)).toFixed(0)} s for ${T + 1} checkpoints |`,
  '',
  `LCA's P parameters (selected at iteration ${its[selectAt]}): ${[...tensors.entries()].map(([k, v]) => `${k} ×${v}`).join(', ')}; ` +
    `|θ| ${Math.abs(sel[0].value).toFixed(3)} … ${Math.abs(sel[sel.length - 1].value).toFixed(3)}.`,
  `Their share of the loss change over the measured intervals: Σ LCA / Σ ΔL = ${(captured / dlossSum).toFixed(4)}.`,
];
const report = lines.join('\n');
console.log(report);
if (values.out) writeFileSync(values.out, `${report}\n`);
