/**
 * A decoder-only transformer as TransformerLens builds it: learned token and position
 * embeddings, pre-LayerNorm blocks (causal multi-head attention, GELU MLP), a final LayerNorm
 * and an unembedding. All functions take the *flat* parameter vector θ (one Float32Array or a
 * 1-D tensor) in the order of `paramLayout`, so the Hessian basis and POLCA work on it directly.
 *
 * Flat layout (stable; offsets in `paramLayout`):
 *   embed.W_E [V, D], pos_embed.W_pos [L, D],
 *   for each layer l: blocks.l.ln1.w [D], blocks.l.ln1.b [D],
 *     blocks.l.attn.W_QKV [D, 3D] (columns: Q heads, then K heads, then V heads; head h uses
 *     columns h·dHead … (h+1)·dHead − 1 of its third), blocks.l.attn.b_QKV [3D],
 *     blocks.l.attn.W_O [D, D], blocks.l.attn.b_O [D], blocks.l.ln2.w [D], blocks.l.ln2.b [D],
 *     blocks.l.mlp.W_in [D, M], blocks.l.mlp.b_in [M], blocks.l.mlp.W_out [M, D], blocks.l.mlp.b_out [D],
 *   ln_final.w [D], ln_final.b [D], unembed.W_U [D, V], unembed.b_U [V].
 * Matrices are row-major and multiply activations on the right (x·W), as in TransformerLens.
 *
 * GELU is the tanh approximation ("gelu_new" in TransformerLens), evaluated as x·σ(2u). LayerNorm eps = 1e-5.
 * V (vocabulary), L (context) and T (evaluated positions, the last T of L) are the task's
 * (core/tasks/task.ts), carried by the model shape `m` (core/data.ts `modelShape`). Only the T
 * evaluated positions reach the loss, so the last block computes keys and values at every
 * position but everything else only at those (`queryPositions`): the same logits, less work.
 * Initialisation: weights N(0, 0.02²) (TransformerLens' init_range), biases 0, LayerNorm scales 1.
 *
 * An imported architecture (core/model/layout.ts `Architecture`, the shape's `arch`; absent for polca's
 * own model) changes only what it names: GPT-2 ties the unembedding to W_E (logits = h·W_Eᵀ, no
 * bias); GPT-NeoX has no W_pos but rotates the first r = rotaryDims dimensions of every head's
 * query and key at position p (rotary embedding, HF's rotate-half form):
 *   rot(x)_i = x_i·cos(p·ω_i) − x_{i+r/2}·sin(p·ω_i),  rot(x)_{i+r/2} = x_{i+r/2}·cos(p·ω_i) + x_i·sin(p·ω_i),
 *   ω_i = base^{−2i/r} for i < r/2, dimensions ≥ r unchanged; written rot(x) = x⊙C + (x·R)⊙S with
 *   constant C, S [L, dHead] and the signed permutation R [dHead, dHead], a linear map;
 * a parallel residual x + attn(ln1(x)) + mlp(ln2(x)); the exact GELU x·Φ(x); an untied unembedding
 * without bias; and its own LayerNorm ε.
 */
import * as tf from '@tensorflow/tfjs';
import { type Architecture, type ModelShape, numParams, paramLayout } from './layout.ts';
import { checkSequences, type Sequences, type SequenceShape } from '../tasks/task.ts';
import * as D from './dual.ts';
import type { Dual } from './dual.ts';
import { normal, STREAMS } from '../rng.ts';

/** The model settings with the task's sequence shape (V, L, T). */
export type ModelConfig = ModelShape;

export const LN_EPS = 1e-5;
const INIT_STD = 0.02;

export { numParams, paramLayout } from './layout.ts';

/** Which parameters AdamW decays: matrices (embeddings, weights), not biases or LayerNorm. */
export function decayMask(m: ModelConfig): Float32Array {
  const mask = new Float32Array(numParams(m));
  for (const e of paramLayout(m)) if (e.shape.length === 2) mask.fill(1, e.offset, e.offset + e.size);
  return mask;
}

export function initParams(m: ModelConfig, seed: number): Float32Array {
  const theta = new Float32Array(numParams(m));
  for (const e of paramLayout(m)) {
    const isLnScale = /\.ln\d?\.w$|ln_final\.w$/.test(e.name);
    if (isLnScale) theta.fill(1, e.offset, e.offset + e.size);
    else if (e.shape.length === 2) {
      for (let i = 0; i < e.size; i++) theta[e.offset + i] = INIT_STD * normal(seed, STREAMS.init, e.offset + i);
    }
  }
  return theta;
}

