/**
 * Reading a run's artifacts into the small, aggregated tables the report's figures draw.
 * Nothing per token reaches the page: per-token curves are summarised (mean, standard deviation,
 * quantiles, histograms) here, and long series are averaged over bins of consecutive points so
 * that a figure holds at most a few hundred points per series.
 *
 * Tables are read one step at a time (a `paper` run has 600 intervals × 5000 tokens × 3 variants
 * of completeness rows), and a missing step or file is recorded in `missing` instead of failing:
 * a run configured without some cluster families still gets a report of what it has.
 */
import { DATA_TABLES } from '../artifacts/tables.ts';
import { type ArtifactStore, decodeParquet, type RunRecord, type Table } from '../artifacts/index.ts';
import type { ScopedSkillRow } from '../core/cluster/skill-scopes.ts';
import { type CaptureData, loadCapture, loadProtocol, type ProtocolData } from './readings.ts';

export { DIGIT_PLACES as DIGIT_NAMES } from '../core/tasks/arithmetic/digits.ts';
import { DIGIT_PLACES as DIGIT_NAMES } from '../core/tasks/arithmetic/digits.ts';
export const SKILLS = ['carry', 'digit', 'value'] as const;
export type SkillName = (typeof SKILLS)[number];

/** The name of a skill value as the figures print it. */
export function skillValueName(skill: string, v: number): string {
  if (skill === 'carry') return v ? 'carry' : 'no carry';
  if (skill === 'digit') return DIGIT_NAMES[v] ?? `digit ${v}`;
  return String(v);
}

/** Digit × carry group label, shared by Figure 1b and 1c. */
export function groupName(digit: number, carry: boolean | number): string {
  return `${DIGIT_NAMES[digit] ?? digit} · ${carry ? 'carry' : 'no carry'}`;
}
export const GROUP_DOMAIN = DIGIT_NAMES.flatMap((_, d) => [groupName(d, true), groupName(d, false)]);

export interface SeriesPoint {
  iteration: number;
  mean: number;
  std: number;
}

export interface FamilyData {
  /** Run step name, e.g. `cluster/polca/3`. */
  step: string;
  family: string;
  vector: number;
  /** `loss`, `ΔL`, `|ΔL|`, `POLCA b3`. */
  label: string;
  /** summary.parquet: one row per scope and skill (core/cluster/skill-scopes.ts). */
  summary: (Omit<ScopedSkillRow, 'scope' | 'skill'> & { scope: string; skill: string })[];
  /** Per cluster (≥ 0) and skill: dominant value and its share. */
  skills: { cluster: number; size: number; skill: string; dominant: number; share: number }[];
  /** Cluster sizes (from skills), clusters ≥ 0 only. */
  sizes: Map<number, number>;
  /** Mean curve per cluster over checkpoint index (interval index for the change families). */
  curves: Map<number, { checkpoint: number; mean: number; std: number }[]>;
}

export interface CompletenessData {
  variants: string[];
  /** Per variant and interval: quantiles of |error| and the median |ΔL| for scale. */
  perInterval: { variant: string; interval: number; q50: number; q90: number; max: number; medAbsDloss: number }[];
  /** Per variant: counts of log10|error| in bins of HIST_STEP from HIST_LO (zeros and smaller in the first bin). */
  histogram: { variant: string; counts: number[] }[];
  overall: { variant: string; pairs: number; q50: number; q99: number; max: number; zeros: number; medAbsDloss: number }[];
  summary: {
    variant: string;
    intervals: number;
    fallbacks: number;
    panelsMean: number;
    outOfSpanMax: number;
    maxAbsError: number;
    withinTolMean: number;
  }[];
}
export const HIST_LO = -10;
export const HIST_HI = 2;
export const HIST_STEP = 0.25;

