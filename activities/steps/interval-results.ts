/**
 * Resume points of the `polca` step: each finished interval's results (every variant's rows,
 * completeness and summary) are written to `scratch/<key>/interval-<t>.safetensors` before the
 * heartbeat names the interval, so a retry on any worker computes only the intervals that are
 * missing and ends with the same bytes as an uninterrupted run.
 */
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../../artifacts/index.ts';
import type { PolcaIntervalResult } from '../../core/attribution/polca.ts';
import type { StepContext } from './context.ts';

export interface IntervalResults {
  variant: string;
  r: PolcaIntervalResult;
}

const ROWS = ['interval', 'token', 'vector', 'first', 'second', 'polca'] as const;
const COMPLETENESS = ['interval', 'token', 'dloss', 'error'] as const;

const tensor = (data: Int32Array | Float32Array): Tensor => ({
  dtype: data instanceof Int32Array ? 'I32' : 'F32',
  shape: [data.length],
  data,
});

export function encodeIntervalResults(results: IntervalResults[]): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  results.forEach(({ r }, i) => {
    for (const k of ROWS) tensors[`${i}.rows.${k}`] = tensor(r.rows[k]);
    for (const k of COMPLETENESS) tensors[`${i}.completeness.${k}`] = tensor(r.completeness[k]);
  });
  const heads = results.map(({ variant, r }) => ({ variant, summary: r.summary }));
  // Numbers JSON cannot hold exactly (NaN, ±Infinity, and -0, which it writes as 0) go as {n: "…"}.
  return encodeSafetensors(tensors, {
    results: JSON.stringify(heads, (_, v) =>
      typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? { n: Object.is(v, -0) ? '-0' : String(v) } : v,
    ),
  });
}

export function decodeIntervalResults(bytes: Uint8Array): IntervalResults[] {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const heads = JSON.parse(metadata.results, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).join() === 'n' ? Number(v.n) : v,
  ) as { variant: string; summary: PolcaIntervalResult['summary'] }[];
  return heads.map(({ variant, summary }, i) => {
    const get = (name: string) => {
      const t = tensors[`${i}.${name}`];
      if (!t) throw new Error(`interval results: ${i}.${name} is missing`);
      return t.data;
    };
    const rows = Object.fromEntries(ROWS.map((k) => [k, get(`rows.${k}`)])) as unknown as PolcaIntervalResult['rows'];
    const completeness = Object.fromEntries(
      COMPLETENESS.map((k) => [k, get(`completeness.${k}`)]),
    ) as unknown as PolcaIntervalResult['completeness'];
    return { variant, r: { rows, completeness, summary } };
  });
}

const name = (interval: number) => `interval-${String(interval).padStart(8, '0')}.safetensors`;

/** The stored results of `interval`, or undefined when there are none (or they cannot be read). */
export async function loadIntervalResults(ctx: StepContext, key: string, interval: number): Promise<IntervalResults[] | undefined> {
  const raw = await ctx.store.getScratch(key, name(interval));
  if (!raw) return undefined;
  try {
    return decodeIntervalResults(raw);
  } catch {
    return undefined;
  }
}

export async function saveIntervalResults(ctx: StepContext, key: string, interval: number, results: IntervalResults[]): Promise<void> {
  await ctx.store.putScratch(key, name(interval), encodeIntervalResults(results));
}
