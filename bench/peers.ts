/**
 * polca against a PyTorch CPU implementation of the same model, loss and optimizer
 * (bench/peers.py), interleaved in one run: every round times each operation on polca's side
 * (the real core/ functions on the process's TF.js backend) and then on the peer's, so that a
 * noisy, shared machine disturbs both alike. Reported: per operation the median over rounds of
 * each side's time per call, the ratio polca ÷ PyTorch of those medians and the median of the
 * per-round ratios; a breakdown of the training iteration (forward, backward, optimizer) on both
 * sides and polca's kernel profile, to show where the time goes; and the agreement of the two
 * implementations on the same θ (loss, gradient, one AdamW step, HVPs and d1/d2 against the
 * peer's exact forward-mode values), which must hold for the times to mean anything.
 *
 *   node --import tsx bench/peers.ts [--rounds 5] [--shapes small,paper] [--deriv small] [--m 2]
 *        [--threads N] [--min-ms 300] [--warmup 1] [--out bench/results/peers.md]
 *
 * Operations: `train/<preset>` one training iteration at that preset's shape (batch, forward,
 * backward, clipping, AdamW: core/train.ts); `hvp/<method>` one Hessian-vector product of the
 * mean loss over the Hessian sample; `d12/<method>` per-token d1 and d2 of the evaluation set
 * along m unit directions (`--deriv` preset's shape, θ after `--warm` training iterations).
 * Methods: `fd` is polca's own (core/hvp.ts: two gradients; core/polca.ts: the finite-difference
 * stencil, 1 + 6m forward passes with the default 5-point stencil and step refinement), done the
 * same way by the peer; `exact` is the peer's torch.func (HVP: forward-over-reverse, d1/d2:
 * forward-over-forward) and polca's own exact method where core/ has one (one line in
 * HVP_METHODS / D12_METHODS below).
 *
 * Threads: the peer runs torch.set_num_threads(N) with N = the threads polca's backend uses: 1 for
 * wasm and cpu (single-threaded in Node); for tensorflow every core, or --threads N, which also
 * sets TensorFlow's intra-op pool (TF_NUM_INTRAOP_THREADS) so that both sides use N.
 * The PyTorch environment is made once under the user's cache directory (bench/peers-env.ts).
 * Results: printed, and written to the backend's section of --out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { type Config, resolveConfig } from '../config/index.ts';
import { initBackend } from '../core/backend.ts';
import { type Example, makeData, trainBatch } from '../core/data.ts';
import { hessianVectorProduct, lossAndGrad } from '../core/backward.ts';
import { decayMask, disposeBatch, type EncodedBatch, encodeBatch, meanLossTensor, numParams } from '../core/model.ts';
import { makeTokenLossModel } from '../core/token-loss-model.ts';
import { normal } from '../core/rng.ts';
import { adamwStep, cloneState, initTrainState, learningRate, type TrainState, trainSegment } from '../core/train.ts';
import type { TokenLossModel } from '../core/types.ts';
import { directionalDerivatives, FD_SETTINGS, hvp } from '../core/finite-differences.ts';
import { ensurePeersPython, peersVenvBytes, peersVenvDir } from './peers-env.ts';
import { type Agreement, compareWithPeer, loadShape, Peer, type PolcaSide, type Timing } from './peers-peer.ts';
import { writeSection } from './sections.ts';

/** Largest |polca loss − PyTorch loss| on the same θ and batch for the comparison to count. */
export const LOSS_TOL = 1e-4;
/** Largest max|Δgrad| / max|grad|. */
export const GRAD_TOL = 1e-3;

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    shapes: { type: 'string', default: 'small,paper' },
    deriv: { type: 'string', default: 'small' },
    m: { type: 'string', default: '2' },
    warm: { type: 'string', default: '20' },
    threads: { type: 'string' },
    'min-ms': { type: 'string', default: '300' },
    warmup: { type: 'string', default: '1' },
    out: { type: 'string', default: join(here, 'results', 'peers.md') },
  },
});
const loadStart = loadavg().map((x) => x.toFixed(2));
const rounds = Number(values.rounds);
const minMs = Number(values['min-ms']);
const warmup = Number(values.warmup);
const m = Number(values.m);

