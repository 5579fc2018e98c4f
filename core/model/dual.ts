/**
 * Dual numbers over TF.js tensors: a value v and one tangent t = dv/ds along a line θ + s·u in
 * parameter space (first-order forward mode). Rules:
 *   (x ± y)˙ = ẋ ± ẏ,   (xy)˙ = ẋy + xẏ,   (x·W)˙ = ẋW + xẆ (any transposes alike),
 *   f(x)˙ = f'(x)ẋ for rsqrt (−½ r/u), sigmoid (σ(1 − σ)), softmax (p⊙(ż − ⟨p, ż⟩)),
 *   the standard normal's distribution function Φ (φ) and density φ (−x·φ),
 *   and every linear map (reshape, transpose, slice, pad, concat, sums, means) acts on both parts.
 * A tangent of null is zero: with every tangent null the ops are the plain TF.js computation (one
 * kernel each, no extra work), so the same code serves as the model's forward pass, its hand-written
 * reverse pass (core/model/backward.ts) and, with θ's tangent u, the derivative of that reverse pass
 * along u — the Hessian-vector product H·u, by forward over reverse.
 *
 * Broadcasting: an operand's tangent has the operand's shape; a sum whose only tangent comes from
 * the smaller operand is broadcast to the result's shape.
 */
import * as tf from '@tensorflow/tfjs';
import { affine as affineValue, matMulT } from './matmul.ts';

/**
 * Value memo. A pass over the same θ and data computes the same values whatever the tangent, so
 * a pass run under `recordValues` keeps every op's value, in op order, and a pass of the same code
 * under `replayValues` takes them from there instead of computing them: only the tangents are
 * computed (Lanczos makes tens of Hessian-vector products at one θ). The replayed tensors are the
 * recorded ones, so results are bit-identical to a pass that computes its values.
 */
let recording: tf.Tensor[] | null = null;
let replaying: { values: tf.Tensor[]; next: number } | null = null;

/** An op's value: computed (and recorded, while recording) or replayed. */
export function value(f: () => tf.Tensor): tf.Tensor {
  if (replaying) {
    const v = replaying.values[replaying.next++];
    if (v === undefined || v.isDisposed) throw new Error('dual: value replay out of step with its recording');
    return v;
  }
  const v = f();
  if (recording) recording.push(tf.keep(v));
  return v;
}

/** Runs f, keeping (tf.keep) every op's value in order; the caller disposes them. */
export function recordValues<T>(f: () => T): { result: T; values: tf.Tensor[] } {
  if (recording || replaying) throw new Error('dual: nested value recording');
  recording = [];
  try {
    const result = f();
    return { result, values: recording };
  } finally {
    recording = null;
  }
}

/** Runs f with every op's value taken, in order, from a recording of the same computation. */
export function replayValues<T>(values: tf.Tensor[], f: () => T): T {
  if (recording || replaying) throw new Error('dual: nested value replay');
  replaying = { values, next: 0 };
  try {
    const result = f();
    if (replaying.next !== values.length) throw new Error(`dual: replay used ${replaying.next} of ${values.length} recorded values`);
    return result;
  } finally {
    replaying = null;
  }
}

export interface Dual {
  v: tf.Tensor;
  t: tf.Tensor | null;
}

/** A constant. */
export const constant = (v: tf.Tensor): Dual => ({ v, t: null });

function sumT(t1: tf.Tensor | null, t2: tf.Tensor | null, shape: number[]): tf.Tensor | null {
  const t = t1 === null ? t2 : t2 === null ? t1 : tf.add(t1, t2);
  if (t === null || (t.shape.length === shape.length && t.shape.every((s, i) => s === shape[i]))) return t;
  return tf.broadcastTo(t, shape);
}

export function add(x: Dual, y: Dual): Dual {
  const v = value(() => tf.add(x.v, y.v));
  return { v, t: sumT(x.t, y.t, v.shape) };
}

export function sub(x: Dual, y: Dual): Dual {
  const v = value(() => tf.sub(x.v, y.v));
  if (x.t && y.t) return { v, t: sumT(tf.sub(x.t, y.t), null, v.shape) };
  return { v, t: sumT(x.t, y.t && tf.neg(y.t), v.shape) };
}

export function mul(x: Dual, y: Dual): Dual {
  const v = value(() => tf.mul(x.v, y.v));
  return { v, t: sumT(x.t && tf.mul(x.t, y.v), y.t && tf.mul(x.v, y.t), v.shape) };
}

/** c·x + d for numbers c, d. */
export function affineScalar(x: Dual, c: number, d = 0): Dual {
  const v = c === 1 && d === 0 ? x.v : value(() => (d === 0 ? tf.mul(x.v, c) : tf.add(c === 1 ? x.v : tf.mul(x.v, c), d)));
  return { v, t: x.t && (c === 1 ? x.t : tf.mul(x.t, c)) };
}

