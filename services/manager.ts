/**
 * Starting and stopping the local services: the Temporal dev server (SQLite file under the data
 * directory, so workflows survive a server restart) and MinIO (data directory; credentials from
 * MINIO_ROOT_USER / MINIO_ROOT_PASSWORD or generated once and stored with mode 0600).
 *
 * `polca services up` runs them detached and records them in `$POLCA_HOME/services/state.json`
 * (PIDs, ports, addresses; never credentials). Layout of `$POLCA_HOME/services/`:
 *   state.json              what is running (removed by `down`)
 *   temporal.db, temporal.log
 *   minio/, minio.log
 *   minio-credentials.json  generated MinIO root credentials (0600)
 *   aws-credentials         the same as an AWS shared-credentials file, profile `polca-local` (0600)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { BINARIES, buildBinary, ensureBinaries, findBinary, type ServiceBinary } from './binaries.ts';

export const DEFAULT_PORTS = { temporal: 7233, ui: 8233, minio: 9000 } as const;
export const AWS_PROFILE = 'polca-local';

export interface TemporalState {
  pid: number;
  address: string;
  uiUrl: string;
  port: number;
  uiPort: number;
}

export interface MinioState {
  pid: number;
  endpoint: string;
  port: number;
  consolePort: number;
  bucket: string;
  /** Where the credentials are: a file path, or `env` (MINIO_ROOT_USER / MINIO_ROOT_PASSWORD). */
  credentials: string;
  /** AWS shared-credentials file with profile `polca-local` (absent when credentials come from env). */
  awsCredentialsFile?: string;
}

