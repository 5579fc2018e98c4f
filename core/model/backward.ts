/**
 * The gradient of the mean token loss by a hand-written reverse pass over the forward pass of
 * core/model/model.ts, and the exact Hessian-vector product as its derivative (forward over reverse).
 *
 * L(θ) = (1/N) Σ_x ℓ_x, ℓ_x = logsumexp(z_x) − z_x,y over the N = n·T evaluated tokens (T per sequence, the task's; arithmetic: 4). Reverse pass
 * (ḡ denotes ∂L/∂g; row sums Σ_r run over the rows of an activation):
 *   logits z = h·W_U + b_U:       z̄ = (softmax(z) − onehot(y)) / N
 *   y = x·W + b:                  W̄ = xᵀȳ,  b̄ = Σ_r ȳ,  x̄ = ȳ·Wᵀ
 *   LayerNorm y = x̂·w + b:        w̄ = Σ_r ȳ⊙x̂,  b̄ = Σ_r ȳ,  x̄ = r⊙(g − mean(g) − x̂⊙mean(g⊙x̂)), g = ȳ⊙w
 *   GELU y = x·σ(2u):             x̄ = ȳ⊙(s + 2x·s(1 − s)·u'),  s = σ(2u),  u' = √(2/π)(1 + 3·0.044715x²)
 *   attention o = A·V, A = softmax(Q·Kᵀ/√d + mask):
 *                                 Ā = ō·Vᵀ,  V̄ = Aᵀ·ō,  S̄ = A⊙(Ā − Σ_j Ā⊙A)/√d,  Q̄ = S̄·K,  K̄ = S̄ᵀ·Q
 *   residual x + f(x):            x̄ accumulates both paths
 *   embeddings x = onehot·W_E + W_pos:  W̄_E = onehotᵀ·x̄,  W̄_pos = Σ_examples x̄
 *   last block (queries and residual at the output positions only, core/model/model.ts `queryPositions`):
 *                                 Q̄ and the residual's x̄ are zero at the other positions (padded)
 * Imported architectures (core/model/model.ts header):
 *   exact GELU y = x·Φ(x):        x̄ = ȳ⊙(Φ(x) + x·φ(x))
 *   rotary q' = q⊙C + (q·R)⊙S:    q̄ = q̄'⊙C + (q̄'⊙S)·Rᵀ (the same for k; Q̄ = S̄·K' and K̄ = S̄ᵀ·Q' use the rotated Q', K')
 *   parallel residual x + a(x) + f(x): the attention output's gradient is the block output's
 *                                 x̄ alone (sequential: x̄ plus the MLP branch's)
 *   tied unembedding z = h·W_Eᵀ:  W̄_E gains z̄ᵀ·h,  h̄ = z̄·W_E;  no bias: no b̄_U
 * Every line is written with the dual numbers of core/model/dual.ts. With no tangents it is the plain
 * gradient, a few hundred kernels with no autodiff tape (TF.js' tape adds identity, cast and
 * broadcast kernels to every op). With θ's tangent u, every quantity carries its derivative along u,
 * and the tangent of ∇L(θ) is ∇²L(θ)·u = H·u exactly: forward-mode differentiation of the reverse
 * pass (as torch.func.jvp over torch.func.grad), no second-order tape (TF.js' gradient of the
 * softmax gradient is wrong) and no finite difference.
 */
import * as tf from '@tensorflow/tfjs';
import * as D from './dual.ts';
import type { Dual } from './dual.ts';
import { VOCAB_PASS_FLOATS } from './jet.ts';
import { paramLayout } from './layout.ts';
import {
  disposeBatch,
  type EncodedBatch,
  forward,
  GELU_C,
  GELU_K,
  type LnSaved,
  type ModelConfig,
  paramDuals,
  paramTensors,
  queryPositions,
  rotary,
  rotaryTensors,
  sliceBatch,
} from './model.ts';

