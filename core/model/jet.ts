/**
 * Exact directional derivatives of the transformer of core/model/model.ts by second-order forward-mode
 * ("jet", truncated Taylor) propagation. (Hessian-vector products: core/model/backward.ts.)
 *
 * Along a line θ(s) = θ + s·b every activation z becomes a jet (z, ż, z̈) = (z(0), z'(0), z''(0)).
 * Parameters are jets (θ, b, 0). The propagation rules (all elementwise unless stated):
 *   sum, affine maps          (x + y)˙ = ẋ + ẏ,  (x + y)¨ = ẍ + ÿ
 *   product / matmul          (xy)˙ = ẋy + xẏ,   (xy)¨ = ẍy + 2ẋẏ + xÿ   (the same with x·W)
 *   unary f                   f(x)˙ = f'(x)ẋ,    f(x)¨ = f''(x)ẋ² + f'(x)ẍ
 *     1/√u:  f' = −½u^{-3/2},  f'' = ¾u^{-5/2}
 *     σ(u):  f' = σ(1−σ),       f'' = σ(1−σ)(1−2σ)
 *   mean over an axis         linear: applied to each part
 *   LayerNorm                 composed: c = x − mean(x), v = mean(c²), y = c·(v + ε)^{-1/2}·w + b
 *   GELU (tanh form)          x·σ(2u), u = √(2/π)(x + 0.044715x³), as a unary f with f′, f″ written out
 *   GELU (exact, imported)    x·Φ(x): f′ = Φ + xφ,  f″ = φ·(2 − x²)
 *   rotary (imported)         x⊙C + (x·R)⊙S, linear with constants: applied to each part
 *   softmax p = softmax(z)    ṗ = p⊙(ż − ⟨p, ż⟩),
 *                             p̈ = ṗ⊙(ż − ⟨p, ż⟩) + p⊙(z̈ − ⟨ṗ, ż⟩ − ⟨p, z̈⟩)
 *     (the causal mask is a constant added to z: masked entries have p = 0 and drop out)
 *   cross-entropy ℓ = logsumexp(z) − z_y
 *                             ℓ˙ = ⟨p, ż⟩ − ż_y,
 *                             ℓ¨ = ⟨p, z̈⟩ − z̈_y + (⟨p, ż²⟩ − ⟨p, ż⟩²)   (the last term is Var_p(ż) ≥ 0)
 * One pass gives ℓ_x, d1 = dℓ_x/ds and d2 = d²ℓ_x/ds² at s = 0 for every token, exact up to
 * float32 rounding (no step size). K directions are propagated together: tangents carry a
 * leading axis of length K and share the value part.
 *
 * Everything is written with TF.js tensor ops, so it runs on every backend and stays
 * differentiable.
 */
import * as tf from '@tensorflow/tfjs';
import { paramLayout } from './layout.ts';
import { linear } from './matmul.ts';
import {
  causalMask,
  checkBatchShape,
  disposeBatch,
  type EncodedBatch,
  GELU_C,
  GELU_K,
  lastPositions,
  lnEps,
  type ModelConfig,
  type PositionOps,
  paramTensors,
  queryPositions,
  rotaryTensors,
  sliceBatch,
} from './model.ts';
import type { Derivatives } from '../types.ts';

/**
 * A jet: value v, first tangents a and second tangents b, each [K, ...v.shape]; null stands for
 * zero (constants have no tangents, parameters no second tangent, and a first-order pass carries
 * no second tangents at all).
 */
interface Jet {
  v: tf.Tensor;
  a: tf.Tensor | null;
  b: tf.Tensor | null;
}

/** State of one pass: number of directions and whether second tangents are propagated. */
interface Pass {
  K: number;
  second: boolean;
}

const plus = (x: tf.Tensor | null, y: tf.Tensor | null): tf.Tensor | null => (x === null ? y : y === null ? x : tf.add(x, y));
const times = (x: tf.Tensor | null, y: tf.Tensor | null): tf.Tensor | null => (x === null || y === null ? null : tf.mul(x, y));

