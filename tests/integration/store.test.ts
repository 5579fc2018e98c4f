/**
 * The artifact store's contract, one suite run against both backends: a local directory and the
 * real MinIO from getTestServices(); then a fault test on a MinIO of its own that is killed in
 * the middle of a write and restarted.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  ArtifactStore,
  IntegrityError,
  LocalBackend,
  type Manifest,
  NotFoundError,
  type ObjectBackend,
  stepKey,
} from '../../artifacts/index.ts';
import { S3Backend } from '../../artifacts/s3.ts';
import { freePort, type StartedMinio, startMinio } from '../../services/manager.ts';
import { getTestServices } from '../helpers/services.ts';

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const sha = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
const unique = () => `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
const spec = (n: number | string, extra: Record<string, unknown> = {}) => ({
  step: 'unit',
  version: '1',
  params: { n, ...extra },
  inputs: { data: 'data-0000000000000000000000000000000000000000' },
});
/** Deterministic pseudo-random bytes (xorshift), distinct per seed. */
function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 255;
  }
  return out;
}

const tmpDirs: string[] = [];
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});
const tmp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `polca-${name}-`));
  tmpDirs.push(d);
  return d;
};

interface Backend {
  open(): Promise<ArtifactStore>;
  /** The secret that must never appear anywhere (undefined for the local backend). */
  secret(): Promise<string | undefined>;
}

const backends: [string, Backend][] = [
  ['local', { open: async () => new ArtifactStore(new LocalBackend(tmp('store'))), secret: async () => undefined }],
  [
    'minio',
    {
      open: async () => {
        const s = await getTestServices();
        const credentials = { accessKeyId: s.s3.accessKeyId, secretAccessKey: s.s3.secretAccessKey };
        return new ArtifactStore(
          new S3Backend({ bucket: s.s3.bucket, endpoint: s.s3.endpoint, prefix: `store-test-${unique()}`, credentials }),
        );
      },
      secret: async () => (await getTestServices()).s3.secretAccessKey,
    },
  ],
];

/** A backend that runs a hook before each call, to hold a writer at a chosen point. */
function hooked(inner: ObjectBackend, before: (op: string, path: string) => Promise<void>): ObjectBackend {
  return {
    location: inner.location,
    getObject: (p) => inner.getObject(p),
    putObject: async (p, d) => {
      await before('put', p);
      return inner.putObject(p, d);
    },
    putObjectIfAbsent: async (p, d) => {
      await before('putIfAbsent', p);
      return inner.putObjectIfAbsent(p, d);
    },
    list: (p) => inner.list(p),
    deletePrefix: (p) => inner.deletePrefix(p),
    deleteObject: (p) => inner.deleteObject(p),
  };
}

