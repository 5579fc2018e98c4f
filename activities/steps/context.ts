/**
 * What every step needs from its runner, Temporal or not: the store, a way to report progress, a
 * cancellation signal, and an identity for step leases. Resume points live in the store
 * (ArtifactStore.putScratch), where a retry on any worker finds them.
 *
 * A step runs as: compute its key; if the store has it and it passes the cache-hit check, return
 * at once (`cached`); otherwise take the step's lease (ArtifactStore.takeLease, so that the same
 * step needed twice at the same time, by two runs or two sweep points or two workers, is computed
 * once), compute, write, return. The cache-hit check (ArtifactStore.check): the manifest parses,
 * every file exists with its size, and for artifacts of at most POLCA_HIT_HASH_MAX_MIB MiB
 * (default 64) every file's SHA-256 matches. A damaged artifact (a manifest that does not parse
 * or describes another key; a file missing, short or changed) is removed and recomputed, and the
 * result says `recomputed`; so does one whose files were found without their manifest. Inputs are always read in full and hash-checked (readInput).
 */
import { type StepSpec, stepKey } from '../../artifacts/keys.ts';
import { type ArtifactStore, IntegrityError, type Manifest, NotFoundError } from '../../artifacts/store.ts';
import type { Progress, StepResult } from '../../pipeline/contract.ts';
import { BadInputError, InputIntegrityError } from '../../pipeline/errors.ts';

export type { Progress, StepResult };
export { BadInputError, InputIntegrityError };

export interface StepContext {
  store: ArtifactStore;
  /** Report progress (Temporal: the activity heartbeat). */
  heartbeat(details: Progress): void;
  signal?: AbortSignal;
  /** Identity of this logical step execution (the same across retries of one activity). */
  owner: string;
  /** The worker computing the step (recorded in the manifest's meta). */
  worker?: string;
  /** Seconds a lease lives without renewal. */
  leaseSeconds?: number;
  /**
   * Store a resume point of `key` (ArtifactStore.putScratch) without waiting (callable from
   * synchronous numerics): the bytes are written in the background, in call order. Absent where
   * nothing persists mid-step.
   */
  persist?(key: string, name: string, bytes: Uint8Array): void;
  /** Cache hits of artifacts up to this many bytes are hash-checked in full (default: hitHashMaxBytes()). */
  hitHashMaxBytes?: number;
}

/** The default full-hash limit of the cache-hit check: POLCA_HIT_HASH_MAX_MIB MiB (default 64; 0 = sizes only). */
export function hitHashMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.POLCA_HIT_HASH_MAX_MIB;
  if (raw === undefined || raw === '') return 64 * 1024 * 1024;
  const mib = Number(raw);
  if (!Number.isFinite(mib) || mib < 0) {
    throw new BadInputError(`POLCA_HIT_HASH_MAX_MIB: ${JSON.stringify(raw)} is not a number of MiB ≥ 0`);
  }
  return Math.floor(mib * 1024 * 1024);
}

/** Read a file of an input artifact; integrity failures become InputIntegrityError (and the artifact is removed). */
export async function readInput(ctx: StepContext, key: string, file: string): Promise<Uint8Array> {
  try {
    return await ctx.store.get(key, file);
  } catch (e) {
    if (e instanceof IntegrityError) {
      await ctx.store.delete(key);
      throw new InputIntegrityError(`input ${key} failed its integrity check and was removed: ${e.message}`, key);
    }
    if (e instanceof NotFoundError) throw new InputIntegrityError(`input ${key} is missing: ${e.message}`, key);
    throw e;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Run a step once per key: return the stored artifact when present, else take the lease and
 * compute. `compute` returns the files and small metadata; it may use `ctx.heartbeat`.
 */
export async function runStep(
  ctx: StepContext,
  name: string,
  spec: StepSpec,
  compute: () => Promise<{
    files: Record<string, Uint8Array>;
    meta?: Record<string, unknown>;
  }>,
  metaOf?: (meta: Record<string, unknown> | undefined) => Record<string, unknown> | undefined,
): Promise<StepResult> {
  const t0 = Date.now();
  const key = stepKey(spec);
  const hashLimit = ctx.hitHashMaxBytes ?? hitHashMaxBytes();
  /** What the cache-hit check found wrong with the stored artifact, when it was damaged. */
  let damage: string | undefined;
  /**
   * Files under the key without a manifest, as the latest check found them. Not removed: on S3 they
   * may be another writer's, still writing under its lease; the store never adopts them, and once
   * this step holds the lease and still finds them, computing the step is a recomputation.
   */
  let orphaned: string | undefined;
  const resultOf = (m: Manifest): StepResult => ({
    name,
    key,
    cached: true,
    seconds: (Date.now() - t0) / 1000,
    meta: metaOf ? metaOf(m.meta) : m.meta,
  });
  const cachedResult = async (): Promise<StepResult | undefined> => {
    const c = await ctx.store.check(key, hashLimit);
    orphaned = c.state === 'orphaned' ? c.problem : undefined;
    if (c.state === 'absent' || c.state === 'orphaned') return undefined;
    if (c.state === 'ok') return resultOf(c.manifest);
    // Damaged (a file missing, short, changed; a manifest that does not parse): never handed on.
    damage = c.problem;
    await ctx.store.delete(key);
    ctx.heartbeat({ phase: `recomputing: ${c.problem}`, done: 0, total: 1 });
    return undefined;
  };
  /** After the lease: a complete artifact another worker just wrote (it checked its bytes when publishing). */
  const written = async (): Promise<StepResult | undefined> => {
    if (damage === undefined) return cachedResult();
    const m = await ctx.store.manifest(key).catch(() => undefined);
    return m ? { ...resultOf(m), cached: false, recomputed: true } : undefined;
  };
  const hit = await cachedResult();
  if (hit) return hit;
  const ttl = (ctx.leaseSeconds ?? 60) * 1000;
  // Take the lease, or wait for whoever holds it to finish (or to let it expire).
  for (let waited = 0; ; waited++) {
    const lease = await ctx.store.takeLease(key, ctx.owner, ttl);
    if (lease.taken) break;
    const done = await written();
    if (done) return done;
    ctx.heartbeat({
      phase: 'waiting for another worker computing the same step',
      done: 0,
      total: 1,
      holder: lease.holder,
    });
    if (ctx.signal?.aborted) throw new Error('cancelled while waiting for a step lease');
    await sleep(Math.min(2000, 250 * (waited + 1)));
  }
  const renew = setInterval(() => {
    ctx.store.renewLease(key, ctx.owner, ttl).catch(() => undefined);
  }, ttl / 3);
  try {
    const again = await written();
    if (again) return again;
    if (orphaned !== undefined) ctx.heartbeat({ phase: `recomputing: ${orphaned}`, done: 0, total: 1 });
    const { files, meta } = await compute();
    const seconds = (Date.now() - t0) / 1000;
    await ctx.store.put(spec, files, { ...meta, seconds, ...(ctx.worker ? { worker: ctx.worker } : {}) });
    // A resume point is of no use once the step is stored.
    await ctx.store.clearScratch(key).catch(() => undefined);
    return {
      name,
      key,
      cached: false,
      ...(damage !== undefined || orphaned !== undefined ? { recomputed: true } : {}),
      seconds,
      meta: metaOf ? metaOf(meta) : meta,
    };
  } finally {
    clearInterval(renew);
    await ctx.store.releaseLease(key, ctx.owner).catch(() => undefined);
  }
}

/** Yield to the event loop (lets heartbeats and cancellation through during long computations). */
export const yieldNow = () => new Promise<void>((r) => setImmediate(r));
