/**
 * Ctrl-C and store faults through the real `polca run` against a real Temporal dev server.
 *  - One SIGINT to the command's process group (what a terminal sends) during a `tiny` run ends
 *    the command within seconds with exit status 130; it says that the workflow keeps running on
 *    the server, with its id and the commands to continue, follow and cancel it; the workflow is
 *    still RUNNING; the same command again finishes it with the reference bytes; `polca cancel`
 *    ends a workflow left without a worker.
 *  - A store on a read-only file system and a store on a full one (tmpfs mounts; skipped where
 *    this machine does not let the test mount): the run fails at once (no space: after the short
 *    bounded wait), and the command's last line names the error, the path and what to do.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { storeFault } from '../../activities/store-faults.ts';
import { ArtifactStore, LocalBackend } from '../../artifacts/index.ts';
import { S3Backend } from '../../artifacts/s3.ts';
import { polca, polcaBin, type RunJson, type Sandbox, sandbox, storeDigest, waitUntil } from '../../bench/experiment.ts';
import { getTestServices, type TestServices } from '../helpers/services.ts';

let services: TestServices;
let client: Client;
let connection: Connection;
before(async () => {
  services = await getTestServices();
  connection = await Connection.connect({ address: services.temporalAddress });
  client = new Client({ connection });
});
const mounts: string[] = [];
const dirs: string[] = [];
after(async () => {
  await connection?.close();
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const lastLine = (s: string) => s.trimEnd().split('\n').pop() ?? '';
const statusOf = async (id: string) => (await client.workflow.getHandle(id).describe()).status.name;

/** `polca …` in a process group of its own (as a shell starts a foreground job), its output collected. */
function startGroup(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [polcaBin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal, at: Date.now() })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

