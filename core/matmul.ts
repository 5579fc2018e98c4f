/**
 * Matrix products with hand-written gradients, shared by the model (core/model.ts) and its
 * Taylor-mode evaluation (core/jet.ts):
 *   y = x·W (+ b):   ∂x = dy·Wᵀ,   ∂W = xᵀ·dy,   ∂b = Σ_rows dy.
 * How the transposed operands are formed depends on the backend (measured with tf.profile):
 *  - wasm: its matMul with transpose flags ran 10–15x slower than a plain matMul on our shapes
 *    ([1408,256]ᵀ·[1408,64] 45 ms against 3.4 ms untransposed), and TF.js' own matMul gradient
 *    uses those flags, so the transposes are materialised first;
 *  - tensorflow (and cpu): the flags go to the BLAS call and cost nothing, while a materialised
 *    transpose is one more kernel and a copy (0.5 s of a `paper`-shape iteration).
 */
import * as tf from '@tensorflow/tfjs';

/** dy·Wᵀ and xᵀ·dy for the backend in use. */
function matmulGrads(dy: tf.Tensor2D, x: tf.Tensor2D, w: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  if (tf.getBackend() === 'wasm') return [tf.matMul(dy, tf.transpose(w)), tf.matMul(tf.transpose(x), dy)];
  return [tf.matMul(dy, w, false, true), tf.matMul(x, dy, true, false)];
}

/** x·W with the gradient of `matmulGrads`. */
export const linear = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
      matmulGrads(dy as tf.Tensor2D, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D),
  };
}) as never) as unknown as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor2D;

/** x·W + b as one fused kernel, with the gradient of `linear` and the bias' column sum. */
export const affine = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      return [...matmulGrads(g, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D), tf.sum(g, 0)];
    },
  };
}) as never) as unknown as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;
