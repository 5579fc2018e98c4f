/**
 * The service plumbing without running services: binary lookup and the Go build driver (with a
 * stand-in `go`), credentials files, the env lines (no secrets), port checks, process checks, the
 * state lock, the test runner's summary line, the wiring activity and the doctor's local checks.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createWiringActivities, WIRING_FILE, wiringBytes, wiringSpec } from '../../activities/wiring.ts';
import { stepKey } from '../../artifacts/keys.ts';
import { ArtifactStore, LocalBackend } from '../../artifacts/store.ts';
import { checkBackend, checkStore, checkTemporal, formatChecks } from '../../cli/doctor.ts';
import { envLines } from '../../cli/services.ts';
import { BINARIES, buildBinary, cachedPath, ensureBinaries, findBinary } from '../../services/binaries.ts';
import {
  assertPortFree,
  isOurProcess,
  minioCredentials,
  pidAlive,
  servicesDown,
  servicesUp,
  stopPid,
  writeAwsCredentialsFile,
} from '../../services/manager.ts';
// @ts-expect-error plain JavaScript module without types
import { parseSpecSummary, summaryLine } from '../../scripts/test-summary.mjs';

const root = mkdtempSync(join(tmpdir(), 'polca-unit-services-'));
after(() => rmSync(root, { recursive: true, force: true }));
const tmp = (p: string) => mkdtempSync(join(root, `${p}-`));

async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

/** A stand-in for `go install -v`: prints download and package lines, sleeps, writes $GOBIN/<name>. */
function fakeGo(dir: string, opts: { sleep?: number; fail?: boolean } = {}): string {
  const bin = join(dir, 'fakebin');
  mkdirSync(bin, { recursive: true });
  const script = `#!/bin/sh
name=$(basename "$(echo "$3" | sed 's/@.*//')")
echo "go: downloading example.com/dep v1.0.0" >&2
echo "go: downloading example.com/dep2 v1.0.0" >&2
echo "internal/goarch" >&2
echo "example.com/dep/pkg" >&2
sleep ${opts.sleep ?? 0}
echo "example.com/$name" >&2
${opts.fail ? 'echo "compile error" >&2; exit 2' : 'printf "#!/bin/sh\\necho built\\n" > "$GOBIN/$name"; chmod +x "$GOBIN/$name"'}
`;
  writeFileSync(join(bin, 'go'), script);
  chmodSync(join(bin, 'go'), 0o755);
  return bin;
}

test('findBinary: the env override, then the versioned cache, then PATH; a bad override names the variable', () => {
  const cache = tmp('cache');
  const pathDir = tmp('path');
  const b = BINARIES.temporal;
  const env = { POLCA_CACHE_DIR: cache, PATH: pathDir };
  assert.equal(findBinary(b, env), undefined);
  writeFileSync(join(pathDir, 'temporal'), '');
  assert.equal(findBinary(b, env), join(pathDir, 'temporal'));
  mkdirSync(join(cache, 'temporal-v1.5.1'));
  writeFileSync(join(cache, 'temporal-v1.5.1', 'temporal'), '');
  assert.equal(findBinary(b, env), join(cache, 'temporal-v1.5.1', 'temporal'));
  const own = join(pathDir, 'my-temporal');
  writeFileSync(own, '');
  assert.equal(findBinary(b, { ...env, POLCA_TEMPORAL_BIN: own }), own);
  assert.throws(() => findBinary(b, { ...env, POLCA_TEMPORAL_BIN: '/nonexistent/t' }), /POLCA_TEMPORAL_BIN=\/nonexistent\/t: no such file/);
  assert.equal(BINARIES.minio.version, 'v0.0.0-20260212201848-7aac2a2c5b7c');
});

