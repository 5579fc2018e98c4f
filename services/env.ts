/**
 * Environment names read by polca. Temporal's own variables (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*) are honoured as Temporal defines them.
 */
import { availableParallelism } from 'node:os';

export const ENV = {
  temporalAddress: 'TEMPORAL_ADDRESS',
  temporalNamespace: 'TEMPORAL_NAMESPACE',
  temporalApiKey: 'TEMPORAL_API_KEY',
  home: 'POLCA_HOME',
  cacheDir: 'POLCA_CACHE_DIR',
  taskQueue: 'POLCA_TASK_QUEUE',
  workerConcurrency: 'POLCA_WORKER_CONCURRENCY',
  backend: 'POLCA_BACKEND',
  store: 'POLCA_STORE',
  storeDir: 'POLCA_STORE_DIR',
  s3Endpoint: 'POLCA_S3_ENDPOINT',
  s3Bucket: 'POLCA_S3_BUCKET',
  s3Prefix: 'POLCA_S3_PREFIX',
  temporalBin: 'POLCA_TEMPORAL_BIN',
  minioBin: 'POLCA_MINIO_BIN',
} as const;

export const DEFAULT_TASK_QUEUE = 'polca';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_BUCKET = 'polca';
/**
 * Activities one worker runs at once when POLCA_WORKER_CONCURRENCY is not set: one per core, on
 * every backend. wasm and cpu compute on one core per step. The native TensorFlow backend spreads a
 * step over the cores (intra-op threads), but `small`'s kernels are too small to keep two cores
 * busy: per-token d1, d2 along 10 vectors at one checkpoint took 4.0 s in one compute thread alone
 * and 5.7 s each in two at once (1.4x the throughput; AMD EPYC, 2 cores, 2026-11-30), so the POLCA
 * fan-out runs one chunk per core. Training and the basis are chains: they use one slot whatever the count.
 */
export function defaultWorkerConcurrency(_backend: string, cores = availableParallelism()): number {
  return Math.max(1, cores);
}

export { polcaHome } from '../artifacts/open.ts';
export const taskQueue = (env = process.env) => env.POLCA_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
export const namespace = (env = process.env) => env.TEMPORAL_NAMESPACE ?? DEFAULT_NAMESPACE;

/** POLCA_WORKER_CONCURRENCY as a positive integer (undefined when unset); an error names the variable. */
export function workerConcurrency(env = process.env): number | undefined {
  const raw = env.POLCA_WORKER_CONCURRENCY;
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`POLCA_WORKER_CONCURRENCY: ${JSON.stringify(raw)} is not a positive integer`);
  }
  return n;
}
