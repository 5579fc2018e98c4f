/**
 * Matrix products with hand-written gradients, shared by the model (core/model.ts) and its
 * Taylor-mode evaluation (core/jet.ts).
 */
import * as tf from '@tensorflow/tfjs';

/**
 * x·W with a hand-written gradient that materialises the transposes. The wasm backend's matMul
 * with transpose flags ran 10–15x slower than a plain matMul on our shapes (measured with
 * tf.profile: [1408,256]ᵀ·[1408,64] 45 ms vs 3.4 ms untransposed), and TF.js' own matMul gradient
 * uses those flags.
 */
export const linear = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(saved[1] as tf.Tensor2D)), tf.matMul(tf.transpose(saved[0] as tf.Tensor2D), g)];
    },
  };
}) as never) as unknown as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor2D;

/**
 * x·W + b as one fused kernel, with the same hand-written gradient as `linear` (the bias gradient
 * is the column sum of dy).
 */
export const affine = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(saved[1] as tf.Tensor2D)), tf.matMul(tf.transpose(saved[0] as tf.Tensor2D), g), tf.sum(g, 0)];
    },
  };
}) as never) as unknown as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;
