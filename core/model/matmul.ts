/**
 * Matrix products with hand-written gradients, shared by the model (core/model/model.ts) and its
 * Taylor-mode evaluation (core/model/jet.ts):
 *   y = x·W (+ b):   ∂x = dy·Wᵀ,   ∂W = xᵀ·dy,   ∂b = Σ_rows dy.
 * How the transposed operands are formed depends on the backend (measured with tf.profile):
 *  - wasm: its matMul with transpose flags ran 10–15x slower than a plain matMul on our shapes
 *    ([1408,256]ᵀ·[1408,64] 45 ms against 3.4 ms untransposed), and TF.js' own matMul gradient
 *    uses those flags, so the transposes are materialised first;
 *  - tensorflow (and cpu): the flags go to the BLAS call and cost nothing, while a materialised
 *    transpose is one more kernel and a copy (0.5 s of a `paper`-shape iteration).
 */
import * as tf from '@tensorflow/tfjs';

/**
 * A matrix product with transpose flags, 2-D or batched 3-D, formed for the backend in use (see
 * above). Plain 2-D products go through `linear`, whose gradient (should a tape record it) is the
 * one below.
 */
export function matMulT(a: tf.Tensor, b: tf.Tensor, ta = false, tb = false): tf.Tensor {
  if (!ta && !tb && a.rank === 2 && b.rank === 2) return linear(a, b);
  if ((ta || tb) && tf.getBackend() === 'wasm') {
    const tr = (t: tf.Tensor) => tf.transpose(t, t.rank === 2 ? [1, 0] : [0, 2, 1]);
    return tf.matMul(ta ? tr(a) : a, tb ? tr(b) : b) as tf.Tensor;
  }
  return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb);
}

/** dy·Wᵀ and xᵀ·dy. */
const matmulGrads = (dy: tf.Tensor, x: tf.Tensor, w: tf.Tensor): tf.Tensor[] => [matMulT(dy, w, false, true), matMulT(x, dy, true, false)];

/** x·W with the gradient of `matmulGrads`. */
export const linear = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => matmulGrads(dy as tf.Tensor, saved[0], saved[1]),
  };
}) as never) as unknown as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor2D;

/** x·W + b as one fused kernel, with the gradient of `linear` and the bias' column sum. */
export const affine = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor;
      return [...matmulGrads(g, saved[0], saved[1]), tf.sum(g, 0)];
    },
  };
}) as never) as unknown as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;
