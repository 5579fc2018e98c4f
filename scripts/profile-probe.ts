import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../config/index.ts';
import { initBackend } from '../core/model/backend.ts';
import { modelShape } from '../core/data.ts';
import { ARITHMETIC_SHAPE, encodeSequences, makeSplits, trainBatch } from '../core/tasks/arithmetic/task.ts';
import { lossAndGrad } from '../core/model/backward.ts';
import { encodeBatch, initParams, meanLossTensor } from '../core/model/model.ts';
const backend = await initBackend((process.argv[2] ?? 'wasm') as 'wasm');
const config = resolveConfig({ preset: 'small' });
const { evalSet } = makeSplits(config);
const batch = encodeBatch(ARITHMETIC_SHAPE, encodeSequences(trainBatch(0, 0, config.train.batchSize, evalSet)));
const theta = initParams(modelShape(config), 0);
for (let i = 0; i < 3; i++) lossAndGrad(modelShape(config), theta, batch);
const best = (f: () => void, n = 10) => {
  let b = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    b = Math.min(b, performance.now() - t0);
  }
  return b;
};
console.log(backend, 'step ms (min of 10)', best(() => lossAndGrad(modelShape(config), theta, batch)).toFixed(1));
console.log(
  'fwd ms (min of 10)',
  best(() => tf.tidy(() => meanLossTensor(modelShape(config), tf.tensor1d(theta), batch).dataSync())).toFixed(1),
);
if (process.argv[3] === 'quick') process.exit(0);
const prof = await tf.profile(() => {
  lossAndGrad(modelShape(config), theta, batch);
});
const agg = new Map<string, { ms: number; n: number }>();
let total = 0;
for (const k of prof.kernels) {
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const a = agg.get(key) ?? { ms: 0, n: 0 };
  a.ms += ms;
  a.n++;
  total += ms;
  agg.set(key, a);
}
console.log('kernels', prof.kernels.length, 'total kernel ms', total.toFixed(1));
for (const [k, v] of [...agg].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30))
  console.log(v.ms.toFixed(2).padStart(8), String(v.n).padStart(4), k);