/** A tangent [K, ...s] of a value of rank r, reshaped to broadcast against a value of rank `rank` ≥ r. */
function lift(t: tf.Tensor | null, rank: number): tf.Tensor | null {
  if (t === null || t.rank === rank + 1) return t;
  const shape = [t.shape[0], ...new Array<number>(rank + 1 - t.rank).fill(1), ...t.shape.slice(1)];
  return t.reshape(shape);
}

/**
 * tf.transpose, or a reshape when the permutation only moves axes of length 1 (with one direction,
 * K = 1, most tangent transposes are such): no copy, and no transpose kernel in the gradient.
 */
function permute(t: tf.Tensor, perm: number[]): tf.Tensor {
  const moved = perm.filter((a) => t.shape[a] !== 1);
  if (moved.every((a, i) => i === 0 || moved[i - 1] < a)) return t.reshape(perm.map((a) => t.shape[a]));
  return tf.transpose(t, perm);
}

/**
 * A sum's tangent at the sum's full shape [K, ...shape]: when only a broadcast operand (a bias,
 * the position embedding) has a tangent, it is broadcast out, as later reshapes expect.
 */
function fullTangent(t: tf.Tensor | null, K: number, shape: number[]): tf.Tensor | null {
  if (t === null || (t.shape.length === shape.length + 1 && t.shape.every((s, i) => s === (i === 0 ? K : shape[i - 1])))) return t;
  return tf.broadcastTo(t, [K, ...shape]);
}

function add(x: Jet, y: Jet): Jet {
  const r = Math.max(x.v.rank, y.v.rank);
  const v = tf.add(x.v, y.v);
  const K = (x.a ?? y.a ?? x.b ?? y.b)?.shape[0] ?? 0;
  const full = (t: tf.Tensor | null) => fullTangent(t, K, v.shape);
  return { v, a: full(plus(lift(x.a, r), lift(y.a, r))), b: full(plus(lift(x.b, r), lift(y.b, r))) };
}

function sub(x: Jet, y: Jet): Jet {
  const r = Math.max(x.v.rank, y.v.rank);
  const neg = (t: tf.Tensor | null) => (t === null ? null : tf.neg(t));
  const v = tf.sub(x.v, y.v);
  const K = (x.a ?? y.a ?? x.b ?? y.b)?.shape[0] ?? 0;
  const full = (t: tf.Tensor | null) => fullTangent(t, K, v.shape);
  return { v, a: full(plus(lift(x.a, r), neg(lift(y.a, r)))), b: full(plus(lift(x.b, r), neg(lift(y.b, r)))) };
}

function scale(x: Jet, c: number): Jet {
  return { v: tf.mul(x.v, c), a: x.a && tf.mul(x.a, c), b: x.b && tf.mul(x.b, c) };
}

/** Elementwise product (broadcasting): (xy)˙ = ẋy + xẏ, (xy)¨ = ẍy + 2ẋẏ + xÿ. */
function mul(P: Pass, x: Jet, y: Jet): Jet {
  const r = Math.max(x.v.rank, y.v.rank);
  const xa = lift(x.a, r);
  const ya = lift(y.a, r);
  const a = plus(times(xa, y.v), times(x.v, ya));
  const b = P.second ? plus(plus(times(lift(x.b, r), y.v), times(x.v, lift(y.b, r))), times(times(xa, ya), tf.scalar(2))) : null;
  return { v: tf.mul(x.v, y.v), a, b };
}

/** f(x) with f' = d1, f'' = d2 evaluated at x.v. */
function unary(P: Pass, x: Jet, value: tf.Tensor, d1: tf.Tensor, d2: () => tf.Tensor): Jet {
  const a = times(x.a, d1);
  const b = P.second ? plus(times(x.b, d1), x.a && tf.mul(tf.square(x.a), d2())) : null;
  return { v: value, a, b };
}