/** x [B, q, e] padded with `before` zero positions in front along axis 1 (x itself when 0). */
function padPositions(x: Dual, before: number): Dual {
  return before === 0
    ? x
    : D.pad(x, [
        [0, 0],
        [before, 0],
        [0, 0],
      ]);
}

/** Reverse of y = x̂·w + b. */
function layerNormBack(dy: Dual, saved: LnSaved, w: Dual): { dx: Dual; dw: Dual; db: Dual } {
  const { xhat, r } = saved;
  const g = D.mul(dy, w);
  const centred = D.sub(D.sub(g, D.meanLast(g)), D.mul(xhat, D.meanLast(D.mul(g, xhat))));
  return { dx: D.mul(r, centred), dw: D.sum(D.mul(dy, xhat), 0), db: D.sum(dy, 0) };
}

/** Reverse of y = x·W + b for a 2-D x. */
function affineBack(dy: Dual, x: Dual, w: Dual): { dx: Dual; dw: Dual; db: Dual } {
  return { dx: D.matMul(dy, w, false, true), dw: D.matMul(x, dy, true, false), db: D.sum(dy, 0) };
}

/**
 * GELU's derivative at x, given s: tanh form (s = σ(2u)) s + 2x·s(1 − s)·√(2/π)(1 + 3·0.044715x²);
 * exact form (s = Φ(x)) s + x·φ(x).
 */
function geluDerivative(x: Dual, s: Dual, exact: boolean): Dual {
  if (exact) return D.add(s, D.mul(x, D.normalPdf(x)));
  const du = D.affineScalar(D.mul(x, x), 3 * GELU_K * GELU_C, GELU_C);
  return D.add(s, D.affineScalar(D.mul(D.mul(x, D.mul(s, D.oneMinus(s))), du), 2));
}

export interface GradientResult {
  /** Mean token loss of the batch at θ. */
  loss: tf.Scalar;
  /** ∇L(θ) per parameter tensor in layout order; with a tangent u, their tangents are H·u. */
  grads: Dual[];
}

/**
 * Mean loss, gradient and (with u) Hessian-vector product of the mean token loss of `batch` at θ,
 * θ and u given as parameter tensors (core/model/model.ts `paramTensors`). Tensors; call inside tf.tidy.
 */
