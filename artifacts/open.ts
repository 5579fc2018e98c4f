/**
 * Opening a store from options or the environment:
 *   POLCA_STORE = local (default) | s3
 *   POLCA_STORE_DIR (local; default $POLCA_HOME/store, POLCA_HOME default ./.polca)
 *   POLCA_S3_ENDPOINT, POLCA_S3_BUCKET (default polca), POLCA_S3_PREFIX, AWS_REGION, and the
 *   standard AWS credential variables.
 * Light to import (no table codecs; the S3 SDK loads on the first S3 request): the CLI opens
 * stores through it.
 */
import { join } from 'node:path';
import { S3Backend } from './s3.ts';
import { ArtifactStore, LocalBackend } from './store.ts';

export interface StoreOptions {
  kind?: 'local' | 's3';
  dir?: string;
  endpoint?: string;
  bucket?: string;
  prefix?: string;
  region?: string;
}

/** Where polca keeps its state (the local store, service data, logs, the workflow bundle cache): POLCA_HOME, default ./.polca. */
export function polcaHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.POLCA_HOME ?? join(process.cwd(), '.polca');
}

/** Store options from the environment (no secrets: credentials stay with the SDK). */
export function storeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): StoreOptions {
  const kind = env.POLCA_STORE ?? 'local';
  if (kind !== 'local' && kind !== 's3') throw new Error(`POLCA_STORE: ${JSON.stringify(kind)} is not a store kind; allowed: local, s3`);
  return {
    kind,
    dir: env.POLCA_STORE_DIR || (env.POLCA_HOME ? join(env.POLCA_HOME, 'store') : undefined),
    endpoint: env.POLCA_S3_ENDPOINT || undefined,
    bucket: env.POLCA_S3_BUCKET,
    prefix: env.POLCA_S3_PREFIX,
    region: env.AWS_REGION,
  };
}

export function openStore(opts: StoreOptions = storeOptionsFromEnv()): ArtifactStore {
  if ((opts.kind ?? 'local') === 's3') {
    return new ArtifactStore(
      new S3Backend({ bucket: opts.bucket ?? 'polca', prefix: opts.prefix, endpoint: opts.endpoint, region: opts.region }),
    );
  }
  return new ArtifactStore(new LocalBackend(opts.dir ?? join(polcaHome(), 'store')));
}