/** 1 − x. */
export const oneMinus = (x: Dual): Dual => ({ v: value(() => tf.sub(1, x.v)), t: x.t && tf.neg(x.t) });

/** x·y with transpose flags, 2-D or batched 3-D (core/model/matmul.ts `matMulT`). */
export function matMul(x: Dual, y: Dual, ta = false, tb = false): Dual {
  const v = value(() => matMulT(x.v, y.v, ta, tb));
  return { v, t: sumT(x.t && matMulT(x.t, y.v, ta, tb), y.t && matMulT(x.v, y.t, ta, tb), v.shape) };
}

/** x·W + b (x [N, D], W [D, E], b [E]), the value as one fused kernel (core/model/matmul.ts). */
export function affine(x: Dual, w: Dual, b: Dual): Dual {
  const v = value(() => affineValue(x.v, w.v, b.v));
  let t: tf.Tensor | null = null;
  if (x.t)
    t = b.t
      ? tf.fused.matMul({ a: x.t as tf.Tensor2D, b: w.v as tf.Tensor2D, bias: b.t })
      : tf.matMul(x.t as tf.Tensor2D, w.v as tf.Tensor2D);
  if (w.t) t = sumT(t, tf.matMul(x.v as tf.Tensor2D, w.t as tf.Tensor2D), v.shape);
  if (!x.t && b.t) t = sumT(t, b.t, v.shape);
  return { v, t };
}

const both = (x: Dual, f: (t: tf.Tensor) => tf.Tensor): Dual => ({ v: value(() => f(x.v)), t: x.t && f(x.t) });

export const reshape = (x: Dual, shape: number[]): Dual => both(x, (t) => t.reshape(shape));
export const transpose = (x: Dual, perm: number[]): Dual => both(x, (t) => tf.transpose(t, perm));
export const slice = (x: Dual, begin: number[], size: number[]): Dual => both(x, (t) => tf.slice(t, begin, size));
export const pad = (x: Dual, paddings: [number, number][]): Dual => both(x, (t) => tf.pad(t, paddings));
export const sum = (x: Dual, axis: number, keepDims = false): Dual => both(x, (t) => tf.sum(t, axis, keepDims));
export const meanLast = (x: Dual): Dual => both(x, (t) => tf.mean(t, -1, true));

export function concat(xs: Dual[], axis: number): Dual {
  const v = value(() =>
    tf.concat(
      xs.map((x) => x.v),
      axis,
    ),
  );
  if (xs.every((x) => x.t === null)) return { v, t: null };
  return {
    v,
    t: tf.concat(
      xs.map((x) => x.t ?? tf.zerosLike(x.v)),
      axis,
    ),
  };
}

/** u^{-1/2}: ṙ = −½·(r/u)·u̇. */
export function rsqrt(u: Dual): Dual {
  const r = value(() => tf.rsqrt(u.v));
  return { v: r, t: u.t && tf.mul(tf.mul(tf.div(r, u.v), -0.5), u.t) };
}

/** σ(u): σ̇ = σ(1 − σ)·u̇. */
export function sigmoid(u: Dual): Dual {
  const s = value(() => tf.sigmoid(u.v));
  return { v: s, t: u.t && tf.mul(tf.mul(s, tf.sub(1, s)), u.t) };
}

/** Softmax over the last axis: ṗ = p⊙(ż − ⟨p, ż⟩). */
export function softmax(z: Dual): Dual {
  const p = value(() => tf.softmax(z.v));
  return { v: p, t: z.t && tf.mul(p, tf.sub(z.t, tf.sum(tf.mul(p, z.t), -1, true))) };
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Φ(u) = ½(1 + erf(u/√2)), the standard normal's distribution function: Φ̇ = φ(u)·u̇. */
export function normalCdf(u: Dual): Dual {
  const p = value(() => tf.mul(tf.add(tf.erf(tf.mul(u.v, Math.SQRT1_2)), 1), 0.5));
  return { v: p, t: u.t && tf.mul(tf.mul(tf.exp(tf.mul(tf.square(u.v), -0.5)), INV_SQRT_2PI), u.t) };
}

/** φ(u) = e^{−u²/2}/√(2π), the standard normal's density: φ̇ = −u·φ(u)·u̇. */
export function normalPdf(u: Dual): Dual {
  const d = value(() => tf.mul(tf.exp(tf.mul(tf.square(u.v), -0.5)), INV_SQRT_2PI));
  return { v: d, t: u.t && tf.mul(tf.mul(tf.neg(u.v), d), u.t) };
}
