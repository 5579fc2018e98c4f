/**
 * Environment names read by polca. Temporal's own variables (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*) are honoured as Temporal defines them.
 */
import { join } from 'node:path';

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
/** Activities one worker runs at once: a training or POLCA step keeps one core busy (wasm backend). */
export const DEFAULT_WORKER_CONCURRENCY = 1;

export const polcaHome = (env = process.env) => env.POLCA_HOME ?? join(process.cwd(), '.polca');
export const taskQueue = (env = process.env) => env.POLCA_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
export const namespace = (env = process.env) => env.TEMPORAL_NAMESPACE ?? DEFAULT_NAMESPACE;

/** POLCA_WORKER_CONCURRENCY as a positive integer (default 1); an error names the variable. */
export function workerConcurrency(env = process.env): number {
  const raw = env.POLCA_WORKER_CONCURRENCY;
  if (raw === undefined || raw.trim() === '') return DEFAULT_WORKER_CONCURRENCY;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`POLCA_WORKER_CONCURRENCY: ${JSON.stringify(raw)} is not a positive integer`);
  }
  return n;
}