export function gradient(m: ModelConfig, theta: tf.Tensor[], u: tf.Tensor[] | null, batch: EncodedBatch): GradientResult {
  const P = paramDuals(m, theta, u);
  const fw = forward(m, P, batch);
  const { n } = batch;
  const L = m.contextLength;
  const T = m.outputsPerSequence;
  const Dm = m.dModel;
  const H = m.nHeads;
  const dh = Dm / H;
  const targets = D.constant(batch.targets);
  const loss = D.value(() => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(fw.logits.v), batch.targets), -1)))) as tf.Scalar;
  const G: Record<string, Dual> = {};

  const dz = D.affineScalar(D.sub(D.softmax(fw.logits), targets), 1 / (n * T));
  const arch = m.arch;
  const rt = rotaryTensors(m);
  let dh_f: Dual;
  if (arch?.unembed === 'tied') dh_f = D.matMul(dz, P['embed.W_E']);
  else {
    const unembed = affineBack(dz, fw.hf, P['unembed.W_U']);
    G['unembed.W_U'] = unembed.dw;
    if (arch?.unembed !== 'untied') G['unembed.b_U'] = unembed.db;
    dh_f = unembed.dx;
  }
  const fin = layerNormBack(dh_f, fw.lnFinal, P['ln_final.w']);
  G['ln_final.w'] = fin.dw;
  G['ln_final.b'] = fin.db;
  // The last block's residual stream holds only its query positions (the output positions).
  let dx = fin.dx;

  for (let l = m.nLayers - 1; l >= 0; l--) {
    const p = `blocks.${l}`;
    const b = fw.blocks[l];
    const Lq = queryPositions(m, l);
    const mlpOut = affineBack(dx, b.hid, P[`${p}.mlp.W_out`]);
    G[`${p}.mlp.W_out`] = mlpOut.dw;
    G[`${p}.mlp.b_out`] = mlpOut.db;
    const mlpIn = affineBack(D.mul(mlpOut.dx, geluDerivative(b.pre, b.s, arch?.activation === 'gelu_erf')), b.h2, P[`${p}.mlp.W_in`]);
    G[`${p}.mlp.W_in`] = mlpIn.dw;
    G[`${p}.mlp.b_in`] = mlpIn.db;
    const ln2 = layerNormBack(mlpIn.dx, b.ln2, P[`${p}.ln2.w`]);
    G[`${p}.ln2.w`] = ln2.dw;
    G[`${p}.ln2.b`] = ln2.db;
    // The residual stream below the MLP; the attention output's gradient is the block output's
    // alone when the residual is parallel.
    const dres = D.add(dx, ln2.dx);
    const proj = affineBack(arch?.parallelResidual ? dx : dres, b.z, P[`${p}.attn.W_O`]);
    dx = dres;
    G[`${p}.attn.W_O`] = proj.dw;
    G[`${p}.attn.b_O`] = proj.db;
    const dOut = D.reshape(D.transpose(D.reshape(proj.dx, [n, Lq, H, dh]), [2, 0, 1, 3]), [H * n, Lq, dh]);
    const dAtt = D.matMul(dOut, b.v, false, true);
    const dV = D.matMul(b.att, dOut, true, false);
    const dScores = D.affineScalar(D.mul(b.att, D.sub(dAtt, D.sum(D.mul(dAtt, b.att), -1, true))), 1 / Math.sqrt(dh));
    const dQr = D.matMul(dScores, b.k);
    const dKr = D.matMul(dScores, b.q, true, false);
    const dQ = padPositions(rt ? rotary(dQr, rt, true) : dQr, L - Lq);
    const dK = rt ? rotary(dKr, rt, true) : dKr;
    const dQkv = D.reshape(D.transpose(D.reshape(D.concat([dQ, dK, dV], 0), [3 * H, n, L, dh]), [1, 2, 0, 3]), [n * L, 3 * Dm]);
    const qkv = affineBack(dQkv, b.h1, P[`${p}.attn.W_QKV`]);
    G[`${p}.attn.W_QKV`] = qkv.dw;
    G[`${p}.attn.b_QKV`] = qkv.db;
    const ln1 = layerNormBack(qkv.dx, b.ln1, P[`${p}.ln1.w`]);
    G[`${p}.ln1.w`] = ln1.dw;
    G[`${p}.ln1.b`] = ln1.db;
    if (Lq < L) dx = D.reshape(padPositions(D.reshape(dx, [n, Lq, Dm]), L - Lq), [n * L, Dm]);
    dx = D.add(dx, ln1.dx);
  }
  if (!rt) G['pos_embed.W_pos'] = D.sum(D.reshape(dx, [n, L, Dm]), 0);
  const dE = D.matMul(D.constant(batch.onehot), dx, true, false);
  G['embed.W_E'] = arch?.unembed === 'tied' ? D.add(dE, D.matMul(dz, fw.hf, true, false)) : dE;
  return { loss, grads: paramLayout(m).map((e) => G[e.name]) };
}

/** Mean loss and its gradient (a flat Float32Array) at θ on a batch. */
export function lossAndGrad(m: ModelConfig, theta: Float32Array, batch: EncodedBatch): { loss: number; grad: Float32Array } {
  const ts = tf.tidy(() => {
    const r = gradient(m, paramTensors(m, theta), null, batch);
    return [r.loss, ...r.grads.map((g) => g.v)];
  });
  try {
    const grad = new Float32Array(theta.length);
    paramLayout(m).forEach((e, i) => {
      grad.set(ts[i + 1].dataSync() as Float32Array, e.offset);
    });
    return { loss: (ts[0].dataSync() as Float32Array)[0], grad };
  } finally {
    tf.dispose(ts);
  }
}

