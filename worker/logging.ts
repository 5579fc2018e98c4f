/**
 * Where the Temporal SDK's logs go (the TypeScript side and, forwarded, the Rust core's): never
 * stdout, which belongs to the command's output (`--json` is exactly one JSON document). Lines go
 * to stderr, or to a log file (POLCA_LOG_FILE, or `routeLogsToFile` while a progress display owns
 * the terminal), as plain text without colour codes, at the level POLCA_LOG_LEVEL names (TRACE,
 * DEBUG, INFO, WARN, ERROR; default WARN).
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { inspect } from 'node:util';
import type { LogLevel } from '@temporalio/common';
import { DefaultLogger, type LogEntry, makeTelemetryFilterString, type RuntimeOptions } from '@temporalio/worker';

export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/** POLCA_LOG_LEVEL (case-insensitive; POLCA_TEMPORAL_LOG is read when it is unset); default WARN. */
export function logLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const raw = env.POLCA_LOG_LEVEL ?? env.POLCA_TEMPORAL_LOG;
  if (raw === undefined || raw === '') return 'WARN';
  const level = raw.toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`POLCA_LOG_LEVEL: ${JSON.stringify(raw)} is not a log level; allowed: ${LOG_LEVELS.join(', ')}`);
  }
  return level as LogLevel;
}

let fileFd: number | undefined;
let filePath: string | undefined;

/** Send log lines to `path` (appended; its directory is created) until `routeLogsToStderr`. */
export function routeLogsToFile(path: string): void {
  if (filePath === path) return;
  routeLogsToStderr();
  mkdirSync(dirname(path), { recursive: true });
  fileFd = openSync(path, 'a', 0o600);
  filePath = path;
}

export function routeLogsToStderr(): void {
  if (fileFd !== undefined) closeSync(fileFd);
  fileFd = undefined;
  filePath = undefined;
}

/** The file log lines go to, when not stderr. */
export const logFile = (): string | undefined => filePath;

/** Colour codes (ESC [ … m), removed from messages that carry them. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** One log entry as one plain line: time, level, message, metadata (no colour codes). */
export function formatLogEntry(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta =
    entry.meta && Object.keys(entry.meta).length ? ` ${inspect(entry.meta, { colors: false, breakLength: Infinity, depth: 4 })}` : '';
  return `${time} ${entry.level} [temporal ${process.pid}] ${entry.message.replace(ANSI, '')}${meta}\n`;
}

function writeLine(line: string): void {
  if (fileFd !== undefined) writeSync(fileFd, line);
  else process.stderr.write(line);
}

/** Options for Runtime.install: the logger and the core's logs forwarded to it, at logLevel(). */
export function runtimeLogOptions(env: NodeJS.ProcessEnv = process.env): RuntimeOptions {
  const level = logLevel(env);
  if (env.POLCA_LOG_FILE) routeLogsToFile(env.POLCA_LOG_FILE);
  return {
    logger: new DefaultLogger(level, (entry) => writeLine(formatLogEntry(entry))),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: level, other: level }), forward: {} },
    },
  };
}
