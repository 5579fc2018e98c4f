// `npm test`: installs what is missing (scripts/setup.mjs), starts one Temporal dev server and
// one MinIO on free ports with temporary data for the whole run, runs every tests/**/*.test.ts
// with node's test runner, and always stops the services and removes their data.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureChromium, ensureNodeModules, ensureServices } from './setup.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
ensureNodeModules();
ensureChromium();
await ensureServices();
const { startTemporal, startMinio, freePort, stopPid } = await import('../services/manager.ts');

function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out.sort();
}

const filter = process.argv.slice(2);
const files = testFiles(join(root, 'tests')).filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));
const dataDir = mkdtempSync(join(tmpdir(), 'polca-test-services-'));
mkdirSync(join(root, 'test-output'), { recursive: true });
let temporal;
let minio;
let exitCode = 1;
const cleanup = async () => {
  if (temporal?.proc.pid) await stopPid(temporal.proc.pid, 'temporal');
  if (minio?.proc.pid) await stopPid(minio.proc.pid, 'minio');
  rmSync(dataDir, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await cleanup();
    process.exit(130);
  });
}
try {
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
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
    stdio: 'inherit',
    env,
  });
  exitCode = await new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
} catch (e) {
  console.error(e);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