function meanLast(x: Jet): Jet {
  const m = (t: tf.Tensor | null) => t && tf.mean(t, -1, true);
  return { v: tf.mean(x.v, -1, true), a: m(x.a), b: m(x.b) };
}

function reshape(P: Pass, x: Jet, shape: number[]): Jet {
  const r = (t: tf.Tensor | null) => (t === null ? null : t.reshape([P.K, ...shape]));
  return { v: x.v.reshape(shape), a: r(x.a), b: r(x.b) };
}

function transpose(x: Jet, perm: number[]): Jet {
  const p = [0, ...perm.map((i) => i + 1)];
  const r = (t: tf.Tensor | null) => t && permute(t, p);
  return { v: tf.transpose(x.v, perm), a: r(x.a), b: r(x.b) };
}

function slice(P: Pass, x: Jet, begin: number[], size: number[]): Jet {
  const r = (t: tf.Tensor | null) => t && tf.slice(t, [0, ...begin], [P.K, ...size]);
  return { v: tf.slice(x.v, begin, size), a: r(x.a), b: r(x.b) };
}

/**
 * x·W (+ bias) for an activation jet x [N, D] and a parameter jet W [D, E] (no second tangent):
 *   (xW)˙ = ẋW + xẆ,  (xW)¨ = ẍW + 2ẋẆ.
 * Value-times-value products go through `linear` (the model's matmul with its fast gradient).
 */
function affine(P: Pass, x: Jet, w: Jet, bias?: Jet): Jet {
  const [N, D] = x.v.shape;
  const E = w.v.shape[1] as number;
  const K = P.K;
  const byW = (t: tf.Tensor | null) => t && linear(t.reshape([K * N, D]), w.v as tf.Tensor2D).reshape([K, N, E]);
  // x·Ẇ_k for every k as one product: x [N, D] × [D, K·E] → [N, K, E] → [K, N, E]
  const xWdot = w.a && permute(linear(x.v, permute(w.a, [1, 0, 2]).reshape([D, K * E])).reshape([N, K, E]), [1, 0, 2]);
  const a = plus(byW(x.a), xWdot);
  const b = P.second ? plus(byW(x.b), x.a && w.a ? tf.mul(tf.matMul(x.a as tf.Tensor3D, w.a as tf.Tensor3D), 2) : null) : null;
  const out: Jet = { v: linear(x.v, w.v), a, b };
  return bias ? add(out, bias) : out;
}

/**
 * Batched product of two activation jets, x [B, L, e] × y [B, L', e]ᵀ (transposeB) or × y [B, L', e'],
 * with the rules of `mul`. A value times K tangents is one product with K folded into a matrix
 * axis (no broadcasting over K: TF.js does not reduce the gradient of a broadcast matmul).
 */
function bmm(P: Pass, x: Jet, y: Jet, transposeB: boolean): Jet {
  const K = P.K;
  const [B, L] = x.v.shape as number[];
  const mm = (p: tf.Tensor, q: tf.Tensor) => tf.matMul(p as tf.Tensor3D, q as tf.Tensor3D, false, transposeB);
  /** tangent [K, B, r, c] of x times value of y → [K, B, L, ·] */
  const tanTimesVal = (t: tf.Tensor | null) => {
    if (t === null) return null;
    const e = t.shape[3] as number;
    const r = mm(permute(t, [1, 0, 2, 3]).reshape([B, K * L, e]), y.v);
    return permute(r.reshape([B, K, L, r.shape[2] as number]), [1, 0, 2, 3]);
  };
  /** value of x times tangent [K, B, r, c] of y → [K, B, L, ·] */
  const valTimesTan = (t: tf.Tensor | null) => {
    if (t === null) return null;
    const [, , r, c] = t.shape as number[];
    if (transposeB) {
      // x [B, L, e] × (t [B, K·L', e])ᵀ → [B, L, K·L'] → [K, B, L, L']
      const o = mm(x.v, permute(t, [1, 0, 2, 3]).reshape([B, K * r, c]));
      return permute(o.reshape([B, L, K, r]), [2, 0, 1, 3]);
    }
    // x [B, L, L'] × t [B, L', K·e'] → [B, L, K·e'] → [K, B, L, e']
    const o = mm(x.v, permute(t, [1, 2, 0, 3]).reshape([B, r, K * c]));
    return permute(o.reshape([B, L, K, c]), [2, 0, 1, 3]);
  };
  const tanTimesTan = (p: tf.Tensor | null, q: tf.Tensor | null) => {
    if (p === null || q === null) return null;
    const flat = (t: tf.Tensor) => t.reshape([K * B, t.shape[2] as number, t.shape[3] as number]);
    const o = mm(flat(p), flat(q));
    return o.reshape([K, B, L, o.shape[2] as number]);
  };
  const a = plus(tanTimesVal(x.a), valTimesTan(y.a));
  const b = P.second ? plus(plus(tanTimesVal(x.b), valTimesTan(y.b)), times(tanTimesTan(x.a, y.a), tf.scalar(2))) : null;
  return { v: mm(x.v, y.v), a, b };
}

