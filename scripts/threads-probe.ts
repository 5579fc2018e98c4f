// Does the multi-threaded wasm backend work in Node? Prints the flags and the thread count.
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
if (process.argv[2]) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
wasm.setThreadsCount(2);
console.log(
  'simd',
  await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
  'threads flag',
  await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
);
const ok = await Promise.race([tf.setBackend('wasm'), new Promise((r) => setTimeout(() => r('timeout'), 20000))]);
console.log('setBackend', ok);
if (ok === true) {
  await tf.ready();
  console.log('threads in use', wasm.getThreadsCount());
  const a = tf.randomNormal([1024, 512]);
  const b = tf.randomNormal([512, 512]);
  tf.matMul(a, b).dataSync();
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) tf.matMul(a, b).dataSync();
  const ms = (performance.now() - t0) / 10;
  console.log(`matmul 1024x512x512: ${ms.toFixed(1)} ms, ${((2 * 1024 * 512 * 512) / ms / 1e6).toFixed(1)} GFLOP/s`);
}
process.exit(0);