for (const [name, backend] of backends) {
  describe(`artifact store (${name})`, () => {
    test('put then get, verify, list, delete; the manifest lists every file with size and SHA-256', async () => {
      const store = await backend.open();
      const files = { 'a.bin': bytes(100_000, 1), 'dir/b.bin': bytes(10, 2), 'empty.txt': new Uint8Array(0) };
      const t0 = Date.now();
      const m = await store.put(spec(1), files, { note: 'x' });
      const t1 = Date.now();
      assert.equal(m.key, stepKey(spec(1)));
      // the manifest as stored, read raw from the backend
      const raw = await store.backend.getObject(`objects/${m.key}/manifest.json`);
      const stored = JSON.parse(Buffer.from(raw!).toString('utf8')) as Manifest;
      assert.deepEqual(stored, m);
      assert.deepEqual(stored.files, [
        { name: 'a.bin', size: 100_000, sha256: sha(files['a.bin']) },
        { name: 'dir/b.bin', size: 10, sha256: sha(files['dir/b.bin']) },
        { name: 'empty.txt', size: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
      ]);
      assert.equal(stored.step, 'unit');
      assert.equal(stored.version, '1');
      assert.deepEqual(stored.params, { n: 1 });
      assert.deepEqual(stored.inputs, { data: 'data-0000000000000000000000000000000000000000' });
      assert.equal(stored.projectVersion, packageVersion);
      const created = Date.parse(stored.createdAt);
      assert.ok(created >= t0 - 1000 && created <= t1 + 1000, stored.createdAt);
      assert.deepEqual(stored.meta, { note: 'x' });

      assert.equal(await store.has(m.key), true);
      for (const [f, d] of Object.entries(files)) assert.deepEqual(await store.get(m.key, f), d);
      assert.equal(await store.verify(m.key), true);
      assert.deepEqual(
        (await store.list()).map((x) => x.key),
        [m.key],
      );
      // putting again returns the stored artifact untouched
      const again = await store.put(spec(1), { 'other.bin': bytes(5) });
      assert.deepEqual(again, m);

      await store.delete(m.key);
      assert.equal(await store.has(m.key), false);
      assert.deepEqual(await store.list(), []);
      assert.deepEqual(await store.backend.list(`objects/${m.key}/`), []);
      await assert.rejects(store.get(m.key, 'a.bin'), NotFoundError);
    });

    test('not found: a missing artifact, a missing file, a missing run', async () => {
      const store = await backend.open();
      const key = stepKey(spec('absent'));
      assert.equal(await store.has(key), false);
      assert.equal(await store.manifest(key), undefined);
      assert.equal(await store.verify(key), false);
      await assert.rejects(store.get(key, 'x.bin'), (e: unknown) => e instanceof NotFoundError && e.message.includes(key));
      const m = await store.put(spec(2), { 'one.bin': bytes(3), 'two.bin': bytes(4) });
      await assert.rejects(
        store.get(m.key, 'three.bin'),
        (e: unknown) => e instanceof NotFoundError && /no file three\.bin; it has: one\.bin, two\.bin/.test((e as Error).message),
      );
      assert.equal(await store.getRun('nobody'), undefined);
      // keys and names that could address anything outside the artifact are refused
      await assert.rejects(store.get('../runs', 'x.bin'), /artifact key/);
      await assert.rejects(store.get(m.key, '../one.bin'), /artifact file name/);
      await assert.rejects(store.put(spec(3), { '../x': bytes(1) }), /artifact file name/);
      await assert.rejects(store.put(spec(3), { 'manifest.json': bytes(1) }), /artifact file name/);
      assert.equal(await store.has(stepKey(spec(3))), false);
    });

    test('a corrupted, truncated or missing file is an integrity error naming the file', async () => {
      const store = await backend.open();
      const files = { 'good.bin': bytes(5000, 1), 'c.bin': bytes(5000, 2) };
      const m = await store.put(spec(4), files);
      const path = `objects/${m.key}/c.bin`;
      // same length, one byte flipped, written directly into the backend
      const flipped = files['c.bin'].slice();
      flipped[1234] ^= 1;
      await store.backend.putObject(path, flipped);
      await assert.rejects(store.get(m.key, 'c.bin'), (e: unknown) => {
        assert.ok(e instanceof IntegrityError);
        assert.equal(e.file, 'c.bin');
        assert.equal(e.key, m.key);
        assert.match(e.message, /file c\.bin has SHA-256 [0-9a-f]{64}, the manifest says/);
        assert.ok(e.message.includes(sha(flipped)) && e.message.includes(sha(files['c.bin'])));
        return true;
      });
      assert.equal(await store.verify(m.key), false);
      assert.deepEqual(await store.get(m.key, 'good.bin'), files['good.bin']);
      // truncated
      await store.backend.putObject(path, files['c.bin'].subarray(0, 4000));
      await assert.rejects(store.get(m.key, 'c.bin'), /file c\.bin has 4000 bytes, the manifest says 5000/);
      assert.equal(await store.verify(m.key), false);
      // an export of a corrupt file leaves nothing under the destination name
      const out = join(tmp('export'), 'c.bin');
      await assert.rejects(store.exportFile(m.key, 'c.bin', out), (e: unknown) => e instanceof IntegrityError && e.file === 'c.bin');
      assert.equal(existsSync(out), false);
      // missing
      await store.backend.deleteObject(path);
      await assert.rejects(store.get(m.key, 'c.bin'), /file c\.bin is listed in the manifest but missing/);
      assert.equal(await store.verify(m.key), false);
      // restored: whole again
      await store.backend.putObject(path, files['c.bin']);
      assert.equal(await store.verify(m.key), true);
      // a manifest that is not JSON names manifest.json
      await store.backend.putObject(`objects/${m.key}/manifest.json`, Buffer.from('{"key": '));
      await assert.rejects(store.manifest(m.key), (e: unknown) => e instanceof IntegrityError && e.file === 'manifest.json');
      assert.equal(await store.verify(m.key), false);
    });

    test('exportFile streams a verified copy and refuses to overwrite unless asked', async () => {
      const store = await backend.open();
      const data = bytes(3_000_000, 7);
      const m = await store.put(spec(5), { 'big.bin': data });
      const out = join(tmp('export'), 'sub', 'big.bin');
      let seen = 0;
      await store.exportFile(m.key, 'big.bin', out, { onBytes: (n) => (seen += n) });
      assert.deepEqual(new Uint8Array(readFileSync(out)), data);
      assert.equal(seen, data.length);
      await assert.rejects(store.exportFile(m.key, 'big.bin', out), /already exists/);
      await store.exportFile(m.key, 'big.bin', out, { overwrite: true });
      assert.equal(sha(readFileSync(out)), sha(data));
    });

    test('putObjectIfAbsent: exactly one of concurrent creators wins; deleteObject frees the name', async () => {
      const store = await backend.open();
      const b = store.backend;
      const path = `locks/${stepKey(spec('lock'))}`;
      assert.equal(await b.putObjectIfAbsent(path, Buffer.from('first')), true);
      assert.equal(await b.putObjectIfAbsent(path, Buffer.from('second')), false);
      assert.equal(Buffer.from((await b.getObject(path))!).toString(), 'first');
      await b.deleteObject(path);
      assert.equal(await b.getObject(path), undefined);
      await b.deleteObject(path); // deleting what is not there is not an error

      for (let round = 0; round < 3; round++) {
        const p = `locks/race-${round}`;
        const contenders = Array.from({ length: 8 }, (_, i) => Buffer.from(`owner-${round}-${i}`));
        const results = await Promise.all(contenders.map((c) => b.putObjectIfAbsent(p, c)));
        assert.equal(results.filter(Boolean).length, 1, `round ${round}: ${results}`);
        const winner = results.indexOf(true);
        assert.equal(Buffer.from((await b.getObject(p))!).toString(), `owner-${round}-${winner}`);
      }
      // above the multipart threshold (16 MiB) too
      const big = [bytes(17 * 1024 * 1024, 1), bytes(17 * 1024 * 1024, 2)];
      const r = await Promise.all(big.map((d) => b.putObjectIfAbsent('locks/big', d)));
      assert.equal(r.filter(Boolean).length, 1, `${r}`);
      assert.equal(sha((await b.getObject('locks/big'))!), sha(big[r.indexOf(true)]));
      assert.equal(await b.putObjectIfAbsent('locks/big', big[0]), false);
    });

    test('two writers of the same key at once both succeed with one consistent artifact', async () => {
      const store = await backend.open();
      const files = { 'x.bin': bytes(200_000, 5), 'y.bin': bytes(1000, 6) };
      const [a, b] = await Promise.all([store.put(spec(6), files), store.put(spec(6), files)]);
      assert.deepEqual(a, b);
      assert.ok(await store.verify(a.key));
      assert.deepEqual(await store.get(a.key, 'x.bin'), files['x.bin']);

      // writers whose outputs differ (a step that is not bit-reproducible). Local (atomic publish):
      // every writer returns the one stored manifest. S3 (files written one by one): a writer
      // that met other bytes either finds the stored artifact consistent or removes it and fails
      // loudly. Either way a visible artifact matches its manifest, every stored file is one
      // writer's version, and a later writer ends with a sound artifact.
      const versions = [0, 1, 2, 3].map((w) => ({ 'p.bin': bytes(50_000, 100 + w), 'q.bin': bytes(70_000, 200 + w) }));
      const settled = await Promise.allSettled(versions.map((v) => store.put(spec(7), v)));
      const ms = settled.filter((x) => x.status === 'fulfilled').map((x) => x.value);
      for (const x of settled) {
        if (x.status === 'rejected') assert.match((x.reason as Error).message, /concurrent writers|another writer/);
      }
      if (name === 'local') {
        assert.equal(ms.length, versions.length);
        for (const m of ms) assert.deepEqual(m, ms[0]);
      }
      const key7 = stepKey(spec(7));
      if (await store.has(key7)) {
        assert.ok(await store.verify(key7));
        for (const f of ['p.bin', 'q.bin'] as const) {
          const got = sha(await store.get(key7, f));
          assert.ok(
            versions.some((v) => sha(v[f]) === got),
            f,
          );
        }
      }
      const later = await store.put(spec(7), versions[0]);
      assert.ok(await store.verify(later.key));
    });

    test('a reader never sees a half-written artifact', async () => {
      const store = await backend.open();
      // hold the writer before each object; the reader looks at every stop
      let release: () => void = () => {};
      const stops: string[] = [];
      const gate = async (_op: string, path: string) => {
        stops.push(path);
        await new Promise<void>((r) => {
          release = r;
        });
      };
      const writer = new ArtifactStore(hooked(store.backend, gate));
      const key = stepKey(spec(8));
      const files = { 'a.bin': bytes(1000, 1), 'b.bin': bytes(2000, 2), 'c.bin': bytes(3000, 3) };
      const put = writer.put(spec(8), files);
      const seen: boolean[] = [];
      for (let i = 0; i < 4; i++) {
        while (stops.length <= i) await new Promise((r) => setTimeout(r, 5));
        // the writer is about to write stops[i]; everything before it is written
        seen.push(await store.has(key));
        assert.deepEqual(
          (await store.list()).map((m) => m.key),
          [],
        );
        await assert.rejects(store.get(key, 'a.bin'), NotFoundError);
        release();
      }
      await put;
      assert.deepEqual(
        stops,
        ['a.bin', 'b.bin', 'c.bin', 'manifest.json'].map((f) => `objects/${key}/${f}`),
      );
      assert.deepEqual(seen, [false, false, false, false]);
      assert.equal(await store.has(key), true);

      // and without stops: a reader polling while a multi-file artifact is written either sees
      // nothing or a complete artifact whose every file verifies
      const big = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}.bin`, bytes(400_000, 10 + i)]));
      const key2 = stepKey(spec(9));
      let done = false;
      const p2 = store.put(spec(9), big).finally(() => {
        done = true;
      });
      while (!done) {
        const m = await store.manifest(key2);
        if (m) {
          for (const f of m.files) assert.deepEqual(await store.get(key2, f.name), big[f.name]);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      await p2;
      assert.equal(await store.verify(key2), true);
    });

    test('run records map human run names to step keys', async () => {
      const store = await backend.open();
      const data = await store.put({ step: 'data', version: '1', params: { seed: 1 }, inputs: {} }, { 'examples.parquet': bytes(10) });
      const train = await store.put(
        { step: 'train', version: '1', params: { seg: 0 }, inputs: { data: data.key } },
        { 'state.safetensors': bytes(20) },
      );
      const createdAt = new Date().toISOString();
      await store.putRun('exp-1', { name: 'exp-1', steps: { data: data.key }, createdAt, workflowId: 'wf-1' });
      await store.putRun('sweep/lr-0.001', { name: 'sweep/lr-0.001', steps: { data: data.key, 'train/0': train.key }, createdAt });
      assert.deepEqual(await store.listRuns(), ['exp-1', 'sweep/lr-0.001']);
      assert.deepEqual(await store.getRun('exp-1'), { name: 'exp-1', steps: { data: data.key }, createdAt, workflowId: 'wf-1' });
      // a run record grows as steps finish
      await store.putRun('exp-1', { name: 'exp-1', steps: { data: data.key, 'train/0': train.key }, createdAt, workflowId: 'wf-1' });
      const rec = await store.getRun('exp-1');
      assert.deepEqual(rec?.steps, { data: data.key, 'train/0': train.key });
      for (const k of Object.values(rec!.steps)) assert.ok(await store.verify(k));
      // runs are not artifacts
      assert.deepEqual((await store.list()).map((m) => m.step).sort(), ['data', 'train']);
      await assert.rejects(store.putRun('../escape', { name: 'x', steps: {}, createdAt }), /artifact file name/);
    });

    // the local backend has no credentials
    if (name === 'minio')
      test('credentials appear in no manifest, location or error', async () => {
        const secret = (await backend.secret())!;
        const store = await backend.open();
        const m = await store.put(spec(10), { 'a.bin': bytes(10) });
        const raw = Buffer.from((await store.backend.getObject(`objects/${m.key}/manifest.json`))!).toString();
        assert.ok(!raw.includes(secret));
        assert.ok(!store.location.includes(secret));
        const s = await getTestServices();
        const errors: string[] = [];
        // a bucket that does not exist, and a wrong secret
        const noBucket = new S3Backend({
          bucket: `missing-${unique()}`,
          endpoint: s.s3.endpoint,
          maxAttempts: 1,
          credentials: { accessKeyId: s.s3.accessKeyId, secretAccessKey: secret },
        });
        await new ArtifactStore(noBucket)
          .put(spec(11), { 'a.bin': bytes(10) })
          .catch((e: Error) => errors.push(`${e.message}\n${e.stack}`));
        const wrong = `${secret.slice(0, -4)}XXXX`;
        const badSecret = new S3Backend({
          bucket: s.s3.bucket,
          endpoint: s.s3.endpoint,
          maxAttempts: 1,
          credentials: { accessKeyId: s.s3.accessKeyId, secretAccessKey: wrong },
        });
        await new ArtifactStore(badSecret)
          .put(spec(12), { 'a.bin': bytes(10) })
          .catch((e: Error) => errors.push(`${e.message}\n${e.stack}`));
        // an endpoint URL carrying user info
        const withUser = new S3Backend({
          bucket: s.s3.bucket,
          endpoint: s.s3.endpoint.replace('http://', `http://user:${secret}@`),
          maxAttempts: 1,
        });
        errors.push(withUser.location);
        assert.equal(errors.length, 3);
        assert.match(errors[0], /NoSuchBucket/);
        assert.match(errors[1], /SignatureDoesNotMatch|InvalidAccessKeyId|Forbidden|403/);
        for (const e of errors) {
          assert.ok(!e.includes(secret), e);
          assert.ok(!e.includes(wrong), e);
        }
      });
  });
}

