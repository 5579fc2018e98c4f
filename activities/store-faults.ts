/**
 * Store faults that retrying cannot fix: a read-only file system (EROFS), permission denied
 * (EACCES, EPERM; an S3 bucket answering AccessDenied / HTTP 403), no space left (ENOSPC, EDQUOT;
 * MinIO's XMinioStorageFull / HTTP 507). A step that meets one fails at once, not retryable, with
 * one line that names the error, the path or bucket, and what to do; the command prints that line
 * last. No space is the one fault that may heal by itself (another process frees space, a volume
 * grows): it is retried for a short bounded time after the step was first scheduled
 * (POLCA_NOSPACE_WAIT_SECONDS, default 30), then fails the same way.
 *
 * Errors reach the activity from the compute threads as plain data (name and message), so the
 * fault is recognised by its errno code or, failing that, by the code Node puts at the head of its
 * message (`EROFS: read-only file system, open '/path'`) and the S3 backend's wording.
 */
import { ApplicationFailure } from '@temporalio/common';

export type StoreFaultKind = 'read-only' | 'permission' | 'no-space';

export interface StoreFault {
  kind: StoreFaultKind;
  /** The errno code or S3 error name (EROFS, EACCES, EPERM, ENOSPC, EDQUOT, AccessDenied, XMinioStorageFull). */
  code: string;
  /** The file the system call named, or the S3 object and bucket; undefined when the error names none. */
  where?: string;
}

const ERRNO: Record<string, StoreFaultKind> = {
  EROFS: 'read-only',
  EACCES: 'permission',
  EPERM: 'permission',
  ENOSPC: 'no-space',
  EDQUOT: 'no-space',
};

const S3_CODES: Record<string, StoreFaultKind> = {
  AccessDenied: 'permission',
  XMinioStorageFull: 'no-space',
  XMinioDiskFull: 'no-space',
};

/** The store fault `e` reports, or undefined when it is none (or may heal on a retry, such as a network error). */
export function storeFault(e: unknown): StoreFault | undefined {
  if (!(e instanceof Error)) return undefined;
  const err = e as NodeJS.ErrnoException;
  const message = err.message ?? '';
  // Node's fs errors: `CODE: description, syscall 'path'` (also inside a message that wraps one).
  const head = /\b(EROFS|EACCES|EPERM|ENOSPC|EDQUOT): [^,\n]*(?:, \w+(?: '([^']*)')?)?/.exec(message);
  const code = err.code && Object.hasOwn(ERRNO, err.code) ? err.code : head?.[1];
  if (code && Object.hasOwn(ERRNO, code)) return { kind: ERRNO[code], code, where: err.path ?? head?.[2] };
  // The S3 backend's errors: `S3 <op> <key> in bucket <bucket> failed: <Name>: <message> (HTTP <status>)`.
  const s3 = /^S3 .+? (\S+) in bucket (\S+) failed: (\w+)/.exec(message);
  if (s3) {
    const [, key, bucket, name] = s3;
    const status = /\(HTTP (\d{3})\)\s*$/.exec(message)?.[1];
    const kind = Object.hasOwn(S3_CODES, name)
      ? S3_CODES[name]
      : status === '403'
        ? 'permission'
        : status === '507'
          ? 'no-space'
          : undefined;
    if (kind) return { kind, code: Object.hasOwn(S3_CODES, name) ? name : `HTTP ${status}`, where: `${key} in bucket ${bucket}` };
  }
  return undefined;
}

/** How long a step that finds no space left is retried, counted from when it was first scheduled (POLCA_NOSPACE_WAIT_SECONDS, default 30). */
export function noSpaceWaitMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.POLCA_NOSPACE_WAIT_SECONDS;
  if (raw === undefined || raw === '') return 30_000;
  const s = Number(raw);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 30_000;
}

const WHAT: Record<StoreFaultKind, string> = {
  'read-only': 'the store is on a read-only file system',
  permission: 'the store refuses this user writes there (permission denied)',
  'no-space': 'no space is left where the store writes',
};

const TODO: Record<StoreFaultKind, (local: boolean) => string> = {
  'read-only': (local) =>
    local
      ? 'make it writable (remount it read-write) or point POLCA_STORE_DIR at a writable directory, then run the same command again'
      : 'use a bucket these credentials may write, then run the same command again',
  permission: (local) =>
    local
      ? 'give this user write access to the store directory or point POLCA_STORE_DIR at one it may write, then run the same command again'
      : 'give these credentials s3:PutObject and s3:DeleteObject on the bucket or set POLCA_S3_BUCKET to one they may write, then run the same command again',
  'no-space': (local) =>
    `free space there${local ? ' (or point POLCA_STORE_DIR at a larger file system)' : ' (the bucket’s drives)'}, then run the same command again: every step already stored is reused`,
};

/**
 * The one line a fault is reported with: the error, where (the path or bucket the error names,
 * else the store's location: `local:/dir` or `s3://bucket/prefix`), and what to do.
 */
export function describeStoreFault(f: StoreFault, storeLocation?: string, waitedMs?: number): string {
  const where = f.where ?? storeLocation?.replace(/^local:/, '');
  const local = !(f.where ?? storeLocation ?? '').match(/ in bucket |^s3:\/\//);
  const waited = f.kind === 'no-space' && waitedMs !== undefined ? ` (still after ${Math.round(waitedMs / 1000)} s of retries)` : '';
  const store = f.where && storeLocation ? ` (store ${storeLocation.replace(/^local:/, '')})` : '';
  return `${WHAT[f.kind]}: ${f.code}${where ? ` at ${where}` : ''}${store}${waited}; ${TODO[f.kind](local)}`;
}

/**
 * What the activity does with a store fault: `retry` (no space, still inside the wait) or
 * `fail` with the line to report, not retryable. Undefined: not a store fault.
 */
export function storeFaultVerdict(
  e: unknown,
  sinceFirstScheduledMs: number,
  storeLocation?: string,
  waitMs = noSpaceWaitMs(),
): { action: 'retry' } | { action: 'fail'; message: string; fault: StoreFault } | undefined {
  const f = storeFault(e);
  if (!f) return undefined;
  if (f.kind === 'no-space' && sinceFirstScheduledMs < waitMs) return { action: 'retry' };
  return {
    action: 'fail',
    message: describeStoreFault(f, storeLocation, f.kind === 'no-space' ? sinceFirstScheduledMs : undefined),
    fault: f,
  };
}

/**
 * The Temporal failure for a store fault met `sinceFirstScheduledMs` after the activity was first
 * scheduled: not retryable (type `StoreFault`, the fault as details), or undefined to let the
 * activity's retry policy retry it (no space, inside the wait) or to leave the error to other rules.
 */
export function storeFaultFailure(
  e: unknown,
  sinceFirstScheduledMs: number,
  storeLocation?: string,
  waitMs = noSpaceWaitMs(),
): ApplicationFailure | undefined {
  const v = storeFaultVerdict(e, sinceFirstScheduledMs, storeLocation, waitMs);
  return v?.action === 'fail' ? ApplicationFailure.nonRetryable(v.message, 'StoreFault', v.fault) : undefined;
}
