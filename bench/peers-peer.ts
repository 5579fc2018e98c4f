/**
 * Client of the peers (bench/peers.py on PyTorch, bench/peers_jax.py on JAX): starts one as a
 * child process speaking one JSON line per request, binds shapes to it (polca's flat θ, training
 * batches, the Hessian sample, the evaluation set and directions, as raw little-endian files),
 * times its operations, and compares its numbers with polca's: the same loss, gradient and AdamW
 * step on the same θ, and HVPs and per-token d1/d2 against PyTorch's exact (forward-mode) values;
 * JAX's HVPs and jets against the same.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.ts';
import { modelShape } from '../core/data.ts';
import { encodeExamples, type Example } from '../core/tasks/arithmetic/task.ts';
import { relativeError } from '../core/linalg.ts';
import { FD_SETTINGS } from '../core/model/finite-differences.ts';

export const PEERS_SCRIPT = fileURLToPath(new URL('./peers.py', import.meta.url));
export const PEERS_JAX_SCRIPT = fileURLToPath(new URL('./peers_jax.py', import.meta.url));

/** One side's time for an operation in a round: mean ms per timed call, and the warm-up calls' mean. */
export interface Timing {
  ms: number;
  firstMs: number;
}

export interface PeerHello {
  /** The library's version: `torch` from bench/peers.py, `jax` from bench/peers_jax.py. */
  torch?: string;
  jax?: string;
  threads: number;
  python: string;
}

export class Peer {
  private proc: ChildProcessByStdio<Writable, Readable, null>;
  private lines: Interface;
  private pending: ((line: string) => void)[] = [];
  private queued: string[] = [];
  private exited: string | undefined;
  hello!: PeerHello;
  readonly label: string;

  private constructor(python: string, threads: number, script: string) {
    this.label = script === PEERS_JAX_SCRIPT ? 'JAX' : 'PyTorch';
    this.proc = spawn(python, [script, '--threads', String(threads)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.proc.stdout });
    this.lines.on('line', (l) => {
      const w = this.pending.shift();
      if (w) w(l);
      else this.queued.push(l);
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = `the ${this.label} peer exited (${code ?? signal})`;
      for (const w of this.pending.splice(0)) w(JSON.stringify({ error: this.exited }));
    });
  }

  /** The peer of `script` (PyTorch's by default) on `threads` threads, once it has said hello. */
  static async start(python: string, threads: number, script = PEERS_SCRIPT): Promise<Peer> {
    const p = new Peer(python, threads, script);
    p.hello = (await p.next()) as unknown as PeerHello;
    return p;
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const take = (l: string) => {
        const a = JSON.parse(l) as Record<string, unknown>;
        if (typeof a.error === 'string') reject(new Error(`${this.label} peer: ${a.error}`));
        else resolve(a);
      };
      const q = this.queued.shift();
      if (q !== undefined) take(q);
      else if (this.exited) reject(new Error(this.exited));
      else this.pending.push(take);
    });
  }

  async request<T = Record<string, unknown>>(req: Record<string, unknown>): Promise<T> {
    if (this.exited) throw new Error(this.exited);
    this.proc.stdin.write(`${JSON.stringify(req)}\n`);
    return (await this.next()) as T;
  }

  /**
   * Mean milliseconds per call of `op`, repeating it until minMs have passed (at least once), after
   * `warmup` untimed calls (their time is returned as firstMs).
   */
  async time(name: string, op: string, minMs: number, warmup: number): Promise<Timing> {
    const r = await this.request<{ ms: number; firstMs: number }>({ cmd: 'time', name, op, minMs, warmup });
    return { ms: r.ms, firstMs: warmup ? r.firstMs / warmup : Number.NaN };
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const done = new Promise((r) => this.proc.once('exit', r));
      this.proc.stdin.write(`${JSON.stringify({ cmd: 'quit' })}\n`);
      this.proc.stdin.end();
      await done;
    }
    this.lines.close();
  }
}

/** Derivative data of a shape: the point, the Hessian sample, the evaluation set, directions. */
export interface DerivData {
  theta: Float32Array;
  hessianExamples: Example[];
  evalExamples: Example[];
  /** Unit directions, each of length numParams. */
  dirs: Float32Array[];
}