export interface ReportData {
  name: string;
  workflowId?: string;
  createdAt?: string;
  config: Record<string, unknown> | undefined;
  steps: Record<string, string>;
  missing: string[];
  tokens: { n: number; digit: Int32Array; carry: Uint8Array; value: Int32Array; example: Int32Array } | undefined;
  /** Checkpoint index → iteration. */
  checkpointIterations: number[];
  trainLoss: { iteration: number; loss: number; lr: number }[];
  /** Training iterations averaged into each point of trainLoss (1 = every iteration). */
  trainLossBin: number;
  /** Mean eval loss and accuracy per checkpoint; digit `all` is every token. */
  evalByDigit: { iteration: number; digit: string; loss: number; accuracy: number }[];
  lossByDigit: (SeriesPoint & { digit: string })[];
  absdByDigit: (SeriesPoint & { digit: string })[];
  lossByGroup: { iteration: number; group: string; mean: number; tokens: number }[];
  /** Final checkpoint: mean loss, token accuracy, exact match (all 4 tokens right). */
  final: { iteration: number; loss: number; accuracy: number; exactMatch: number } | undefined;
  /** `converged`: the true residual met basis.tol (absent in stores written before it was recorded). */
  basis: { vector: number; iteration: number; eigenvalue: number; residual: number; lanczosIterations: number; converged?: boolean }[];
  completeness: CompletenessData | undefined;
  families: FamilyData[];
  /** Basis capture (absent in runs made before it existed). */
  capture?: CaptureData;
  /** The published protocol's readings (absent in runs made before it existed). */
  protocol?: ProtocolData;
}

const num = (col: Table[string] | undefined, i: number): number => Number((col as ArrayLike<unknown>)[i]);

/**
 * One row of a cluster step's summary.parquet. Tables written before the per-scope columns
 * existed have one row per skill over all tokens: they read as scope `all` with the missing
 * metrics NaN, so that their claim checks read "not reproduced" rather than guess.
 */
/** One row of a clustering's summary.parquet (columns absent from older artifacts read as NaN or ''). */
export function summaryRow(t: Table, i: number): FamilyData['summary'][number] {
  const opt = (name: string) => (t[name] === undefined ? Number.NaN : num(t[name], i));
  return {
    scope: t.scope === undefined ? 'all' : String((t.scope as unknown[])[i]),
    skill: String((t.skill as unknown[])[i]),
    coincidesWith: t.coincidesWith === undefined ? '' : String((t.coincidesWith as unknown[])[i]),
    tokens: opt('tokens'),
    clustered: opt('clustered'),
    coverage: opt('coverage'),
    clusters: num(t.clusters, i),
    outliers: num(t.outliers, i),
    homogeneity: num(t.homogeneity, i),
    baseline: num(t.baseline, i),
    ami: num(t.ami, i),
    amiWithOutliers: opt('amiWithOutliers'),
    amiShuffledMean: opt('amiShuffledMean'),
    amiShuffledSd: opt('amiShuffledSd'),
  };
}

/** Bins of consecutive indices so that `length` points become at most `max`. */
export function bins(length: number, max: number): [number, number][] {
  const k = Math.max(1, Math.ceil(length / max));
  const out: [number, number][] = [];
  for (let s = 0; s < length; s += k) out.push([s, Math.min(length, s + k)]);
  return out;
}

export function binFactor(length: number, max: number): number {
  return Math.max(1, Math.ceil(length / max));
}

/** Average consecutive points of a series into at most `max` points (x averaged too). */
export function thin<T extends object>(rows: T[], max: number, numeric: (keyof T & string)[]): T[] {
  if (rows.length <= max) return rows;
  const r = rows as unknown as Record<string, number>[];
  return bins(rows.length, max).map(([a, b]) => {
    const out: Record<string, unknown> = { ...r[a] };
    for (const k of numeric) {
      let s = 0;
      for (let i = a; i < b; i++) s += r[i][k];
      out[k] = s / (b - a);
    }
    return out as T;
  });
}

/** Quantile by the nearest rank on a sorted array. */
export function quantileSorted(s: ArrayLike<number>, q: number): number {
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
}

/**
 * The value of rank `k` (0-based) of `a` as if sorted ascending, by quickselect (Hoare partition,
 * median-of-three pivot); reorders `a`. O(n) on average where a sort would be O(n log n).
 */
