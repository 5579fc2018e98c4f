/**
 * `polca doctor [--json]`: checks, in plain words, that everything a run needs works here —
 * Temporal reachable with its namespace, the artifact store writable, which TF.js backend loads
 * (with a 512×512 matmul speed), and end to end: a worker on a fresh task queue runs the wiring
 * workflow, whose activity writes an object to the store and reads it back. Exit 1 when a check
 * fails; each failure says what to do.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { namespace as envNamespace, polcaHome } from '../services/env.ts';
import { connectionOptions } from '../services/connection.ts';
import { readState, temporalRunning } from '../services/manager.ts';

export interface Check {
  name: string;
  ok: boolean;
  /** What was found, in plain words. */
  detail: string;
  /** What to do about a failure. */
  fix?: string;
  /** A check that did not run because an earlier one failed. */
  skipped?: boolean;
  data?: Record<string, unknown>;
}

const errText = (e: unknown) => {
  const err = e as { details?: string; message?: string };
  return (err.details || err.message || String(e)).split('\n')[0];
};

/** Where Temporal is: TEMPORAL_ADDRESS, else the local services recorded under POLCA_HOME. */
export function temporalTarget(env = process.env): { address?: string; source: string } {
  if (env.TEMPORAL_ADDRESS) return { address: env.TEMPORAL_ADDRESS, source: 'TEMPORAL_ADDRESS' };
  const home = polcaHome(env);
  const state = readState(home);
  if (state?.temporal && temporalRunning(state)) return { address: state.temporal.address, source: `local services in ${state.dataDir}` };
  return { source: 'none' };
}

export async function checkTemporal(env = process.env): Promise<Check> {
  const name = 'Temporal';
  const { address, source } = temporalTarget(env);
  const ns = envNamespace(env);
  if (!address) {
    return {
      name,
      ok: false,
      detail: 'no Temporal server: TEMPORAL_ADDRESS is not set and no local services are running',
      fix: 'start the local services with `polca services up`, or set TEMPORAL_ADDRESS to a running server (host:port)',
    };
  }
  const { Connection } = await import('@temporalio/client');
  let conn: Awaited<ReturnType<typeof Connection.connect>> | undefined;
  try {
    conn = await Connection.connect({ ...connectionOptions(address, env), connectTimeout: 5000 });
    const c = conn;
    const health = await c.withDeadline(Date.now() + 5000, () => c.healthService.check({}));
    if (health.status !== 1) {
      return {
        name,
        ok: false,
        detail: `${address} (${source}) answers but is not serving (health status ${health.status})`,
        fix: 'wait a moment and retry, or restart the server (`polca services up`)',
      };
    }
  } catch (e) {
    await conn?.close();
    return {
      name,
      ok: false,
      detail: `cannot reach ${address} (${source}): ${errText(e)}`,
      fix:
        source === 'TEMPORAL_ADDRESS'
          ? 'check that a Temporal server runs at TEMPORAL_ADDRESS (and TEMPORAL_API_KEY / TEMPORAL_TLS for a cloud server), or unset it and run `polca services up`'
          : 'restart the local services with `polca services up`',
    };
  }
  try {
    const c = conn;
    await c.withDeadline(Date.now() + 5000, () => c.workflowService.describeNamespace({ namespace: ns }));
    return {
      name,
      ok: true,
      detail: `${address} answers (SERVING), namespace "${ns}" is registered [${source}]`,
      data: { address, namespace: ns, source },
    };
  } catch (e) {
    return {
      name,
      ok: false,
      detail: `${address} answers but namespace "${ns}" is not usable: ${errText(e)}`,
      fix: `create it (\`temporal operator namespace create --namespace ${ns} --address ${address}\`) or set TEMPORAL_NAMESPACE to an existing one`,
    };
  } finally {
    await conn.close();
  }
}

export async function checkStore(env = process.env): Promise<Check> {
  const name = 'artifact store';
  const { openStore, storeOptionsFromEnv } = await import('../artifacts/index.ts');
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = openStore(storeOptionsFromEnv(env));
  } catch (e) {
    return { name, ok: false, detail: errText(e), fix: 'set POLCA_STORE to local or s3' };
  }
  const kind = (env.POLCA_STORE ?? 'local') === 's3' ? 's3' : 'local';
  const probe = `probe-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const data = randomBytes(32);
  try {
    await store.probe(probe, data);
    return {
      name,
      ok: true,
      detail: `${store.location} is writable (wrote, read back and deleted a 32-byte object)`,
      data: { kind, location: store.location },
    };
  } catch (e) {
    const msg = errText(e);
    let fix: string;
    if (kind === 'local') fix = 'make the directory writable, or point POLCA_STORE_DIR (or POLCA_HOME) at a writable one';
    else if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|connect|socket/i.test(msg))
      fix = `nothing answers at ${env.POLCA_S3_ENDPOINT ?? 'the S3 endpoint'}: start MinIO with \`polca services up\` or fix POLCA_S3_ENDPOINT`;
    else if (/NoSuchBucket/i.test(msg))
      fix = 'create the bucket (`polca services up --bucket <name>` for the local MinIO) or set POLCA_S3_BUCKET to an existing one';
    else if (/InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|credential/i.test(msg))
      fix =
        'set the S3 credentials: for the local MinIO, the AWS_SHARED_CREDENTIALS_FILE and AWS_PROFILE lines printed by `polca services up`; otherwise AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
    else fix = 'check POLCA_S3_ENDPOINT, POLCA_S3_BUCKET and the S3 credentials';
    return { name, ok: false, detail: `${store.location}: ${msg}`, fix };
  }
}

