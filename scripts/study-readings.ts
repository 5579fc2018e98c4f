/**
 * The readings of the training-regime study (docs/study.md), from the stored artifacts of polca
 * runs: one JSON line per run, or the study's table with `--markdown`.
 *
 *   node --import tsx scripts/study-readings.ts [--sharpness N] [--markdown] <run or sweep id>...
 *
 * The store is the one polca uses ($POLCA_STORE, $POLCA_STORE_DIR, ...). An id names a run
 * record (`polca-sweep-<hash>-point-3`, or a `polca run`'s workflow id) or a sweep
 * (`polca-sweep-<hash>`: every `-point-<i>` record of it, in point order).
 *
 * What is read, per run (polca's own numbers where the run has them):
 *  - exact match at the last checkpoint (the share of evaluation sequences whose T output tokens
 *    are all right) and, per checkpoint, to find the *learning phase*: the intervals that end at
 *    or before the first checkpoint with exact match ≥ 0.5 (the whole run where none is);
 *  - *digit learned*: per digit position the first checkpoint iteration whose token accuracy is
 *    ≥ 0.9 (report/data.ts evalByDigit), else its accuracy at the end;
 *  - basis capture (core/attribution/capture.ts, the `capture` step): capture = Σ_t Σ_x Σ_b POLCA ÷ Σ_t Σ_x ΔL,
 *    its first- and second-order parts, rising vectors (Σ_t Σ_x POLCA(x,b,t) > 0), the motion held
 *    Σ_t ‖BᵀΔ_t‖² ÷ Σ_t ‖Δ_t‖² and the net displacement held ‖Bᵀ(θ_T − θ_0)‖² ÷ ‖θ_T − θ_0‖².
 *    Runs stored before the step existed get the same numbers from the same functions
 *    (basisCapture over the POLCA chunks and the trajectories' ΔL, stepMotion over the
 *    checkpoints and the final basis). The learning phase's capture is the same ratio over its
 *    intervals only;
 *  - for scale, the motion the best m-dimensional subspace of the updates holds (m = basis size):
 *    with the Gram matrix G_ab = ⟨Δ_a, Δ_b⟩ of the T updates (float64), Σ of its top m eigenvalues
 *    ÷ tr G (uncentred PCA of the updates in hindsight; the nonzero eigenvalues of G are those of
 *    Σ_t Δ_t Δ_tᵀ, so this is the share the top m principal directions of the updates hold);
 *  - sharpness against the stability limits at every N-th basis iteration (`--sharpness N`; 0
 *    skips it), from the end-of-segment training state (θ, Adam's v after t updates): the raw top
 *    eigenvalue λ of the Hessian H of the Hessian-sample loss (Lanczos on exact Hessian-vector
 *    products, no deflation) against gradient descent's limit 2/lr, and the preconditioned
 *    sharpness μ, the top eigenvalue of D^{1/2} H D^{1/2} with D = diag(1 / (√v̂ + ε)),
 *    v̂ = v / (1 − β₂ᵗ), against Adam's limit (2 + 2β₁) / ((1 − β₁)·lr) (Cohen et al. 2022,
 *    "Adaptive gradient methods at the edge of stability"); lr is the rate of the update before
 *    the checkpoint (with a decaying schedule, the decayed rate);
 *  - the published protocol's top-1 carry cluster per family (core/cluster/protocol.ts; homogeneity,
 *    recall, F1), where the run computed it;
 *  - polca's own claim rule (report/claims.ts) on the run's clusterings;
 *  - the basis eigenvalues of each extension (basis.parquet) and each stage's step seconds
 *    (the manifests' `meta.seconds`, summed per stage).
 */
