/**
 * The wiring workflow end to end with real services (getTestServices): a worker on a fresh task
 * queue with its workflow code bundled from workflows/wiring.ts, its activity writing an artifact
 * to MinIO and reading it back. The object is then read with a separate S3 client and compared
 * with bytes computed here; `polca doctor` passes against the same services and fails, naming
 * the fix, against a missing bucket.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { WIRING_FILE, wiringBytes } from '../../activities/wiring.ts';
import { ArtifactStore } from '../../artifacts/store.ts';
import { S3Backend } from '../../artifacts/s3.ts';
import { runWiringCheck } from '../../services/wiring.ts';
import { getTestServices, s3Env } from '../helpers/services.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

async function s3Setup() {
  const s = await getTestServices();
  process.env.AWS_ACCESS_KEY_ID = s.s3.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s.s3.secretAccessKey;
  const raw = new S3Client({ endpoint: s.s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s.s3 });
  return { s, raw };
}

test('a worker runs the wiring workflow; its activity’s object in MinIO is the expected bytes', { timeout: 180_000 }, async () => {
  const { s, raw } = await s3Setup();
  const prefix = unique('wiring-test');
  const store = new ArtifactStore(new S3Backend({ bucket: s.s3.bucket, endpoint: s.s3.endpoint, prefix }));
  const token = unique('token');
  const size = 10_000;
  const taskQueue = unique('wiring-queue');
  const r = await runWiringCheck({ address: s.temporalAddress, store, taskQueue, input: { token, size, keep: true } });
  assert.equal(r.taskQueue, taskQueue);
  assert.equal(r.pid, process.pid, 'the activity ran in this process’s worker');
  assert.equal(r.bytes, size);

  // Read the object back with a separate client, straight from the bucket.
  const expected = wiringBytes(token, size);
  const obj = await raw.send(new GetObjectCommand({ Bucket: s.s3.bucket, Key: `${prefix}/objects/${r.key}/${WIRING_FILE}` }));
  const got = await obj.Body!.transformToByteArray();
  assert.deepEqual(Buffer.from(got), Buffer.from(expected));
  assert.equal(r.sha256, createHash('sha256').update(expected).digest('hex'));
  const manifest = JSON.parse(
    Buffer.from(
      await (
        await raw.send(new GetObjectCommand({ Bucket: s.s3.bucket, Key: `${prefix}/objects/${r.key}/manifest.json` }))
      ).Body!.transformToByteArray(),
    ).toString('utf8'),
  );
  assert.deepEqual(manifest.files, [{ name: WIRING_FILE, size, sha256: r.sha256 }]);

  // The server recorded the run as completed on that task queue.
  const { Client, Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address: s.temporalAddress });
  try {
    const d = await new Client({ connection }).workflow.getHandle(r.workflowId).describe();
    assert.equal(d.status.name, 'COMPLETED');
    assert.equal(d.type, 'wiringWorkflow');
    assert.equal(d.taskQueue, taskQueue);
  } finally {
    await connection.close();
  }

  // Without `keep`, the activity leaves nothing behind.
  const prefix2 = unique('wiring-test');
  const store2 = new ArtifactStore(new S3Backend({ bucket: s.s3.bucket, endpoint: s.s3.endpoint, prefix: prefix2 }));
  const r2 = await runWiringCheck({ address: s.temporalAddress, store: store2, input: { token, size: 100 } });
  assert.equal(r2.bytes, 100);
  const listed = await raw.send(new ListObjectsV2Command({ Bucket: s.s3.bucket, Prefix: `${prefix2}/` }));
  assert.equal(listed.KeyCount ?? 0, 0);
  raw.destroy();
});

async function doctor(env: NodeJS.ProcessEnv) {
  const clean = { ...process.env };
  for (const k of Object.keys(clean)) if (/^(POLCA_|TEMPORAL_)/.test(k)) delete clean[k];
  try {
    const r = await run(process.execPath, [join(root, 'bin', 'polca.mjs'), 'doctor', '--json'], {
      env: { ...clean, ...env },
      timeout: 180_000,
    });
    return { code: 0, out: JSON.parse(r.stdout) };
  } catch (e) {
    const err = e as { code?: number; stdout?: string };
    return { code: err.code ?? 1, out: JSON.parse(err.stdout ?? '{}') };
  }
}

test('polca doctor passes against the test services and names the fix for a missing bucket', { timeout: 300_000 }, async () => {
  const { s, raw } = await s3Setup();
  raw.destroy();
  const env = { TEMPORAL_ADDRESS: s.temporalAddress, ...s3Env(s, unique('doctor')) };
  const good = await doctor(env);
  assert.equal(good.code, 0, JSON.stringify(good.out, null, 2));
  assert.equal(good.out.ok, true);
  const wiring = good.out.checks.find((c: { name: string }) => c.name === 'worker wiring');
  assert.equal(wiring.ok, true);
  assert.match(wiring.detail, /wrote 4096 bytes to s3:\/\//);

  const bad = await doctor({ ...env, POLCA_S3_BUCKET: unique('missing-bucket') });
  assert.equal(bad.code, 1);
  assert.equal(bad.out.ok, false);
  const byName = Object.fromEntries(bad.out.checks.map((c: { name: string }) => [c.name, c]));
  assert.equal(byName.Temporal.ok, true);
  assert.equal(byName['artifact store'].ok, false);
  assert.match(byName['artifact store'].detail, /NoSuchBucket/);
  assert.match(byName['artifact store'].fix, /bucket/);
  assert.equal(byName['worker wiring'].skipped, true);
});
