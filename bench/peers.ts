/**
 * polca against a PyTorch CPU implementation of the same model, loss and optimizer
 * (bench/peers.py) and a JAX CPU implementation of the same model's exact derivatives
 * (bench/peers_jax.py), interleaved in one run: every round times each operation on polca's side
 * (the real core/ functions on the process's TF.js backend) and then on each peer's, so that a
 * noisy, shared machine disturbs all alike. Reported: per operation the median over rounds of
 * each side's time per call, the ratios polca ÷ peer of those medians and the medians of the
 * per-round ratios; a breakdown of the training iteration (forward, backward, optimizer) on polca
 * and PyTorch and polca's kernel profile, to show where the time goes; and the agreement of the
 * implementations on the same θ (loss, gradient, one AdamW step, HVPs and d1/d2 against
 * PyTorch's exact forward-mode values), which must hold for the times to mean anything.
 *
 *   node --import tsx bench/peers.ts [--rounds 5] [--shapes small,paper] [--deriv small] [--m 2]
 *        [--threads N] [--min-ms 300] [--warmup 1] [--out bench/results/peers.md]
 *
 * Operations: `train/<preset>` one training iteration at that preset's shape (batch, forward,
 * backward, clipping, AdamW: core/train/train.ts); `hvp/<method>` one Hessian-vector product of the
 * mean loss over the Hessian sample; `d12/<method>` per-token d1 and d2 of the evaluation set
 * along m unit directions (`--deriv` preset's shape, θ after `--warm` training iterations).
 * Methods, each compared like with like:
 *   hvp/fd    the difference of two gradients (core/model/finite-differences.ts), the same on PyTorch;
 *   hvp/cold  the exact product with the whole forward-over-reverse pass per product (the first
 *             product at a θ): polca's hessianVectorProduct, PyTorch's torch.func.jvp of
 *             torch.func.grad, JAX's jit(jvp(grad));
 *   hvp/warm  the exact product at a θ seen before, as in Lanczos (the pass's values kept, the
 *             tangents computed per product): polca's value memo (core/model/token-loss-model.ts hvp),
 *             torch.func.linearize, jax.linearize (jit-compiled);
 *   d12/fd    polca's finite-difference stencil (1 + 6m forward passes with the 5-point stencil
 *             and step refinement), the same on PyTorch;
 *   d12/exact one second-order pass per direction set: polca's jets (core/model/jet.ts, all directions
 *             in one pass), PyTorch's nested torch.func.jvp per direction, JAX's Taylor jets
 *             (jax.experimental.jet) per direction.
 *
 * Threads: the peers run on N threads (torch.set_num_threads(N); XLA's CPU pool of N) with N = the
 * threads polca's backend uses: 1 for wasm and cpu (single-threaded in Node); for tensorflow every
 * core, or --threads N, which also sets TensorFlow's intra-op pool (TF_NUM_INTRAOP_THREADS) so that
 * every side uses N. The Python environment is made once under the user's cache directory
 * (bench/peers-env.ts).
 * Results: printed, and written to the backend's section of --out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { type Config, resolveConfig } from '../config/index.ts';
import { initBackend } from '../core/model/backend.ts';
import { modelShape } from '../core/data.ts';
import { ARITHMETIC_SHAPE, encodeSequences, type Example, makeSplits, trainBatch } from '../core/tasks/arithmetic/task.ts';
import { hessianVectorProduct, lossAndGrad } from '../core/model/backward.ts';
import { decayMask, disposeBatch, type EncodedBatch, encodeBatch, meanLossTensor, numParams } from '../core/model/model.ts';
import { makeTokenLossModel } from '../core/model/token-loss-model.ts';
import { normal } from '../core/rng.ts';
import { adamwStep, cloneState, initTrainState, learningRate, type TrainState, trainSegment } from '../core/train/train.ts';
import type { TokenLossModel } from '../core/types.ts';
import { directionalDerivatives, FD_SETTINGS, hvp } from '../core/model/finite-differences.ts';
import { ensurePeersPython, peersVenvBytes, peersVenvDir } from './peers-env.ts';
import {
  type Agreement,
  compareJax,
  compareWithPeer,
  loadShape,
  PEERS_JAX_SCRIPT,
  Peer,
  type PolcaSide,
  type Timing,
} from './peers-peer.ts';
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
const jax = await Peer.start(python, threads, PEERS_JAX_SCRIPT);
const dir = mkdtempSync(join(tmpdir(), 'polca-peers-'));
console.log(
  `polca on TF.js ${tf.version.tfjs} backend ${backend}; PyTorch ${peer.hello.torch} and JAX ${jax.hello.jax} (Python ${peer.hello.python}) on ${peer.hello.threads} thread(s)`,
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
  const batch = encodeBatch(ARITHMETIC_SHAPE, encodeSequences(trainBatch(config.seed, state.step, config.train.batchSize, c.evalSet)));
  const { loss, grad } = lossAndGrad(modelShape(config), state.params, batch);
  disposeBatch(batch);
  adamwStep(config.train, state, grad, c.mask, learningRate(config.train, state.step));
  return loss;
}

/** The parts of an iteration, for the breakdown (each on the first batch, state not advanced). */
const TRAIN_PARTS: Record<string, (c: TrainCtx, batch: ReturnType<typeof encodeBatch>) => void> = {
  batch: (c) =>
    disposeBatch(encodeBatch(ARITHMETIC_SHAPE, encodeSequences(trainBatch(c.config.seed, 0, c.config.train.batchSize, c.evalSet)))),
  forward: (c, b) => {
    const l = tf.tidy(() => meanLossTensor(modelShape(c.config), c.state.params, b));
    l.dataSync();
    l.dispose();
  },
  'forward+backward': (c, b) => {
    lossAndGrad(modelShape(c.config), c.state.params, b);
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

/** Polca's HVP methods. A method added here is timed and checked against PyTorch's exact HVP. */
const HVP_METHODS: Record<string, (c: DerivCtx, v: Float32Array) => ArrayLike<number>> = {
  fd: (c, v) => hvp(c.model, c.theta, v, FD.hvpEps),
  // at a θ seen before, as in Lanczos: the pass's values are recorded once, tangents computed per product
  warm: (c, v) => c.model.hvp(c.theta, v),
  // the whole forward-over-reverse pass, values included (the first product at a θ)
  cold: (c, v) => hessianVectorProduct(modelShape(c.config), c.theta, v, c.hessBatch),
};
const HVP_LABELS: Record<string, string> = {
  fd: 'difference of two gradients',
  warm: 'exact, at a θ seen before (Lanczos; torch.func.linearize, jax.linearize)',
  cold: 'exact, first product at a θ (jvp of grad)',
};
/** Polca's per-token d1/d2 methods along all of c.dirs. */
const D12_METHODS: Record<string, (c: DerivCtx) => { d1: ArrayLike<number>; d2: ArrayLike<number> }> = {
  fd: (c) => directionalDerivatives(c.model, c.theta, c.dirs, FD.h, FD.stencil),
  exact: (c) => c.model.tokenDerivatives(c.theta, c.dirs),
};
type PeerName = 'torch' | 'jax';
const PEER_NAMES: PeerName[] = ['torch', 'jax'];
const PEER_LABEL: Record<PeerName, string> = { torch: 'PyTorch', jax: 'JAX' };
/** Each peer's methods of the same operations (its op is `hvp-<method>` / `d12-<method>`). */
const PEER_HVP: Record<PeerName, string[]> = { torch: ['fd', 'warm', 'cold'], jax: ['warm', 'cold'] };
const PEER_D12: Record<PeerName, string[]> = { torch: ['fd', 'exact'], jax: ['exact'] };
const PEERS: Record<PeerName, Peer> = { torch: peer, jax };

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
  peers: Partial<Record<PeerName, () => Promise<Timing>>>;
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
  const { evalSet } = makeSplits(config);
  const ctx: TrainCtx = { preset, config, state: initTrainState(config), mask: decayMask(modelShape(config)), evalSet };
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
    const data = makeSplits(config);
    const theta = seg.state.params;
    const dirs = Array.from({ length: m }, (_, j) => unitDirection(theta.length, config.seed, 200 + j));
    deriv = {
      config,
      model: makeTokenLossModel(modelShape(config), encodeSequences(data.evalExamples), encodeSequences(data.hessianExamples)),
      hessBatch: encodeBatch(ARITHMETIC_SHAPE, encodeSequences(data.hessianExamples)),
      theta,
      dirs,
      calls: 0,
    };
    derivData = { theta, hessianExamples: data.hessianExamples, evalExamples: data.evalExamples, dirs };
  }
  await loadShape(peer, dir, { name: preset, config, theta: ctx.state.params, batches, deriv: derivData });
  if (derivData) await loadShape(jax, dir, { name: preset, config, theta: ctx.state.params, batches, deriv: derivData });

  // Agreement on the same θ, computed by the real functions.
  const b0 = encodeBatch(ARITHMETIC_SHAPE, encodeSequences(batches[0]));
  const lg = lossAndGrad(modelShape(config), ctx.state.params, b0);
  disposeBatch(b0);
  const one = cloneState(ctx.state);
  adamwStep(config.train, one, lg.grad, ctx.mask, learningRate(config.train, 0));
  const side: PolcaSide = { loss: lg.loss, grad: lg.grad, theta1: one.params };
  if (deriv) {
    const dv = deriv;
    side.hvp = Object.fromEntries(Object.entries(HVP_METHODS).map(([k, f]) => [k, f(dv, dv.dirs[0])]));
    side.d12 = Object.fromEntries(Object.entries(D12_METHODS).map(([k, f]) => [k, f(dv)]));
    side.hessLoss = dv.model.hessianLossGrad(dv.theta).loss;
  }
  const a = await compareWithPeer(peer, preset, dir, learningRate(config.train, 0), side);
  if (deriv) await compareJax(jax, preset, dir, side, a);
  agreements.push({ shape: preset, a });
  console.log(
    `${preset}: loss polca ${a.polcaLoss.toFixed(6)} torch ${a.torchLoss.toFixed(6)} (|Δ| ${a.lossDiff.toExponential(2)}), gradient max|Δ|/max|g| ${a.gradRel.toExponential(2)}, one AdamW step max|Δθ|/lr ${a.stepRel.toExponential(2)}`,
  );
  if (!(a.lossDiff <= LOSS_TOL)) throw new Error(`${preset}: polca and PyTorch losses differ by ${a.lossDiff} > ${LOSS_TOL} on the same θ`);
  if (!(a.gradRel <= GRAD_TOL)) throw new Error(`${preset}: polca and PyTorch gradients differ by ${a.gradRel} (relative) > ${GRAD_TOL}`);

  const mc = modelShape(config);
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
    peers: { torch: () => peer.time(preset, 'train', minMs, warmup) },
    units: { count: 1, name: 'it' },
  });
  if (deriv) {
    const dv = deriv;
    const peerOps = (kind: 'hvp' | 'd12', method: string, table: Record<PeerName, string[]>) =>
      Object.fromEntries(
        PEER_NAMES.filter((p) => table[p].includes(method)).map((p) => [
          p,
          () => PEERS[p].time(preset, `${kind}-${method}`, minMs, warmup),
        ]),
      );
    for (const method of Object.keys(HVP_METHODS)) {
      const f = HVP_METHODS[method];
      ops.push({
        op: `hvp/${method}`,
        what: `HVP, ${HVP_LABELS[method] ?? method}, \`${preset}\``,
        polca: () => timePolca(() => f(dv, nextDir(dv))),
        peers: peerOps('hvp', method, PEER_HVP),
        units: { count: 1, name: 'HVP' },
      });
    }
    for (const method of Object.keys(D12_METHODS)) {
      const f = D12_METHODS[method];
      ops.push({
        op: `d12/${method}`,
        what: `per-token d1, d2, ${method === 'fd' ? 'finite differences' : 'exact'}, \`${preset}\``,
        polca: () => timePolca(() => f(dv)),
        peers: peerOps('d12', method, PEER_D12),
        units: { count: m * dv.model.numTokens, name: 'token×vector' },
      });
    }
  }
  const bb = encodeBatch(ARITHMETIC_SHAPE, encodeSequences(batches[0]));
  for (const [part, f] of Object.entries(TRAIN_PARTS)) {
    const pop = PEER_PARTS[part];
    ops.push({
      op: `${preset} ${part}`,
      what: `\`${preset}\` ${part}`,
      polca: () => timePolca(() => f(ctx, bb)),
      peers: pop ? { torch: () => peer.time(preset, pop, minMs, warmup) } : {},
      part: true,
    });
  }
}