import { pathToFileURL } from 'node:url';
import { type ArtifactStore, decodeParquet, decodeSafetensors, openStore, type RunRecord } from '../artifacts/index.ts';
import { resolveConfig } from '../config/index.ts';
import type { Config } from '../config/schema.ts';
import { initBackend } from '../core/model/backend.ts';
import { basisCapture, stepMotion } from '../core/attribution/capture.ts';
import { evalTokenCount, makeData, modelShape, sliceSequences } from '../core/data.ts';
import { lanczosTop } from '../core/basis/lanczos.ts';
import { symmetricEigen } from '../core/linalg.ts';
import { adamStabilityLimit, preconditionerSqrt } from '../core/basis/preconditioned-basis.ts';
import { makeTokenLossModel } from '../core/model/token-loss-model.ts';
import { learningRate } from '../core/train/train.ts';
import { claimChecks } from '../report/claims.ts';
import { DIGIT_NAMES, loadReportData } from '../report/data.ts';

// ---------------------------------------------------------------- numerics (tested)

/** The first iteration whose value reaches `threshold`, or undefined. */
export function firstReaching(series: { iteration: number; value: number }[], threshold: number): number | undefined {
  return [...series].sort((a, b) => a.iteration - b.iteration).find((p) => p.value >= threshold)?.iteration;
}

/** Share of sequences whose `perSequence` consecutive tokens (token = sequence·perSequence + j) are all right. */
export function exactMatchOf(correct: ArrayLike<number | boolean>, perSequence: number): number {
  const n = correct.length / perSequence;
  if (!Number.isInteger(n) || n === 0)
    throw new Error(`exactMatchOf: ${correct.length} tokens is not a positive multiple of ${perSequence}`);
  let ok = 0;
  for (let s = 0; s < n; s++) {
    let all = true;
    for (let j = 0; j < perSequence; j++) if (!correct[s * perSequence + j]) all = false;
    if (all) ok++;
  }
  return ok / n;
}

/** Σ over the intervals with nextIteration ≤ until of dloss, first, second and polca, and the ratios to ΔL. */
export function phaseCapture(
  intervals: { nextIteration: number; dloss: number; first: number; second: number; polca: number }[],
  until: number,
): { dloss: number; capture: number; first: number; second: number } {
  let D = 0;
  let F = 0;
  let S = 0;
  let P = 0;
  for (const r of intervals)
    if (r.nextIteration <= until) {
      D += r.dloss;
      F += r.first;
      S += r.second;
      P += r.polca;
    }
  return { dloss: D, capture: P / D, first: F / D, second: S / D };
}

/**
 * The share of Σ_t ‖Δ_t‖² the best m-dimensional subspace holds: Σ top-m eigenvalues of the Gram
 * matrix G_ab = ⟨Δ_a, Δ_b⟩ ÷ tr G (float64).
 */
export function topSubspaceShare(deltas: ArrayLike<number>[], m: number): number {
  const T = deltas.length;
  if (T === 0) return Number.NaN;
  const G = new Float64Array(T * T);
  for (let a = 0; a < T; a++)
    for (let b = a; b < T; b++) {
      const x = deltas[a];
      const y = deltas[b];
      let s = 0;
      for (let i = 0; i < x.length; i++) s += x[i] * y[i];
      G[a * T + b] = s;
      G[b * T + a] = s;
    }
  let trace = 0;
  for (let a = 0; a < T; a++) trace += G[a * T + a];
  const { values } = symmetricEigen(G, T);
  let top = 0;
  for (let j = 0; j < Math.min(m, T); j++) top += Math.max(0, values[j]);
  return top / trace;
}

/** z ↦ D^{1/2}·H·(D^{1/2}z), the preconditioned Hessian's product, from H's product and D^{1/2}. */
export function preconditionedProduct(hvp: (x: Float64Array) => Float64Array, sqrtD: Float64Array): (z: Float64Array) => Float64Array {
  return (z) => {
    const x = new Float64Array(z.length);
    for (let i = 0; i < z.length; i++) x[i] = sqrtD[i] * z[i];
    const hx = hvp(x);
    const out = new Float64Array(z.length);
    for (let i = 0; i < z.length; i++) out[i] = sqrtD[i] * hx[i];
    return out;
  };
}