/** ⟨p, t⟩ over the last axis, kept. */
const pdot = (p: tf.Tensor, t: tf.Tensor) => tf.sum(tf.mul(p, t), -1, true);

/** Softmax over the last axis of z + mask (mask constant). */
function softmax(P: Pass, z: Jet, mask: tf.Tensor): Jet {
  const p = tf.softmax(tf.add(z.v, mask));
  if (z.a === null) return { v: p, a: null, b: null };
  const c = tf.sub(z.a, pdot(p, z.a)); // ż − ⟨p, ż⟩
  const pa = tf.mul(p, c);
  let pb: tf.Tensor | null = null;
  if (P.second) {
    let inner = tf.neg(pdot(pa, z.a));
    if (z.b !== null) inner = tf.add(inner, tf.sub(z.b, pdot(p, z.b)));
    pb = tf.add(tf.mul(pa, c), tf.mul(p, inner));
  }
  return { v: p, a: pa, b: pb };
}

function layerNorm(P: Pass, x: Jet, w: Jet, b: Jet, eps: number): Jet {
  const c = sub(x, meanLast(x));
  const variance = meanLast(mul(P, c, c));
  const u = tf.add(variance.v, eps);
  const r = tf.rsqrt(u);
  const inv = unary(P, { v: u, a: variance.a, b: variance.b }, r, tf.mul(tf.div(r, u), -0.5), () => tf.mul(tf.div(r, tf.square(u)), 0.75));
  return add(mul(P, mul(P, c, inv), w), b);
}

/**
 * gelu_new as x·σ(2u), u = C(x + Kx³) (C = √(2/π), K = 0.044715), as in core/model/model.ts, through
 * the rule of `unary` with its derivatives at the value: with s = σ(2u), u' = C(1 + 3Kx²),
 * u'' = 6CKx,
 *   g' = s + 2x·u'·s(1 − s),   g'' = s(1 − s)·(4u' + 2x·u'' + 4x·u'²·(1 − 2s)).
 * g' and g'' are computed once on the value; each direction's tangents then take 5 elementwise
 * products and sums (composing x·x·x, σ and the product as jets took about 40).
 */
function gelu(P: Pass, x: Jet): Jet {
  const xv = x.v;
  const x2 = tf.square(xv);
  const s = tf.sigmoid(tf.mul(tf.add(xv, tf.mul(tf.mul(x2, xv), GELU_K)), 2 * GELU_C));
  const value = tf.mul(xv, s);
  if (x.a === null) return { v: value, a: null, b: null };
  const ss = tf.mul(s, tf.sub(1, s));
  const du = tf.mul(tf.add(tf.mul(x2, 3 * GELU_K), 1), GELU_C);
  const xdu = tf.mul(xv, du);
  const d1 = tf.add(s, tf.mul(tf.mul(xdu, ss), 2));
  const d2 = () => {
    const inner = tf.add(tf.add(tf.mul(du, 4), tf.mul(x2, 12 * GELU_C * GELU_K)), tf.mul(tf.mul(xdu, du), tf.sub(4, tf.mul(s, 8))));
    return tf.mul(ss, inner);
  };
  return unary(P, x, value, d1, d2);
}

