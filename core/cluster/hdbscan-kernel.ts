/**
 * HDBSCAN's distance phase (core/cluster/hdbscan.ts uses it): Euclidean distances and core
 * distances (the distance to the k-th nearest neighbour, the point itself counted), computed by
 * kernels written as plain JavaScript text so that the same code runs on the calling thread and
 * in worker threads created from the string, sharing the points, the matrix and the core
 * distances through SharedArrayBuffers.
 */
import { Worker } from 'node:worker_threads';

/** Rows per claimed block of the distance and core-distance phases. */
export const BLOCK = 32;
/** Columns per tile inside a block (cache blocking). */
const TILE = 64;

/*
 * The distance and core-distance kernels, as plain JavaScript so the same text runs on the
 * calling thread and in worker threads (created from this string, no separate file to resolve).
 * Shared state: P (points, row-major), D (n×n distances or null), core (n), ctrl (Int32 counters):
 *   ctrl[0] next distance block, ctrl[1] distance blocks done, ctrl[2] next core block,
 *   ctrl[3] core blocks done. Blocks are claimed with Atomics.add, so a thread that never starts
 *   only leaves more blocks to the others.
 * Every distance is sqrt(Σ_k (p_i[k] − p_j[k])²) summed in ascending k with one accumulator, the
 * order scipy's cdist uses, so d(i,j) and d(j,i) are bitwise equal and ties fall as in the fixtures.
 */
const KERNELS = `
function quickselect(a, len, k) {
  let lo = 0, hi = len - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) { const t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (k <= j) hi = j; else if (k >= i) lo = i; else return a[k];
  }
  return a[k];
}
function pair(P, d, oi, oj) {
  let s = 0;
  for (let k = 0; k < d; k++) { const t = P[oi + k] - P[oj + k]; s += t * t; }
  return Math.sqrt(s);
}
// out[r*stride + j] = d(rows[r], j) for the 4 rows a..a+3 and j in [j0, j1)
function four(P, d, a, j0, j1, out, base, stride) {
  const o0 = a * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
  for (let j = j0; j < j1; j++) {
    const oj = j * d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < d; k++) {
      const b = P[oj + k];
      const t0 = P[o0 + k] - b; s0 += t0 * t0;
      const t1 = P[o1 + k] - b; s1 += t1 * t1;
      const t2 = P[o2 + k] - b; s2 += t2 * t2;
      const t3 = P[o3 + k] - b; s3 += t3 * t3;
    }
    out[base + j] = Math.sqrt(s0);
    out[base + stride + j] = Math.sqrt(s1);
    out[base + 2 * stride + j] = Math.sqrt(s2);
    out[base + 3 * stride + j] = Math.sqrt(s3);
  }
}
// the same for 4 rows × 2 points at a time (each sum still one accumulator in ascending k)
function fourTwo(P, d, a, j0, j1, out, base, stride) {
  const o0 = a * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
  let j = j0;
  for (; j + 2 <= j1; j += 2) {
    const oj = j * d, ok = oj + d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, u0 = 0, u1 = 0, u2 = 0, u3 = 0;
    for (let k = 0; k < d; k++) {
      const b = P[oj + k], c = P[ok + k];
      const a0 = P[o0 + k], a1 = P[o1 + k], a2 = P[o2 + k], a3 = P[o3 + k];
      let t = a0 - b; s0 += t * t; t = a1 - b; s1 += t * t; t = a2 - b; s2 += t * t; t = a3 - b; s3 += t * t;
      t = a0 - c; u0 += t * t; t = a1 - c; u1 += t * t; t = a2 - c; u2 += t * t; t = a3 - c; u3 += t * t;
    }
    out[base + j] = Math.sqrt(s0); out[base + stride + j] = Math.sqrt(s1);
    out[base + 2 * stride + j] = Math.sqrt(s2); out[base + 3 * stride + j] = Math.sqrt(s3);
    out[base + j + 1] = Math.sqrt(u0); out[base + stride + j + 1] = Math.sqrt(u1);
    out[base + 2 * stride + j + 1] = Math.sqrt(u2); out[base + 3 * stride + j + 1] = Math.sqrt(u3);
  }
  if (j < j1) four(P, d, a, j, j1, out, base, stride);
}
// distances of rows [i0, i1) to the points j in [j0, j1), into out (row r at (r - i0) * n)
function rowsBlock(P, n, d, i0, i1, j0, j1, out) {
  for (let jt = j0; jt < j1; jt += ${TILE}) {
    const je = Math.min(j1, jt + ${TILE});
    let a = i0;
    for (; a + 4 <= i1; a += 4) fourTwo(P, d, a, jt, je, out, (a - i0) * n, n);
    for (; a < i1; a++) for (let j = jt; j < je; j++) out[(a - i0) * n + j] = pair(P, d, a * d, j * d);
  }
}
// the upper triangle of rows [i0, i1) into the full matrix D, mirrored
function triangleBlock(P, n, d, D, i0, i1) {
  for (let i = i0; i < i1; i++) {
    D[i * n + i] = 0;
    for (let j = i + 1; j < i1; j++) { const v = pair(P, d, i * d, j * d); D[i * n + j] = v; D[j * n + i] = v; }
  }
  if (i1 >= n) return;
  for (let jt = i1; jt < n; jt += ${TILE}) {
    const je = Math.min(n, jt + ${TILE});
    let a = i0;
    for (; a + 4 <= i1; a += 4) fourTwo(P, d, a, jt, je, D, a * n, n);
    for (; a < i1; a++) for (let j = jt; j < je; j++) D[a * n + j] = pair(P, d, a * d, j * d);
    for (let j = jt; j < je; j++) for (let i = i0; i < i1; i++) D[j * n + i] = D[i * n + j];
  }
}
function claimAll(ctrl, next, done, blocks, fn) {
  for (;;) {
    const b = Atomics.add(ctrl, next, 1);
    if (b >= blocks) return;
    fn(b);
    Atomics.add(ctrl, done, 1);
    Atomics.notify(ctrl, done);
  }
}
function waitAll(ctrl, done, blocks) {
  let v;
  while ((v = Atomics.load(ctrl, done)) < blocks) Atomics.wait(ctrl, done, v, 1000);
}
function distancePhase(s) {
  const { P, D, core, ctrl, n, d, k, block } = s;
  const blocks = Math.ceil(n / block);
  if (D) {
    claimAll(ctrl, 0, 1, blocks, (b) => triangleBlock(P, n, d, D, b * block, Math.min(n, (b + 1) * block)));
    waitAll(ctrl, 1, blocks);
    const tmp = new Float64Array(n);
    claimAll(ctrl, 2, 3, blocks, (b) => {
      for (let i = b * block; i < Math.min(n, (b + 1) * block); i++) {
        tmp.set(D.subarray(i * n, (i + 1) * n));
        core[i] = quickselect(tmp, n, k - 1);
      }
    });
  } else {
    const buf = new Float64Array(block * n);
    claimAll(ctrl, 2, 3, blocks, (b) => {
      const i0 = b * block, i1 = Math.min(n, (b + 1) * block);
      rowsBlock(P, n, d, i0, i1, 0, n, buf);
      for (let i = i0; i < i1; i++) core[i] = quickselect(buf.subarray((i - i0) * n, (i - i0 + 1) * n), n, k - 1);
    });
  }
}
`;