export function selectKth(a: Float32Array | Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    // median of three as the pivot value
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/** Nearest-rank quantile (the rank quantileSorted uses) without sorting; reorders `a`. */
export function quantileSelect(a: Float32Array | Float64Array, q: number): number {
  if (a.length === 0) return Number.NaN;
  return selectKth(a, Math.min(a.length - 1, Math.max(0, Math.round(q * (a.length - 1)))));
}

export function familyLabel(family: string, vector: number): string {
  if (family === 'polca') return `POLCA b${vector}`;
  if (family === 'dloss') return 'ΔL';
  if (family === 'absdloss') return '|ΔL|';
  return family;
}

/** Steps named `<prefix><int>` in index order. */
export function indexedSteps(steps: Record<string, string>, prefix: string): { index: number; key: string; step: string }[] {
  const out: { index: number; key: string; step: string }[] = [];
  for (const [step, key] of Object.entries(steps)) {
    if (!step.startsWith(prefix)) continue;
    const rest = step.slice(prefix.length);
    if (/^\d+$/.test(rest)) out.push({ index: Number(rest), key, step });
  }
  return out.sort((a, b) => a.index - b.index);
}

export interface LoadOptions {
  /** Most points per series on a single-panel figure. */
  maxPoints?: number;
}

/**
 * A reader of a run's tables by step name: undefined for a step the run has not (or a file its
 * artifact lacks), which is noted in `missing` so the report can say what it left out.
 */
export function stepTableReader(store: ArtifactStore, steps: Record<string, string>, missing: string[]) {
  return async (step: string, file: string, columns?: string[]): Promise<Table | undefined> => {
    const key = steps[step];
    if (!key) {
      if (!missing.includes(step)) missing.push(step);
      return undefined;
    }
    try {
      return await decodeParquet(await store.get(key, file), columns);
    } catch (e) {
      if ((e as Error).name === 'NotFoundError') {
        missing.push(`${step}/${file}`);
        return undefined;
      }
      throw e;
    }
  };
}

export async function loadReportData(store: ArtifactStore, record: RunRecord, opts: LoadOptions = {}): Promise<ReportData> {
  const maxPoints = opts.maxPoints ?? 400;
  const steps = record.steps ?? {};
  const missing: string[] = [];
  const read = stepTableReader(store, steps, missing);

  const data: ReportData = {
    name: record.name,
    workflowId: record.workflowId,
    createdAt: record.createdAt,
    config: (record.config ?? undefined) as Record<string, unknown> | undefined,
    steps,
    missing,
    tokens: undefined,
    checkpointIterations: [],
    trainLoss: [],
    trainLossBin: 1,
    evalByDigit: [],
    lossByDigit: [],
    absdByDigit: [],
    lossByGroup: [],
    final: undefined,
    basis: [],
    completeness: undefined,
    families: [],
  };

  // tokens
  const tok = await read('data', DATA_TABLES.tokens);
  if (tok) {
    const n = tok.token.length;
    const digit = new Int32Array(n);
    const carry = new Uint8Array(n);
    const value = new Int32Array(n);
    const example = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const t = num(tok.token, i);
      digit[t] = num(tok.digit, i);
      carry[t] = (tok.carry as unknown[])[i] ? 1 : 0;
      value[t] = num(tok.value, i);
      example[t] = num(tok.example, i);
    }
    data.tokens = { n, digit, carry, value, example };
  }

  // training loss and the evaluation matrix
  const trainSteps = indexedSteps(steps, 'train/');
  if (trainSteps.length === 0) missing.push('train/*');
  const trainRows: { iteration: number; loss: number; lr: number }[] = [];
  const evalParts: { iteration: Int32Array | number[]; token: ArrayLike<number>; loss: ArrayLike<number>; correct: unknown[] }[] = [];
  for (const s of trainSteps) {
    const tl = await read(s.step, 'train_loss.parquet');
    if (tl)
      for (let i = 0; i < tl.iteration.length; i++)
        trainRows.push({ iteration: num(tl.iteration, i), loss: num(tl.loss, i), lr: num(tl.lr, i) });
    const ev = await read(s.step, 'eval.parquet');
    if (ev)
      evalParts.push({
        iteration: ev.iteration as Int32Array,
        token: ev.token as Int32Array,
        loss: ev.loss as Float32Array,
        correct: ev.correct as unknown[],
      });
  }
  trainRows.sort((a, b) => a.iteration - b.iteration);
  data.trainLoss = thin(trainRows, maxPoints * 2, ['iteration', 'loss', 'lr']);
  data.trainLossBin = binFactor(trainRows.length, maxPoints * 2);

  const iterSet = new Set<number>();
  for (const p of evalParts) for (let i = 0; i < p.iteration.length; i++) iterSet.add(p.iteration[i]);
  const iters = [...iterSet].sort((a, b) => a - b);
  data.checkpointIterations = iters;
  const tIndex = new Map(iters.map((it, t) => [it, t]));
  const nTok = data.tokens?.n ?? 0;
  if (data.tokens && iters.length > 0) {
    const { digit, carry, example } = data.tokens;
    const T1 = iters.length;
    const loss = Array.from({ length: T1 }, () => new Float64Array(nTok).fill(Number.NaN));
    const correct = Array.from({ length: T1 }, () => new Uint8Array(nTok));
    for (const p of evalParts)
      for (let i = 0; i < p.iteration.length; i++) {
        const t = tIndex.get(p.iteration[i])!;
        const x = p.token[i];
        if (x < 0 || x >= nTok) continue;
        loss[t][x] = p.loss[i];
        correct[t][x] = p.correct[i] ? 1 : 0;
      }
    // per digit (and all): mean loss, accuracy, std of loss, mean/std of |ΔL|
    const groups = [
      ...DIGIT_NAMES.map((name, d) => ({ name, member: (x: number) => digit[x] === d })),
      { name: 'all', member: () => true },
    ];
    const evalRows: ReportData['evalByDigit'] = [];
    const lossRows: ReportData['lossByDigit'] = [];
    const absdRows: ReportData['absdByDigit'] = [];
    for (const g of groups) {
      const members = Array.from({ length: nTok }, (_, x) => x).filter(g.member);
      if (members.length === 0) continue;
      const ev: ReportData['evalByDigit'] = [];
      const ls: ReportData['lossByDigit'] = [];
      const ad: ReportData['absdByDigit'] = [];
      for (let t = 0; t < T1; t++) {
        let s = 0;
        let s2 = 0;
        let ok = 0;
        let k = 0;
        for (const x of members) {
          const v = loss[t][x];
          if (Number.isNaN(v)) continue;
          s += v;
          s2 += v * v;
          ok += correct[t][x];
          k++;
        }
        if (k === 0) continue;
        const mean = s / k;
        ev.push({ iteration: iters[t], digit: g.name, loss: mean, accuracy: ok / k });
        if (g.name !== 'all') ls.push({ iteration: iters[t], digit: g.name, mean, std: Math.sqrt(Math.max(0, s2 / k - mean * mean)) });
        if (t > 0 && g.name !== 'all') {
          let a = 0;
          let a2 = 0;
          let ka = 0;
          for (const x of members) {
            const d = Math.abs(loss[t][x] - loss[t - 1][x]);
            if (Number.isNaN(d)) continue;
            a += d;
            a2 += d * d;
            ka++;
          }
          if (ka > 0) ad.push({ iteration: iters[t], digit: g.name, mean: a / ka, std: Math.sqrt(Math.max(0, a2 / ka - (a / ka) ** 2)) });
        }
      }
      evalRows.push(...thin(ev, maxPoints, ['iteration', 'loss', 'accuracy']));
      lossRows.push(...thin(ls, maxPoints, ['iteration', 'mean', 'std']));
      absdRows.push(...thin(ad, maxPoints, ['iteration', 'mean', 'std']));
    }
    data.evalByDigit = evalRows;
    data.lossByDigit = lossRows;
    data.absdByDigit = absdRows;
    // digit × carry ground truth
    for (let d = 0; d < DIGIT_NAMES.length; d++)
      for (const c of [1, 0]) {
        const members = Array.from({ length: nTok }, (_, x) => x).filter((x) => digit[x] === d && carry[x] === c);
        if (members.length === 0) continue;
        const rows = iters.map((iteration, t) => {
          let s = 0;
          let k = 0;
          for (const x of members)
            if (!Number.isNaN(loss[t][x])) {
              s += loss[t][x];
              k++;
            }
          return { iteration, group: groupName(d, c), mean: k ? s / k : Number.NaN, tokens: members.length };
        });
        data.lossByGroup.push(...thin(rows, maxPoints, ['iteration', 'mean']));
      }
    // final checkpoint
    const tl = T1 - 1;
    let s = 0;
    let ok = 0;
    const exWrong = new Map<number, boolean>();
    for (let x = 0; x < nTok; x++) {
      s += loss[tl][x];
      ok += correct[tl][x];
      exWrong.set(example[x], (exWrong.get(example[x]) ?? false) || correct[tl][x] === 0);
    }
    let exact = 0;
    for (const w of exWrong.values()) if (!w) exact++;
    data.final = { iteration: iters[tl], loss: s / nTok, accuracy: ok / nTok, exactMatch: exact / exWrong.size };
  }

  // basis: the last extension holds every vector
  const basisSteps = indexedSteps(steps, 'basis/');
  if (basisSteps.length === 0) missing.push('basis/*');
  else {
    const b = await read(basisSteps[basisSteps.length - 1].step, 'basis.parquet');
    if (b)
      data.basis = Array.from({ length: b.vector.length }, (_, i) => ({
        vector: num(b.vector, i),
        iteration: num(b.iteration, i),
        eigenvalue: num(b.eigenvalue, i),
        residual: num(b.residual, i),
        lanczosIterations: num(b.lanczos_iterations, i),
        ...(b.converged ? { converged: Boolean((b.converged as ArrayLike<unknown>)[i]) } : {}),
      })).sort((a, c) => a.vector - c.vector);
  }

  // completeness, one polca step at a time
  const polcaSteps = indexedSteps(steps, 'polca/');
  if (polcaSteps.length === 0) missing.push('polca/*');
  else data.completeness = await loadCompleteness(polcaSteps, read);

  // cluster families
  const clusterSteps = Object.keys(steps)
    .filter((s) => s.startsWith('cluster/'))
    .sort((a, b) => familyOrder(a) - familyOrder(b));
  if (clusterSteps.length === 0) missing.push('cluster/*');
  for (const step of clusterSteps) {
    const [summary, skills, curves] = [
      await read(step, 'summary.parquet'),
      await read(step, 'skills.parquet'),
      await read(step, 'curves.parquet'),
    ];
    if (!summary || !skills || !curves) continue;
    const rest = step.slice('cluster/'.length);
    const family = rest.startsWith('polca/') ? 'polca' : rest;
    const vector = family === 'polca' ? Number(rest.slice('polca/'.length)) : -1;
    const fd: FamilyData = {
      step,
      family,
      vector,
      label: familyLabel(family, vector),
      summary: Array.from({ length: summary.skill.length }, (_, i) => summaryRow(summary, i)),
      skills: Array.from({ length: skills.skill.length }, (_, i) => ({
        cluster: num(skills.cluster, i),
        size: num(skills.size, i),
        skill: String((skills.skill as unknown[])[i]),
        dominant: num(skills.dominant, i),
        share: num(skills.share, i),
      })),
      sizes: new Map(),
      curves: new Map(),
    };
    for (const r of fd.skills) if (r.cluster >= 0) fd.sizes.set(r.cluster, r.size);
    for (let i = 0; i < curves.cluster.length; i++) {
      const c = num(curves.cluster, i);
      let arr = fd.curves.get(c);
      if (!arr) fd.curves.set(c, (arr = []));
      arr.push({ checkpoint: num(curves.checkpoint, i), mean: num(curves.mean, i), std: num(curves.std, i) });
    }
    for (const arr of fd.curves.values()) arr.sort((a, b) => a.checkpoint - b.checkpoint);
    data.families.push(fd);
  }
  data.capture = await loadCapture(steps, read, nTok);
  data.protocol = await loadProtocol(steps, read);
  return data;
}