/** The exact GELU x·Φ(x) with g′ = Φ + xφ and g″ = φ·(2 − x²), φ the standard normal density. */
function geluErf(P: Pass, x: Jet): Jet {
  const xv = x.v;
  const cdf = tf.mul(tf.add(tf.erf(tf.mul(xv, Math.SQRT1_2)), 1), 0.5);
  const value = tf.mul(xv, cdf);
  if (x.a === null) return { v: value, a: null, b: null };
  const pdf = tf.mul(tf.exp(tf.mul(tf.square(xv), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return unary(P, x, value, tf.add(cdf, tf.mul(xv, pdf)), () => tf.mul(pdf, tf.sub(2, tf.square(xv))));
}

/** The rotary map x⊙C + (x·R)⊙S (core/model.ts `rotary`) of x [B, q, dHead] at positions L − q … L − 1, on every part. */
function rotaryJet(x: Jet, rt: { cos: tf.Tensor2D; sin: tf.Tensor2D; rot: tf.Tensor2D }): Jet {
  const dh = x.v.shape[2] as number;
  const q = x.v.shape[1] as number;
  const L = rt.cos.shape[0];
  const c = q === L ? rt.cos : rt.cos.slice([L - q, 0], [q, dh]);
  const s = q === L ? rt.sin : rt.sin.slice([L - q, 0], [q, dh]);
  const f = (t: tf.Tensor | null) => t && tf.add(tf.mul(t, c), tf.mul(tf.matMul(t.reshape([-1, dh]), rt.rot).reshape(t.shape), s));
  return { v: f(x.v) as tf.Tensor, a: f(x.a), b: f(x.b) };
}

/**
 * Runs f in its own tidy scope and keeps only the jet it returns, so that a pass holds one
 * sub-layer's intermediates at a time (tensors the gradient tape needs are kept by TF.js itself).
 */
function scoped(f: () => Jet): Jet {
  const parts = tf.tidy(() => {
    const j = f();
    return [j.v, ...(j.a ? [j.a] : []), ...(j.b ? [j.b] : [])];
  });
  const hasA = parts.length > 1;
  return { v: parts[0], a: hasA ? parts[1] : null, b: parts.length > 2 ? parts[2] : null };
}

/**
 * The directions' tangents per parameter tensor, [K, ...shape] in layout order, made directly from
 * the flat vectors (no split or reshape kernels). A tensor whose tangent is zero in all K
 * directions gets null (a constant of the pass): sparse directions, such as one-hot ones, then
 * propagate tangents only from the first layer they touch. Directions that are zero everywhere
 * keep their (zero) tangents, so that the pass still has some.
 */
function directionTensors(m: ModelConfig, directions: ArrayLike<number>[]): (tf.Tensor | null)[] {
  const K = directions.length;
  const flats = paramLayout(m).map((e) => {
    const flat = new Float32Array(K * e.size);
    let nonzero = false;
    directions.forEach((dir, k) => {
      for (let j = 0; j < e.size; j++) {
        const v = dir[e.offset + j];
        flat[k * e.size + j] = v;
        if (v !== 0) nonzero = true;
      }
    });
    return { e, flat, nonzero };
  });
  const any = flats.some((f) => f.nonzero);
  return flats.map(({ e, flat, nonzero }) => (nonzero || !any ? tf.tensor(flat, [K, ...e.shape]) : null));
}

/** Parameter jets (θ, b, 0) by name from θ's tensors and the directions' tangents (layout order; null = zero). */
function paramJets(m: ModelConfig, theta: tf.Tensor[], dirs: (tf.Tensor | null)[]): Record<string, Jet> {
  const P: Record<string, Jet> = {};
  paramLayout(m).forEach((e, i) => {
    P[e.name] = { v: theta[i], a: dirs[i], b: null };
  });
  return P;
}

/** Logit jets of the T evaluated tokens of each sequence: value [n·T, V], tangents [K, n·T, V]. */
function logitJets(m: ModelConfig, P: Pass, theta: tf.Tensor[], dirs: (tf.Tensor | null)[], batch: EncodedBatch): Jet {
  checkBatchShape(m, batch);
  const W = paramJets(m, theta, dirs);
  const { n } = batch;
  const L = m.contextLength;
  const D = m.dModel;
  const H = m.nHeads;
  const dh = D / H;
  const eps = lnEps(m);
  const arch = m.arch;
  const rt = rotaryTensors(m);
  const onehot: Jet = { v: batch.onehot, a: null, b: null };
  let x = affine(P, onehot, W['embed.W_E']);
  if (!rt) x = reshape(P, add(reshape(P, x, [n, L, D]), W['pos_embed.W_pos']), [n * L, D]);
  const sc = 1 / Math.sqrt(dh);
  const ops: PositionOps<Jet> = { reshape: (t, shape) => reshape(P, t, shape), slice: (t, b, size) => slice(P, t, b, size) };
  for (let l = 0; l < m.nLayers; l++) {
    const p = `blocks.${l}`;
    const Lq = queryPositions(m, l);
    const x0 = x;
    x = scoped(() => {
      const mask = causalMask(L, Lq);
      const h1 = layerNorm(P, x0, W[`${p}.ln1.w`], W[`${p}.ln1.b`], eps);
      const qkv = affine(P, h1, W[`${p}.attn.W_QKV`], W[`${p}.attn.b_QKV`]);
      const hr = reshape(P, transpose(reshape(P, qkv, [n, L, 3 * H, dh]), [2, 0, 1, 3]), [3 * H * n, L, dh]);
      const q0 = slice(P, hr, [0, L - Lq, 0], [H * n, Lq, dh]);
      const k0 = slice(P, hr, [H * n, 0, 0], [H * n, L, dh]);
      const q = rt ? rotaryJet(q0, rt) : q0;
      const k = rt ? rotaryJet(k0, rt) : k0;
      const v = slice(P, hr, [2 * H * n, 0, 0], [H * n, L, dh]);
      const att = softmax(P, scale(bmm(P, q, k, true), sc), mask);
      const z = reshape(P, transpose(reshape(P, bmm(P, att, v, false), [H, n, Lq, dh]), [1, 2, 0, 3]), [n * Lq, D]);
      return add(lastPositions(x0, n, L, Lq, D, ops), affine(P, z, W[`${p}.attn.W_O`], W[`${p}.attn.b_O`]));
    });
    const x1 = x;
    x = scoped(() => {
      // Sequential: the MLP reads x + attn; parallel (GPT-NeoX): the block's input.
      const h2 = layerNorm(P, arch?.parallelResidual ? lastPositions(x0, n, L, Lq, D, ops) : x1, W[`${p}.ln2.w`], W[`${p}.ln2.b`], eps);
      const pre = affine(P, h2, W[`${p}.mlp.W_in`], W[`${p}.mlp.b_in`]);
      const hid = arch?.activation === 'gelu_erf' ? geluErf(P, pre) : gelu(P, pre);
      return add(x1, affine(P, hid, W[`${p}.mlp.W_out`], W[`${p}.mlp.b_out`]));
    });
  }
  // The last block computed only the output positions.
  const hf = layerNorm(P, x, W['ln_final.w'], W['ln_final.b'], eps);
  const kind = arch?.unembed ?? 'untied-bias';
  if (kind === 'tied') return affine(P, hf, transpose(W['embed.W_E'], [1, 0]));
  return affine(P, hf, W['unembed.W_U'], kind === 'untied-bias' ? W['unembed.b_U'] : undefined);
}

/**
 * Cross-entropy jets of every evaluated token: value [n·T], tangents [K, n·T]. Written on
 * δ = ż − ż_y (δ_y = 0) so that a confident token (p_y ≈ 1) loses nothing to cancellation:
 *   ℓ˙ = ⟨p, δ⟩,   ℓ¨ = ⟨p, z̈ − z̈_y⟩ + ⟨p, δ²⟩ − ⟨p, δ⟩²   (Var_p(ż) = Var_p(δ)).
 */
function tokenLossJets(P: Pass, z: Jet, targets: tf.Tensor2D): { loss: tf.Tensor1D; d1: tf.Tensor2D; d2: tf.Tensor2D | null } {
  const lsm = tf.logSoftmax(z.v as tf.Tensor2D);
  const loss = tf.neg(tf.sum(tf.mul(lsm, targets), -1)) as tf.Tensor1D;
  const p = tf.exp(lsm);
  const za = z.a as tf.Tensor;
  const delta = tf.sub(za, tf.sum(tf.mul(targets, za), -1, true));
  const d1 = tf.sum(tf.mul(p, delta), -1) as tf.Tensor2D;
  let d2: tf.Tensor2D | null = null;
  if (P.second) {
    const zb = z.b as tf.Tensor;
    const curvature = tf.sum(tf.mul(p, tf.sub(zb, tf.sum(tf.mul(targets, zb), -1, true))), -1);
    d2 = tf.add(curvature, tf.sub(tf.sum(tf.mul(p, tf.square(delta)), -1), tf.square(d1))) as tf.Tensor2D;
  }
  return { loss, d1, d2 };
}

/**
 * ℓ_x, d1 and d2 of every output token of `batch` at θ (its parameter tensors) along K directions
 * (their tangents per parameter tensor, [K, ...shape]): loss [n·T], d1 and d2 [K, n·T] (d2 null for
 * order 1). Tensors; call inside tf.tidy.
 */
export function tokenLossJetTensors(
  m: ModelConfig,
  theta: tf.Tensor[],
  dirs: (tf.Tensor | null)[],
  batch: EncodedBatch,
  order: 1 | 2 = 2,
): { loss: tf.Tensor1D; d1: tf.Tensor2D; d2: tf.Tensor2D | null } {
  const some = dirs.find((t) => t !== null);
  if (!some) throw new Error('tokenLossJetTensors: every parameter tensor has a null tangent; give at least one (zeros allowed)');
  const P: Pass = { K: some.shape[0], second: order === 2 };
  return tokenLossJets(P, logitJets(m, P, theta, dirs, batch), batch.targets);
}

export interface JetOptions {
  /**
   * Directions propagated together in one pass. Default by backend, as measured on `small` with
   * 10 directions (bench/results/polca.md): 1 / 2 / 4 / 10 per pass took 25.1 / 25.1 / 19.0 / 14.7 s
   * on tensorflow (default 10) and 71 / 138 / 145 / 161 s on wasm (default 1), both under load.
   */
  directionsPerPass?: number;
  /**
   * Examples per derivative pass: bounds the memory of one pass. Default: about 512 example-directions
   * per pass at `small`'s width (dModel + dMlp = 320), fewer in proportion for wider models. On
   * `small` with 10 directions per pass, 13 / 25 / 50 / 100 examples per pass took 7.7 / 6.1 / 4.5 /
   * 4.8 s for 500 examples and peaked at 111 / 198 / 380 / 744 MB (tensorflow backend, 2 cores,
   * load ~3): fewer, larger passes launch fewer kernels until memory traffic wins.
   */
  examplesPerPass?: number;
  /**
   * Examples per Hessian-vector-product pass (core/model/backward.ts `hessianVectorProduct`, which
   * states the default): fewer, larger passes launch fewer kernels; a pass holds about three
   * gradients' activations with their tangents.
   */
  hvpExamplesPerPass?: number;
}

/**
 * Logit-jet entries (directions × tokens × vocabulary) one default pass of an imported model may
 * hold: 2²² floats, 16 MiB per vocabulary-sized array (Pythia's vocabulary of 50 304 at a context
 * of 128: 1 direction of 1 sequence per pass, each pass then holding a few hundred MiB).
 */
export const VOCAB_PASS_FLOATS = 2 ** 22;

/** 2: ℓ, d1 and d2; 1: ℓ and d1 only (d2 is returned empty), about a third cheaper. */
export type DerivativeOrder = 1 | 2;

/**
 * ℓ_x, d1 and d2 of every output token of `batch` along every direction at θ, in float64 arrays
 * laid out d1[j·n + x] (n tokens). Passes over chunks of examples and of directions. With order 1
 * the second tangents are not propagated and d2 is empty.
 */
export function tokenDerivatives(
  m: ModelConfig,
  theta: Float32Array,
  directions: ArrayLike<number>[],
  batch: EncodedBatch,
  opts: JetOptions = {},
  order: DerivativeOrder = 2,
): Derivatives {
  const T = m.outputsPerSequence;
  // An imported model's vocabulary-sized logit jets ([K, e·T, V] twice, and as many temporaries)
  // dominate its passes: there the defaults also keep K·e·T·V within VOCAB_PASS_FLOATS.
  const vocabCap = m.arch ? Math.max(1, Math.floor(VOCAB_PASS_FLOATS / (T * m.vocabSize))) : Number.POSITIVE_INFINITY;
  const kPass = Math.max(1, opts.directionsPerPass ?? Math.min(tf.getBackend() === 'wasm' ? 1 : 10, vocabCap));
  const ePass = Math.max(
    1,
    opts.examplesPerPass ??
      Math.min(Math.ceil(Math.max(1, Math.round((512 * 320) / (m.dModel + m.dMlp))) / kPass), Math.max(1, Math.floor(vocabCap / kPass))),
  );
  const n = batch.n * T;
  const M = directions.length;
  const f0 = new Float32Array(n);
  const d1 = new Float64Array(M * n);
  const d2 = new Float64Array(order === 2 ? M * n : 0);
  // θ's parameter tensors and each group's direction tangents, made once for all passes.
  const groups: ArrayLike<number>[][] = [];
  for (let j0 = 0; j0 < M; j0 += kPass) groups.push(directions.slice(j0, j0 + kPass));
  if (M === 0) groups.push([new Float32Array(theta.length)]);
  const th = paramTensors(m, theta);
  const dirTensors = groups.map((g) => directionTensors(m, g));
  try {
    for (let e0 = 0; e0 < batch.n; e0 += ePass) {
      const count = Math.min(ePass, batch.n - e0);
      const sub = count === batch.n ? batch : sliceBatch(batch, e0, count);
      try {
        dirTensors.forEach((dirs, c) => {
          const j0 = c * kPass;
          const outs = tf.tidy(() => {
            const r = tokenLossJetTensors(m, th, dirs, sub, order);
            return r.d2 ? [r.loss, r.d1, r.d2] : [r.loss, r.d1];
          });
          try {
            const [lv, av, bv] = outs.map((t) => t.dataSync() as Float32Array);
            if (c === 0) f0.set(lv, e0 * T);
            const K = groups[c].length;
            for (let k = 0; k < K && j0 + k < M; k++)
              for (let x = 0; x < count * T; x++) {
                d1[(j0 + k) * n + e0 * T + x] = av[k * count * T + x];
                if (bv) d2[(j0 + k) * n + e0 * T + x] = bv[k * count * T + x];
              }
          } finally {
            tf.dispose(outs);
          }
        });
      } finally {
        if (sub !== batch) disposeBatch(sub);
      }
    }
  } finally {
    tf.dispose(th);
    tf.dispose(dirTensors.flat().filter((t) => t !== null));
  }
  return { f0, d1, d2 };
}