describe('Ctrl-C during `polca run`', { concurrency: false }, () => {
  let sb: Sandbox;
  let interruptedRunId: string | undefined;
  const id = `interrupt-${Date.now()}`;
  const args = ['run', '--preset', 'tiny', '--set', 'runtime.heartbeatSeconds=30', '--workers', '1', '--id', id];

  test('one SIGINT to the process group ends the command within seconds, exit 130, the workflow still running', {
    timeout: 600_000,
  }, async () => {
    sb = sandbox(services.temporalAddress, 'interrupt');
    dirs.push(sb.home);
    const p = startGroup(args, sb.env);
    // some steps stored and others running: training past its first segment
    const stored = () => {
      try {
        return readdirSync(join(sb.storeDir, 'objects')).filter((d) => !d.includes('.tmp-')).length;
      } catch {
        return 0;
      }
    };
    await waitUntil('three stored steps', () => stored() >= 3 || p.child.exitCode !== null, 400_000, 50);
    assert.equal(p.child.exitCode, null, `the run ended before it could be interrupted:\n${p.stderr().slice(-2000)}`);
    const t0 = Date.now();
    process.kill(-p.child.pid!, 'SIGINT');
    const killer = setTimeout(() => process.kill(-p.child.pid!, 'SIGKILL'), 60_000);
    const end = await p.exited;
    clearTimeout(killer);
    const seconds = (end.at - t0) / 1000;
    console.log(`# one SIGINT: the command ended ${seconds.toFixed(1)} s later (with ${stored()} steps stored)`);
    assert.equal(end.code, 130, `exit ${end.code} (signal ${end.signal})\n${p.stderr().slice(-3000)}`);
    assert.ok(seconds < 10, `ended ${seconds.toFixed(1)} s after the signal`);
    const err = p.stderr();
    assert.match(err, /interrupted: stopping the local worker/);
    assert.match(err, new RegExp(`workflow ${id} keeps running on the Temporal server`));
    assert.match(err, new RegExp(`follow it: +polca status ${id}`));
    assert.match(err, new RegExp(`cancel it: +polca cancel ${id}`));
    assert.match(err, new RegExp(`continue it: +polca ${args.join(' ').replaceAll('.', '\\.')}`));
    assert.match(lastLine(err), new RegExp(`^polca: interrupted; workflow ${id} keeps running on the server$`));
    assert.equal(p.stdout(), '', 'nothing on stdout');
    assert.equal(await statusOf(id), 'RUNNING');
    interruptedRunId = (await client.workflow.getHandle(id).describe()).runId;
  });

  test('the same command again attaches to the workflow and finishes it with the bytes of an uninterrupted run', {
    timeout: 600_000,
  }, async () => {
    assert.ok(sb, 'the previous test interrupted a run');
    const t0 = Date.now();
    const r = await polca([...args, '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const run = JSON.parse(r.stdout) as RunJson;
    assert.equal(run.workflowId, id);
    assert.equal(run.runId, interruptedRunId, 'the interrupted workflow went on (attached to, not started again)');
    console.log(`# rerun after the interrupt: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // the same bytes as an uninterrupted run of the same config in a fresh store
    const ref = sandbox(services.temporalAddress, 'interrupt-ref');
    dirs.push(ref.home);
    const clean = await polca(
      ['run', '--preset', 'tiny', '--set', 'runtime.heartbeatSeconds=30', '--workers', '1', '--id', `${id}-ref`, '--json'],
      ref.env,
    );
    assert.equal(clean.code, 0, clean.stderr.slice(-3000));
    assert.deepEqual(
      await storeDigest(new ArtifactStore(new LocalBackend(sb.storeDir))),
      await storeDigest(new ArtifactStore(new LocalBackend(ref.storeDir))),
    );
  });

  test('SIGTERM to the command alone (a process manager stopping it) ends it the same way, exit 143', { timeout: 600_000 }, async () => {
    const box = sandbox(services.temporalAddress, 'sigterm');
    dirs.push(box.home);
    const tid = `sigterm-${Date.now()}`;
    const p = startGroup(['run', '--preset', 'tiny', '--set', 'runtime.heartbeatSeconds=30', '--workers', '1', '--id', tid], box.env);
    await waitUntil('the workflow started', () => p.stderr().includes(`workflow ${tid} on `) || p.child.exitCode !== null, 400_000, 50);
    assert.equal(p.child.exitCode, null, p.stderr().slice(-2000));
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    const killer = setTimeout(() => process.kill(-p.child.pid!, 'SIGKILL'), 60_000);
    const end = await p.exited;
    clearTimeout(killer);
    const seconds = (end.at - t0) / 1000;
    console.log(`# SIGTERM: the command ended ${seconds.toFixed(1)} s later`);
    assert.equal(end.code, 143, `exit ${end.code} (signal ${end.signal})\n${p.stderr().slice(-3000)}`);
    assert.ok(seconds < 10, `ended ${seconds.toFixed(1)} s after the signal`);
    assert.match(lastLine(p.stderr()), new RegExp(`^polca: interrupted; workflow ${tid} keeps running on the server$`));
    assert.equal(await statusOf(tid), 'RUNNING');
    const cancel = await polca(['cancel', tid], box.env);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(await statusOf(tid), 'TERMINATED');
  });

  test('`polca cancel` ends a workflow that no worker serves', { timeout: 120_000 }, async () => {
    const box = sandbox(services.temporalAddress, 'cancel');
    dirs.push(box.home);
    const cid = `cancel-${Date.now()}`;
    const started = await polca(['run', '--preset', 'tiny', '--detach', '--id', cid, '--json'], box.env);
    assert.equal(started.code, 0, started.stderr);
    assert.equal(await statusOf(cid), 'RUNNING');
    const r = await polca(['cancel', cid, '--json'], box.env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { workflowId: cid, action: 'terminated', status: 'TERMINATED' });
    const again = await polca(['cancel', cid], box.env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /is not running \(TERMINATED\): nothing to cancel/);
  });
});

/** A tmpfs at a new directory (root with CAP_SYS_ADMIN only); undefined where mounting is not allowed. */
function tmpfs(options: string): string | undefined {
  const base = mkdtempSync(join(tmpdir(), 'polca-fault-mnt-'));
  dirs.push(base);
  const dir = join(base, 'mnt');
  mkdirSync(dir);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]).status !== 0) return undefined;
  mounts.push(dir);
  return dir;
}

