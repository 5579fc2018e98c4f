// `npm test`: installs what is missing (scripts/setup.mjs), starts one Temporal dev server and
// one MinIO on free ports with temporary data for the whole run, runs every tests/**/*.test.ts
// (or those whose path contains one of the arguments: `npm test -- hdbscan store`) with node's
// test runner, and always stops the services and removes their data. The last line is always
// `N passed, N failed`, from the summary of the spec reporter (`ℹ pass N`, `ℹ fail N`) that the
// run prints just before.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureChromium, ensureNodeModules, ensureServices } from './setup.mjs';
import { ensureNativeBackend } from './native.mjs';
import { addSummaries, parseSpecSummary, summaryLine } from './test-summary.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out.sort();
}

/** One node --test run over `files`; the spec output passes through, its summary is returned. */
async function runFiles(files, env, label) {
  console.log(`▶ ${files.length} test file(s) on the ${label} backend`);
  const args = [
    // tests/unit/memory.test.ts collects garbage before it measures RSS
    '--expose-gc',
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    // A file whose tests are done exits even when it leaked a child process or a handle, instead
    // of holding the whole run open (its 'exit' handlers still run).
    '--test-force-exit',
    '--test-reporter=spec',
    ...files,
  ];
  // The spec output passes through here (stdout to a pipe is written synchronously on Linux, so
  // even a forced exit leaves its summary complete); colours as for a terminal when ours is one.
  if (process.stdout.isTTY && !('NO_COLOR' in env)) env.FORCE_COLOR ??= '1';
  const child = spawn(process.execPath, args, { stdio: ['inherit', 'pipe', 'inherit'], env });
  // Keep the summary-like lines (`ℹ …`) for the closing line; everything is passed through.
  const infoLines = [];
  let pending = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) if (l.includes('ℹ ')) infoLines.push(l);
  });
  const exitCode = await new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  if (pending.includes('ℹ ')) infoLines.push(pending);
  return { exitCode, summary: parseSpecSummary(infoLines.join('\n')) };
}

/** The backend the tests get by default (what `auto` or POLCA_BACKEND selects), probed in a child. */
async function testBackend() {
  const code = `const { initBackend, backendInfo } = await import('./core/model/backend.ts'); await initBackend(); console.log(JSON.stringify(backendInfo()));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`no TF.js backend loads: ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const filter = process.argv.slice(2);
const files = testFiles(join(root, 'tests')).filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));
const outDir = join(root, 'test-output');
const dataDir = mkdtempSync(join(tmpdir(), 'polca-test-services-'));
mkdirSync(outDir, { recursive: true });
let temporal;
let minio;
let stopServices;
let exitCode = 1;
let cleaned = false;
const cleanup = async () => {
  if (cleaned) return;
  cleaned = true;
  if (stopServices) {
    if (temporal?.proc.pid) await stopServices(temporal.proc.pid, 'temporal');
    if (minio?.proc.pid) await stopServices(minio.proc.pid, 'minio');
  }
  rmSync(dataDir, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await cleanup();
    process.exit(130);
  });
}
let summary;
try {
  if (files.length === 0) throw new Error(`no test file matches ${filter.map((f) => JSON.stringify(f)).join(', ')}`);
  ensureNodeModules();
  ensureNativeBackend();
  ensureChromium();
  await ensureServices();
  const backend = await testBackend();
  console.log(
    `TF.js backend: ${backend.name}${backend.version ? ` (libtensorflow ${backend.version})` : ''}${process.env.POLCA_BACKEND ? ` (POLCA_BACKEND=${process.env.POLCA_BACKEND})` : ''}`,
  );
  const { startTemporal, startMinio, freePort, stopPid } = await import('../services/manager.ts');
  stopServices = stopPid;
  const t0 = Date.now();
  temporal = await startTemporal(join(dataDir, 'temporal'), await freePort(), await freePort());
  minio = await startMinio(join(dataDir, 'minio'), await freePort(), 'polca-test');
  console.log(`services up in ${((Date.now() - t0) / 1000).toFixed(1)} s: Temporal ${temporal.address}, MinIO ${minio.endpoint}`);
  const env = {
    ...process.env,
    POLCA_TEST_TEMPORAL_ADDRESS: temporal.address,
    POLCA_TEST_S3_ENDPOINT: minio.endpoint,
    POLCA_TEST_S3_BUCKET: 'polca-test',
    POLCA_TEST_S3_ACCESS_KEY_ID: minio.credentials.accessKeyId,
    POLCA_TEST_S3_SECRET_ACCESS_KEY: minio.credentials.secretAccessKey,
  };
  // TF.js numerics run on every backend that loads here: all files on the default backend
  // (`auto`: native TensorFlow when installed), then the files that compute with TF.js once more
  // on wasm when the default was native.
  const first = await runFiles(files, env, backend.name);
  exitCode = first.exitCode;
  summary = first.summary;
  const numerics = files.filter((f) => readFileSync(join(root, f), 'utf8').includes('initBackend'));
  if (backend.name === 'tensorflow' && !process.env.POLCA_BACKEND && numerics.length > 0) {
    const second = await runFiles(numerics, { ...env, POLCA_BACKEND: 'wasm' }, 'wasm');
    exitCode ||= second.exitCode;
    summary = summary && second.summary ? addSummaries(summary, second.summary) : undefined;
  }
} catch (e) {
  console.error(process.env.POLCA_DEBUG ? e : `npm test: ${e instanceof Error ? e.message : e}`);
  exitCode = 1;
} finally {
  await cleanup();
}
if (!summary) {
  // Nothing ran to completion (setup or the services failed, or the runner died): one failure.
  console.log(`the test run did not complete (exit code ${exitCode})`);
  summary = { pass: 0, fail: 1, cancelled: 0 };
  exitCode ||= 1;
} else if (exitCode === 0 && summary.fail + summary.cancelled > 0) {
  exitCode = 1;
}
console.log(summaryLine(summary));
process.exit(exitCode);