export interface Sharpness {
  iteration: number;
  lr: number;
  raw: number;
  rawOverLimit: number;
  preconditioned: number;
  preconditionedOverLimit: number;
  converged: [boolean, boolean];
}

/** Raw and Adam-preconditioned sharpness at one training state, against 2/lr and Adam's limit. */
export function sharpnessAt(
  hvp: (x: Float64Array) => Float64Array,
  state: { step: number; v: ArrayLike<number> },
  train: Pick<Config['train'], 'beta1' | 'beta2' | 'eps'>,
  lr: number,
  opts: { maxIter: number; tol: number; seed: number },
): Sharpness {
  const d = state.v.length;
  const raw = lanczosTop(hvp, d, { k: 1, ...opts });
  const pre = lanczosTop(preconditionedProduct(hvp, preconditionerSqrt(state.v, state.step, train)), d, { k: 1, ...opts });
  return {
    iteration: state.step,
    lr,
    raw: raw.values[0],
    rawOverLimit: raw.values[0] / (2 / lr),
    preconditioned: pre.values[0],
    preconditionedOverLimit: pre.values[0] / adamStabilityLimit(train.beta1, lr),
    converged: [raw.converged[0], pre.converged[0]],
  };
}

// ---------------------------------------------------------------- reading a run

const byIndex = (steps: Record<string, string>, prefix: string) =>
  Object.keys(steps)
    .filter((n) => n.startsWith(`${prefix}/`) && /^\d+$/.test(n.slice(prefix.length + 1)))
    .sort((a, b) => Number(a.slice(prefix.length + 1)) - Number(b.slice(prefix.length + 1)));

async function checkpoints(store: ArtifactStore, steps: Record<string, string>): Promise<Map<number, Float32Array>> {
  const out = new Map<number, Float32Array>();
  for (const n of byIndex(steps, 'train')) {
    const { tensors } = decodeSafetensors(await store.get(steps[n], 'checkpoints.safetensors'));
    for (const [name, t] of Object.entries(tensors)) if (name.startsWith('iter_')) out.set(Number(name.slice(5)), t.data as Float32Array);
  }
  return out;
}

async function finalBasis(store: ArtifactStore, steps: Record<string, string>): Promise<Float32Array[]> {
  const last = byIndex(steps, 'basis').at(-1);
  if (!last) throw new Error('the run has no basis step');
  const B = decodeSafetensors(await store.get(steps[last], 'basis.safetensors')).tensors.B;
  const [m, d] = B.shape;
  return Array.from({ length: m }, (_, j) => (B.data as Float32Array).slice(j * d, (j + 1) * d));
}

/** Capture and motion recomputed with core/attribution/capture.ts for runs stored before the `capture` step. */
async function captureFromChunks(
  store: ArtifactStore,
  c: Config,
  steps: Record<string, string>,
  cps: Map<number, Float32Array>,
  B: Float32Array[],
) {
  const its = [...cps.keys()].sort((a, b) => a - b);
  const T = its.length - 1;
  const n = evalTokenCount(c);
  const lt = await decodeParquet(await store.get(steps.trajectories, 'loss.parquet'), ['loss']);
  const loss = lt.loss as Float32Array;
  if (loss.length !== n * (T + 1)) throw new Error(`loss.parquet has ${loss.length} rows, expected ${n * (T + 1)}`);
  const dloss = new Float64Array(T);
  for (let x = 0; x < n; x++) for (let t = 0; t < T; t++) dloss[t] += loss[x * (T + 1) + t + 1] - loss[x * (T + 1) + t];
  const cols = { interval: [] as number[], vector: [] as number[], first: [] as number[], second: [] as number[], polca: [] as number[] };
  for (const s of byIndex(steps, 'polca')) {
    const t = await decodeParquet(await store.get(steps[s], 'polca.parquet'), ['interval', 'vector', 'first', 'second', 'polca']);
    for (const k of Object.keys(cols) as (keyof typeof cols)[]) {
      const col = t[k] as ArrayLike<number>;
      for (let i = 0; i < col.length; i++) cols[k].push(col[i]);
    }
  }
  const cap = basisCapture(cols, dloss, n, B.length);
  const intervals = cap.intervals.map((r) => {
    const mo = stepMotion(B, cps.get(its[r.interval])!, cps.get(its[r.interval + 1])!);
    return {
      iteration: its[r.interval],
      nextIteration: its[r.interval + 1],
      dloss: r.dloss,
      first: r.first,
      second: r.second,
      polca: r.polca,
      motionInSpan: mo.inSpan,
      motion: mo.total,
    };
  });
  const net = stepMotion(B, cps.get(its[0])!, cps.get(its[T])!);
  return {
    capture: cap.capture,
    first: cap.captureFirst,
    second: cap.captureSecond,
    rising: cap.risingVectors,
    vectors: cap.vectors.length,
    intervals,
    displacementShare: net.inSpan / net.total,
  };
}

