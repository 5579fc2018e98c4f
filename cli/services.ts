/**
 * `polca services up | down | status`: the local Temporal dev server and MinIO, run detached and
 * recorded in `$POLCA_HOME/services/state.json`. Secrets are never printed: the output names the
 * file that holds them.
 */
import type { Command } from 'commander';
import { intOption } from './common.ts';
import { polcaHome } from '../services/env.ts';
import {
  AWS_PROFILE,
  ensureLocalServices,
  type LocalServices,
  type ServicesState,
  servicesDir,
  servicesDown,
  servicesStatus,
  servicesUp,
} from '../services/manager.ts';

export { ensureLocalServices, type LocalServices };

/** A port option, checked like every numeric option (cli/common.ts). */
function portOption(value: string, name: string): number {
  return intOption(name, value, 1, 65535);
}

/** The environment lines that point polca at these services (no secret values). */
export function envLines(state: ServicesState): string[] {
  const lines: string[] = [];
  if (state.temporal) lines.push(`export TEMPORAL_ADDRESS=${state.temporal.address}`);
  if (state.minio) {
    lines.push('export POLCA_STORE=s3', `export POLCA_S3_ENDPOINT=${state.minio.endpoint}`, `export POLCA_S3_BUCKET=${state.minio.bucket}`);
    if (state.minio.awsCredentialsFile) {
      lines.push(`export AWS_SHARED_CREDENTIALS_FILE=${state.minio.awsCredentialsFile}`, `export AWS_PROFILE=${AWS_PROFILE}`);
    } else {
      lines.push('export AWS_ACCESS_KEY_ID="$MINIO_ROOT_USER" AWS_SECRET_ACCESS_KEY="$MINIO_ROOT_PASSWORD"');
    }
  }
  return lines;
}

function describeUp(state: ServicesState, started: { temporal: boolean; minio: boolean }): string[] {
  const out: string[] = [];
  if (state.temporal) {
    const t = state.temporal;
    out.push(`Temporal dev server: ${t.address} (gRPC), ${started.temporal ? 'started' : 'already running'}, PID ${t.pid}`);
    out.push(`  Web UI: ${t.uiUrl}`);
  }
  if (state.minio) {
    const m = state.minio;
    out.push(`MinIO: ${m.endpoint} (S3 API), bucket ${m.bucket}, ${started.minio ? 'started' : 'already running'}, PID ${m.pid}`);
    out.push(
      m.credentials === 'env'
        ? '  credentials: MINIO_ROOT_USER / MINIO_ROOT_PASSWORD from the environment'
        : `  credentials: ${m.credentials} and ${m.awsCredentialsFile} (mode 0600)`,
    );
  }
  out.push(`Data: ${state.dataDir} (temporal.db, minio/, *.log)`);
  out.push('', 'To use them from a shell:', ...envLines(state).map((l) => `  ${l}`), '', 'Stop them with: polca services down');
  return out;
}

export function register(program: Command): void {
  const services = program.command('services').description('The local Temporal dev server and MinIO (data under $POLCA_HOME/services)');

  services
    .command('up')
    .description('Start the Temporal dev server and MinIO detached (or reuse them when already running); wait until healthy')
    .option('--temporal-port <port>', 'Temporal gRPC port (default 7233, or the recorded one)', (v) => portOption(v, '--temporal-port'))
    .option('--ui-port <port>', 'Temporal Web UI port (default: the gRPC port + 1000)', (v) => portOption(v, '--ui-port'))
    .option('--minio-port <port>', 'MinIO S3 API port (default 9000, or the recorded one)', (v) => portOption(v, '--minio-port'))
    .option('--bucket <name>', 'the S3 bucket to create (default polca)')
    .option('--no-minio', 'start Temporal only (enough for the local artifact store)')
    .action(async (opts: { temporalPort?: number; uiPort?: number; minioPort?: number; bucket?: string; minio: boolean }) => {
      const home = polcaHome();
      const { state, started } = await servicesUp(home, {
        temporalPort: opts.temporalPort,
        uiPort: opts.uiPort,
        minioPort: opts.minioPort,
        bucket: opts.bucket,
        minio: opts.minio,
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      console.log(describeUp(state, started).join('\n'));
    });

  services
    .command('down')
    .description('Stop the services recorded under $POLCA_HOME/services (their data stays)')
    .action(async () => {
      const home = polcaHome();
      const state = await servicesDown(home);
      if (!state) {
        console.log(`no services recorded in ${servicesDir(home)}; nothing to stop`);
        return;
      }
      if (state.temporal) console.log(`stopped the Temporal dev server (PID ${state.temporal.pid})`);
      if (state.minio) console.log(`stopped MinIO (PID ${state.minio.pid})`);
      console.log(`data kept in ${state.dataDir}`);
    });

  services
    .command('status')
    .description('Report whether the recorded services run and answer health checks (exit 1 when not all are healthy)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const home = polcaHome();
      const s = await servicesStatus(home);
      const healthy = !!s && (!s.temporal.recorded || s.temporal.healthy) && (!s.minio.recorded || s.minio.healthy);
      if (opts.json) {
        console.log(
          JSON.stringify(
            s
              ? {
                  healthy,
                  dataDir: s.state.dataDir,
                  temporal: { ...s.state.temporal, ...s.temporal },
                  minio: { ...s.state.minio, ...s.minio },
                }
              : { healthy: false, dataDir: servicesDir(home), temporal: { recorded: false }, minio: { recorded: false } },
            null,
            2,
          ),
        );
      } else if (!s) {
        console.log(`no services recorded in ${servicesDir(home)}; start them with \`polca services up\``);
      } else {
        const word = (h: { running: boolean; healthy: boolean }) =>
          h.healthy ? 'healthy' : h.running ? 'running but not answering its health check' : 'not running';
        if (s.state.temporal) {
          const t = s.state.temporal;
          console.log(`Temporal dev server: ${word(s.temporal)} — ${t.address}, Web UI ${t.uiUrl}, PID ${t.pid}`);
        }
        if (s.state.minio) {
          const m = s.state.minio;
          console.log(`MinIO: ${word(s.minio)} — ${m.endpoint}, bucket ${m.bucket}, PID ${m.pid}`);
        }
        console.log(`Data: ${s.state.dataDir}`);
        if (!healthy) console.log('Restart with `polca services up` (same ports and data).');
      }
      if (!healthy) process.exitCode = 1;
    });
}
