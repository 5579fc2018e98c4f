// Installs what the project needs, idempotently: npm packages, the native TensorFlow backend
// (scripts/native.mjs), the Go-built services (Temporal dev server, MinIO) into the versioned
// cache, and Debian's chromium for the report test.
import { execSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** SHA-256 of package-lock.json: the install is current when it was made from this lock file. */
function lockHash() {
  return createHash('sha256')
    .update(readFileSync(join(root, 'package-lock.json')))
    .digest('hex');
}

export function ensureNodeModules() {
  const nm = join(root, 'node_modules', '.package-lock.json');
  const stamp = join(root, 'node_modules', '.polca-lock-sha256');
  const lock = join(root, 'package-lock.json');
  // By content, not by modification time: a fresh checkout (or a git worktree beside an install)
  // gives the lock file a new mtime without changing what it locks.
  if (existsSync(nm) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === lockHash()) return;
  if (existsSync(nm) && !existsSync(stamp) && statSync(nm).mtimeMs >= statSync(lock).mtimeMs) {
    writeFileSync(stamp, `${lockHash()}\n`);
    return;
  }
  // A node_modules that links to another checkout's install is that checkout's: `npm ci` here would
  // empty it under the other checkout (and whatever runs from it) for a lock file it was not made from.
  const link = join(root, 'node_modules');
  if (existsSync(link) && lstatSync(link).isSymbolicLink())
    throw new Error(
      `node_modules links to ${realpathSync(link)}, installed from another package-lock.json; replace the link with an install of its own (rm node_modules && npm ci --ignore-scripts) or bring this checkout's lock file in line`,
    );
  console.error('installing npm packages (npm ci)…');
  // No package's install script runs: none is needed (esbuild, protobufjs, core-js and @swc/core work
  // without theirs), and @tensorflow/tfjs-node's would download libtensorflow and a prebuilt addon
  // from hosts that may be unreachable; scripts/native.mjs installs both from PyPI instead.
  // npm's own output goes to stderr: stdout belongs to the command that installs on first use (its
  // `--json`, `config show`), which a script may be reading.
  const r = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: root, stdio: ['ignore', 2, 'inherit'] });
  if (r.status !== 0) throw new Error('npm ci failed');
  writeFileSync(stamp, `${lockHash()}\n`);
}

export function ensureChromium() {
  if (existsSync('/usr/bin/chromium')) return;
  const isRoot = process.getuid?.() === 0;
  const sudo = !isRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? 'sudo ' : '';
  if ((!isRoot && !sudo) || !existsSync('/usr/bin/apt-get')) {
    console.error(
      'warning: /usr/bin/chromium is missing and cannot be installed here (needs apt-get and root or sudo); the report browser test will fail',
    );
    return;
  }
  console.error('installing Debian chromium (apt-get update, apt-get install chromium)…');
  execSync(`${sudo}apt-get update -qq && ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null`, {
    stdio: ['ignore', 2, 'inherit'],
    shell: '/bin/bash',
  });
  if (!existsSync('/usr/bin/chromium')) throw new Error('apt-get install chromium finished but /usr/bin/chromium is missing');
}

export async function ensureServices() {
  const { register } = await import('tsx/esm/api');
  register();
  // Both missing on a fresh machine: built in parallel, each printing progress lines.
  const { ensureBinaries } = await import('../services/binaries.ts');
  const bins = await ensureBinaries();
  return { temporal: bins.temporal, minio: bins.minio };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureNodeModules();
  const { ensureNativeBackend } = await import('./native.mjs');
  ensureNativeBackend();
  ensureChromium();
  const bins = await ensureServices();
  console.log(`temporal: ${bins.temporal}\nminio: ${bins.minio}`);
}