// ---- the rounds --------------------------------------------------------------------------------

type Side = 'polca' | PeerName;
const SIDES: Side[] = ['polca', ...PEER_NAMES];
const times = new Map<string, Record<Side, { ms: number[]; first: number[] }>>();
const noTimes = () => ({ ms: [] as number[], first: [] as number[] });
for (const o of ops) times.set(o.op, { polca: noTimes(), torch: noTimes(), jax: noTimes() });
// warm-up: every op once on each side (JIT and XLA compilation, kernel caches, allocator)
for (const o of ops) {
  o.polca?.();
  for (const p of PEER_NAMES) await o.peers[p]?.();
}
const t0 = performance.now();
for (let r = 0; r < rounds; r++) {
  for (const o of ops) {
    const t = times.get(o.op)!;
    if (o.polca) {
      const { ms, firstMs } = o.polca();
      t.polca.ms.push(ms);
      t.polca.first.push(firstMs);
    }
    for (const p of PEER_NAMES) {
      const f = o.peers[p];
      if (!f) continue;
      const { ms, firstMs } = await f();
      t[p].ms.push(ms);
      t[p].first.push(firstMs);
    }
  }
  console.log(`round ${r + 1}/${rounds} done (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}

// polca's kernel profile of one forward+backward pass at each training shape
const profiles: { preset: string; total: number; top: { kernel: string; calls: number; ms: number }[] }[] = [];
for (const c of trainCtxs) {
  const b = encodeBatch(ARITHMETIC_SHAPE, encodeSequences(trainBatch(c.config.seed, 0, c.config.train.batchSize, c.evalSet)));
  const prof = await tf.profile(() => {
    lossAndGrad(modelShape(c.config), c.state.params, b);
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
await jax.close();
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
  `Machine: ${cpu}, ${cpus().length} cores; load average (1, 5, 15 min) at the start ${loadStart.join(', ')}, at the end ${load.join(', ')}; ${date}. Node ${process.version}, TF.js ${tf.version.tfjs} backend **${backend}** on ${polcaThreads} thread(s); PyTorch ${peer.hello.torch} (CPU, eager) and JAX ${jax.hello.jax} (CPU, jit), Python ${peer.hello.python}, on **N = ${peer.hello.threads}** thread(s)${venvGiB ? ` (their environment: ${(venvGiB / 2 ** 30).toFixed(2)} GiB in ${peersVenvDir()})` : ''}.`,
);
lines.push('');
lines.push(`Shapes: ${shapeLines.join('. ')}.`);
lines.push('');
lines.push(
  `${rounds} rounds, each timing every operation on polca, then on PyTorch, then on JAX (each side makes ${warmup} untimed warm-up call(s), then repeats the operation for at least ${minMs} ms and reports the mean per call); medians over rounds. Ratio = polca ÷ peer time (above 1: polca slower), of the medians and (in brackets) the median of the per-round ratios; throughput ratio = its inverse. "First call": the warm-up call's time, the first after the other operations of the round. JAX times the exact derivatives only.`,
);
lines.push('');
lines.push(
  '| operation | polca ms | PyTorch ms | JAX ms | polca ÷ PyTorch | polca ÷ JAX | polca throughput | PyTorch throughput | JAX throughput | first call: polca / PyTorch / JAX ms |',
);
lines.push('|---|---|---|---|---|---|---|---|---|---|');
const ratioRows: string[] = [];
const fmtRatio = (r: number) => (Number.isNaN(r) ? '—' : `${r.toFixed(2)}x`);
/** polca ÷ peer of the medians and the median of the per-round ratios (NaN where a side is missing). */
const ratios = (t: Record<Side, { ms: number[] }>, p: PeerName) => ({
  medians: median(t.polca.ms) / median(t[p].ms),
  perRound: t.polca.ms.length && t[p].ms.length ? median(t.polca.ms.map((x, i) => x / t[p].ms[i])) : Number.NaN,
});
for (const o of ops.filter((x) => !x.part)) {
  const t = times.get(o.op)!;
  const ms = Object.fromEntries(SIDES.map((s) => [s, median(t[s].ms)])) as Record<Side, number>;
  const first = SIDES.map((s) => fmtMs(median(t[s].first))).join(' / ');
  const r = Object.fromEntries(PEER_NAMES.map((p) => [p, ratios(t, p)])) as Record<PeerName, ReturnType<typeof ratios>>;
  const cell = (p: PeerName) => (Number.isNaN(r[p].medians) ? '—' : `${fmtRatio(r[p].medians)} (${fmtRatio(r[p].perRound)})`);
  lines.push(
    `| ${o.what} | ${fmtMs(ms.polca)} | ${fmtMs(ms.torch)} | ${fmtMs(ms.jax)} | ${cell('torch')} | ${cell('jax')} | ${rate(ms.polca, o.units)} | ${rate(ms.torch, o.units)} | ${rate(ms.jax, o.units)} | ${first} |`,
  );
  ratioRows.push(
    `${o.op.padEnd(14)} polca ${fmtMs(ms.polca).padStart(8)} ms   torch ${fmtMs(ms.torch).padStart(8)} ms (${fmtRatio(r.torch.medians)})   jax ${fmtMs(ms.jax).padStart(8)} ms (${fmtRatio(r.jax.medians)})`,
  );
}
// Like with like, as throughput ratios (polca's throughput ÷ the peer's = peer time ÷ polca time).
const like: string[] = [];
for (const [op, what] of [
  ['hvp/warm', 'exact HVPs at a θ seen before (warm against warm)'],
  ['hvp/cold', 'exact HVPs, the whole pass (cold against cold)'],
  ['d12/exact', 'exact per-token d1/d2'],
] as const) {
  const t = times.get(op);
  if (!t) continue;
  const parts = PEER_NAMES.filter((p) => t[p].ms.length).map((p) => `${(1 / ratios(t, p).medians).toFixed(2)}x ${PEER_LABEL[p]}'s`);
  if (parts.length) like.push(`${what}: polca's throughput ${parts.join(', ')}`);
}
if (like.length) {
  lines.push('');
  lines.push(`Like with like: ${like.join('; ')}.`);
}
lines.push('');
lines.push("Where the time of a training iteration goes (same rounds; polca's parts run on batch 0 without advancing the state):");
lines.push('');
lines.push('| part | polca ms | PyTorch ms | ratio |');
lines.push('|---|---|---|---|');
for (const o of ops.filter((x) => x.part)) {
  const t = times.get(o.op)!;
  const p = median(t.polca.ms);
  const q = median(t.torch.ms);
  lines.push(`| ${o.what} | ${fmtMs(p)} | ${fmtMs(q)} | ${Number.isNaN(p / q) ? '—' : `${(p / q).toFixed(2)}x`} |`);
}
for (const pr of profiles) {
  lines.push('');
  lines.push(
    `polca kernels of one forward+backward pass, \`${pr.preset}\` (tf.profile, kernel sum ${pr.total.toFixed(1)} ms): ${pr.top.map((k) => `${k.kernel} ${k.ms.toFixed(1)} ms (${k.calls})`).join(', ')}.`,
  );
}
lines.push('');
lines.push("Agreement on the same θ (the PyTorch and JAX models load polca's flat θ):");
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
  if (a.jaxLossDiff !== undefined) s += ` Hessian-sample loss, polca − JAX: |Δ| ${a.jaxLossDiff.toExponential(1)}.`;
  lines.push(s);
}
const body = lines.join('\n');
console.log(`\n${body}\n`);
console.log(ratioRows.join('\n'));
writeSection(
  values.out!,
  `peers-${backend}-${polcaThreads}-${peer.hello.threads}`,
  `## ${backend} on ${polcaThreads} thread(s), PyTorch and JAX on ${peer.hello.threads} (bench/peers.ts)\n\n${body}\n`,
  '# polca against PyTorch and JAX (bench/peers.ts)',
);
console.log(`wrote ${values.out}`);
process.exit(0);