interface Kernels {
  distancePhase(s: SharedState): void;
  waitAll(ctrl: Int32Array, done: number, blocks: number): void;
  pair(P: Float64Array, d: number, oi: number, oj: number): number;
}
interface SharedState {
  P: Float64Array;
  D: Float64Array | null;
  core: Float64Array;
  ctrl: Int32Array;
  n: number;
  d: number;
  k: number;
  block: number;
}

export const kernels = new Function(`${KERNELS}; return { distancePhase, waitAll, pair };`)() as Kernels;

const WORKER_SOURCE = `${KERNELS}
const { workerData } = require('node:worker_threads');
const w = workerData;
distancePhase({ P: new Float64Array(w.P), D: w.D ? new Float64Array(w.D) : null, core: new Float64Array(w.core),
  ctrl: new Int32Array(w.ctrl), n: w.n, d: w.d, k: w.k, block: w.block });
`;

/**
 * Core distances (and the distance matrix when it fits), with `threads − 1` worker threads
 * sharing the blocks with the calling thread, which blocks until all are done (Atomics.wait),
 * so `hdbscan` stays synchronous.
 */
export function distances(P: Float64Array, n: number, d: number, k: number, threads: number, keepMatrix: boolean) {
  const share = threads > 1;
  const alloc = (len: number) => new Float64Array(share ? new SharedArrayBuffer(len * 8) : new ArrayBuffer(len * 8));
  const Ps = share ? alloc(n * d) : P;
  if (share) Ps.set(P);
  const D = keepMatrix ? alloc(n * n) : null;
  const core = alloc(n);
  const ctrl = new Int32Array(share ? new SharedArrayBuffer(16) : new ArrayBuffer(16));
  const state: SharedState = { P: Ps, D, core, ctrl, n, d, k, block: BLOCK };
  const workers: Worker[] = [];
  for (let t = 1; t < threads; t++) {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { P: Ps.buffer, D: D?.buffer ?? null, core: core.buffer, ctrl: ctrl.buffer, n, d, k, block: BLOCK },
    });
    w.unref();
    workers.push(w);
  }
  try {
    kernels.distancePhase(state);
    kernels.waitAll(ctrl, 3, Math.ceil(n / BLOCK));
  } finally {
    for (const w of workers) void w.terminate();
  }
  return { P: Ps, D, core };
}
