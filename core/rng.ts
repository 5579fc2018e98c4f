/**
 * Counter-based random numbers: every draw is a pure function of (seed, stream, counter), so a
 * training run can resume at any step with no RNG state beyond the step number, and results do
 * not depend on call order. The mixer is SplitMix32-style finalisation (Murmur3 fmix32) applied
 * to a combination of the three words.
 */

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of (seed, stream, counter, extra). */
export function hash32(seed: number, stream: number, counter: number, extra = 0): number {
  let h = fmix32((seed ^ 0x9e3779b9) >>> 0);
  h = fmix32((h ^ Math.imul(stream + 1, 0x85ebca77)) >>> 0);
  h = fmix32((h ^ Math.imul(counter + 1, 0xc2b2ae3d)) >>> 0);
  h = fmix32((h ^ Math.imul(extra + 1, 0x27d4eb2f)) >>> 0);
  return h;
}

/** Uniform in [0, 1) with 32 bits of resolution. */
export function uniform(seed: number, stream: number, counter: number, extra = 0): number {
  return hash32(seed, stream, counter, extra) / 4294967296;
}

/** Uniform integer in [0, n). Uses 53 bits (two hashes) so the modulo bias is negligible. */
export function randInt(n: number, seed: number, stream: number, counter: number, extra = 0): number {
  const hi = hash32(seed, stream, counter, extra * 2);
  const lo = hash32(seed, stream, counter, extra * 2 + 1);
  const u = (hi * 2 ** 21 + (lo >>> 11)) / 2 ** 53;
  return Math.floor(u * n);
}

/** Standard normal by Box–Muller on two counter-based uniforms. */
export function normal(seed: number, stream: number, counter: number): number {
  const u1 = (hash32(seed, stream, counter, 0) + 1) / 4294967297;
  const u2 = hash32(seed, stream, counter, 1) / 4294967296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Streams used across the project, so that no two consumers share random numbers. */
export const STREAMS = {
  evalSplit: 1,
  hessianSplit: 2,
  trainData: 3,
  init: 4,
  lanczos: 5,
  shuffle: 6,
  randomBasis: 7,
  basisOrder: 8,
  ablate: 9,
} as const;