export interface ShapeData {
  name: string;
  config: Pick<Config, 'model' | 'train' | 'basis' | 'polca'>;
  /** θ at which training starts (and the loss check is made). */
  theta: Float32Array;
  /** Training batches; the peer cycles through them (batch k at iteration k mod K). */
  batches: Example[][];
  deriv?: DerivData;
}

const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes the shape's arrays under dir and binds it in the peer; returns the peer's parameter count. */
export async function loadShape(peer: Peer, dir: string, s: ShapeData): Promise<number> {
  const f = (x: string) => `${s.name}.${x}`;
  writeFileSync(join(dir, f('theta.f32')), bytes(s.theta));
  const B = s.config.train.batchSize;
  const inputs = new Int32Array(s.batches.length * B * 11);
  const targets = new Int32Array(s.batches.length * B * 4);
  s.batches.forEach((b, k) => {
    if (b.length !== B) throw new Error(`batch ${k} of ${s.name} has ${b.length} examples; train.batchSize is ${B}`);
    const e = encodeExamples(b);
    inputs.set(e.inputs, k * B * 11);
    targets.set(e.targets, k * B * 4);
  });
  writeFileSync(join(dir, f('train-inputs.i32')), bytes(inputs));
  writeFileSync(join(dir, f('train-targets.i32')), bytes(targets));
  const spec: Record<string, unknown> = {
    dir,
    model: s.config.model,
    train: s.config.train,
    theta: f('theta.f32'),
    batches: s.batches.length,
    trainInputs: f('train-inputs.i32'),
    trainTargets: f('train-targets.i32'),
  };
  if (s.deriv) {
    const dv = s.deriv;
    const h = encodeExamples(dv.hessianExamples);
    const e = encodeExamples(dv.evalExamples);
    writeFileSync(join(dir, f('hess-inputs.i32')), bytes(h.inputs));
    writeFileSync(join(dir, f('hess-targets.i32')), bytes(h.targets));
    writeFileSync(join(dir, f('eval-inputs.i32')), bytes(e.inputs));
    writeFileSync(join(dir, f('eval-targets.i32')), bytes(e.targets));
    writeFileSync(join(dir, f('dtheta.f32')), bytes(dv.theta));
    const d = dv.theta.length;
    const dirs = new Float32Array(dv.dirs.length * d);
    dv.dirs.forEach((v, j) => {
      dirs.set(v, j * d);
    });
    writeFileSync(join(dir, f('dirs.f32')), bytes(dirs));
    Object.assign(spec, {
      hess: { n: dv.hessianExamples.length, inputs: f('hess-inputs.i32'), targets: f('hess-targets.i32') },
      eval: { n: dv.evalExamples.length, inputs: f('eval-inputs.i32'), targets: f('eval-targets.i32') },
      dirs: { m: dv.dirs.length, file: f('dirs.f32'), theta: f('dtheta.f32') },
      hvpEps: FD_SETTINGS.hvpEps,
      h: FD_SETTINGS.h,
      stencil: FD_SETTINGS.stencil,
      refine: true,
    });
  }
  const a = await peer.request<{ params: number }>({ cmd: 'load', name: s.name, spec });
  if (a.params !== s.theta.length) throw new Error(`${s.name}: the peer's model has ${a.params} parameters, polca's ${s.theta.length}`);
  return a.params;
}

/** What polca computed for the comparison (real core/ functions, by the caller). */
export interface PolcaSide {
  /** Mean loss and gradient on batch 0 at θ. */
  loss: number;
  grad: Float32Array;
  /** θ after one training iteration from the initial state on batch 0. */
  theta1: Float32Array;
  /** HVP along the first direction at the derivative point, per polca method (`fd`, …). */
  hvp?: Record<string, ArrayLike<number>>;
  /** d1, d2 per token along every direction ([j·n + x]), per polca method. */
  d12?: Record<string, { d1: ArrayLike<number>; d2: ArrayLike<number> }>;
  /** Mean loss over the Hessian sample at the derivative point (for the JAX peer's check). */
  hessLoss?: number;
}