describe('a store that cannot be written: the run fails at once, its last line says why and what to do', { concurrency: false }, () => {
  const probe = tmpfs('size=64k');
  const skip = probe ? false : 'mounting a tmpfs needs root with CAP_SYS_ADMIN here';

  test('read-only: every step cached, the run record cannot be saved (EROFS)', { skip, timeout: 600_000 }, async () => {
    const mnt = tmpfs('size=256m')!;
    const sb = sandbox(services.temporalAddress, 'rofs', { POLCA_STORE_DIR: join(mnt, 'store') });
    dirs.push(sb.home);
    const first = await polca(['run', '--preset', 'tiny', '--workers', '1', '--id', `rofs-a-${Date.now()}`, '--json'], sb.env);
    assert.equal(first.code, 0, first.stderr.slice(-3000));
    assert.equal(spawnSync('mount', ['-o', 'remount,ro', mnt]).status, 0, 'remount read-only');
    const t0 = Date.now();
    const r = await polca(['run', '--preset', 'tiny', '--workers', '1', '--id', `rofs-b-${Date.now()}`], sb.env);
    const seconds = (Date.now() - t0) / 1000;
    console.log(`# read-only store: failed after ${seconds.toFixed(1)} s`);
    assert.equal(r.code, 1, r.stderr.slice(-3000));
    const last = lastLine(r.stderr);
    assert.match(last, /^polca: step saveRun failed: the store is on a read-only file system: EROFS at /);
    assert.ok(last.includes(join(mnt, 'store')), last);
    assert.match(last, /POLCA_STORE_DIR/);
    assert.ok(seconds < 60, `${seconds.toFixed(1)} s`);
    assert.ok(!/attempt: 2/.test(r.stderr), 'not retried');
  });

  test('no space left: the first step that writes fails after the bounded wait (ENOSPC)', { skip, timeout: 600_000 }, async () => {
    const mnt = tmpfs('size=24k')!;
    const sb = sandbox(services.temporalAddress, 'enospc', { POLCA_STORE_DIR: join(mnt, 'store'), POLCA_NOSPACE_WAIT_SECONDS: '4' });
    dirs.push(sb.home);
    const t0 = Date.now();
    const r = await polca(['run', '--preset', 'tiny', '--workers', '1', '--id', `enospc-${Date.now()}`], sb.env);
    const seconds = (Date.now() - t0) / 1000;
    console.log(`# full store: failed after ${seconds.toFixed(1)} s`);
    assert.equal(r.code, 1, r.stderr.slice(-3000));
    const last = lastLine(r.stderr);
    assert.match(last, /^polca: step \w+ failed: no space is left where the store writes: ENOSPC at /);
    assert.ok(last.includes(join(mnt, 'store')), last);
    assert.match(last, /still after \d+ s of retries\); free space there/);
    assert.ok(seconds < 120, `${seconds.toFixed(1)} s`);
  });
});

test('an S3 bucket that refuses these credentials is a permission fault naming the bucket (MinIO)', async () => {
  const s = services.s3;
  const backend = new S3Backend({
    bucket: s.bucket,
    endpoint: s.endpoint,
    prefix: `refused-${Date.now()}`,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: `${s.secretAccessKey}-wrong` },
  });
  const err = await backend.putObject('runs/r.json', new Uint8Array(8)).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  assert.ok(err, 'the write was refused');
  // as the compute thread hands it over: the message alone
  const f = storeFault(new Error(err.message));
  assert.equal(f?.kind, 'permission', err.message);
  assert.match(f?.where ?? '', new RegExp(`runs/r\\.json in bucket ${s.bucket}$`));
  assert.ok(!err.message.includes(s.secretAccessKey), 'no secret in the message');
});
