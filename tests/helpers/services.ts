/**
 * Real services for integration tests: the runner's (scripts/test.mjs exports their addresses)
 * or, when a test file runs alone, its own Temporal dev server and MinIO on free ports with
 * temporary data, stopped when the test process exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startMinio, startTemporal } from '../../services/manager.ts';

export interface TestServices {
  temporalAddress: string;
  s3: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
}

let shared: Promise<TestServices> | undefined;

export function getTestServices(): Promise<TestServices> {
  const env = process.env;
  if (env.POLCA_TEST_TEMPORAL_ADDRESS && env.POLCA_TEST_S3_ENDPOINT) {
    return Promise.resolve({
      temporalAddress: env.POLCA_TEST_TEMPORAL_ADDRESS,
      s3: {
        endpoint: env.POLCA_TEST_S3_ENDPOINT,
        bucket: env.POLCA_TEST_S3_BUCKET ?? 'polca-test',
        accessKeyId: env.POLCA_TEST_S3_ACCESS_KEY_ID!,
        secretAccessKey: env.POLCA_TEST_S3_SECRET_ACCESS_KEY!,
      },
    });
  }
  shared ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'polca-test-own-'));
    const t = await startTemporal(join(dir, 'temporal'), await freePort(), await freePort());
    let m: Awaited<ReturnType<typeof startMinio>>;
    try {
      m = await startMinio(join(dir, 'minio'), await freePort(), 'polca-test');
    } catch (e) {
      t.proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    // Stopped when this test process exits (a hook registered inside a test would run after that
    // test). The children are unref'd so that they do not keep the process alive: otherwise it
    // would never reach 'exit'. A signal (Ctrl-C, the runner cancelling the file) stops them too.
    t.proc.unref();
    m.proc.unref();
    const stop = () => {
      for (const p of [t.proc, m.proc]) {
        try {
          p.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    };
    process.once('exit', stop);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        stop();
        process.exit(sig === 'SIGINT' ? 130 : 143);
      });
    }
    return {
      temporalAddress: t.address,
      s3: { endpoint: m.endpoint, bucket: 'polca-test', ...m.credentials },
    };
  })();
  return shared;
}

/** Environment for a child process (worker, CLI) that should use the test MinIO as its store. */
export function s3Env(s: TestServices, prefix: string): NodeJS.ProcessEnv {
  return {
    POLCA_STORE: 's3',
    POLCA_S3_ENDPOINT: s.s3.endpoint,
    POLCA_S3_BUCKET: s.s3.bucket,
    POLCA_S3_PREFIX: prefix,
    AWS_ACCESS_KEY_ID: s.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s.s3.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
}