export interface ServicesState {
  dataDir: string;
  temporal?: TemporalState;
  minio?: MinioState;
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

export function credentialsFile(dataDir: string): string {
  return join(dataDir, 'minio-credentials.json');
}

export function awsCredentialsFile(dataDir: string): string {
  return join(dataDir, 'aws-credentials');
}

/** MinIO credentials: from the environment, else generated once and stored 0600 in the data dir. */
export function minioCredentials(dataDir: string, env = process.env): MinioCredentials {
  if (env.MINIO_ROOT_USER && env.MINIO_ROOT_PASSWORD) {
    return { accessKeyId: env.MINIO_ROOT_USER, secretAccessKey: env.MINIO_ROOT_PASSWORD };
  }
  const file = credentialsFile(dataDir);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as MinioCredentials;
  mkdirSync(dataDir, { recursive: true });
  const creds = { accessKeyId: `polca${randomBytes(6).toString('hex')}`, secretAccessKey: randomBytes(24).toString('base64url') };
  writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

/** The generated credentials as an AWS shared-credentials file (profile `polca-local`, mode 0600). */
export function writeAwsCredentialsFile(dataDir: string, creds: MinioCredentials): string {
  const file = awsCredentialsFile(dataDir);
  const text = `[${AWS_PROFILE}]\naws_access_key_id = ${creds.accessKeyId}\naws_secret_access_key = ${creds.secretAccessKey}\n`;
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text, { mode: 0o600 });
  return file;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, proc?: ChildProcess, log?: string): Promise<void> {
  const t0 = Date.now();
  const hint = log ? `; see ${log}` : '';
  while (Date.now() - t0 < timeoutMs) {
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited with code ${proc.exitCode} while starting${hint}`);
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await sleep(250);
  }
  throw new Error(`${what} did not become healthy within ${timeoutMs / 1000} s${hint}`);
}

export async function temporalHealthy(address: string): Promise<boolean> {
  const { Connection } = await import('@temporalio/client');
  const conn = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    const r = await conn.withDeadline(Date.now() + 2000, () => conn.healthService.check({}));
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

async function binary(b: ServiceBinary): Promise<string> {
  return findBinary(b) ?? (await buildBinary(b));
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
  const bin = await binary(BINARIES.temporal);
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(dataDir, 'temporal.log');
  const log = openSync(logFile, 'a');
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
  closeSync(log);
  if (detached) proc.unref();
  const address = `127.0.0.1:${port}`;
  await waitFor(`Temporal dev server on ${address}`, () => temporalHealthy(address), 60_000, proc, logFile);
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
  const bin = await binary(BINARIES.minio);
  mkdirSync(join(dataDir, 'minio'), { recursive: true });
  const credentials = minioCredentials(dataDir);
  const logFile = join(dataDir, 'minio.log');
  const log = openSync(logFile, 'a');
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
  closeSync(log);
  if (detached) proc.unref();
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor(`MinIO on ${endpoint}`, () => minioHealthy(endpoint), 60_000, proc, logFile);
  await ensureBucket(endpoint, credentials, bucket);
  return { proc, endpoint, port, consolePort, credentials };
}

/** Is `pid` a live (not zombie) process? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return !existsSync('/proc/self'); // no procfs: trust kill(0)
  }
}

/**
 * Is `pid` alive and running `name` (and, when given, with `marker` in its command line)? Guards
 * against signalling a recycled PID.
 */
export function isOurProcess(pid: number, name: string, marker?: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes(name) && (marker === undefined || cmd.includes(marker));
  } catch {
    return true;
  }
}

export async function stopPid(pid: number, name: string, timeoutMs = 10_000, marker?: string): Promise<void> {
  if (!isOurProcess(pid, name, marker)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (!isOurProcess(pid, name, marker)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  const t1 = Date.now();
  while (Date.now() - t1 < 5000 && isOurProcess(pid, name, marker)) await sleep(100);
}

// ---- the `polca services` state (detached services recorded in $POLCA_HOME/services/state.json)

export function servicesDir(home: string): string {
  return join(home, 'services');
}

export function stateFile(home: string): string {
  return join(servicesDir(home), 'state.json');
}

export function readState(home: string): ServicesState | undefined {
  const f = stateFile(home);
  if (!existsSync(f)) return undefined;
  const s = JSON.parse(readFileSync(f, 'utf8')) as ServicesState;
  return s.temporal || s.minio ? s : undefined;
}

function writeState(home: string, state: ServicesState): void {
  writeFileSync(stateFile(home), `${JSON.stringify(state, null, 2)}\n`);
}

/** The marker that identifies a recorded process as ours: its data path is in its command line. */
const temporalMarker = (dataDir: string) => join(dataDir, 'temporal.db');
const minioMarker = (dataDir: string) => join(dataDir, 'minio');

export function temporalRunning(state: ServicesState): boolean {
  return !!state.temporal && isOurProcess(state.temporal.pid, 'temporal', temporalMarker(state.dataDir));
}

export function minioRunning(state: ServicesState): boolean {
  return !!state.minio && isOurProcess(state.minio.pid, 'minio', minioMarker(state.dataDir));
}

/** One `up` at a time per POLCA_HOME: an exclusive lock file holding the holder's PID. */
async function withLock<T>(dir: string, f: () => Promise<T>, timeoutMs = 180_000): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, '.lock');
  const t0 = Date.now();
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = 0;
      let age = 0;
      try {
        holder = Number(readFileSync(lock, 'utf8'));
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // removed meanwhile
      }
      if ((holder > 0 && !pidAlive(holder)) || (!holder && age > 5000)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() - t0 > timeoutMs) throw new Error(`another polca process (PID ${holder}) is starting the services (lock ${lock})`);
      await sleep(200);
    }
  }
  try {
    return await f();
  } finally {
    rmSync(lock, { force: true });
  }
}

export interface UpOptions {
  temporalPort?: number;
  uiPort?: number;
  minioPort?: number;
  bucket?: string;
  /** Start (or keep) Temporal; default true. */
  temporal?: boolean;
  /** Start (or keep) MinIO; default true. */
  minio?: boolean;
  /** Called with a line of progress (starting, waiting). */
  onProgress?: (line: string) => void;
}

export interface UpResult {
  state: ServicesState;
  started: { temporal: boolean; minio: boolean };
}

/**
 * Start the services detached, or reuse those recorded in the state file when they still run.
 * A service whose process died is restarted on its recorded ports with the same data, so Temporal
 * keeps its workflow history. Every port is checked before anything starts.
 */
export async function servicesUp(home: string, opts: UpOptions = {}): Promise<UpResult> {
  const dataDir = servicesDir(home);
  return withLock(dataDir, async () => {
    const prev = readState(home);
    const state: ServicesState = { dataDir, temporal: prev?.temporal, minio: prev?.minio };
    const wantTemporal = opts.temporal ?? true;
    const wantMinio = opts.minio ?? true;
    const reuseTemporal = wantTemporal && temporalRunning(state);
    const reuseMinio = wantMinio && minioRunning(state);
    if (reuseTemporal && opts.temporalPort && opts.temporalPort !== state.temporal!.port) {
      throw new Error(
        `Temporal is already running from ${dataDir} on port ${state.temporal!.port}, not ${opts.temporalPort}; run \`polca services down\` first`,
      );
    }
    if (reuseMinio && opts.minioPort && opts.minioPort !== state.minio!.port) {
      throw new Error(
        `MinIO is already running from ${dataDir} on port ${state.minio!.port}, not ${opts.minioPort}; run \`polca services down\` first`,
      );
    }
    const tPort = opts.temporalPort ?? state.temporal?.port ?? DEFAULT_PORTS.temporal;
    let uPort = opts.uiPort ?? (opts.temporalPort ? opts.temporalPort + 1000 : (state.temporal?.uiPort ?? DEFAULT_PORTS.ui));
    const mPort = opts.minioPort ?? state.minio?.port ?? DEFAULT_PORTS.minio;
    const bucket = opts.bucket ?? state.minio?.bucket ?? 'polca';
    // Check every port first, so that a taken one fails before anything starts.
    if (wantTemporal && !reuseTemporal) {
      await assertPortFree(tPort, 'Temporal gRPC, --temporal-port');
      // The Web UI port was not asked for: when its default is taken, any free port will do.
      if (opts.uiPort === undefined) uPort = await assertPortFree(uPort, 'Temporal Web UI').then(() => uPort, freePort);
      else await assertPortFree(uPort, 'Temporal Web UI, --ui-port');
    }
    if (wantMinio && !reuseMinio) await assertPortFree(mPort, 'MinIO S3 API, --minio-port');
    const progress = opts.onProgress ?? (() => {});
    if (!wantTemporal && state.temporal && !temporalRunning(state)) state.temporal = undefined;
    if (!wantMinio && state.minio && !minioRunning(state)) state.minio = undefined;