// TensorFlow's intra-op pool reads TF_NUM_INTRAOP_THREADS when the native backend starts (else it
// uses every core): --threads sets it, so that both sides run on N threads.
if (values.threads && !process.env.TF_NUM_INTRAOP_THREADS) process.env.TF_NUM_INTRAOP_THREADS = values.threads;
const backend = await initBackend();
const threads =
  backend === 'tensorflow'
    ? Number(process.env.TF_NUM_INTRAOP_THREADS) || availableParallelism()
    : values.threads
      ? Number(values.threads)
      : 1;
const polcaThreads = backend === 'tensorflow' ? threads : 1;
const python = ensurePeersPython();
const peer = await Peer.start(python, threads);
const dir = mkdtempSync(join(tmpdir(), 'polca-peers-'));
console.log(
  `polca on TF.js ${tf.version.tfjs} backend ${backend}; PyTorch ${peer.hello.torch} (Python ${peer.hello.python}) on ${peer.hello.threads} thread(s)`,
);

// ---- polca's operations: small named functions over prepared contexts ------------------------

/** A training run at a preset's shape, as trainSegment runs an iteration (without checkpoints). */
interface TrainCtx {
  preset: string;
  config: Config;
  state: TrainState;
  mask: Float32Array;
  evalSet: Set<number>;
}

function trainIteration(c: TrainCtx): number {
  const { config, state } = c;
  const batch = encodeBatch(trainBatch(config.seed, state.step, config.train.batchSize, c.evalSet));
  const { loss, grad } = lossAndGrad(config.model, state.params, batch);
  disposeBatch(batch);
  adamwStep(config.train, state, grad, c.mask, learningRate(config.train, state.step));
  return loss;
}

/** The parts of an iteration, for the breakdown (each on the first batch, state not advanced). */
const TRAIN_PARTS: Record<string, (c: TrainCtx, batch: ReturnType<typeof encodeBatch>) => void> = {
  batch: (c) => disposeBatch(encodeBatch(trainBatch(c.config.seed, 0, c.config.train.batchSize, c.evalSet))),
  forward: (c, b) => {
    const l = tf.tidy(() => meanLossTensor(c.config.model, c.state.params, b));
    l.dataSync();
    l.dispose();
  },
  'forward+backward': (c, b) => {
    lossAndGrad(c.config.model, c.state.params, b);
  },
  optimizer: (c) => {
    const s = cloneState(c.state);
    const g = new Float32Array(s.params.length).fill(1e-3);
    adamwStep(c.config.train, s, g, c.mask, 1e-3);
  },
};
/** The peer's op for each part ("batch" has none: the peer's batches are prepared tensors). */
const PEER_PARTS: Record<string, string | undefined> = {
  batch: undefined,
  forward: 'forward',
  'forward+backward': 'backward',
  optimizer: 'step',
};

interface DerivCtx {
  config: Config;
  model: TokenLossModel;
  hessBatch: EncodedBatch;
  theta: Float32Array;
  dirs: Float32Array[];
  calls: number;
}

const FD = FD_SETTINGS;

const nextDir = (c: DerivCtx) => c.dirs[c.calls++ % c.dirs.length];

/** Polca's HVP methods. A method added here is timed and checked against the peer's exact HVP. */
const HVP_METHODS: Record<string, (c: DerivCtx, v: Float32Array) => ArrayLike<number>> = {
  fd: (c, v) => hvp(c.model, c.theta, v, FD.hvpEps),
  // at a θ seen before, as in Lanczos: the pass's values are recorded once, tangents computed per product
  exact: (c, v) => c.model.hvp(c.theta, v),
  // the whole forward-over-reverse pass, values included (the first product at a θ)
  'exact-cold': (c, v) => hessianVectorProduct(c.config.model, c.theta, v, c.hessBatch),
};
const HVP_LABELS: Record<string, string> = {
  fd: 'difference of two gradients',
  exact: 'exact, at a θ seen before (Lanczos)',
  'exact-cold': 'exact, first product at a θ',
};
/** Polca's per-token d1/d2 methods along all of c.dirs. */
const D12_METHODS: Record<string, (c: DerivCtx) => { d1: ArrayLike<number>; d2: ArrayLike<number> }> = {
  fd: (c) => directionalDerivatives(c.model, c.theta, c.dirs, FD.h, FD.stencil),
  exact: (c) => c.model.tokenDerivatives(c.theta, c.dirs),
};
/** The peer's methods of the same operations. */
const PEER_METHODS = ['fd', 'exact'];