function familyOrder(step: string): number {
  const fixed = ['cluster/loss', 'cluster/dloss', 'cluster/absdloss'];
  const i = fixed.indexOf(step);
  if (i >= 0) return i;
  const m = /^cluster\/polca\/(\d+)$/.exec(step);
  return m ? 10 + Number(m[1]) : 1e9;
}

async function loadCompleteness(
  polcaSteps: { step: string }[],
  read: (step: string, file: string, columns?: string[]) => Promise<Table | undefined>,
): Promise<CompletenessData> {
  const nBins = Math.round((HIST_HI - HIST_LO) / HIST_STEP);
  const hist = new Map<string, number[]>();
  const perInterval: CompletenessData['perInterval'] = [];
  // every |error| kept as float32 per variant for overall quantiles (a paper run: 3M per variant)
  const all = new Map<string, Float32Array[]>();
  const allD = new Map<string, Float32Array[]>();
  const summaryAcc = new Map<
    string,
    { intervals: number; fallbacks: number; panels: number; outOfSpanMax: number; maxAbsError: number; within: number }
  >();
  for (const s of polcaSteps) {
    const c = await read(s.step, 'completeness.parquet');
    if (c) {
      // group rows by (variant, interval) with integer keys: two passes, counts then fills
      const variantCol = c.variant as unknown[] | undefined;
      const rowsN = c.interval.length;
      const vNames: string[] = [];
      const vIdx = new Int32Array(rowsN);
      let last: unknown;
      let lastI = -1;
      let ivMin = Number.POSITIVE_INFINITY;
      let ivMax = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < rowsN; i++) {
        const v = variantCol ? variantCol[i] : 'paper';
        if (v !== last) {
          const name = String(v);
          lastI = vNames.indexOf(name);
          if (lastI < 0) lastI = vNames.push(name) - 1;
          last = v;
        }
        vIdx[i] = lastI;
        const iv = num(c.interval, i);
        if (iv < ivMin) ivMin = iv;
        if (iv > ivMax) ivMax = iv;
      }
      const span = rowsN ? ivMax - ivMin + 1 : 0;
      const counts = new Int32Array(vNames.length * span);
      const gi = new Int32Array(rowsN);
      for (let i = 0; i < rowsN; i++) counts[(gi[i] = vIdx[i] * span + (num(c.interval, i) - ivMin))]++;
      const errs = Array.from(counts, (k) => new Float32Array(k));
      const dls = Array.from(counts, (k) => new Float32Array(k));
      const fill = new Int32Array(counts.length);
      for (let i = 0; i < rowsN; i++) {
        const g = gi[i];
        errs[g][fill[g]] = Math.abs(num(c.error, i));
        dls[g][fill[g]++] = Math.abs(num(c.dloss, i));
      }
      for (let g = 0; g < counts.length; g++) {
        if (counts[g] === 0) continue;
        const variant = vNames[Math.floor(g / span)];
        const e = errs[g].sort();
        const d = dls[g].sort();
        perInterval.push({
          variant,
          interval: ivMin + (g % span),
          q50: quantileSorted(e, 0.5),
          q90: quantileSorted(e, 0.9),
          max: e[e.length - 1],
          medAbsDloss: quantileSorted(d, 0.5),
        });
        let h = hist.get(variant);
        if (!h) hist.set(variant, (h = new Array(nBins).fill(0)));
        for (const v of e) {
          const lg = v > 0 ? Math.log10(v) : Number.NEGATIVE_INFINITY;
          const b = Math.min(nBins - 1, Math.max(0, Math.floor((lg - HIST_LO) / HIST_STEP)));
          h[b]++;
        }
        if (!all.has(variant)) {
          all.set(variant, []);
          allD.set(variant, []);
        }
        all.get(variant)!.push(e);
        allD.get(variant)!.push(d);
      }
    }
    const sm = await read(s.step, 'summary.parquet');
    if (sm)
      for (let i = 0; i < sm.interval.length; i++) {
        const v = String((sm.variant as unknown[])[i]);
        let a = summaryAcc.get(v);
        if (!a) summaryAcc.set(v, (a = { intervals: 0, fallbacks: 0, panels: 0, outOfSpanMax: 0, maxAbsError: 0, within: 0 }));
        a.intervals++;
        a.fallbacks += num(sm.fallbacks, i);
        a.panels += num(sm.panels, i);
        a.outOfSpanMax = Math.max(a.outOfSpanMax, Math.abs(num(sm.out_of_span, i)));
        a.maxAbsError = Math.max(a.maxAbsError, num(sm.max_abs_error, i));
        a.within += num(sm.within_tol, i);
      }
  }
  const order = (v: string) => {
    const i = ['paper', 'exact-curvature', 'path'].indexOf(v);
    return i < 0 ? 99 : i;
  };
  const variants = [...new Set([...hist.keys(), ...summaryAcc.keys()])].sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1));
  perInterval.sort((a, b) => order(a.variant) - order(b.variant) || a.interval - b.interval);
  const overall: CompletenessData['overall'] = [];
  for (const v of variants) {
    const parts = all.get(v);
    if (!parts) continue;
    const size = parts.reduce((s, p) => s + p.length, 0);
    const e = new Float32Array(size);
    const d = new Float32Array(size);
    let o = 0;
    for (const p of parts) {
      e.set(p, o);
      o += p.length;
    }
    o = 0;
    for (const p of allD.get(v)!) {
      d.set(p, o);
      o += p.length;
    }
    let zeros = 0;
    let max = Number.NEGATIVE_INFINITY;
    for (const x of e) {
      if (x === 0) zeros++;
      if (x > max) max = x;
    }
    const q50 = quantileSelect(e, 0.5);
    const q99 = quantileSelect(e, 0.99);
    overall.push({ variant: v, pairs: size, q50, q99, max, zeros, medAbsDloss: quantileSelect(d, 0.5) });
  }
  return {
    variants,
    perInterval,
    histogram: variants.filter((v) => hist.has(v)).map((v) => ({ variant: v, counts: hist.get(v)! })),
    overall,
    summary: variants
      .filter((v) => summaryAcc.has(v))
      .map((v) => {
        const a = summaryAcc.get(v)!;
        return {
          variant: v,
          intervals: a.intervals,
          fallbacks: a.fallbacks,
          panelsMean: a.panels / a.intervals,
          outOfSpanMax: a.outOfSpanMax,
          maxAbsError: a.maxAbsError,
          withinTolMean: a.within / a.intervals,
        };
      }),
  };
}