/** Which TF.js backend loads, and a 512×512 float32 matmul speed on it. */
export async function checkBackend(env = process.env): Promise<Check> {
  const name = 'TF.js backend';
  try {
    const { backendInfo, initBackend } = await import('../core/model/backend.ts');
    const backend = await initBackend();
    const version = backendInfo().version;
    const tf = await import('@tensorflow/tfjs');
    const n = 512;
    const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
    const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
    tf.matMul(a, b).dispose(); // warm-up (kernel compilation)
    let reps = 0;
    const t0 = performance.now();
    while (reps < 20 && (reps < 3 || performance.now() - t0 < 500)) {
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
      reps++;
    }
    const seconds = (performance.now() - t0) / 1000;
    a.dispose();
    b.dispose();
    const gflops = (2 * n ** 3 * reps) / seconds / 1e9;
    const why = env.POLCA_BACKEND ? ` (POLCA_BACKEND=${env.POLCA_BACKEND})` : '';
    return {
      name,
      ok: true,
      detail: `${backend}${version ? ` (libtensorflow ${version})` : ''}${why}; 512×512 matmul ${gflops.toFixed(1)} GFLOP/s (${reps} runs)`,
      data: { backend, ...(version ? { libtensorflow: version } : {}), gflops, reps, seconds },
    };
  } catch (e) {
    return {
      name,
      ok: false,
      detail: `no backend loads: ${errText(e)}`,
      fix: 'unset POLCA_BACKEND (or set it to wasm or cpu); reinstall npm packages with `npm ci`',
    };
  }
}

export async function checkWiring(address: string, env = process.env): Promise<Check> {
  const name = 'worker wiring';
  try {
    const { openStore, storeOptionsFromEnv } = await import('../artifacts/index.ts');
    const { runWiringCheck } = await import('../services/wiring.ts');
    const r = await runWiringCheck({ address, namespace: envNamespace(env), store: openStore(storeOptionsFromEnv(env)) });
    return {
      name,
      ok: true,
      detail: `a worker on task queue ${r.taskQueue} ran wiringWorkflow; its activity wrote ${r.bytes} bytes to ${r.location} and read them back (worker start with bundling ${(r.workerStartMs / 1000).toFixed(1)} s, workflow ${(r.workflowMs / 1000).toFixed(1)} s)`,
      data: { ...r },
    };
  } catch (e) {
    return {
      name,
      ok: false,
      detail: `the wiring workflow failed: ${errText(e)}`,
      fix: 'run with POLCA_DEBUG=1 for the full error; check that workflows/wiring.ts bundles (webpack and @swc/core are installed by `npm ci`) and that no firewall blocks the worker',
    };
  }
}

export async function runDoctor(env = process.env): Promise<Check[]> {
  const checks: Check[] = [];
  const temporal = await checkTemporal(env);
  checks.push(temporal);
  const store = await checkStore(env);
  checks.push(store);
  checks.push(await checkBackend(env));
  if (temporal.ok && store.ok) checks.push(await checkWiring(temporal.data!.address as string, env));
  else {
    checks.push({
      name: 'worker wiring',
      ok: false,
      skipped: true,
      detail: `not run: ${[temporal, store]
        .filter((c) => !c.ok)
        .map((c) => c.name)
        .join(' and ')} failed`,
      fix: 'fix the failures above first',
    });
  }
  return checks;
}

export function formatChecks(checks: Check[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${c.ok ? 'ok  ' : c.skipped ? 'skip' : 'FAIL'}  ${c.name}: ${c.detail}`);
    if (!c.ok && c.fix) lines.push(`      → ${c.fix}`);
  }
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(failed === 0 ? 'all checks passed' : `${failed} of ${checks.length} checks failed`);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Check Temporal, the artifact store, the TF.js backend and a worker running a workflow end to end')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const checks = await runDoctor();
      const ok = checks.every((c) => c.ok);
      if (opts.json) console.log(JSON.stringify({ ok, checks }, null, 2));
      else console.log(formatChecks(checks));
      if (!ok) process.exitCode = 1;
    });
}