/**
 * Mean ms per call of f, repeated for at least --min-ms after --warmup untimed calls (as the peer
 * does: a training loop runs its iterations back to back, and the first call after other work pays
 * for memory the allocator has handed back; the warm-up calls' time is kept as `firstMs`). A full
 * garbage collection first (when the process runs with --expose-gc, as `npm run bench` starts it),
 * so that garbage left by the operations timed before is not collected inside this one's time.
 */
function timePolca(f: () => unknown): Timing {
  (globalThis as { gc?: () => void }).gc?.();
  const w0 = performance.now();
  for (let i = 0; i < warmup; i++) f();
  const firstMs = warmup ? (performance.now() - w0) / warmup : Number.NaN;
  let calls = 0;
  const t0 = performance.now();
  let el = 0;
  do {
    f();
    calls++;
    el = performance.now() - t0;
  } while (el < minMs);
  return { ms: el / calls, firstMs };
}

// ---- set-up ------------------------------------------------------------------------------------

function unitDirection(d: number, seed: number, stream: number): Float32Array {
  const v = Float64Array.from({ length: d }, (_, i) => normal(seed, stream, i));
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  return Float32Array.from(v, (x) => x / n);
}

interface OpRow {
  op: string;
  what: string;
  polca?: () => Timing;
  peer?: () => Promise<Timing>;
  /** Work units per call and their name, for a throughput column. */
  units?: { count: number; name: string };
  part?: boolean;
}

const ops: OpRow[] = [];
const agreements: { shape: string; a: Agreement }[] = [];
const shapeLines: string[] = [];
const trainCtxs: TrainCtx[] = [];