describe('S3 endpoint going away mid-write', () => {
  test('the write fails cleanly (no manifest, nothing visible) and a retry after it returns succeeds', async (t) => {
    const dir = tmp('minio-fault');
    const port = await freePort();
    let minio: StartedMinio | undefined = await startMinio(dir, port, 'fault');
    try {
      const credentials = minio.credentials;
      const backend = new S3Backend({ bucket: 'fault', endpoint: minio.endpoint, maxAttempts: 2, credentials });
      // a large multi-file artifact: 3 files of 20 MiB (multipart uploads) and a small one
      const files: Record<string, Uint8Array> = {
        'part-0.bin': bytes(20 * 1024 * 1024, 1),
        'part-1.bin': bytes(20 * 1024 * 1024, 2),
        'part-2.bin': bytes(20 * 1024 * 1024, 3),
        'z-small.json': Buffer.from('{"ok":true}'),
      };
      const key = stepKey(spec('fault'));
      // kill MinIO (SIGKILL: it goes away, no goodbye) 100 ms into the upload of the second file
      let killed = false;
      const killer = hooked(backend, async (_op, path) => {
        if (path.endsWith('part-1.bin') && !killed) {
          killed = true;
          const proc = minio!.proc;
          setTimeout(() => proc.kill('SIGKILL'), 100);
        }
      });
      const t0 = Date.now();
      let message = '';
      await assert.rejects(new ArtifactStore(killer).put(spec('fault'), files), (e: unknown) => {
        message = `${(e as Error).message}\n${(e as Error).stack}`;
        return true;
      });
      const failedAfter = Date.now() - t0;
      assert.ok(killed);
      assert.match(message, /S3 PUT/);
      assert.ok(!message.includes(credentials.secretAccessKey), 'no secret in the error');
      assert.ok(failedAfter < 30_000, `failed after ${failedAfter} ms`);
      await new Promise<void>((r) =>
        minio!.proc.exitCode !== null || minio!.proc.signalCode !== null ? r() : minio!.proc.once('exit', () => r()),
      );

      // back on the same port and data directory
      minio = await startMinio(dir, port, 'fault');
      const store = new ArtifactStore(backend);
      assert.equal(await store.has(key), false, 'no manifest');
      assert.deepEqual(await store.list(), []);
      assert.deepEqual(await backend.list(`objects/${key}/manifest`), []);
      const written = await backend.list(`objects/${key}/`);
      // whatever got in before the crash is whole (S3 objects appear whole or not at all)
      for (const p of written) {
        const name = p.slice(`objects/${key}/`.length);
        assert.equal(sha((await backend.getObject(p))!), sha(files[name]), name);
      }
      assert.ok(!written.some((p) => p.endsWith('part-2.bin') || p.endsWith('z-small.json')), `${written}`);
      t.diagnostic(
        `write failed after ${failedAfter} ms; objects present after the restart: ${written.map((p) => p.split('/').pop()).join(', ')}`,
      );
      t.diagnostic(`error: ${message.split('\n')[0]}`);

      const m = await store.put(spec('fault'), files);
      assert.equal(m.key, key);
      assert.equal(await store.verify(key), true);
      for (const [name, d] of Object.entries(files)) assert.equal(m.files.find((f) => f.name === name)?.sha256, sha(d));
    } finally {
      minio?.proc.kill('SIGKILL');
    }
    // the generated credentials file is private
    const { statSync } = await import('node:fs');
    assert.equal(statSync(join(dir, 'minio-credentials.json')).mode & 0o777, 0o600);
  });
});