async function stageSeconds(store: ArtifactStore, steps: Record<string, string>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, key] of Object.entries(steps)) {
    const s = (await store.manifest(key))?.meta?.seconds;
    if (typeof s === 'number') out[name.split('/')[0]] = (out[name.split('/')[0]] ?? 0) + s;
  }
  return out;
}

export async function readRun(store: ArtifactStore, record: RunRecord, sharpnessEvery: number) {
  const c = resolveConfig({ config: record.config as Record<string, unknown> });
  const steps = record.steps;
  const data = await loadReportData(store, record);
  const tokens = data.tokens;
  if (!tokens) throw new Error(`${record.name}: no data/tokens.parquet`);
  const perSeq = tokens.n / c.data.evalSize;
  // exact match per checkpoint (eval.parquet rows: iteration, token, correct)
  const correctAt = new Map<number, Uint8Array>();
  for (const n of byIndex(steps, 'train')) {
    const e = await decodeParquet(await store.get(steps[n], 'eval.parquet'), ['iteration', 'token', 'correct']);
    const its = e.iteration as Int32Array;
    for (let i = 0; i < its.length; i++) {
      let a = correctAt.get(its[i]);
      if (!a) correctAt.set(its[i], (a = new Uint8Array(tokens.n)));
      a[(e.token as Int32Array)[i]] = (e.correct as unknown as ArrayLike<unknown>)[i] ? 1 : 0;
    }
  }
  const emSeries = [...correctAt.entries()]
    .map(([iteration, a]) => ({ iteration, value: exactMatchOf(a, perSeq) }))
    .sort((a, b) => a.iteration - b.iteration);
  const lastIt = emSeries.at(-1)!.iteration;
  const halfIt = firstReaching(emSeries, 0.5);
  const digitLearned = DIGIT_NAMES.map((digit) => {
    const series = data.evalByDigit.filter((r) => r.digit === digit).map((r) => ({ iteration: r.iteration, value: r.accuracy }));
    const end = series.find((r) => r.iteration === lastIt)?.value ?? Number.NaN;
    return { digit, at: firstReaching(series, 0.9) ?? null, end };
  });
  const cps = await checkpoints(store, steps);
  const B = await finalBasis(store, steps);
  const its = [...cps.keys()].sort((a, b) => a - b);
  const deltas = its.slice(1).map((it, i) => {
    const a = cps.get(its[i])!;
    const b = cps.get(it)!;
    const d = new Float64Array(a.length);
    for (let j = 0; j < a.length; j++) d[j] = b[j] - a[j];
    return d;
  });
  let cap: Awaited<ReturnType<typeof captureFromChunks>>;
  let captureSource: 'capture step' | 'recomputed';
  if (data.capture) {
    const meta = (await store.manifest(steps.capture))?.meta as {
      capture: number;
      captureFirst: number;
      captureSecond: number;
      risingVectors: number;
      displacementShare: number;
    };
    cap = {
      capture: meta.capture,
      first: meta.captureFirst,
      second: meta.captureSecond,
      rising: meta.risingVectors,
      vectors: data.capture.vectors.length,
      intervals: data.capture.intervals,
      displacementShare: meta.displacementShare,
    };
    captureSource = 'capture step';
  } else {
    cap = await captureFromChunks(store, c, steps, cps, B);
    captureSource = 'recomputed';
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const motionShare = sum(cap.intervals.map((r) => r.motionInSpan)) / sum(cap.intervals.map((r) => r.motion));
  const phase = phaseCapture(cap.intervals, halfIt ?? lastIt);
  const protocol = (data.protocol?.families ?? []).map((f) => ({
    family: f.family,
    homogeneity: f.top?.homogeneity ?? null,
    recall: f.top?.recall ?? null,
    f1: f.top?.f1 ?? null,
  }));
  const claims = claimChecks(data.families).map((k) => ({ id: k.id, verdict: k.verdict, ami: k.metric, threshold: k.threshold }));
  const eigenvalues = data.basis.map((b) => b.eigenvalue);
  // sharpness at every N-th basis iteration (and the last)
  const sharpness: Sharpness[] = [];
  if (sharpnessEvery > 0) {
    await initBackend(c.runtime.backend);
    const { eval: evalSeqs, hessian } = await makeData(c);
    const shape = modelShape(c);
    const model = makeTokenLossModel(shape, sliceSequences(shape, evalSeqs, 0, 1), hessian);
    try {
      const segs = byIndex(steps, 'train');
      for (let s = 0; s < segs.length; s++) {
        if ((s + 1) % sharpnessEvery !== 0 && s !== segs.length - 1) continue;
        const { tensors, metadata } = decodeSafetensors(await store.get(steps[segs[s]], 'state.safetensors'));
        const step = Number(metadata.step);
        const theta = tensors.params.data as Float32Array;
        const lr = learningRate(c.train, step - 1);
        sharpness.push(
          sharpnessAt((x) => model.hvp(theta, x), { step, v: tensors.adam_v.data as Float32Array }, c.train, lr, {
            maxIter: 40,
            tol: 1e-3,
            seed: 7,
          }),
        );
      }
    } finally {
      model.dispose();
    }
  }
  return {
    run: record.name,
    config: record.config,
    createdAt: record.createdAt,
    params: cps.get(its[0])!.length,
    intervals: deltas.length,
    evalLoss: {
      start: data.evalByDigit.find((r) => r.digit === 'all' && r.iteration === its[0])?.loss ?? null,
      end: data.final?.loss ?? null,
    },
    exactMatch: data.final?.exactMatch ?? emSeries.at(-1)!.value,
    exactMatchHalfAt: halfIt ?? null,
    digitLearned,
    capture: { source: captureSource, total: cap.capture, first: cap.first, second: cap.second, rising: cap.rising, vectors: cap.vectors },
    learningPhase: {
      until: halfIt ?? lastIt,
      shareOfDloss: phase.dloss / sum(cap.intervals.map((r) => r.dloss)),
      capture: phase.capture,
      first: phase.first,
      second: phase.second,
    },
    motion: { basis: motionShare, netDisplacement: cap.displacementShare, topUpdateSubspace: topSubspaceShare(deltas, B.length) },
    eigenvalues,
    sharpness,
    protocol,
    claims,
    seconds: await stageSeconds(store, steps),
  };
}

export type Reading = Awaited<ReturnType<typeof readRun>>;

// ---------------------------------------------------------------- the table

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '–');
const pct2 = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(2)} %` : '–');
const p3 = (x: number) => (Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(2) : x.toPrecision(3));
const g3 = (x: number) => (!Number.isFinite(x) ? '–' : Math.abs(x) >= 10 ? x.toFixed(0) : x.toPrecision(2));

export function markdownRow(r: Reading): string {
  const learned = r.digitLearned.map((d) => (d.at === null ? `–(${d.end.toFixed(2)})` : String(d.at))).join(' / ');
  const ev =
    r.eigenvalues.length <= 5
      ? r.eigenvalues.map(g3).join(', ')
      : `${r.eigenvalues.slice(0, 3).map(g3).join(', ')} … ${r.eigenvalues.slice(-2).map(g3).join(', ')}`;
  const sh = r.sharpness;
  const ratio = (k: 'rawOverLimit' | 'preconditionedOverLimit') =>
    sh.length ? `${p3(sh.at(-1)![k])}; ${p3(Math.max(...sh.map((s) => s[k])))}` : '–';
  const top = (fam: string) => {
    const p = r.protocol.find((f) => f.family === fam);
    return !p ? 'n/c' : p.f1 === null ? 'none' : `${p.homogeneity!.toFixed(2)}/${p.recall!.toFixed(2)}/${p.f1.toFixed(2)}`;
  };
  const claim = (id: string) => r.claims.find((k) => k.id === id);
  const pc = claim('polca-carry');
  const s = r.seconds;
  const all = Object.values(s).reduce((a, b) => a + b, 0);
  return `| ${r.run} | ${r.evalLoss.start?.toFixed(2) ?? '–'} → ${r.evalLoss.end?.toPrecision(3) ?? '–'} | ${r.exactMatch.toFixed(3)} | ${learned} | ${pct(r.capture.total)} / ${pct(r.capture.first)} / ${pct(r.capture.second)} | ${pct(r.learningPhase.capture)} (to ${r.learningPhase.until}) | ${r.capture.rising} of ${r.capture.vectors} | ${ev} | ${ratio('rawOverLimit')} | ${ratio('preconditionedOverLimit')} | ${pct2(r.motion.basis)} / ${pct2(r.motion.netDisplacement)} / ${pct(r.motion.topUpdateSubspace)} | loss ${top('loss')}, LCA ${top('lca')}, POLCA ${top('polca')} | ${pc ? `${pc.verdict} (AMI ${Number.isFinite(pc.ami) ? pc.ami.toFixed(2) : '–'})` : '–'} | ${(s.train ?? 0).toFixed(0)} / ${(s.basis ?? 0).toFixed(0)} / ${(s.polca ?? 0).toFixed(0)} / ${all.toFixed(0)} |`;
}

export const MARKDOWN_HEADER = [
  '| run | eval loss 0 → end | exact match | digit ≥ 0.9 at iteration (th / h / t / o) | capture: total / first / second | learning-phase capture | rising vectors | basis eigenvalues | raw top λ ÷ 2/lr (end; max) | preconditioned λ ÷ Adam limit (end; max) | motion held: basis / net displacement / top-m PCA of updates | protocol top-1 carry h/r/F1 | claim: POLCA follows carry | step seconds: train / basis / POLCA / all |',
  `|${'---|'.repeat(14)}`,
].join('\n');

// ---------------------------------------------------------------- CLI

async function main(argv: string[]) {
  let sharpnessEvery = 1;
  let markdown = false;
  const ids: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--sharpness') {
      sharpnessEvery = Number(argv[++i]);
      if (!Number.isInteger(sharpnessEvery) || sharpnessEvery < 0)
        throw new Error(`--sharpness: expected a non-negative integer, got ${argv[i]}`);
    } else if (argv[i] === '--markdown') markdown = true;
    else ids.push(argv[i]);
  }
  if (!ids.length) throw new Error('usage: study-readings.ts [--sharpness N] [--markdown] <run or sweep id>...');
  const store = openStore();
  const all = await store.listRuns();
  const names = ids.flatMap((id) => {
    if (all.includes(id)) return [id];
    const points = all
      .filter((n) => n.startsWith(`${id}-point-`))
      .sort((a, b) => Number(a.slice(id.length + 7)) - Number(b.slice(id.length + 7)));
    if (!points.length) throw new Error(`no run or sweep named ${id} in the store`);
    return points;
  });
  if (markdown) console.log(MARKDOWN_HEADER);
  for (const name of names) {
    const record = await store.getRun(name);
    if (!record) throw new Error(`no run record ${name}`);
    const r = await readRun(store, record, sharpnessEvery);
    console.log(markdown ? markdownRow(r) : JSON.stringify(r));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