test('buildBinary: progress lines count downloads and packages; the binary lands in the cache; a failed build leaves nothing', async () => {
  const dir = tmp('build');
  const env = { PATH: `${fakeGo(dir, { sleep: 0.3 })}:/usr/bin:/bin`, POLCA_CACHE_DIR: join(dir, 'cache'), HOME: dir };
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => lines.push(String(s)) > 0) as typeof process.stderr.write;
  let path: string;
  try {
    path = await buildBinary(BINARIES.minio, env, 100);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(path, cachedPath(BINARIES.minio, env));
  assert.equal(execFileSync(path, { encoding: 'utf8' }).trim(), 'built');
  const progress = lines.filter((l) => l.includes('modules downloaded'));
  assert.ok(
    progress.some((l) => /2 modules downloaded, 2 packages compiled/.test(l)),
    lines.join(''),
  );
  assert.match(lines.at(-1)!, /built minio .* \(3 packages\)/);
  assert.deepEqual(readdirSync(join(dir, 'cache')), [`minio-${BINARIES.minio.version}`]); // staging removed

  const dir2 = tmp('buildfail');
  const env2 = { PATH: `${fakeGo(dir2, { fail: true })}:/usr/bin:/bin`, POLCA_CACHE_DIR: join(dir2, 'cache'), HOME: dir2 };
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await assert.rejects(
      buildBinary(BINARIES.temporal, env2, 100),
      /go install github.com\/temporalio\/cli\/cmd\/temporal@v1.5.1 failed \(exit 2\)/,
    );
  } finally {
    process.stderr.write = write;
  }
  assert.equal(findBinary(BINARIES.temporal, env2), undefined);
  assert.deepEqual(readdirSync(join(dir2, 'cache')), []);
});

test('ensureBinaries builds the missing binaries in parallel', async () => {
  const dir = tmp('parallel');
  const env = { PATH: `${fakeGo(dir, { sleep: 1.5 })}:/usr/bin:/bin`, POLCA_CACHE_DIR: join(dir, 'cache'), HOME: dir };
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  const t0 = Date.now();
  let bins: Record<string, string>;
  try {
    bins = await ensureBinaries([BINARIES.temporal, BINARIES.minio], env);
  } finally {
    process.stderr.write = write;
  }
  const elapsed = Date.now() - t0;
  assert.equal(bins.temporal, cachedPath(BINARIES.temporal, env));
  assert.equal(bins.minio, cachedPath(BINARIES.minio, env));
  // Sequential builds would take at least 3 s (two 1.5 s sleeps).
  assert.ok(elapsed < 2900, `took ${elapsed} ms`);
});