/**
 * The recorded values (core/model/dual.ts) of the passes at one θ, reused by later products at the same
 * θ so that those compute tangents only: a Lanczos run makes tens of products at one θ. Held up to
 * a budget (chunks past it are computed in full every time); dispose() releases them.
 */
export class HvpValueCache {
  private theta: Float32Array | null = null;
  private readonly chunks = new Map<number, tf.Tensor[]>();
  private bytes = 0;
  constructor(readonly budgetBytes = 2 ** 30) {}

  /** Forgets everything unless θ equals the θ of the recordings. */
  at(theta: Float32Array): void {
    const same = this.theta !== null && this.theta.length === theta.length && this.theta.every((x, i) => Object.is(x, theta[i]));
    if (!same) {
      this.dispose();
      this.theta = theta.slice();
    }
  }

  get(chunk: number): tf.Tensor[] | undefined {
    return this.chunks.get(chunk);
  }

  /** Whether a recording may be kept (the budget is not reached yet). */
  get open(): boolean {
    return this.bytes < this.budgetBytes;
  }

  put(chunk: number, values: tf.Tensor[]): void {
    this.chunks.set(chunk, values);
    for (const v of values) this.bytes += v.size * 4;
  }

  dispose(): void {
    for (const values of this.chunks.values()) tf.dispose(values);
    this.chunks.clear();
    this.bytes = 0;
    this.theta = null;
  }
}

/**
 * Exact H·v of the mean loss of `batch` at θ, float32. Chunks of at most `examplesPerPass`
 * examples, each weighted by its share of the batch, bound the memory. Default: 1024 examples at
 * `small`'s width (dModel + dMlp = 320; its whole Hessian sample of 256 in one pass), fewer in
 * proportion for wider models (`paper`: 128).
 */
export function hessianVectorProduct(
  m: ModelConfig,
  theta: Float32Array,
  v: ArrayLike<number>,
  batch: EncodedBatch,
  examplesPerPass?: number,
  cache?: HvpValueCache,
): Float32Array {
  // An imported model's vocabulary-sized logits ([e·T, V], with their tangents and softmax) bound
  // its default passes: e·T·V within VOCAB_PASS_FLOATS, as the jets'.
  const vocabCap = m.arch ? Math.max(1, Math.floor(VOCAB_PASS_FLOATS / (m.outputsPerSequence * m.vocabSize))) : Number.POSITIVE_INFINITY;
  const per = Math.max(1, examplesPerPass ?? Math.min(Math.round((1024 * 320) / (m.dModel + m.dMlp)), vocabCap));
  const out = new Float32Array(theta.length);
  cache?.at(theta);
  // θ and v go to the backend once, for every chunk.
  const th = paramTensors(m, theta);
  const u = paramTensors(m, Float32Array.from(v));
  try {
    for (let e0 = 0; e0 < batch.n; e0 += per) {
      const count = Math.min(per, batch.n - e0);
      const sub = count === batch.n ? batch : sliceBatch(batch, e0, count);
      try {
        const hv = tf.tidy(() => {
          const pass = () => gradient(m, th, u, sub).grads.map((g) => g.t as tf.Tensor);
          const recorded = cache?.get(e0);
          if (recorded) return D.replayValues(recorded, pass);
          if (!cache?.open) return pass();
          const { result, values } = D.recordValues(pass);
          cache.put(e0, values);
          return result;
        });
        try {
          paramLayout(m).forEach((e, i) => {
            const part = hv[i].dataSync() as Float32Array;
            if (count === batch.n) out.set(part, e.offset);
            else {
              const w = count / batch.n;
              for (let j = 0; j < e.size; j++) out[e.offset + j] += w * part[j];
            }
          });
        } finally {
          tf.dispose(hv);
        }
      } finally {
        if (sub !== batch) disposeBatch(sub);
      }
    }
  } finally {
    tf.dispose(th);
    tf.dispose(u);
  }
  return out;
}
