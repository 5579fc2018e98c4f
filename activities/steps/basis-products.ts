/**
 * Resume points of the `basis` step: every Hessian-vector product of the Lanczos iteration is
 * kept as the resume point `hvp-<call>.bin` of the step's key (the SHA-256 of the input vector, then the product
 * as float64), handed to the activity's thread to write (`ctx.persist`) so the synchronous
 * iteration never waits. A retry replays the products whose input matches, so it walks the same
 * Krylov path and computes only what the interrupted attempt did not reach; the step's bytes are
 * those of an uninterrupted run.
 */
import { createHash } from 'node:crypto';
import type { ProductStore } from '../../core/basis/basis.ts';
import type { Progress, StepContext } from './context.ts';

const name = (call: number) => `hvp-${String(call).padStart(6, '0')}.bin`;
const digest = (v: Float64Array) =>
  createHash('sha256')
    .update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
    .digest();

/** The products an earlier attempt stored, in call order up to the first one missing. */
export async function loadProducts(ctx: StepContext, key: string, maxCalls: number): Promise<ProductStore & { replayed: number }> {
  const kept: (Uint8Array | undefined)[] = [];
  for (let call = 0; call < maxCalls; call++) {
    const raw = await ctx.store.getScratch(key, name(call));
    if (!raw || raw.length < 32 || (raw.length - 32) % 8 !== 0) break;
    kept.push(raw);
  }
  let replayed = 0;
  const progress = (call: number): Progress => ({ phase: 'lanczos', done: call + 1, total: maxCalls, replayed });
  return {
    get replayed() {
      return replayed;
    },
    get(call, v) {
      const raw = kept[call];
      if (!raw) return undefined;
      kept[call] = undefined; // each product is asked for once
      if (!Buffer.from(raw.subarray(0, 32)).equals(digest(v))) return undefined;
      replayed++;
      ctx.heartbeat(progress(call));
      const body = raw.slice(32);
      return new Float64Array(body.buffer, body.byteOffset, (raw.length - 32) / 8);
    },
    put(call, v, hv) {
      if (ctx.persist) {
        const out = new Uint8Array(32 + hv.byteLength);
        out.set(digest(v), 0);
        out.set(new Uint8Array(hv.buffer, hv.byteOffset, hv.byteLength), 32);
        ctx.persist(key, name(call), out);
      }
      ctx.heartbeat(progress(call));
    },
  };
}