describe('polca artifacts on MinIO (spawned, store from the environment)', () => {
  test('ls and download through POLCA_STORE=s3; the secret appears in no output', async () => {
    const { spawnSync } = await import('node:child_process');
    const { s3Env } = await import('../helpers/services.ts');
    const s = await getTestServices();
    const prefix = `cli-test-${unique()}`;
    const store = new ArtifactStore(
      new S3Backend({
        bucket: s.s3.bucket,
        endpoint: s.s3.endpoint,
        prefix,
        credentials: { accessKeyId: s.s3.accessKeyId, secretAccessKey: s.s3.secretAccessKey },
      }),
    );
    const files = { 'state.safetensors': bytes(300_000, 1), 'train_loss.parquet': bytes(1000, 2) };
    const m = await store.put({ step: 'train', version: '1', params: { segment: 0 }, inputs: {} }, files);
    await store.putRun('cli-run', { name: 'cli-run', steps: { 'train/0': m.key }, createdAt: new Date().toISOString() });
    const root = new URL('../..', import.meta.url).pathname;
    const polca = (args: string[], env = s3Env(s, prefix)) =>
      spawnSync(process.execPath, [join(root, 'bin', 'polca.mjs'), 'artifacts', ...args], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, ...env },
        timeout: 60_000,
      });
    const ls = polca(['ls', '--json']);
    assert.equal(ls.status, 0, ls.stderr);
    const listing = JSON.parse(ls.stdout);
    assert.deepEqual(
      listing.runs.map((r: { name: string }) => r.name),
      ['cli-run'],
    );
    assert.deepEqual(
      listing.artifacts.map((a: { key: string; size: number }) => [a.key, a.size]),
      [[m.key, 301_000]],
    );
    const out = tmp('cli-s3');
    const dl = polca(['download', 'cli-run', '--out', out]);
    assert.equal(dl.status, 0, dl.stderr);
    for (const [name, d] of Object.entries(files)) assert.equal(sha(readFileSync(join(out, 'train', '0', name))), sha(d));
    // a wrong secret: the command fails, and neither secret shows in what it prints
    const wrong = `${s.s3.secretAccessKey.slice(0, -4)}XXXX`;
    const bad = polca(['ls'], { ...s3Env(s, prefix), AWS_SECRET_ACCESS_KEY: wrong, POLCA_DEBUG: '1' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /polca: S3 LIST/);
    for (const text of [ls.stdout, ls.stderr, dl.stdout, dl.stderr, bad.stdout, bad.stderr]) {
      assert.ok(!text.includes(s.s3.secretAccessKey) && !text.includes(wrong));
    }
  });
});