/** LayerNorm's saved state: x̂ = (x − μ)·r and r = (σ² + eps)^{-1/2}, per row. */
export interface LnSaved {
  xhat: Dual;
  r: Dual;
}

/** The LayerNorm ε of a model: its architecture's, else polca's 1e-5. */
export const lnEps = (m: Pick<ModelConfig, 'arch'>): number => m.arch?.lnEps ?? LN_EPS;

/** y = x̂·w + b over the last axis. */
function layerNorm(x: Dual, w: Dual, b: Dual, eps: number): { y: Dual; saved: LnSaved } {
  const c = D.sub(x, D.meanLast(x));
  const r = D.rsqrt(D.affineScalar(D.meanLast(D.mul(c, c)), 1, eps));
  const xhat = D.mul(c, r);
  return { y: D.add(D.mul(xhat, w), b), saved: { xhat, r } };
}

/** gelu_new's constants: u = GELU_C·(x + GELU_K·x³). */
export const GELU_C = Math.sqrt(2 / Math.PI);
export const GELU_K = 0.044715;
/**
 * gelu_new, 0.5·x·(1 + tanh(u)) with u = √(2/π)(x + 0.044715x³), computed as x·σ(2u) (the same
 * function: 0.5(1 + tanh(u)) = σ(2u)). The wasm backend's Sigmoid is vectorised (XNNPACK) and its
 * Tanh is not: 0.5 ms against 6.5 ms on a [1408, 256] activation. Returns σ(2u) too (the
 * derivative needs it).
 */
function gelu(x: Dual, activation: Architecture['activation'] = 'gelu_tanh'): { y: Dual; s: Dual } {
  // The exact GELU x·Φ(x) (GPT-NeoX's "gelu"), with s = Φ(x).
  if (activation === 'gelu_erf') {
    const phi = D.normalCdf(x);
    return { y: D.mul(x, phi), s: phi };
  }
  const s = D.sigmoid(D.affineScalar(D.add(x, D.affineScalar(D.mul(D.mul(x, x), x), GELU_K)), 2 * GELU_C));
  return { y: D.mul(x, s), s };
}

/**
 * The rotary embedding's constants for positions 0 … L − 1 (see the header): C and S [L, dHead]
 * (cos and sin of p·ω on the first r dimensions; 1 and 0 on the others) and R [dHead, dHead]
 * (x·R = HF's rotate_half on the first r dimensions, 0 on the others), computed in float64.
 */
export function rotaryTables(
  L: number,
  dHead: number,
  r: number,
  base: number,
): { cos: Float32Array; sin: Float32Array; rot: Float32Array } {
  if (r % 2 !== 0 || r > dHead || r < 2) throw new Error(`rotary dimensions must be even and within 2 … ${dHead}; got ${r}`);
  const h = r / 2;
  const cos = new Float32Array(L * dHead).fill(1);
  const sin = new Float32Array(L * dHead);
  for (let p = 0; p < L; p++)
    for (let i = 0; i < r; i++) {
      const angle = p * base ** (-(2 * (i % h)) / r);
      cos[p * dHead + i] = Math.cos(angle);
      sin[p * dHead + i] = Math.sin(angle);
    }
  const rot = new Float32Array(dHead * dHead);
  for (let i = 0; i < h; i++) {
    rot[(i + h) * dHead + i] = -1;
    rot[i * dHead + i + h] = 1;
  }
  return { cos, sin, rot };
}

/** The rotary constants of a model as tensors (C and S at all L positions), or null without rotary. */
export function rotaryTensors(m: ModelConfig): { cos: tf.Tensor2D; sin: tf.Tensor2D; rot: tf.Tensor2D } | null {
  const a = m.arch;
  if (a?.positions !== 'rotary') return null;
  const dh = m.dModel / m.nHeads;
  const t = rotaryTables(m.contextLength, dh, a.rotaryDims, a.rotaryBase);
  return {
    cos: tf.tensor2d(t.cos, [m.contextLength, dh]),
    sin: tf.tensor2d(t.sin, [m.contextLength, dh]),
    rot: tf.tensor2d(t.rot, [dh, dh]),
  };
}

/**
 * rot(x) = x⊙C + (x·R)⊙S for x [B, q, dHead] at positions L − q … L − 1, or, with `adjoint`, its
 * transpose g⊙C + (g⊙S)·Rᵀ (the reverse pass).
 */