for (const preset of values.shapes!.split(',').filter(Boolean)) {
  const config = resolveConfig({ preset });
  const { evalSet } = makeData(config);
  const ctx: TrainCtx = { preset, config, state: initTrainState(config), mask: decayMask(config.model), evalSet };
  trainCtxs.push(ctx);
  const batches: Example[][] = [0, 1, 2, 3].map((k) => trainBatch(config.seed, k, config.train.batchSize, evalSet));
  const isDeriv = preset === values.deriv;
  let deriv: DerivCtx | undefined;
  let derivData: Parameters<typeof loadShape>[2]['deriv'];
  if (isDeriv) {
    const warm = Number(values.warm);
    const seg = await trainSegment(
      { ...config, train: { ...config.train, checkpointEvery: Math.max(1, warm) } },
      initTrainState(config),
      warm,
    );
    const data = makeData(config);
    const theta = seg.state.params;
    const dirs = Array.from({ length: m }, (_, j) => unitDirection(theta.length, config.seed, 200 + j));
    deriv = {
      config,
      model: makeTokenLossModel(config.model, data.evalExamples, data.hessianExamples),
      hessBatch: encodeBatch(data.hessianExamples),
      theta,
      dirs,
      calls: 0,
    };
    derivData = { theta, hessianExamples: data.hessianExamples, evalExamples: data.evalExamples, dirs };
  }
  await loadShape(peer, dir, { name: preset, config, theta: ctx.state.params, batches, deriv: derivData });

  // Agreement on the same θ, computed by the real functions.
  const b0 = encodeBatch(batches[0]);
  const lg = lossAndGrad(config.model, ctx.state.params, b0);
  disposeBatch(b0);
  const one = cloneState(ctx.state);
  adamwStep(config.train, one, lg.grad, ctx.mask, learningRate(config.train, 0));
  const side: PolcaSide = { loss: lg.loss, grad: lg.grad, theta1: one.params };
  if (deriv) {
    const dv = deriv;
    side.hvp = Object.fromEntries(Object.entries(HVP_METHODS).map(([k, f]) => [k, f(dv, dv.dirs[0])]));
    side.d12 = Object.fromEntries(Object.entries(D12_METHODS).map(([k, f]) => [k, f(dv)]));
  }
  const a = await compareWithPeer(peer, preset, dir, learningRate(config.train, 0), side);
  agreements.push({ shape: preset, a });
  console.log(
    `${preset}: loss polca ${a.polcaLoss.toFixed(6)} torch ${a.torchLoss.toFixed(6)} (|Δ| ${a.lossDiff.toExponential(2)}), gradient max|Δ|/max|g| ${a.gradRel.toExponential(2)}, one AdamW step max|Δθ|/lr ${a.stepRel.toExponential(2)}`,
  );
  if (!(a.lossDiff <= LOSS_TOL)) throw new Error(`${preset}: polca and PyTorch losses differ by ${a.lossDiff} > ${LOSS_TOL} on the same θ`);
  if (!(a.gradRel <= GRAD_TOL)) throw new Error(`${preset}: polca and PyTorch gradients differ by ${a.gradRel} (relative) > ${GRAD_TOL}`);

  const mc = config.model;
  shapeLines.push(
    `\`${preset}\`: ${mc.nLayers} layers, d_model ${mc.dModel}, ${mc.nHeads} heads, MLP ${mc.dMlp}, ${numParams(mc).toLocaleString('en')} parameters, batch ${config.train.batchSize}` +
      (deriv
        ? `; Hessian sample ${config.data.hessianSize} examples, evaluation set ${config.data.evalSize} examples = ${deriv.model.numTokens} tokens, m = ${m} unit directions, θ after ${values.warm} iterations, HVP ε ${FD.hvpEps}, d1/d2 ${FD.stencil}-point stencil h = ${FD.h} with step refinement (${1 + m * ((FD.stencil === 5 ? 4 : 2) + 2)} forward passes)`
        : ''),
  );
  ops.push({
    op: `train/${preset}`,
    what: `one training iteration, \`${preset}\``,
    polca: () => timePolca(() => trainIteration(ctx)),
    peer: () => peer.time(preset, 'train', minMs, warmup),
    units: { count: 1, name: 'it' },
  });
  if (deriv) {
    const dv = deriv;
    for (const method of [...new Set([...Object.keys(HVP_METHODS), ...PEER_METHODS])]) {
      const f = HVP_METHODS[method];
      ops.push({
        op: `hvp/${method}`,
        what: `HVP, ${HVP_LABELS[method] ?? method}, \`${preset}\``,
        polca: f ? () => timePolca(() => f(dv, nextDir(dv))) : undefined,
        peer: PEER_METHODS.includes(method) ? () => peer.time(preset, `hvp-${method}`, minMs, warmup) : undefined,
        units: { count: 1, name: 'HVP' },
      });
    }
    for (const method of [...new Set([...Object.keys(D12_METHODS), ...PEER_METHODS])]) {
      const f = D12_METHODS[method];
      ops.push({
        op: `d12/${method}`,
        what: `per-token d1, d2, ${method === 'fd' ? 'finite differences' : 'exact'}, \`${preset}\``,
        polca: f ? () => timePolca(() => f(dv)) : undefined,
        peer: PEER_METHODS.includes(method) ? () => peer.time(preset, `d12-${method}`, minMs, warmup) : undefined,
        units: { count: m * dv.model.numTokens, name: 'token×vector' },
      });
    }
  }
  const bb = encodeBatch(batches[0]);
  for (const [part, f] of Object.entries(TRAIN_PARTS)) {
    const pop = PEER_PARTS[part];
    ops.push({
      op: `${preset} ${part}`,
      what: `\`${preset}\` ${part}`,
      polca: () => timePolca(() => f(ctx, bb)),
      peer: pop ? () => peer.time(preset, pop, minMs, warmup) : undefined,
      part: true,
    });
  }
}