    // On a fresh machine both binaries are missing: build them in parallel before starting.
    const needed = [...(wantTemporal && !reuseTemporal ? [BINARIES.temporal] : []), ...(wantMinio && !reuseMinio ? [BINARIES.minio] : [])];
    await ensureBinaries(needed);

    const started = { temporal: false, minio: false };
    if (reuseTemporal) {
      await waitFor(`Temporal dev server on ${state.temporal!.address}`, () => temporalHealthy(state.temporal!.address), 30_000);
    } else if (wantTemporal) {
      progress(`starting the Temporal dev server on 127.0.0.1:${tPort}…`);
      const t = await startTemporal(dataDir, tPort, uPort, true);
      state.temporal = { pid: t.proc.pid!, address: t.address, port: t.port, uiPort: t.uiPort, uiUrl: `http://127.0.0.1:${t.uiPort}` };
      started.temporal = true;
      writeState(home, state);
    }
    if (reuseMinio) {
      await waitFor(`MinIO on ${state.minio!.endpoint}`, () => minioHealthy(state.minio!.endpoint), 30_000);
      if (opts.bucket && opts.bucket !== state.minio!.bucket) {
        await ensureBucket(state.minio!.endpoint, minioCredentials(dataDir), opts.bucket);
        state.minio!.bucket = opts.bucket;
      }
    } else if (wantMinio) {
      let m: StartedMinio;
      progress(`starting MinIO on 127.0.0.1:${mPort}…`);
      try {
        m = await startMinio(dataDir, mPort, bucket, true);
      } catch (e) {
        if (started.temporal) {
          await stopPid(state.temporal!.pid, 'temporal', 10_000, temporalMarker(dataDir));
          state.temporal = undefined;
        }
        writeState(home, state);
        throw e;
      }
      const fromEnv = !!(process.env.MINIO_ROOT_USER && process.env.MINIO_ROOT_PASSWORD);
      state.minio = {
        pid: m.proc.pid!,
        endpoint: m.endpoint,
        port: m.port,
        consolePort: m.consolePort,
        bucket,
        credentials: fromEnv ? 'env' : credentialsFile(dataDir),
        ...(fromEnv ? {} : { awsCredentialsFile: writeAwsCredentialsFile(dataDir, m.credentials) }),
      };
      started.minio = true;
    }
    writeState(home, state);
    return { state, started };
  });
}