export function rotary(x: Dual, rt: { cos: tf.Tensor2D; sin: tf.Tensor2D; rot: tf.Tensor2D }, adjoint = false): Dual {
  const [B, q, dh] = x.v.shape as number[];
  const L = rt.cos.shape[0];
  const c = D.constant(q === L ? rt.cos : rt.cos.slice([L - q, 0], [q, dh]));
  const s = D.constant(q === L ? rt.sin : rt.sin.slice([L - q, 0], [q, dh]));
  const rot = D.constant(rt.rot);
  const turn = (y: Dual) => D.reshape(D.matMul(D.reshape(y, [B * q, dh]), rot, false, adjoint), [B, q, dh]);
  return adjoint ? D.add(D.mul(x, c), turn(D.mul(x, s))) : D.add(D.mul(x, c), D.mul(turn(x), s));
}

/**
 * Causal mask added to attention scores of the last `rows` query positions of L: 0 where the key
 * position is at or before the query's, −1e9 after it.
 */
export function causalMask(L: number, rows = L): tf.Tensor2D {
  const m = new Float32Array(rows * L);
  for (let i = 0; i < rows; i++) for (let j = L - rows + i + 1; j < L; j++) m[i * L + j] = -1e9;
  return tf.tensor2d(m, [rows, L]);
}

/**
 * Query positions each block computes: all L, except in the last block, where only the T
 * evaluated positions (the last T; arithmetic: the 4 output digits) reach the unembedding. The last block
 * still computes keys and values at every position, but its queries, attention output, W_O, MLP
 * and residual stream only at those positions: for arithmetic 24 % fewer multiply-adds per example
 * (`small` and `paper` alike), and the same logits (each row of every operation is computed as
 * before). A task that evaluates every position (T = L) computes all of them everywhere.
 */
export function queryPositions(m: Pick<ModelConfig, 'nLayers' | 'contextLength' | 'outputsPerSequence'>, layer: number): number {
  return layer === m.nLayers - 1 ? m.outputsPerSequence : m.contextLength;
}

/** Rows of a [n·L, D] activation at the last `q` positions of each example, [n·q, D]. */
export function lastPositions<X>(x: X, n: number, L: number, q: number, D: number, ops: PositionOps<X>): X {
  return q === L ? x : ops.reshape(ops.slice(ops.reshape(x, [n, L, D]), [0, L - q, 0], [n, q, D]), [n * q, D]);
}

/** The reshape and slice of the value type a pass is written on (duals here, jets in core/model/jet.ts). */
export interface PositionOps<X> {
  reshape(x: X, shape: number[]): X;
  slice(x: X, begin: number[], size: number[]): X;
}

/** Inputs prepared once for a fixed set of sequences. */
export interface EncodedBatch {
  n: number;
  /** The sequence shape the batch was encoded for. */
  shape: SequenceShape;
  /** One-hot inputs [n·L, V] (an embedding lookup as a matmul: its gradient is a matmul too). */
  onehot: tf.Tensor2D;
  /** One-hot targets of the T evaluated tokens of each sequence [n·T, V]. */
  targets: tf.Tensor2D;
  /** Target token ids [n·T]. */
  targetIds: Int32Array;
}

/** One-hot tensors of encoded sequences (core/tasks/task.ts) for a sequence shape. */
export function encodeBatch(shape: SequenceShape, seqs: Sequences): EncodedBatch {
  checkSequences(shape, seqs);
  const V = shape.vocabSize;
  const s: SequenceShape = { vocabSize: V, contextLength: shape.contextLength, outputsPerSequence: shape.outputsPerSequence };
  const [onehot, targetsOneHot] = tf.tidy(() => [
    tf.oneHot(tf.tensor1d(seqs.inputs, 'int32'), V).toFloat() as tf.Tensor2D,
    tf.oneHot(tf.tensor1d(seqs.targets, 'int32'), V).toFloat() as tf.Tensor2D,
  ]);
  return { n: seqs.n, shape: s, onehot, targets: targetsOneHot, targetIds: seqs.targets };
}

/** Throws unless a batch was encoded for the model's sequence shape. */
export function checkBatchShape(m: SequenceShape, b: EncodedBatch): void {
  const s = b.shape;
  if (s.vocabSize !== m.vocabSize || s.contextLength !== m.contextLength || s.outputsPerSequence !== m.outputsPerSequence)
    throw new Error(
      `batch encoded for V=${s.vocabSize}, L=${s.contextLength}, T=${s.outputsPerSequence}; the model has V=${m.vocabSize}, L=${m.contextLength}, T=${m.outputsPerSequence}`,
    );
}

/**
 * Reads tensors made in a tidy scope into Float32Arrays and disposes them. Typed arrays are never
 * returned from tf.tidy itself: TF.js walks a returned object's every element looking for tensors,
 * which made a training step's gradient read-out (10⁵ floats) cost more than the step's matmuls.
 */