// ---- the rounds --------------------------------------------------------------------------------

const times = new Map<string, { polca: number[]; peer: number[]; polcaFirst: number[]; peerFirst: number[] }>();
for (const o of ops) times.set(o.op, { polca: [], peer: [], polcaFirst: [], peerFirst: [] });
// warm-up: every op once on each side (JIT, kernel caches, allocator)
for (const o of ops) {
  o.polca?.();
  await o.peer?.();
}
const t0 = performance.now();
for (let r = 0; r < rounds; r++) {
  for (const o of ops) {
    const t = times.get(o.op)!;
    if (o.polca) {
      const { ms, firstMs } = o.polca();
      t.polca.push(ms);
      t.polcaFirst.push(firstMs);
    }
    if (o.peer) {
      const { ms, firstMs } = await o.peer();
      t.peer.push(ms);
      t.peerFirst.push(firstMs);
    }
  }
  console.log(`round ${r + 1}/${rounds} done (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

// polca's kernel profile of one forward+backward pass at each training shape
const profiles: { preset: string; total: number; top: { kernel: string; calls: number; ms: number }[] }[] = [];
for (const c of trainCtxs) {
  const b = encodeBatch(trainBatch(c.config.seed, 0, c.config.train.batchSize, c.evalSet));
  const prof = await tf.profile(() => {
    lossAndGrad(c.config.model, c.state.params, b);
  });
  disposeBatch(b);
  const agg = new Map<string, { calls: number; ms: number }>();
  let total = 0;
  for (const k of prof.kernels) {
    if (k.name === 'forward' || k.name.endsWith('__op')) continue; // wrappers repeat their inner kernels' time
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const a = agg.get(k.name) ?? { calls: 0, ms: 0 };
    a.calls++;
    a.ms += ms;
    total += ms;
    agg.set(k.name, a);
  }
  const top = [...agg]
    .map(([kernel, v]) => ({ kernel, ...v }))
    .sort((x, y) => y.ms - x.ms)
    .slice(0, 8);
  profiles.push({ preset: c.preset, total, top });
}
await peer.close();
rmSync(dir, { recursive: true, force: true });

// ---- report ------------------------------------------------------------------------------------

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : Number.NaN;
};
const fmtMs = (ms: number) => (Number.isNaN(ms) ? '—' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const rate = (ms: number, u?: OpRow['units']) =>
  u && !Number.isNaN(ms) ? `${((u.count * 1000) / ms).toLocaleString('en', { maximumSignificantDigits: 3 })} ${u.name}/s` : '';

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const load = loadavg().map((x) => x.toFixed(2));
const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const venvGiB = peersVenvBytes();
const lines: string[] = [];
lines.push(
  `Machine: ${cpu}, ${cpus().length} cores; load average (1, 5, 15 min) at the start ${loadStart.join(', ')}, at the end ${load.join(', ')}; ${date}. Node ${process.version}, TF.js ${tf.version.tfjs} backend **${backend}** on ${polcaThreads} thread(s); PyTorch ${peer.hello.torch} (CPU, eager, Python ${peer.hello.python}) on **N = ${peer.hello.threads}** thread(s)${venvGiB ? ` (its environment: ${(venvGiB / 2 ** 30).toFixed(2)} GiB in ${peersVenvDir()})` : ''}.`,
);
lines.push('');
lines.push(`Shapes: ${shapeLines.join('. ')}.`);
lines.push('');
lines.push(
  `${rounds} rounds, each timing every operation on polca and then on PyTorch (each side makes ${warmup} untimed warm-up call(s), then repeats the operation for at least ${minMs} ms and reports the mean per call); medians over rounds. Ratio = polca ÷ PyTorch time (above 1: polca slower); throughput ratio = its inverse. "First call": the warm-up call's time, the first after the other operations of the round.`,
);
lines.push('');
lines.push(
  '| operation | polca ms | PyTorch ms | ratio of medians | median of per-round ratios | polca throughput | PyTorch throughput | first call: polca / PyTorch ms (ratio) |',
);
lines.push('|---|---|---|---|---|---|---|---|');
const ratioRows: string[] = [];
for (const o of ops.filter((x) => !x.part)) {
  const t = times.get(o.op)!;
  const p = median(t.polca);
  const q = median(t.peer);
  const perRound = t.polca.length && t.peer.length ? median(t.polca.map((x, i) => x / t.peer[i])) : Number.NaN;
  const ratio = p / q;
  const p1 = median(t.polcaFirst);
  const q1 = median(t.peerFirst);
  const first = Number.isNaN(p1 / q1) ? '—' : `${fmtMs(p1)} / ${fmtMs(q1)} (${(p1 / q1).toFixed(2)}x)`;
  lines.push(
    `| ${o.what} | ${fmtMs(p)} | ${fmtMs(q)} | ${Number.isNaN(ratio) ? '—' : `${ratio.toFixed(2)}x`} | ${Number.isNaN(perRound) ? '—' : `${perRound.toFixed(2)}x`} | ${rate(p, o.units)} | ${rate(q, o.units)} | ${first} |`,
  );
  ratioRows.push(
    `${o.op.padEnd(14)} polca ${fmtMs(p).padStart(8)} ms   torch ${fmtMs(q).padStart(8)} ms   ratio ${Number.isNaN(ratio) ? '—' : `${ratio.toFixed(2)}x`}`,
  );
}
lines.push('');
lines.push("Where the time of a training iteration goes (same rounds; polca's parts run on batch 0 without advancing the state):");
lines.push('');
lines.push('| part | polca ms | PyTorch ms | ratio |');
lines.push('|---|---|---|---|');
for (const o of ops.filter((x) => x.part)) {
  const t = times.get(o.op)!;
  const p = median(t.polca);
  const q = median(t.peer);
  lines.push(`| ${o.what} | ${fmtMs(p)} | ${fmtMs(q)} | ${Number.isNaN(p / q) ? '—' : `${(p / q).toFixed(2)}x`} |`);
}
for (const pr of profiles) {
  lines.push('');
  lines.push(
    `polca kernels of one forward+backward pass, \`${pr.preset}\` (tf.profile, kernel sum ${pr.total.toFixed(1)} ms): ${pr.top.map((k) => `${k.kernel} ${k.ms.toFixed(1)} ms (${k.calls})`).join(', ')}.`,
  );
}
lines.push('');
lines.push("Agreement on the same θ (the PyTorch model loads polca's flat θ):");
lines.push('');
for (const { shape, a } of agreements) {
  let s = `- \`${shape}\`: loss ${a.polcaLoss.toFixed(6)} (polca) vs ${a.torchLoss.toFixed(6)} (PyTorch), |Δ| ${a.lossDiff.toExponential(1)} (bound ${LOSS_TOL}); gradient max|Δ|/max|g| ${a.gradRel.toExponential(1)}; θ after one AdamW step max|Δ|/lr ${a.stepRel.toExponential(1)}.`;
  const hv = Object.entries(a.hvp);
  if (hv.length) s += ` HVP relative L2 error against PyTorch's exact HVP: ${hv.map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}.`;
  const d1 = Object.entries(a.d1);
  if (d1.length) {
    s += ` Per-token error against PyTorch's exact d1 (median / max): ${d1.map(([k, v]) => `${k} ${v.median.toExponential(1)} / ${v.max.toExponential(1)}`).join(', ')};`;
    s += ` d2: ${Object.entries(a.d2)
      .map(([k, v]) => `${k} ${v.median.toExponential(1)} / ${v.max.toExponential(1)}`)
      .join(', ')}.`;
  }
  lines.push(s);
}
const body = lines.join('\n');
console.log(`\n${body}\n`);
console.log(ratioRows.join('\n'));
writeSection(
  values.out!,
  `peers-${backend}-${polcaThreads}-${peer.hello.threads}`,
  `## ${backend} on ${polcaThreads} thread(s), PyTorch on ${peer.hello.threads} (bench/peers.ts)\n\n${body}\n`,
  '# polca against PyTorch (bench/peers.ts)',
);
console.log(`wrote ${values.out}`);
process.exit(0);