/** Stop exactly the recorded processes; the data stays. Returns what was recorded. */
export async function servicesDown(home: string): Promise<ServicesState | undefined> {
  const dataDir = servicesDir(home);
  return withLock(dataDir, async () => {
    const state = readState(home);
    if (!state) return undefined;
    if (state.temporal) await stopPid(state.temporal.pid, 'temporal', 10_000, temporalMarker(state.dataDir));
    if (state.minio) await stopPid(state.minio.pid, 'minio', 10_000, minioMarker(state.dataDir));
    rmSync(stateFile(home), { force: true });
    return state;
  });
}

export interface ServiceHealth {
  recorded: boolean;
  running: boolean;
  healthy: boolean;
}

export interface StatusResult {
  state: ServicesState;
  temporal: ServiceHealth;
  minio: ServiceHealth;
}

export async function servicesStatus(home: string): Promise<StatusResult | undefined> {
  const state = readState(home);
  if (!state) return undefined;
  const tRun = temporalRunning(state);
  const mRun = minioRunning(state);
  return {
    state,
    temporal: {
      recorded: !!state.temporal,
      running: tRun,
      healthy: tRun && (await temporalHealthy(state.temporal!.address).catch(() => false)),
    },
    minio: { recorded: !!state.minio, running: mRun, healthy: mRun && (await minioHealthy(state.minio!.endpoint).catch(() => false)) },
  };
}

export interface LocalServices {
  temporalAddress: string;
  uiUrl: string;
  /** True when this call started a service (false when all were already running). */
  started: boolean;
  /** Present when MinIO was asked for. */
  s3?: { endpoint: string; bucket: string; credentials: string; awsCredentialsFile?: string };
}

/**
 * For `polca run` with no TEMPORAL_ADDRESS: reuse the services recorded under `home` or start
 * them detached (they outlive the run; `polca services down` stops them). `{ minio: false }`
 * starts Temporal alone, which is all a run with the local store needs.
 */
export async function ensureLocalServices(home: string, opts: UpOptions = {}): Promise<LocalServices> {
  const wantMinio = opts.minio ?? true;
  const { state, started } = await servicesUp(home, { ...opts, temporal: true, minio: wantMinio });
  const t = state.temporal!;
  return {
    temporalAddress: t.address,
    uiUrl: t.uiUrl,
    started: started.temporal || started.minio,
    ...(wantMinio && state.minio
      ? {
          s3: {
            endpoint: state.minio.endpoint,
            bucket: state.minio.bucket,
            credentials: state.minio.credentials,
            awsCredentialsFile: state.minio.awsCredentialsFile,
          },
        }
      : {}),
  };
}
