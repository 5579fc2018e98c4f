/**
 * TF.js backend selection: `tensorflow` (tfjs-node-gpu, then tfjs-node, when installed and
 * loadable), else `wasm` (SIMD), else the pure-JS `cpu` backend. POLCA_BACKEND overrides the
 * preference. The native packages are never dependencies (they download libtensorflow at install
 * time); they are imported dynamically when a user has installed one.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export type BackendPref = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_PREFS: BackendPref[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

async function tryNative(): Promise<string | undefined> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return pkg;
    } catch {
      // not installed or not loadable here
    }
  }
  return undefined;
}

let current: string | undefined;

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
