/**
 * Starting and stopping the local services: the Temporal dev server (SQLite file under the data
 * directory, so workflows survive a server restart) and MinIO (data directory; credentials from
 * MINIO_ROOT_USER / MINIO_ROOT_PASSWORD or generated once and stored with mode 0600).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { BINARIES, ensureBinary } from './binaries.ts';

export interface ServicesState {
  dataDir: string;
  temporal: { pid: number; address: string; uiUrl: string; port: number; uiPort: number };
  minio: { pid: number; endpoint: string; port: number; consolePort: number; bucket: string };
}

export interface MinioCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Throws an error naming the port when something already listens on it. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'EADDRINUSE' ? `port ${port} (${what}) is already in use` : `port ${port} (${what}): ${e.message}`)),
    );
    s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
  });
}

/** MinIO credentials: from the environment, else generated once and stored 0600 in the data dir. */
export function minioCredentials(dataDir: string, env = process.env): MinioCredentials {
  if (env.MINIO_ROOT_USER && env.MINIO_ROOT_PASSWORD) {
    return { accessKeyId: env.MINIO_ROOT_USER, secretAccessKey: env.MINIO_ROOT_PASSWORD };
  }
  const file = join(dataDir, 'minio-credentials.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as MinioCredentials;
  mkdirSync(dataDir, { recursive: true });
  const creds = { accessKeyId: `polca${randomBytes(6).toString('hex')}`, secretAccessKey: randomBytes(24).toString('base64url') };
  writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, proc?: ChildProcess): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited with code ${proc.exitCode} while starting`);
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await sleep(250);
  }
  throw new Error(`${what} did not become healthy within ${timeoutMs / 1000} s`);
}

export async function temporalHealthy(address: string): Promise<boolean> {
  const { Connection } = await import('@temporalio/client');
  const conn = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    const r = await conn.healthService.check({});
    return r.status === 1; // SERVING
  } finally {
    await conn.close();
  }
}

export async function minioHealthy(endpoint: string): Promise<boolean> {
  const r = await fetch(`${endpoint}/minio/health/live`, { signal: AbortSignal.timeout(1000) });
  return r.status === 200;
}

export async function ensureBucket(endpoint: string, creds: MinioCredentials, bucket: string): Promise<void> {
  const { S3Client, CreateBucketCommand, HeadBucketCommand } = await import('@aws-sdk/client-s3');
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds });
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    s3.destroy();
  }
}

export interface StartOptions {
  dataDir: string;
  temporalPort?: number;
  uiPort?: number;
  minioPort?: number;
  bucket?: string;
  /** Detach (outlive this process) and log to files; otherwise children die with us. */
  detached?: boolean;
  which?: { temporal?: boolean; minio?: boolean };
}

export interface StartedTemporal {
  proc: ChildProcess;
  address: string;
  port: number;
  uiPort: number;
}

export async function startTemporal(dataDir: string, port: number, uiPort: number, detached = false): Promise<StartedTemporal> {
  await assertPortFree(port, 'Temporal gRPC');
  await assertPortFree(uiPort, 'Temporal Web UI');
  const bin = ensureBinary(BINARIES.temporal);
  mkdirSync(dataDir, { recursive: true });
  const log = openSync(join(dataDir, 'temporal.log'), 'a');
  const proc = spawn(
    bin,
    [
      'server',
      'start-dev',
      '--db-filename',
      join(dataDir, 'temporal.db'),
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      '--namespace',
      'default',
      '--log-level',
      'warn',
    ],
    { detached, stdio: ['ignore', log, log] },
  );
  if (detached) proc.unref();
  const address = `127.0.0.1:${port}`;
  await waitFor(`Temporal dev server on ${address}`, () => temporalHealthy(address), 60_000, proc);
  return { proc, address, port, uiPort };
}

export interface StartedMinio {
  proc: ChildProcess;
  endpoint: string;
  port: number;
  consolePort: number;
  credentials: MinioCredentials;
}

export async function startMinio(dataDir: string, port: number, bucket: string, detached = false): Promise<StartedMinio> {
  await assertPortFree(port, 'MinIO S3 API');
  const consolePort = await freePort();
  const bin = ensureBinary(BINARIES.minio);
  mkdirSync(join(dataDir, 'minio'), { recursive: true });
  const credentials = minioCredentials(dataDir);
  const log = openSync(join(dataDir, 'minio.log'), 'a');
  const proc = spawn(
    bin,
    ['server', '--quiet', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, join(dataDir, 'minio')],
    {
      detached,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        MINIO_ROOT_USER: credentials.accessKeyId,
        MINIO_ROOT_PASSWORD: credentials.secretAccessKey,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
      },
    },
  );
  if (detached) proc.unref();
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor(`MinIO on ${endpoint}`, () => minioHealthy(endpoint), 60_000, proc);
  await ensureBucket(endpoint, credentials, bucket);
  return { proc, endpoint, port, consolePort, credentials };
}

/** Is `pid` alive and running `name` (guards against killing a recycled PID)? */
export function isOurProcess(pid: number, name: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes(name);
  } catch {
    return true;
  }
}

export async function stopPid(pid: number, name: string, timeoutMs = 10_000): Promise<void> {
  if (!isOurProcess(pid, name)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (!isOurProcess(pid, name)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

// ---- the `polca services` state (detached services recorded in $POLCA_HOME/services/state.json)

export function stateFile(home: string): string {
  return join(home, 'services', 'state.json');
}

export function readState(home: string): ServicesState | undefined {
  const f = stateFile(home);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as ServicesState) : undefined;
}

export async function servicesUp(home: string, opts: { temporalPort?: number; uiPort?: number; minioPort?: number; bucket?: string } = {}) {
  const existing = readState(home);
  if (existing && isOurProcess(existing.temporal.pid, 'temporal') && isOurProcess(existing.minio.pid, 'minio')) {
    return { state: existing, started: false };
  }
  const dataDir = join(home, 'services');
  const bucket = opts.bucket ?? 'polca';
  const t = await startTemporal(dataDir, opts.temporalPort ?? 7233, opts.uiPort ?? 8233, true);
  let m: StartedMinio;
  try {
    m = await startMinio(dataDir, opts.minioPort ?? 9000, bucket, true);
  } catch (e) {
    await stopPid(t.proc.pid!, 'temporal');
    throw e;
  }
  const state: ServicesState = {
    dataDir,
    temporal: { pid: t.proc.pid!, address: t.address, port: t.port, uiPort: t.uiPort, uiUrl: `http://127.0.0.1:${t.uiPort}` },
    minio: { pid: m.proc.pid!, endpoint: m.endpoint, port: m.port, consolePort: m.consolePort, bucket },
  };
  writeFileSync(stateFile(home), JSON.stringify(state, null, 2));
  return { state, started: true };
}

export async function servicesDown(home: string): Promise<ServicesState | undefined> {
  const state = readState(home);
  if (!state) return undefined;
  await stopPid(state.temporal.pid, 'temporal');
  await stopPid(state.minio.pid, 'minio');
  writeFileSync(stateFile(home), JSON.stringify({ ...state, stoppedAt: new Date().toISOString() }, null, 2));
  const { rmSync } = await import('node:fs');
  rmSync(stateFile(home));
  return state;
}

export async function servicesStatus(home: string) {
  const state = readState(home);
  if (!state) return undefined;
  const temporalUp = isOurProcess(state.temporal.pid, 'temporal') && (await temporalHealthy(state.temporal.address).catch(() => false));
  const minioUp = isOurProcess(state.minio.pid, 'minio') && (await minioHealthy(state.minio.endpoint).catch(() => false));
  return { state, temporalUp, minioUp };
}
