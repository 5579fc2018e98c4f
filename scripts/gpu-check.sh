#!/usr/bin/env bash
# End-to-end check of the GPU backend, for a Linux x86_64 machine with an NVIDIA GPU and its
# driver (nothing else from outside: CUDA and cuDNN come from PyPI's nvidia-*-cu12 wheels):
#
#   bash scripts/gpu-check.sh
#
# 1. installs @tensorflow/tfjs-node-gpu (same version as @tensorflow/tfjs, not saved to
#    package.json) and builds it on the `tensorflow` wheel with the CUDA wheels it pins
#    (scripts/native.mjs with TFJS_PKG/TF_WHEEL set);
# 2. checks that TF.js runs on the `tensorflow` backend *on a GPU device* and that a matmul
#    agrees with the CPU result;
# 3. runs the `tiny` experiment in-process on the GPU and on wasm and compares the final
#    evaluation losses and the basis eigenvalues (float32 on different hardware: relative 1e-3);
# 4. prints 1024² matmul GFLOP/s on the GPU.
# Exits non-zero on the first failure. Not run by `npm test` (no GPU on the CI machines).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvidia-smi >/dev/null && nvidia-smi -L || { echo "gpu-check: no nvidia-smi: this machine has no NVIDIA driver" >&2; exit 1; }
node scripts/setup.mjs >/dev/null
version=$(node -p "require('@tensorflow/tfjs/package.json').version")
npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node-gpu@${version}"
TFJS_PKG=@tensorflow/tfjs-node-gpu TF_WHEEL=tensorflow POLCA_NATIVE_RETRY=1 node scripts/native.mjs
POLCA_BACKEND=tensorflow node --import tsx --input-type=module -e "
import * as tf from '@tensorflow/tfjs';
import { initBackend, backendInfo } from './core/model/backend.ts';
await initBackend('tensorflow');
const be = tf.backend();
if (!be.isUsingGpuDevice) { console.error('gpu-check: the tensorflow backend runs, but not on a GPU device'); process.exit(1); }
console.log('gpu-check: backend', tf.getBackend(), 'libtensorflow', backendInfo().version, 'on a GPU device');
const n = 1024;
const a = tf.randomUniform([n, n], -1, 1, 'float32', 1), b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
const gpu = await tf.matMul(a, b).data();
const A = await a.data(), B = await b.data();
let worst = 0;
for (const [i, j] of [[0, 0], [17, 911], [1023, 1023], [512, 3]]) {
  let s = 0; for (let k = 0; k < n; k++) s += A[i * n + k] * B[k * n + j];
  worst = Math.max(worst, Math.abs(s - gpu[i * n + j]) / Math.max(1, Math.abs(s)));
}
if (worst > 1e-3) { console.error('gpu-check: GPU matmul differs from a float64 dot product by', worst); process.exit(1); }
let reps = 0; const t0 = performance.now();
while (performance.now() - t0 < 2000) { const c = tf.matMul(a, b); await c.data(); c.dispose(); reps++; }
console.log('gpu-check: 1024² matmul', ((2 * n ** 3 * reps) / ((performance.now() - t0) / 1000) / 1e9).toFixed(1), 'GFLOP/s; max relative error', worst.toExponential(1));
"
for be in tensorflow wasm; do
  rm -rf "/tmp/polca-gpu-check-$be-store"
  POLCA_BACKEND=$be node --import tsx scripts/run-local.ts tiny "/tmp/polca-gpu-check-$be-store" > "/tmp/polca-gpu-check-$be.json"
done
node -e "
const g = require('/tmp/polca-gpu-check-tensorflow.json'), w = require('/tmp/polca-gpu-check-wasm.json');
const pick = (r) => [r.metrics.evalLoss, ...(r.metrics.eigenvalues ?? [])];
const a = pick(g), b = pick(w);
const worst = Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.max(1e-6, Math.abs(b[i]))));
console.log('gpu-check: tiny experiment, GPU vs wasm: evaluation loss and eigenvalues agree to', worst.toExponential(1), 'relative');
if (!(worst < 1e-3)) process.exit(1);
"
echo "gpu-check: OK"
