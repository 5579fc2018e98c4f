/**
 * The Temporal CLI (dev server) and MinIO, built from Go modules into a cache keyed by version
 * and reused: `$POLCA_CACHE_DIR` or `~/.cache/polca/bin/<name>-<version>/<name>`. A binary named
 * by POLCA_TEMPORAL_BIN / POLCA_MINIO_BIN, or found on PATH, is used instead.
 *
 * MinIO: the Go module proxy refuses the RELEASE.2025-10-15T17-29-55Z commit (9e49d5e7a648,
 * pseudo-version v0.0.0-20251015172955-9e49d5e7a648: "403 This module version is not
 * available"), so we pin the newest commit it serves, v0.0.0-20260212201848-7aac2a2c5b7c.
 *
 * A cold build (empty Go module and build caches) takes minutes; when both binaries are missing
 * they are built in parallel, each printing a progress line (packages compiled, elapsed time)
 * every 20 s to stderr.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface ServiceBinary {
  name: 'temporal' | 'minio';
  module: string;
  version: string;
  envVar: string;
}

export const BINARIES: Record<'temporal' | 'minio', ServiceBinary> = {
  temporal: { name: 'temporal', module: 'github.com/temporalio/cli/cmd/temporal', version: 'v1.5.1', envVar: 'POLCA_TEMPORAL_BIN' },
  minio: { name: 'minio', module: 'github.com/minio/minio', version: 'v0.0.0-20260212201848-7aac2a2c5b7c', envVar: 'POLCA_MINIO_BIN' },
};

export function cacheDir(env = process.env): string {
  return env.POLCA_CACHE_DIR ?? join(homedir(), '.cache', 'polca', 'bin');
}

export function cachedPath(b: ServiceBinary, env = process.env): string {
  return join(cacheDir(env), `${b.name}-${b.version}`, b.name);
}

function onPath(name: string, env = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** The binary to use without building: env override, then the cache, then PATH. */
export function findBinary(b: ServiceBinary, env = process.env): string | undefined {
  const override = env[b.envVar];
  if (override) {
    if (!existsSync(override)) throw new Error(`${b.envVar}=${override}: no such file`);
    return override;
  }
  const cached = cachedPath(b, env);
  if (existsSync(cached)) return cached;
  return onPath(b.name, env);
}

function goBinary(b: ServiceBinary, env: NodeJS.ProcessEnv): string {
  const go = onPath('go', env) ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new Error(
      `no ${b.name} binary: set ${b.envVar} to one, put ${b.name} on PATH, or install Go 1.25+ so that polca can build ${b.module}@${b.version}`,
    );
  }
  return go;
}

/**
 * `go install` into a staging directory next to the cache entry, renamed into place when done, so
 * that an interrupted build never leaves a half-written binary where findBinary looks.
 */
function buildArgs(b: ServiceBinary, env: NodeJS.ProcessEnv) {
  const dir = join(cacheDir(env), `${b.name}-${b.version}`);
  const staging = `${dir}.building-${process.pid}`;
  mkdirSync(staging, { recursive: true });
  return {
    dir,
    staging,
    args: ['install', '-v', `${b.module}@${b.version}`],
    env: { ...env, GOBIN: staging, GOFLAGS: `${env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
  };
}

function install(b: ServiceBinary, dir: string, staging: string): string {
  mkdirSync(dir, { recursive: true });
  renameSync(join(staging, b.name), join(dir, b.name));
  rmSync(staging, { recursive: true, force: true });
  return join(dir, b.name);
}

/** Find or build (synchronously; go's output goes to stderr, never to the command's stdout). */
export function ensureBinary(b: ServiceBinary, env = process.env): string {
  const found = findBinary(b, env);
  if (found) return found;
  const go = goBinary(b, env);
  const { dir, staging, args, env: goEnv } = buildArgs(b, env);
  process.stderr.write(`building ${b.name} ${b.version} with go install (a few minutes, once)…\n`);
  const t0 = Date.now();
  const r = spawnSync(go, args, { env: goEnv, stdio: ['ignore', 2, 'inherit'] });
  if (r.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`go install ${b.module}@${b.version} failed (exit ${r.status})`);
  }
  const path = install(b, dir, staging);
  process.stderr.write(`built ${b.name} in ${((Date.now() - t0) / 1000).toFixed(0)} s → ${path}\n`);
  return path;
}

const fmtElapsed = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
};

/** Build one binary asynchronously, printing progress lines every `progressMs` to stderr. */
export async function buildBinary(b: ServiceBinary, env = process.env, progressMs = 20_000): Promise<string> {
  const go = goBinary(b, env);
  const { dir, staging, args, env: goEnv } = buildArgs(b, env);
  const label = `${b.name} ${b.version}`;
  process.stderr.write(`building ${label} with go install (a few minutes, once) into ${dir}\n`);
  const t0 = Date.now();
  let downloaded = 0;
  let compiled = 0;
  const tail: string[] = [];
  const child = spawn(go, args, { env: goEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let pending = '';
  const onData = (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('go: downloading ')) downloaded++;
      else if (/^[\w.\-~]+(\/[\w.\-~+]+)*$/.test(line.trim())) compiled++; // `-v` prints each package built
      tail.push(line);
      if (tail.length > 40) tail.shift();
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setInterval(() => {
    process.stderr.write(`  ${label}: ${fmtElapsed(Date.now() - t0)}, ${downloaded} modules downloaded, ${compiled} packages compiled\n`);
  }, progressMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  }).finally(() => clearInterval(timer));
  if (code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    process.stderr.write(`${tail.join('\n')}\n`);
    throw new Error(`go install ${b.module}@${b.version} failed (exit ${code}); its last output is above`);
  }
  const path = install(b, dir, staging);
  process.stderr.write(`built ${label} in ${fmtElapsed(Date.now() - t0)} (${compiled} packages) → ${path}\n`);
  return path;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Build under a lock (`<entry>.lock`, created exclusively, holding the builder's PID): two
 * commands started at once on a fresh machine (a run and a test suite) build once, the second
 * waits for the first; a lock left by a dead process is taken over.
 */
async function buildOnce(b: ServiceBinary, env: NodeJS.ProcessEnv): Promise<string> {
  const lock = `${join(cacheDir(env), `${b.name}-${b.version}`)}.lock`;
  mkdirSync(cacheDir(env), { recursive: true });
  let said = false;
  for (;;) {
    const found = findBinary(b, env);
    if (found) return found;
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(readFileSync(lock, 'utf8').trim());
      if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (!said) process.stderr.write(`waiting for process ${holder}, which is building ${b.name} ${b.version}…\n`);
      said = true;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try {
    return findBinary(b, env) ?? (await buildBinary(b, env));
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Find or build several binaries; the missing ones are built in parallel. */
export async function ensureBinaries(list: ServiceBinary[] = Object.values(BINARIES), env = process.env): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await Promise.all(
    list.map(async (b) => {
      out[b.name] = findBinary(b, env) ?? (await buildOnce(b, env));
    }),
  );
  return out;
}