test('MinIO credentials: generated once with mode 0600, stable, the environment wins; the AWS file is read by the SDK', async () => {
  const dir = tmp('creds');
  const a = minioCredentials(dir, {});
  const file = join(dir, 'minio-credentials.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(minioCredentials(dir, {}), a);
  assert.ok(a.secretAccessKey.length >= 32);
  assert.deepEqual(minioCredentials(tmp('creds2'), { MINIO_ROOT_USER: 'u', MINIO_ROOT_PASSWORD: 'p' }), {
    accessKeyId: 'u',
    secretAccessKey: 'p',
  });

  const aws = writeAwsCredentialsFile(dir, a);
  assert.equal(statSync(aws).mode & 0o777, 0o600);
  const { S3Client } = await import('@aws-sdk/client-s3');
  const saved = { ...process.env };
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete process.env[k];
  process.env.AWS_SHARED_CREDENTIALS_FILE = aws;
  process.env.AWS_CONFIG_FILE = join(dir, 'no-config');
  process.env.AWS_PROFILE = 'polca-local';
  try {
    const client = new S3Client({ region: 'us-east-1' });
    const c = await client.config.credentials();
    assert.equal(c.accessKeyId, a.accessKeyId);
    assert.equal(c.secretAccessKey, a.secretAccessKey);
    client.destroy();
  } finally {
    for (const k of ['AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_PROFILE']) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('the env lines point at the services and never contain a secret', () => {
  const dir = tmp('envlines');
  const creds = minioCredentials(dir, {});
  const state = {
    dataDir: dir,
    temporal: { pid: 1, address: '127.0.0.1:7233', uiUrl: 'http://127.0.0.1:8233', port: 7233, uiPort: 8233 },
    minio: {
      pid: 2,
      endpoint: 'http://127.0.0.1:9000',
      port: 9000,
      consolePort: 9001,
      bucket: 'polca',
      credentials: join(dir, 'minio-credentials.json'),
      awsCredentialsFile: writeAwsCredentialsFile(dir, creds),
    },
  };
  const text = envLines(state).join('\n');
  for (const l of [
    'export TEMPORAL_ADDRESS=127.0.0.1:7233',
    'export POLCA_STORE=s3',
    'export POLCA_S3_ENDPOINT=http://127.0.0.1:9000',
    `export AWS_SHARED_CREDENTIALS_FILE=${join(dir, 'aws-credentials')}`,
  ]) {
    assert.ok(text.includes(l), `${text} should include ${l}`);
  }
  assert.ok(!text.includes(creds.secretAccessKey));
  assert.ok(!text.includes(creds.accessKeyId));
});

test('a taken port fails naming the port, before anything starts', async () => {
  const { server, port } = await listen();
  try {
    await assert.rejects(assertPortFree(port, 'Temporal gRPC'), new RegExp(`port ${port} \\(Temporal gRPC\\) is already in use`));
    const home = tmp('home');
    await assert.rejects(
      servicesUp(home, { temporalPort: port, minio: false }),
      new RegExp(`port ${port} \\(Temporal gRPC, --temporal-port\\) is already in use`),
    );
    await assert.rejects(
      servicesUp(home, { temporal: false, minioPort: port }),
      new RegExp(`port ${port} \\(MinIO S3 API, --minio-port\\) is already in use`),
    );
    assert.equal(existsSync(join(home, 'services', 'state.json')), false);
    assert.equal(existsSync(join(home, 'services', '.lock')), false);
  } finally {
    server.close();
  }
  await assertPortFree(port, 'x');
});

test('process checks: name and marker must match; stopPid ends the process', async () => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'polca-marker'], { stdio: 'ignore' });
  const pid = child.pid!;
  // until the child has exec'd
  for (let i = 0; i < 100 && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('polca-marker'); i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.equal(pidAlive(pid), true);
  assert.equal(isOurProcess(pid, 'node'), true);
  assert.equal(isOurProcess(pid, 'node', 'polca-marker'), true);
  assert.equal(isOurProcess(pid, 'node', 'other-marker'), false);
  assert.equal(isOurProcess(pid, 'minio'), false);
  await stopPid(pid, 'node', 1000, 'other-marker'); // not ours by marker: left alone
  assert.equal(pidAlive(pid), true);
  const exited = new Promise((r) => child.once('exit', r));
  await stopPid(pid, 'node', 5000, 'polca-marker');
  await exited;
  assert.equal(pidAlive(pid), false);
});

test('a stale lock (its holder exited) does not block `down`', async () => {
  const home = tmp('lock');
  mkdirSync(join(home, 'services'), { recursive: true });
  const r = spawnSync('true');
  assert.equal(r.status, 0);
  writeFileSync(join(home, 'services', '.lock'), String(r.pid));
  assert.equal(await servicesDown(home), undefined);
  assert.equal(existsSync(join(home, 'services', '.lock')), false);
});

test('the test runner’s closing line comes from the spec summary, also when a file leaks a child and is forced to exit', () => {
  const dir = tmp('spec');
  writeFileSync(
    join(dir, 'x.test.mjs'),
    "import test from 'node:test';\nimport assert from 'node:assert';\ntest('a', () => {});\ntest('b', () => {});\ntest('c', () => assert.equal(1, 2));\n",
  );
  // A file that leaves a child process running: without --test-force-exit the run would wait 30 s.
  const pidFile = join(dir, 'child.pid');
  writeFileSync(
    join(dir, 'y.test.mjs'),
    `import test from 'node:test';\nimport { spawn } from 'node:child_process';\nimport { writeFileSync } from 'node:fs';\ntest('d', () => { writeFileSync(${JSON.stringify(pidFile)}, String(spawn('sleep', ['30'], { stdio: 'ignore' }).pid)); });\n`,
  );
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '1' };
  delete env.NODE_TEST_CONTEXT; // a top-level run, not a child of this one
  const t0 = Date.now();
  const r = spawnSync(
    process.execPath,
    ['--test', '--test-force-exit', '--test-reporter=spec', join(dir, 'x.test.mjs'), join(dir, 'y.test.mjs')],
    {
      env,
      encoding: 'utf8',
    },
  );
  assert.ok(Date.now() - t0 < 20_000, 'the leaked child did not hold the run open');
  process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
  assert.equal(r.status, 1);
  assert.ok(r.stdout.includes('\x1b['), 'coloured output is parsed too');
  const s = parseSpecSummary(r.stdout);
  assert.deepEqual({ tests: s.tests, pass: s.pass, fail: s.fail }, { tests: 4, pass: 3, fail: 1 });
  assert.equal(summaryLine(s), '3 passed, 1 failed');
  assert.equal(summaryLine({ pass: 5, fail: 0, cancelled: 2 }), '5 passed, 2 failed');
  assert.equal(parseSpecSummary('✔ a (1ms)\n'), undefined);
});

test('wiring activity: writes the token’s bytes, reads them back, deletes them unless kept', async () => {
  // SHA-256 in counter mode, checked against sha256sum for the first two blocks.
  const bytes = wiringBytes('tok', 40);
  const sha = (s: string) => execFileSync('sh', ['-c', `printf '%s' '${s}' | sha256sum`], { encoding: 'utf8' }).slice(0, 64);
  assert.equal(Buffer.from(bytes.subarray(0, 32)).toString('hex'), sha('tok:0'));
  assert.equal(Buffer.from(bytes.subarray(32)).toString('hex'), sha('tok:1').slice(0, 16));

  const store = new ArtifactStore(new LocalBackend(tmp('wiring-store')));
  const acts = createWiringActivities(store);
  const r = await acts.wiringRoundTrip({ token: 'tok', size: 40 });
  assert.equal(r.key, stepKey(wiringSpec('tok')));
  assert.equal(r.bytes, 40);
  assert.equal(
    r.sha256,
    execFileSync('sh', ['-c', `printf '%s' '${Buffer.from(bytes).toString('base64')}' | base64 -d | sha256sum`], {
      encoding: 'utf8',
    }).slice(0, 64),
  );
  assert.equal(await store.has(r.key), false);
  const kept = await acts.wiringRoundTrip({ token: 'tok2', size: 100, keep: true });
  assert.deepEqual(await store.get(kept.key, WIRING_FILE), wiringBytes('tok2', 100));

  // A backend that corrupts what it returns makes the activity fail.
  const inner = new LocalBackend(tmp('wiring-bad'));
  const bad = Object.assign(Object.create(inner), {
    async getObject(path: string) {
      const d = await inner.getObject(path);
      if (d && path.endsWith(WIRING_FILE)) d[0] ^= 1;
      return d;
    },
  });
  await assert.rejects(createWiringActivities(new ArtifactStore(bad)).wiringRoundTrip({ token: 't' }), /SHA-256|differs/);
});

test('doctor: a missing Temporal and an unwritable store fail with what to do; a writable local store passes', async () => {
  const home = tmp('doctor');
  const none = await checkTemporal({ POLCA_HOME: home });
  assert.equal(none.ok, false);
  assert.match(none.fix!, /polca services up/);

  const { server, port } = await listen();
  server.close();
  const closed = await checkTemporal({ POLCA_HOME: home, TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
  assert.equal(closed.ok, false);
  assert.match(closed.detail, new RegExp(`cannot reach 127.0.0.1:${port} \\(TEMPORAL_ADDRESS\\)`));

  const ok = await checkStore({ POLCA_HOME: home, POLCA_STORE_DIR: join(home, 'store') });
  assert.equal(ok.ok, true, ok.detail);
  assert.deepEqual(readdirSync(join(home, 'store', 'doctor')), []); // the probe was removed
  writeFileSync(join(home, 'a-file'), '');
  const bad = await checkStore({ POLCA_HOME: home, POLCA_STORE_DIR: join(home, 'a-file', 'store') });
  assert.equal(bad.ok, false);
  assert.match(bad.fix!, /POLCA_STORE_DIR/);
  const kind = await checkStore({ POLCA_STORE: 'ftp' });
  assert.equal(kind.ok, false);

  const text = formatChecks([none, ok]);
  assert.match(text, /^FAIL {2}Temporal: /m);
  assert.match(text, /^ {6}→ start the local services/m);
  assert.match(text, /^ok {4}artifact store: /m);
  assert.match(text, /1 of 2 checks failed$/);
});

test('doctor: the TF.js backend loads and a 512×512 matmul speed is measured', async () => {
  const c = await checkBackend({});
  assert.equal(c.ok, true, c.detail);
  const tf = await import('@tensorflow/tfjs');
  assert.equal(c.data!.backend, tf.getBackend());
  assert.ok(['tensorflow', 'wasm', 'cpu'].includes(c.data!.backend as string));
  assert.ok((c.data!.gflops as number) > 0.01 && (c.data!.reps as number) >= 3);
});
