// Installs what the project needs, idempotently: npm packages, the Go-built services (Temporal
// dev server, MinIO) into the versioned cache, and Debian's chromium for the report test.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function ensureNodeModules() {
  const nm = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(nm) && statSync(nm).mtimeMs >= statSync(lock).mtimeMs) return;
  console.error('installing npm packages (npm ci)…');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm ci failed');
}

export function ensureChromium() {
  if (existsSync('/usr/bin/chromium')) return;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    console.error('warning: /usr/bin/chromium is missing and cannot be installed here (needs root and apt-get); the report browser test will fail');
    return;
  }
  console.error('installing Debian chromium (apt-get)…');
  execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null', { stdio: 'inherit', shell: '/bin/bash' });
}

export async function ensureServices() {
  const { register } = await import('tsx/esm/api');
  register();
  const { BINARIES, ensureBinary } = await import('../services/binaries.ts');
  return { temporal: ensureBinary(BINARIES.temporal), minio: ensureBinary(BINARIES.minio) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureNodeModules();
  ensureChromium();
  const bins = await ensureServices();
  console.log(`temporal: ${bins.temporal}\nminio: ${bins.minio}`);
}
