/**
 * TF.js backend selection: `tensorflow` (tfjs-node-gpu, then tfjs-node, when installed and
 * loadable), else `wasm` (SIMD), else the pure-JS `cpu` backend. POLCA_BACKEND overrides the
 * preference. `@tensorflow/tfjs-node` is an optional dependency whose libtensorflow and addon
 * scripts/native.mjs installs from PyPI (its own install script would download them and is not
 * run); it is imported dynamically, so a machine without it runs on wasm.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export type BackendPref = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_PREFS: BackendPref[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

let nativeVersion: string | undefined;

async function tryNative(): Promise<string | undefined> {
  // TensorFlow's C++ start-up chatter (oneDNN notices, CPU feature lines) stays off stderr unless asked for.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) {
        const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
        nativeVersion = binding?.TF_Version;
        return pkg;
      }
    } catch {
      // not installed or not loadable here
    }
  }
  return undefined;
}

let current: string | undefined;

/** The backend in use and, for `tensorflow`, the libtensorflow version it runs on. */
export function backendInfo(): { name?: string; version?: string } {
  return { name: current, version: current === 'tensorflow' ? nativeVersion : undefined };
}

/** Select and initialise a backend; returns the backend name in use. Idempotent. */
export async function initBackend(pref?: BackendPref): Promise<string> {
  const want = (process.env.POLCA_BACKEND as BackendPref | undefined) ?? pref ?? 'auto';
  if (!BACKEND_PREFS.includes(want)) {
    throw new Error(`POLCA_BACKEND: unknown backend ${JSON.stringify(want)}; allowed: ${BACKEND_PREFS.join(', ')}`);
  }
  if (current && (want === 'auto' || want === current)) return current;
  if (want === 'tensorflow' || want === 'auto') {
    if (await tryNative()) return (current = 'tensorflow');
    if (want === 'tensorflow')
      throw new Error('backend "tensorflow": neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads here');
  }
  if (want === 'wasm' || want === 'auto') {
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return (current = 'wasm');
    }
    if (want === 'wasm') throw new Error('backend "wasm" failed to initialise');
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return (current = 'cpu');
}
