/**
 * Helpers for experiments against a real Temporal server (the integration tests and bench/e2e.ts):
 * `polca` CLI and worker child processes with their own POLCA_HOME, store and task queue, and byte
 * comparisons of stores.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactStore } from '../artifacts/index.ts';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const polcaBin = join(root, 'bin', 'polca.mjs');

export interface Sandbox {
  home: string;
  storeDir: string;
  taskQueue: string;
  env: NodeJS.ProcessEnv;
}

/** A private POLCA_HOME, local store and task queue on the given Temporal server. */
export function sandbox(temporalAddress: string, name: string, extraEnv: NodeJS.ProcessEnv = {}): Sandbox {
  const home = mkdtempSync(join(tmpdir(), `polca-${name}-`));
  const storeDir = join(home, 'store');
  const taskQueue = `polca-test-${name}-${process.pid}-${Date.now()}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    POLCA_HOME: home,
    POLCA_STORE: 'local',
    POLCA_STORE_DIR: storeDir,
    TEMPORAL_ADDRESS: temporalAddress,
    POLCA_TASK_QUEUE: taskQueue,
    POLCA_BACKEND: 'wasm',
    ...extraEnv,
  };
  return { home, storeDir, taskQueue, env };
}

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export function start(args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [polcaBin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Run a `polca` command to completion; rejects with its output when it fails. */
export async function polca(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const p = start(args, env);
  const code = await p.exited;
  return { stdout: p.stdout(), stderr: p.stderr(), code };
}

export async function polcaJson<T = Record<string, unknown>>(args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  const r = await polca([...args, '--json'], env);
  if (r.code !== 0) throw new Error(`polca ${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as T;
}

export interface RunJson {
  workflowId: string;
  runId: string;
  store: string;
  steps: { name: string; key: string; cached: boolean; seconds: number }[];
  report: string;
  metrics: Record<string, unknown>;
  seconds: number;
}

/** Every artifact's files with their SHA-256, by key (the report, a presentation, excluded). */
export async function storeDigest(store: ArtifactStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const m of await store.list()) {
    if (m.step === 'report') continue;
    out.set(m.key, m.files.map((f) => `${f.name}:${f.sha256}`).join(','));
  }
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function killHard(p: Proc): Promise<number | null> {
  p.child.kill('SIGKILL');
  return p.exited;
}
