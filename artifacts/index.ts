/**
 * The artifact store and its formats: content-addressed keys (keys.ts), the store and its local
 * backend (store.ts), S3 (s3.ts), opening a store from the environment (open.ts), Parquet tables
 * (parquet.ts) and safetensors (safetensors.ts).
 */
export * from './keys.ts';
export * from './open.ts';
export * from './parquet.ts';
export * from './safetensors.ts';
export * from './store.ts';
export * from './tables.ts';
