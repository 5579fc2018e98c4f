/**
 * The Temporal CLI (dev server) and MinIO, built from Go modules into a cache keyed by version
 * and reused: `$POLCA_CACHE_DIR` or `~/.cache/polca/bin/<name>-<version>/<name>`. A binary named
 * by POLCA_TEMPORAL_BIN / POLCA_MINIO_BIN, or found on PATH, is used instead.
 *
 * MinIO: the Go module proxy refuses the RELEASE.2025-10-15T17-29-55Z commit (9e49d5e7a648,
 * pseudo-version v0.0.0-20251015172955-9e49d5e7a648: "403 This module version is not
 * available"), so we pin the newest commit it serves.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
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

/** Find or build (go install into the versioned cache). Prints build progress to stderr. */
export function ensureBinary(b: ServiceBinary, env = process.env): string {
  const found = findBinary(b, env);
  if (found) return found;
  const go = onPath('go', env) ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new Error(
      `no ${b.name} binary: set ${b.envVar} to one, put ${b.name} on PATH, or install Go 1.25+ so that polca can build ${b.module}@${b.version}`,
    );
  }
  const dir = join(cacheDir(env), `${b.name}-${b.version}`);
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`building ${b.name} ${b.version} with go install (a few minutes, once)…\n`);
  const t0 = Date.now();
  const r = spawnSync(go, ['install', `${b.module}@${b.version}`], {
    env: { ...env, GOBIN: dir, GOFLAGS: `${env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`go install ${b.module}@${b.version} failed (exit ${r.status})`);
  process.stderr.write(`built ${b.name} in ${((Date.now() - t0) / 1000).toFixed(0)} s → ${join(dir, b.name)}\n`);
  return join(dir, b.name);
}
