/**
 * Resume points of the per-chunk family steps (`fisher`, `lca`): each finished checkpoint's or
 * interval's values, exactly as the step stores them (float32), are written to
 * the resume point `<what>-<t>.safetensors` of the step's key before the heartbeat names it, so that a retry on any
 * worker computes only what is missing and ends with the same bytes as an uninterrupted run.
 */
import { decodeSafetensors, encodeSafetensors } from '../../artifacts/index.ts';
import type { StepContext } from './context.ts';

const name = (what: string, t: number) => `${what}-${String(t).padStart(8, '0')}.safetensors`;

/** The stored values of `what` at `t` (length `size`), or undefined when there are none usable. */
export async function loadRows(ctx: StepContext, key: string, what: string, t: number, size: number): Promise<Float32Array | undefined> {
  const raw = await ctx.store.getScratch(key, name(what, t));
  if (!raw) return undefined;
  try {
    const v = decodeSafetensors(raw).tensors.values;
    if (v?.dtype !== 'F32' || v.data.length !== size) return undefined;
    return Float32Array.from(v.data as Float32Array);
  } catch {
    return undefined;
  }
}

export async function saveRows(ctx: StepContext, key: string, what: string, t: number, values: Float32Array): Promise<void> {
  await ctx.store.putScratch(key, name(what, t), encodeSafetensors({ values: { dtype: 'F32', shape: [values.length], data: values } }));
}