export function readTidy(f: () => tf.Tensor[]): Float32Array[] {
  const ts = tf.tidy(f);
  try {
    return ts.map((t) => Float32Array.from(t.dataSync() as Float32Array));
  } finally {
    tf.dispose(ts);
  }
}

/** Sequences [start, start + count) of a batch, as a batch of their own (new tensors). */
export function sliceBatch(b: EncodedBatch, start: number, count: number): EncodedBatch {
  const { vocabSize: V, contextLength: L, outputsPerSequence: t } = b.shape;
  const [onehot, targets] = tf.tidy(() => [
    b.onehot.slice([start * L, 0], [count * L, V]),
    b.targets.slice([start * t, 0], [count * t, V]),
  ]);
  return { n: count, shape: b.shape, onehot, targets, targetIds: b.targetIds.slice(start * t, (start + count) * t) };
}

export function disposeBatch(b: EncodedBatch): void {
  b.onehot.dispose();
  b.targets.dispose();
}

/**
 * The parameter tensors of a flat vector, in layout order and shaped. From a Float32Array each is
 * made directly from its slice (copied into the backend when first used); from a tensor by one split
 * and reshapes, kernels that cost more (on the tensorflow backend a split of `paper`'s 6.3 M
 * parameters took 114 ms).
 */
export function paramTensors(m: ModelConfig, theta: Float32Array | tf.Tensor1D): tf.Tensor[] {
  const layout = paramLayout(m);
  if (theta instanceof Float32Array) return layout.map((e) => tf.tensor(theta.subarray(e.offset, e.offset + e.size), e.shape));
  const parts = tf.split(
    theta,
    layout.map((e) => e.size),
  );
  return layout.map((e, i) => (e.shape.length === 1 ? parts[i] : parts[i].reshape(e.shape)));
}

/** Parameters as duals by name, from θ's parameter tensors and (optionally) a tangent u's (`paramTensors`). */
export function paramDuals(m: ModelConfig, vs: tf.Tensor[], ts: tf.Tensor[] | null = null): Record<string, Dual> {
  const P: Record<string, Dual> = {};
  paramLayout(m).forEach((e, i) => {
    P[e.name] = { v: vs[i], t: ts ? ts[i] : null };
  });
  return P;
}

/** What one block's forward pass keeps for the reverse pass (core/model/backward.ts). */
export interface BlockSaved {
  ln1: LnSaved;
  h1: Dual;
  /** Q, K, V of all heads, each [H·n, L, dHead] (Q: [H·n, Lq, dHead] at the query positions). */
  q: Dual;
  k: Dual;
  v: Dual;
  /** Attention probabilities [H·n, Lq, L]. */
  att: Dual;
  /** Heads merged, the input of W_O [n·Lq, D]. */
  z: Dual;
  ln2: LnSaved;
  h2: Dual;
  /** MLP pre-activation [n·L, dMlp] and its σ(2u). */
  pre: Dual;
  s: Dual;
  /** GELU output, the input of W_out. */
  hid: Dual;
}

export interface ForwardResult {
  /** Logits of the T evaluated tokens of each sequence, [n·T, V]. */
  logits: Dual;
  blocks: BlockSaved[];
  lnFinal: LnSaved;
  /** Final LayerNorm output at the evaluated positions, the input of W_U [n·T, D]. */
  hf: Dual;
}

/** Logits from the final LayerNorm's output h: h·W_U + b_U, h·W_U, or h·W_Eᵀ (tied). */
function unembed(m: ModelConfig, P: Record<string, Dual>, hf: Dual): Dual {
  const kind = m.arch?.unembed ?? 'untied-bias';
  if (kind === 'tied') return D.matMul(hf, P['embed.W_E'], false, true);
  if (kind === 'untied') return D.matMul(hf, P['unembed.W_U']);
  return D.affine(hf, P['unembed.W_U'], P['unembed.b_U']);
}

/**
 * The forward pass on duals (core/model/dual.ts): with tangents, every activation's derivative along
 * θ's tangent comes with it. Keeps what the reverse pass needs.
 */
