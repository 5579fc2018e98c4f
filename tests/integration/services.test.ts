/**
 * `polca services up | status | down` through the real CLI, with POLCA_HOME in a temporary
 * directory and free ports: health as Temporal's own CLI and MinIO's health endpoint report it, a
 * taken port named in the error, the printed env lines working for `polca doctor`, workflow history
 * surviving a kill -9 of the dev server, and `down` leaving none of the recorded processes alive.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { ArtifactStore, LocalBackend } from '../../artifacts/store.ts';
import { BINARIES, findBinary } from '../../services/binaries.ts';
import { ensureLocalServices, freePort, pidAlive } from '../../services/manager.ts';
import { runWiringCheck } from '../../services/wiring.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'polca-services-it-'));
const home = join(work, 'home');

function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(POLCA_|TEMPORAL_|MINIO_|AWS_)/.test(k)) delete env[k];
  }
  return { ...env, ...extra };
}

async function polca(args: string[], env: NodeJS.ProcessEnv = cleanEnv({ POLCA_HOME: home })) {
  try {
    const r = await run(process.execPath, [join(root, 'bin', 'polca.mjs'), ...args], { env, cwd: work, timeout: 180_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

interface Status {
  healthy: boolean;
  dataDir: string;
  temporal: { pid: number; address: string; port: number; uiPort: number; uiUrl: string; healthy: boolean; running: boolean };
  minio: {
    pid: number;
    endpoint: string;
    port: number;
    bucket: string;
    healthy: boolean;
    running: boolean;
    recorded: boolean;
    awsCredentialsFile: string;
  };
}

async function status(): Promise<{ code: number; s: Status }> {
  const r = await polca(['services', 'status', '--json']);
  return { code: r.code, s: JSON.parse(r.stdout) as Status };
}

const recordedPids = new Set<number>();
after(async () => {
  // Whatever happened, stop what this file started.
  await polca(['services', 'down']);
  for (const pid of recordedPids) {
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(work, { recursive: true, force: true });
});

async function waitDead(pid: number, ms = 15_000) {
  const t0 = Date.now();
  while (pidAlive(pid) && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 100));
  return !pidAlive(pid);
}

test('services up, status, a taken port, env lines for doctor, history across kill -9, down', { timeout: 600_000 }, async (t) => {
  const temporalBin = findBinary(BINARIES.temporal);
  assert.ok(temporalBin, 'the temporal binary is built');
  const [tPort, uPort, mPort] = [await freePort(), await freePort(), await freePort()];
  const addr = `127.0.0.1:${tPort}`;

  const up = await polca([
    'services',
    'up',
    '--temporal-port',
    String(tPort),
    '--ui-port',
    String(uPort),
    '--minio-port',
    String(mPort),
    '--bucket',
    'polca-it',
  ]);
  assert.equal(up.code, 0, up.stderr);
  for (const line of [
    `Temporal dev server: ${addr} (gRPC), started`,
    `Web UI: http://127.0.0.1:${uPort}`,
    `MinIO: http://127.0.0.1:${mPort} (S3 API), bucket polca-it, started`,
    `export TEMPORAL_ADDRESS=${addr}`,
    'export POLCA_STORE=s3',
    `export POLCA_S3_ENDPOINT=http://127.0.0.1:${mPort}`,
  ]) {
    assert.ok(up.stdout.includes(line), `${up.stdout} should include ${line}`);
  }
  const credsFile = join(home, 'services', 'minio-credentials.json');
  assert.equal(statSync(credsFile).mode & 0o777, 0o600);
  const creds = JSON.parse(readFileSync(credsFile, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
  assert.ok(!`${up.stdout}${up.stderr}`.includes(creds.secretAccessKey), 'the secret is never printed');

  const { code, s } = await status();
  assert.equal(code, 0);
  assert.equal(s.healthy, true);
  assert.equal(s.temporal.port, tPort);
  recordedPids.add(s.temporal.pid).add(s.minio.pid);

  await t.test('health as Temporal’s CLI and MinIO report it', async () => {
    const h = await run(temporalBin!, ['operator', 'cluster', 'health', '--address', addr]);
    assert.match(h.stdout, /SERVING/);
    assert.equal((await fetch(`http://127.0.0.1:${mPort}/minio/health/live`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${uPort}/`)).status, 200); // the Web UI
  });

  await t.test('a second up on a taken port fails naming the port; up again in the same home reuses', async () => {
    const other = cleanEnv({ POLCA_HOME: join(work, 'other-home') });
    const r = await polca(['services', 'up', '--temporal-port', String(tPort), '--minio-port', String(await freePort())], other);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`port ${tPort} \\(Temporal gRPC, --temporal-port\\) is already in use`));
    assert.equal(existsSync(join(work, 'other-home', 'services', 'state.json')), false);
    const again = await polca(['services', 'up']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already running, PID/);
    assert.equal((await status()).s.temporal.pid, s.temporal.pid);
  });

  await t.test('the printed env lines are enough for `polca doctor` (S3 store, worker wiring)', async () => {
    const env: NodeJS.ProcessEnv = cleanEnv({ POLCA_HOME: home });
    for (const m of up.stdout.matchAll(/^ {2}export (\w+)=(\S+)$/gm)) env[m[1]] = m[2];
    assert.equal(env.AWS_SHARED_CREDENTIALS_FILE, s.minio.awsCredentialsFile);
    env.POLCA_S3_PREFIX = `doctor-${Date.now()}`;
    const d = await polca(['doctor', '--json'], env);
    const report = JSON.parse(d.stdout) as { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.ok]),
      [
        ['Temporal', true],
        ['artifact store', true],
        ['TF.js backend', true],
        ['worker wiring', true],
      ],
    );
    assert.match(report.checks[1].detail, /^s3:\/\/polca-it\//);
  });

  await t.test('a workflow run before a kill -9 of the dev server is still there after `up` restarts it', async () => {
    const store = new ArtifactStore(new LocalBackend(join(work, 'store')));
    const before = await runWiringCheck({ address: addr, store });
    process.kill(s.temporal.pid, 'SIGKILL');
    assert.ok(await waitDead(s.temporal.pid), 'the dev server died');
    const down = await status();
    assert.equal(down.code, 1);
    assert.equal(down.s.temporal.running, false);
    assert.equal(down.s.minio.healthy, true);

    const re = await polca(['services', 'up']);
    assert.equal(re.code, 0, re.stderr);
    const after = (await status()).s;
    recordedPids.add(after.temporal.pid);
    assert.notEqual(after.temporal.pid, s.temporal.pid);
    assert.equal(after.temporal.port, tPort, 'restarted on the recorded port');
    assert.equal(after.minio.pid, s.minio.pid, 'MinIO kept running');

    const { Client, Connection } = await import('@temporalio/client');
    const connection = await Connection.connect({ address: addr });
    try {
      const d = await new Client({ connection }).workflow.getHandle(before.workflowId).describe();
      assert.equal(d.status.name, 'COMPLETED');
      assert.equal(d.taskQueue, before.taskQueue);
    } finally {
      await connection.close();
    }
    const list = await run(temporalBin!, ['workflow', 'list', '--address', addr, '--query', `WorkflowId = '${before.workflowId}'`]);
    const row = list.stdout.split('\n').find((l) => l.includes(before.workflowId));
    assert.ok(row, list.stdout);
    assert.match(row, /Completed/);
  });

  await t.test('down stops exactly the recorded processes and keeps the data', async () => {
    const pids = [...recordedPids];
    const d = await polca(['services', 'down']);
    assert.equal(d.code, 0, d.stderr);
    for (const pid of pids) assert.ok(await waitDead(pid, 2000), `PID ${pid} is not alive`);
    assert.equal(existsSync(join(home, 'services', 'state.json')), false);
    assert.ok(existsSync(join(home, 'services', 'temporal.db')));
    const st = await status();
    assert.equal(st.code, 1);
    assert.equal(st.s.healthy, false);
  });

  await t.test('ensureLocalServices (for `polca run`) starts Temporal alone, then reuses it', async () => {
    const first = await ensureLocalServices(home, { minio: false, temporalPort: tPort });
    const st = (await status()).s;
    recordedPids.add(st.temporal.pid);
    assert.deepEqual(first, { temporalAddress: addr, uiUrl: st.temporal.uiUrl, started: true });
    assert.equal((await fetch(first.uiUrl)).status, 200);
    assert.equal(st.healthy, true);
    assert.equal(st.minio.recorded, false);
    const again = await ensureLocalServices(home, { minio: false });
    assert.equal(again.started, false);
    assert.equal((await status()).s.temporal.pid, st.temporal.pid);
    const d = await polca(['services', 'down']);
    assert.match(d.stdout, new RegExp(`stopped the Temporal dev server \\(PID ${st.temporal.pid}\\)`));
    assert.ok(await waitDead(st.temporal.pid, 2000));
  });
});