export interface Agreement {
  /** |loss_polca − loss_torch| at the same θ and batch. */
  lossDiff: number;
  polcaLoss: number;
  torchLoss: number;
  /** max |g_polca − g_torch| / max |g_torch|. */
  gradRel: number;
  /** max |θ1_polca − θ1_torch| / lr (an AdamW step moves each parameter by about lr). */
  stepRel: number;
  /** Relative L2 error of each HVP against PyTorch's exact one: `polca fd`, `torch fd`, `jax warm`, … */
  hvp: Record<string, number>;
  /** Per-token relative error |a − e| / max(|e|, floor) against the peer's exact d1 / d2: median and max. */
  d1: Record<string, { median: number; max: number }>;
  d2: Record<string, { median: number; max: number }>;
  /** |Hessian-sample loss of polca − JAX's| at the derivative point, when JAX was compared. */
  jaxLossDiff?: number;
}

const readF32 = (p: string) => {
  const b = readFileSync(p);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Per-element relative errors, with a floor of 1e-3·max|ref| in the denominator (near-zero values). */
function relStats(a: ArrayLike<number>, ref: ArrayLike<number>): { median: number; max: number } {
  const floor = 1e-3 * maxAbs(ref);
  const e = Float64Array.from({ length: a.length }, (_, i) => Math.abs(a[i] - ref[i]) / Math.max(Math.abs(ref[i]), floor)).sort();
  return { median: e[e.length >> 1], max: e[e.length - 1] };
}

/** Asks the peer for its numbers on the shape and compares them with polca's. */
export async function compareWithPeer(peer: Peer, name: string, outDir: string, lr: number, polca: PolcaSide): Promise<Agreement> {
  const a = await peer.request<{ loss: number; files: Record<string, string> }>({ cmd: 'check', name, out: outDir });
  const file = (k: string) => readF32(join(outDir, a.files[k]));
  const tg = file('grad');
  const agreement: Agreement = {
    lossDiff: Math.abs(polca.loss - a.loss),
    polcaLoss: polca.loss,
    torchLoss: a.loss,
    gradRel: maxAbsDiff(polca.grad, tg) / maxAbs(tg),
    stepRel: maxAbsDiff(polca.theta1, file('theta1')) / lr,
    hvp: {},
    d1: {},
    d2: {},
  };
  if (a.files['hvp-exact']) {
    const exact = file('hvp-exact');
    agreement.hvp['torch fd'] = relativeError(file('hvp-fd'), exact);
    if (a.files['hvp-warm']) agreement.hvp['torch warm'] = relativeError(file('hvp-warm'), exact);
    for (const [method, v] of Object.entries(polca.hvp ?? {})) agreement.hvp[`polca ${method}`] = relativeError(v, exact);
    const d1e = file('d1-exact');
    const d2e = file('d2-exact');
    agreement.d1['torch fd'] = relStats(file('d1-fd'), d1e);
    agreement.d2['torch fd'] = relStats(file('d2-fd'), d2e);
    for (const [method, r] of Object.entries(polca.d12 ?? {})) {
      agreement.d1[`polca ${method}`] = relStats(r.d1, d1e);
      agreement.d2[`polca ${method}`] = relStats(r.d2, d2e);
    }
  }
  return agreement;
}

/**
 * JAX's numbers on the shape against PyTorch's exact ones, added to `agreement`: its loss over the
 * Hessian sample against polca's, its HVPs (cold and warm) and its jets' d1/d2 against
 * torch.func's. Call after compareWithPeer with the same outDir (PyTorch's files are read there).
 */
export async function compareJax(jax: Peer, name: string, outDir: string, polca: PolcaSide, agreement: Agreement): Promise<Agreement> {
  const a = await jax.request<{ loss: number; files: Record<string, string> }>({ cmd: 'check', name, out: outDir });
  const file = (k: string) => readF32(join(outDir, k));
  const exact = file('hvp-exact.f32');
  if (polca.hessLoss !== undefined) agreement.jaxLossDiff = Math.abs(polca.hessLoss - a.loss);
  agreement.hvp['jax cold'] = relativeError(file(a.files['jax-hvp-cold']), exact);
  agreement.hvp['jax warm'] = relativeError(file(a.files['jax-hvp-warm']), exact);
  agreement.d1.jax = relStats(file(a.files['jax-d1']), file('d1-exact.f32'));
  agreement.d2.jax = relStats(file(a.files['jax-d2']), file('d2-exact.f32'));
  return agreement;
}