export function forward(m: ModelConfig, P: Record<string, Dual>, batch: EncodedBatch): ForwardResult {
  checkBatchShape(m, batch);
  const { n } = batch;
  const L = m.contextLength;
  const Dm = m.dModel;
  const H = m.nHeads;
  const dh = Dm / H;
  const eps = lnEps(m);
  const arch = m.arch;
  const rt = rotaryTensors(m);
  const embedded = D.matMul(D.constant(batch.onehot), P['embed.W_E']);
  let x = rt ? embedded : D.reshape(D.add(D.reshape(embedded, [n, L, Dm]), P['pos_embed.W_pos']), [n * L, Dm]);
  const blocks: BlockSaved[] = [];
  for (let l = 0; l < m.nLayers; l++) {
    const p = `blocks.${l}`;
    const Lq = queryPositions(m, l);
    const mask = D.constant(causalMask(L, Lq));
    const { y: h1, saved: ln1 } = layerNorm(x, P[`${p}.ln1.w`], P[`${p}.ln1.b`], eps);
    const qkv = D.affine(h1, P[`${p}.attn.W_QKV`], P[`${p}.attn.b_QKV`]);
    // All heads at once: [n·L, 3D] → [3H, n, L, dHead] by one transpose, then Q, K, V are
    // contiguous slices along the first axis and attention is one batched matmul over H·n.
    const hr = D.reshape(D.transpose(D.reshape(qkv, [n, L, 3 * H, dh]), [2, 0, 1, 3]), [3 * H * n, L, dh]);
    const q0 = D.slice(hr, [0, L - Lq, 0], [H * n, Lq, dh]);
    const k0 = D.slice(hr, [H * n, 0, 0], [H * n, L, dh]);
    const q = rt ? rotary(q0, rt) : q0;
    const k = rt ? rotary(k0, rt) : k0;
    const v = D.slice(hr, [2 * H * n, 0, 0], [H * n, L, dh]);
    const att = D.softmax(D.add(D.affineScalar(D.matMul(q, k, false, true), 1 / Math.sqrt(dh)), mask));
    const z = D.reshape(D.transpose(D.reshape(D.matMul(att, v), [H, n, Lq, dh]), [1, 2, 0, 3]), [n * Lq, Dm]);
    const xq = lastPositions(x, n, L, Lq, Dm, D);
    const attnOut = D.affine(z, P[`${p}.attn.W_O`], P[`${p}.attn.b_O`]);
    // Sequential: the MLP reads x + attn; parallel (GPT-NeoX): it reads the block's input.
    x = D.add(xq, attnOut);
    const { y: h2, saved: ln2 } = layerNorm(arch?.parallelResidual ? xq : x, P[`${p}.ln2.w`], P[`${p}.ln2.b`], eps);
    const pre = D.affine(h2, P[`${p}.mlp.W_in`], P[`${p}.mlp.b_in`]);
    const { y: hid, s } = gelu(pre, arch?.activation);
    x = D.add(x, D.affine(hid, P[`${p}.mlp.W_out`], P[`${p}.mlp.b_out`]));
    blocks.push({ ln1, h1, q, k, v, att, z, ln2, h2, pre, s, hid });
  }
  // Only the T evaluated positions (arithmetic: 7..10, the output digits) reach the unembedding
  // (the last block computed only those).
  const { y: hf, saved: lnFinal } = layerNorm(x, P['ln_final.w'], P['ln_final.b'], eps);
  return { logits: unembed(m, P, hf), blocks, lnFinal, hf };
}

/**
 * Logits of the T evaluated tokens of each sequence, [n·T, V], for parameters θ (flat, in layout order; a tensor when
 * a TF.js gradient is to be taken through it).
 */
export function outputLogits(m: ModelConfig, theta: Float32Array | tf.Tensor1D, batch: EncodedBatch): tf.Tensor2D {
  return forward(m, paramDuals(m, paramTensors(m, theta)), batch).logits.v as tf.Tensor2D;
}

/** Cross-entropy of every evaluated token, [n·T]. */
export function tokenLossTensor(m: ModelConfig, theta: Float32Array | tf.Tensor1D, batch: EncodedBatch): tf.Tensor1D {
  const logits = outputLogits(m, theta, batch);
  return tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), batch.targets), -1)) as tf.Tensor1D;
}

/** Mean cross-entropy over all output tokens of the batch. */
export function meanLossTensor(m: ModelConfig, theta: Float32Array | tf.Tensor1D, batch: EncodedBatch): tf.Scalar {
  return tf.mean(tokenLossTensor(m, theta, batch)) as tf.Scalar;
}

/** Per-token loss and correctness (argmax = target) at θ. */
export function evaluate(m: ModelConfig, theta: Float32Array, batch: EncodedBatch): { loss: Float32Array; correct: Uint8Array } {
  const [loss, pred] = readTidy(() => {
    const logits = outputLogits(m, theta, batch);
    return [tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), batch.targets), -1)), tf.argMax(logits, -1).toFloat()];
  });
  const correct = new Uint8Array(loss.length);
  for (let i = 0; i < loss.length; i++) correct[i] = pred[i] === batch.targetIds[i] ? 1 : 0;
  return { loss, correct };
}
