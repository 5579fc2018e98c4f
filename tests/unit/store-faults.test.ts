/**
 * Store faults that retrying cannot fix fail the activity at once, not retryable, with one line
 * naming the error, the path or bucket and what to do; no space left is retried only within a
 * short bounded wait. Driven through the real activities (createActivities, in Temporal's mock
 * activity context) by a store backend that refuses writes the way Node's file system calls do,
 * and, where this machine lets the test mount file systems, by a read-only and a full tmpfs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities/index.ts';
import { describeStoreFault, storeFault, storeFaultVerdict } from '../../activities/store-faults.ts';
import { ArtifactStore, LocalBackend } from '../../artifacts/index.ts';
import type { ComputePool } from '../../compute/pool.ts';
import { resolveConfig } from '../../config/index.ts';

const dirs: string[] = [];
const tmp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `polca-store-faults-${name}-`));
  dirs.push(d);
  return d;
};
const mounts: string[] = [];
after(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** An error as Node's fs calls make it: `CODE: description, syscall 'path'` with code, errno, syscall, path. */
function fsError(code: string, description: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: ${description}, ${syscall}${path ? ` '${path}'` : ''}`) as NodeJS.ErrnoException;
  Object.assign(e, { code, syscall, ...(path ? { path } : {}) });
  return e;
}

/** A local store backend that refuses every write with `fault(path)`; reads work. */
class RefusingBackend extends LocalBackend {
  constructor(
    root: string,
    readonly fault: (full: string) => Error,
  ) {
    super(root);
  }
  override async putObject(path: string): Promise<void> {
    throw this.fault(join(this.root, `${path}.tmp-1-abc`));
  }
  override async putObjectIfAbsent(path: string): Promise<boolean> {
    throw this.fault(join(this.root, `${path}.tmp-1-abc`));
  }
  override async publishArtifact(dir: string): Promise<boolean> {
    throw this.fault(join(this.root, `${dir}.tmp-1-abc`, 'manifest.json'));
  }
}

const spec = { step: 'unit', version: '1', params: { n: 1 }, inputs: {} };

/** What a step writing through `backend` throws (the error the compute thread would send). */
async function writeError(backend: LocalBackend): Promise<Error> {
  try {
    await new ArtifactStore(backend).put(spec, { 'x.bin': new Uint8Array(1 << 20) });
  } catch (e) {
    // across the thread boundary only the name and message survive (compute/task.ts)
    const plain = new Error((e as Error).message);
    plain.name = (e as Error).name;
    return plain;
  }
  throw new Error('the write did not fail');
}

/** Run the `data` activity in a mock activity context whose step fails with `err`. */
async function activityFailure(err: Error, sinceScheduledMs: number, storeDir: string): Promise<unknown> {
  const pool = {
    store: { kind: 'local', dir: storeDir },
    run: async () => {
      throw err;
    },
  } as unknown as ComputePool;
  const env = new MockActivityEnvironment({ scheduledTimestampMs: Date.now() - sinceScheduledMs });
  try {
    await env.run(createActivities(pool).data, resolveConfig({ preset: 'tiny' }));
  } catch (e) {
    return e;
  }
  throw new Error('the activity did not fail');
}

describe('which errors are store faults', () => {
  test('errno codes, with and without a path, also inside a wrapping message', () => {
    const cases: [Error, string, string, string | undefined][] = [
      [fsError('EROFS', 'read-only file system', 'open', '/s/runs/a.json.tmp-1'), 'read-only', 'EROFS', '/s/runs/a.json.tmp-1'],
      [fsError('EACCES', 'permission denied', 'mkdir', '/s/objects'), 'permission', 'EACCES', '/s/objects'],
      [fsError('EPERM', 'operation not permitted', 'rename', '/s/x'), 'permission', 'EPERM', '/s/x'],
      [fsError('ENOSPC', 'no space left on device', 'write'), 'no-space', 'ENOSPC', undefined],
      [fsError('EDQUOT', 'disk quota exceeded', 'write'), 'no-space', 'EDQUOT', undefined],
      [
        new Error("could not stage: ENOSPC: no space left on device, open '/s/o/k.tmp-2/a.bin'"),
        'no-space',
        'ENOSPC',
        '/s/o/k.tmp-2/a.bin',
      ],
    ];
    for (const [e, kind, code, where] of cases) assert.deepEqual(storeFault(e), { kind, code, where }, e.message);
  });

  test("the S3 backend's refusals: access denied, a full MinIO", () => {
    assert.deepEqual(storeFault(new Error('S3 PUT pre/runs/a.json in bucket polca failed: AccessDenied: Access Denied. (HTTP 403)')), {
      kind: 'permission',
      code: 'AccessDenied',
      where: 'pre/runs/a.json in bucket polca',
    });
    assert.deepEqual(
      storeFault(new Error('S3 PUT (if absent) locks/k in bucket b failed: InvalidAccessKeyId: The key does not exist. (HTTP 403)')),
      { kind: 'permission', code: 'HTTP 403', where: 'locks/k in bucket b' },
    );
    assert.deepEqual(
      storeFault(
        new Error(
          'S3 PUT objects/k/a.bin in bucket b failed: XMinioStorageFull: Storage backend has reached its minimum free drive threshold. (HTTP 507)',
        ),
      ),
      { kind: 'no-space', code: 'XMinioStorageFull', where: 'objects/k/a.bin in bucket b' },
    );
  });

  test('errors a retry may heal are none', () => {
    for (const e of [
      fsError('ECONNRESET', 'connection reset by peer', 'read'),
      fsError('ENOENT', 'no such file or directory', 'open', '/s/x'),
      fsError('EIO', 'i/o error', 'write'),
      new Error('S3 PUT k in bucket b failed: InternalError: We encountered an internal error. (HTTP 500)'),
      new Error('S3 GET k in bucket b failed: TimeoutError: socket hang up'),
      new Error('wrong matmul'),
    ])
      assert.equal(storeFault(e), undefined, e.message);
    assert.equal(storeFault('EROFS: read-only file system, open /x'), undefined, 'not an Error');
  });

  test('the verdict: read-only and permission fail at once; no space is retried inside the wait, then fails', () => {
    const rofs = fsError('EROFS', 'read-only file system', 'open', '/s/a');
    const full = fsError('ENOSPC', 'no space left on device', 'write');
    assert.equal(storeFaultVerdict(rofs, 0, 'local:/s', 30_000)?.action, 'fail');
    assert.equal(storeFaultVerdict(fsError('EACCES', 'permission denied', 'open', '/s/a'), 0, 'local:/s', 30_000)?.action, 'fail');
    assert.deepEqual(storeFaultVerdict(full, 29_999, 'local:/s', 30_000), { action: 'retry' });
    const late = storeFaultVerdict(full, 30_000, 'local:/s', 30_000);
    assert.equal(late?.action, 'fail');
    assert.match(
      (late as { message: string }).message,
      /^no space is left where the store writes: ENOSPC at \/s \(still after 30 s of retries\); free space there/,
    );
    assert.equal(storeFaultVerdict(new Error('boom'), 0, 'local:/s'), undefined);
  });

  test('each line names the error, the path or bucket, and what to do', () => {
    assert.equal(
      describeStoreFault({ kind: 'read-only', code: 'EROFS', where: '/s/runs/a.json.tmp-1' }, 'local:/s'),
      'the store is on a read-only file system: EROFS at /s/runs/a.json.tmp-1 (store /s); make it writable (remount it read-write) or point POLCA_STORE_DIR at a writable directory, then run the same command again',
    );
    assert.match(
      describeStoreFault({ kind: 'permission', code: 'AccessDenied', where: 'runs/a.json in bucket polca' }, 's3://polca/'),
      /^the store refuses this user writes there \(permission denied\): AccessDenied at runs\/a\.json in bucket polca \(store s3:\/\/polca\/\); give these credentials s3:PutObject/,
    );
  });
});

describe('the activity fails not retryable, at once (a backend that refuses writes)', () => {
  test('read-only file system: StoreFault, not retryable, naming EROFS, the path and what to do', async () => {
    const dir = tmp('rofs');
    const err = await writeError(new RefusingBackend(dir, (p) => fsError('EROFS', 'read-only file system', 'open', p)));
    const f = await activityFailure(err, 0, dir);
    assert.ok(f instanceof ApplicationFailure, String(f));
    assert.equal(f.nonRetryable, true);
    assert.equal(f.type, 'StoreFault');
    assert.match(
      f.message,
      new RegExp(`read-only file system: EROFS at ${dir}/objects/unit-[0-9a-f]+\\.tmp-1-abc/manifest\\.json \\(store ${dir}\\)`),
    );
    assert.match(f.message, /POLCA_STORE_DIR/);
    assert.doesNotMatch(f.message, /\n/, 'one line');
  });

  test('permission denied: StoreFault, not retryable', async () => {
    const dir = tmp('eacces');
    const err = await writeError(new RefusingBackend(dir, (p) => fsError('EACCES', 'permission denied', 'open', p)));
    const f = await activityFailure(err, 0, dir);
    assert.ok(f instanceof ApplicationFailure && f.nonRetryable && f.type === 'StoreFault', String(f));
    assert.match(f.message, /permission denied\): EACCES at .*give this user write access/);
  });

  test('no space left: retried (the error itself) inside the wait, StoreFault once it has passed', async () => {
    const dir = tmp('enospc');
    const err = await writeError(new RefusingBackend(dir, () => fsError('ENOSPC', 'no space left on device', 'write')));
    process.env.POLCA_NOSPACE_WAIT_SECONDS = '30';
    try {
      const early = await activityFailure(err, 1_000, dir);
      assert.ok(!(early instanceof ApplicationFailure), 'inside the wait: the plain error, which the retry policy retries');
      assert.equal((early as Error).message, err.message);
      const late = await activityFailure(err, 31_000, dir);
      assert.ok(late instanceof ApplicationFailure && late.nonRetryable && late.type === 'StoreFault', String(late));
      assert.match(
        late.message,
        new RegExp(`no space is left where the store writes: ENOSPC at ${dir} \\(still after 31 s of retries\\); free space there`),
      );
    } finally {
      delete process.env.POLCA_NOSPACE_WAIT_SECONDS;
    }
  });

  test('an error that is no store fault is left to the retry policy', async () => {
    const err = new Error('S3 GET k in bucket b failed: TimeoutError: socket hang up');
    const f = await activityFailure(err, 60_000, tmp('other'));
    assert.ok(!(f instanceof ApplicationFailure));
  });
});

/** Mount a tmpfs at a new directory (root with CAP_SYS_ADMIN only); undefined when this machine does not allow it. */
function tmpfs(name: string, options: string): string | undefined {
  const dir = join(tmp(name), 'mnt');
  mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  mounts.push(dir);
  return dir;
}

describe('real file systems: a read-only and a full tmpfs', () => {
  const canMount = tmpfs('probe', 'size=64k') !== undefined;
  const skip = canMount ? false : 'mounting a tmpfs needs root with CAP_SYS_ADMIN here';

  test('writing into a read-only tmpfs: EROFS with its path, and the run record (saveRun) fails not retryable', { skip }, async () => {
    // a store that exists (what a read-only mount of a used store holds), then the mount made read-only
    const dir = tmpfs('ro', 'size=1m')!;
    mkdirSync(join(dir, 'store', 'objects'), { recursive: true });
    mkdirSync(join(dir, 'store', 'runs'), { recursive: true });
    assert.equal(spawnSync('mount', ['-o', 'remount,ro', dir]).status, 0, 'remount read-only');
    const err = await writeError(new LocalBackend(join(dir, 'store')));
    assert.deepEqual(storeFault(err)?.kind, 'read-only', err.message);
    assert.equal(storeFault(err)?.code, 'EROFS');
    assert.ok(storeFault(err)?.where?.startsWith(dir), storeFault(err)?.where);
    // saveRun writes through the store the pool names: the real LocalBackend on the read-only mount
    const pool = { store: { kind: 'local', dir: join(dir, 'store') }, run: async () => undefined } as unknown as ComputePool;
    const env = new MockActivityEnvironment({ scheduledTimestampMs: Date.now() });
    const f = await env
      .run(createActivities(pool).saveRun, { name: 'r', config: resolveConfig({ preset: 'tiny' }), steps: {}, results: [] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(f instanceof ApplicationFailure && f.nonRetryable && f.type === 'StoreFault', String(f));
    assert.match(f.message, new RegExp(`EROFS at ${dir}/store`));
  });

  test('writing 1 MiB into a 64 KiB tmpfs: ENOSPC, and the failed writes leave nothing that takes space', { skip }, async () => {
    const dir = tmpfs('full', 'size=64k')!;
    const backend = new LocalBackend(join(dir, 'store'));
    const err = await writeError(backend);
    assert.equal(storeFault(err)?.kind, 'no-space', err.message);
    assert.equal(storeFault(err)?.code, 'ENOSPC');
    // a single object (a resume point, a run record) that does not fit
    const single = await backend.putObject('scratch/k/partial.bin', new Uint8Array(1 << 20)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.equal(storeFault(single)?.code, 'ENOSPC', String(single));
    const left = spawnSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(left, '', 'no partly written file is left behind');
  });
});
