/**
 * A synthetic experiment written to a store exactly as docs/artifacts.md lays out the tables, for
 * testing the report without running the pipeline. Per-token losses follow sigmoid breakthroughs
 * whose time depends on the token's digit and carry; POLCA splits each loss change over the basis
 * vectors by skill; cluster labels follow the skills with noise, and the cluster tables are
 * computed from them with the project's own skill reading (core/skills) and curve averaging
 * (core/trajectories), so they are consistent with each other.
 *
 * `makeRun(store)` is the run source of the report tests; a test that should read a real run
 * instead swaps it for a function that returns that run's record.
 */
import { type ArtifactStore, type Column, encodeParquet, type RunRecord } from '../artifacts/index.ts';
import { type Config, resolveConfig } from '../config/index.ts';
import { pairOf, skillsOf } from '../core/tasks/arithmetic/task.ts';
import { scopedSkillTable } from '../core/tasks/arithmetic/scopes.ts';
import { readSkills } from '../core/cluster/skills.ts';
import { clusterCurves } from '../core/attribution/trajectories.ts';

export interface FixtureOptions {
  name?: string;
  evalSize?: number;
  iterations?: number;
  checkpointEvery?: number;
  basisEvery?: number;
  variant?: Config['polca']['variant'];
  seed?: number;
  /** Write polca.parquet rows for the first this many basis vectors only (default: all). */
  polcaVectors?: number;
}

export type RunSource = (store: ArtifactStore) => Promise<RunRecord>;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VERSION = 'fixture-1';

export async function makeRun(store: ArtifactStore, opts: FixtureOptions = {}): Promise<RunRecord> {
  const name = opts.name ?? 'polca-fixture';
  const config = resolveConfig({
    preset: 'tiny',
    config: {
      seed: opts.seed ?? 7,
      data: { evalSize: opts.evalSize ?? 120, hessianSize: 64 },
      train: { iterations: opts.iterations ?? 200, checkpointEvery: opts.checkpointEvery ?? 5 },
      basis: { every: opts.basisEvery ?? 40 },
      polca: { variant: opts.variant ?? 'path' },
    },
  });
  const rand = mulberry32(config.seed + 1);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const steps: Record<string, string> = {};
  const put = async (stepName: string, step: string, params: unknown, files: Record<string, Column[]>) => {
    const bytes: Record<string, Uint8Array> = {};
    for (const [f, cols] of Object.entries(files)) bytes[f] = encodeParquet(cols);
    const m = await store.put({ step, version: VERSION, params: { run: name, stepName, params }, inputs: {} }, bytes);
    steps[stepName] = m.key;
  };

  // data
  const nEx = config.data.evalSize;
  const examples = Array.from({ length: nEx }, () => pairOf(Math.floor(rand() * 1_000_000)));
  const n = nEx * 4;
  const digit = new Int32Array(n);
  const carry = new Int32Array(n);
  const value = new Int32Array(n);
  examples.forEach((e, i) => {
    skillsOf(e).forEach((s, k) => {
      digit[i * 4 + k] = s.digit;
      carry[i * 4 + k] = s.carry ? 1 : 0;
      value[i * 4 + k] = s.value;
    });
  });
  const tokenIdx = Int32Array.from({ length: n }, (_, i) => i);
  await put(
    'data',
    'data',
    {},
    {
      'examples.parquet': [
        { name: 'split', type: 'utf8', values: examples.map(() => 'eval') },
        { name: 'index', type: 'int32', values: Int32Array.from({ length: nEx }, (_, i) => i) },
        { name: 'a', type: 'int32', values: Int32Array.from(examples, (e) => e.a) },
        { name: 'b', type: 'int32', values: Int32Array.from(examples, (e) => e.b) },
        { name: 'sum', type: 'int32', values: Int32Array.from(examples, (e) => e.a + e.b) },
      ],
      'tokens.parquet': [
        { name: 'token', type: 'int32', values: tokenIdx },
        { name: 'example', type: 'int32', values: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 4)) },
        { name: 'a', type: 'int32', values: Int32Array.from({ length: n }, (_, i) => examples[Math.floor(i / 4)].a) },
        { name: 'b', type: 'int32', values: Int32Array.from({ length: n }, (_, i) => examples[Math.floor(i / 4)].b) },
        { name: 'digit', type: 'int32', values: digit },
        { name: 'carry', type: 'boolean', values: Array.from(carry, (c) => c === 1) },
        { name: 'value', type: 'int32', values: value },
      ],
    },
  );

  // per-token losses: a breakthrough per token at a time set by its digit and carry
  const { iterations, checkpointEvery } = config.train;
  const every = config.basis.every;
  const S = iterations / every;
  const T = iterations / checkpointEvery;
  const ckIter = Array.from({ length: T + 1 }, (_, t) => t * checkpointEvery);
  const base = [0.25, 0.55, 0.4, 0.15];
  const tau = Float64Array.from({ length: n }, (_, x) => iterations * (base[digit[x]] + 0.25 * carry[x] + 0.04 * gauss()));
  const width = iterations * 0.04;
  const loss: Float64Array[] = ckIter.map((it) =>
    Float64Array.from({ length: n }, (_, x) => 0.02 + 2.3 / (1 + Math.exp((it - tau[x]) / width)) + 0.03 * Math.abs(gauss())),
  );

  // basis: one vector per segment (k = 1), source checkpoint at the segment's start
  const m = S * config.basis.k;
  const basisRows = Array.from({ length: m }, (_, j) => ({
    iteration: Math.floor(j / config.basis.k) * every,
    eigenvalue: 180 * Math.exp(-j / 3) + 5 * rand(),
    lanczos: 8 + Math.floor(rand() * 12),
  }));
  // POLCA share of token x's loss change along vector j: vectors favour skill groups
  const weight = (x: number, j: number) => 0.2 + (j % 2 === 0 ? carry[x] : 1 - carry[x]) + 0.5 * (digit[x] === j % 4 ? 1 : 0);
  const wsum = Float64Array.from({ length: n }, (_, x) => {
    let w = 0;
    for (let j = 0; j < m; j++) w += weight(x, j);
    return w;
  });
  /** POLCA(x, b_j, t) = ΔL_x(t) · share of b_j. */
  const share = (x: number, j: number) => weight(x, j) / wsum[x];
  const polcaVectors = Math.min(m, opts.polcaVectors ?? m);

  for (let s = 0; s < S; s++) {
    const segIters = Array.from({ length: every }, (_, i) => s * every + i + 1);
    const t0 = s === 0 ? 0 : (s * every) / checkpointEvery + 1;
    const t1 = ((s + 1) * every) / checkpointEvery;
    const evIter: number[] = [];
    const evTok: number[] = [];
    const evLoss: number[] = [];
    const evOk: boolean[] = [];
    for (let t = t0; t <= t1; t++)
      for (let x = 0; x < n; x++) {
        evIter.push(ckIter[t]);
        evTok.push(x);
        evLoss.push(loss[t][x]);
        evOk.push(loss[t][x] < 0.7);
      }
    const trainLoss = segIters.map((it) => {
      let mean = 0;
      for (let x = 0; x < n; x++) mean += 0.02 + 2.3 / (1 + Math.exp((it - tau[x]) / width));
      return mean / n + 0.05 * Math.abs(gauss());
    });
    await put(
      `train/${s}`,
      'train',
      { segment: s },
      {
        'train_loss.parquet': [
          { name: 'iteration', type: 'int32', values: Int32Array.from(segIters) },
          { name: 'loss', type: 'float32', values: Float32Array.from(trainLoss) },
          {
            name: 'lr',
            type: 'float32',
            values: Float32Array.from(segIters, (it) => config.train.lr * Math.min(1, it / config.train.warmup)),
          },
        ],
        'eval.parquet': [
          { name: 'iteration', type: 'int32', values: Int32Array.from(evIter) },
          { name: 'token', type: 'int32', values: Int32Array.from(evTok) },
          { name: 'loss', type: 'float32', values: Float32Array.from(evLoss) },
          { name: 'correct', type: 'boolean', values: evOk },
        ],
      },
    );
    const upto = (s + 1) * config.basis.k;
    const residual = Float64Array.from(basisRows.slice(0, upto), (r, j) => r.eigenvalue * 10 ** (-4 + j * 0.2 + rand()));
    await put(
      `basis/${s}`,
      'basis',
      { segment: s },
      {
        'basis.parquet': [
          { name: 'vector', type: 'int32', values: Int32Array.from({ length: upto }, (_, j) => j) },
          { name: 'iteration', type: 'int32', values: Int32Array.from(basisRows.slice(0, upto), (r) => r.iteration) },
          { name: 'eigenvalue', type: 'float64', values: Float64Array.from(basisRows.slice(0, upto), (r) => r.eigenvalue) },
          { name: 'residual', type: 'float64', values: residual },
          {
            name: 'converged',
            type: 'boolean',
            values: Array.from(residual, (res, j) => res <= config.basis.tol * Math.abs(basisRows[j].eigenvalue)),
          },
          { name: 'lanczos_iterations', type: 'int32', values: Int32Array.from(basisRows.slice(0, upto), (r) => r.lanczos) },
        ],
      },
    );
  }

  // POLCA per interval, grouped by the segment of the interval's start checkpoint
  const variants: string[] = ['paper', 'exact-curvature', ...(config.polca.variant === 'path' ? ['path'] : [])];
  const errScale: Record<string, number> = { paper: 3e-2, 'exact-curvature': 5e-3, path: 2e-4 };
  for (let s = 0; s < S; s++) {
    const iv: number[] = [];
    const pTok: number[] = [];
    const pVec: number[] = [];
    const pFirst: number[] = [];
    const pSecond: number[] = [];
    const pVal: number[] = [];
    const cVar: string[] = [];
    const cIv: number[] = [];
    const cTok: number[] = [];
    const cD: number[] = [];
    const cErr: number[] = [];
    const sIv: number[] = [];
    const sVar: string[] = [];
    const sFall: number[] = [];
    const sPan: number[] = [];
    const sOut: number[] = [];
    const sMax: number[] = [];
    const sWithin: number[] = [];
    const tFrom = (s * every) / checkpointEvery;
    const tTo = ((s + 1) * every) / checkpointEvery;
    for (let t = tFrom; t < tTo; t++) {
      for (let x = 0; x < n; x++) {
        const d = loss[t + 1][x] - loss[t][x];
        for (let j = 0; j < polcaVectors; j++) {
          const p = d * share(x, j);
          iv.push(t);
          pTok.push(x);
          pVec.push(j);
          pFirst.push(p * 1.1);
          pSecond.push(-p * 0.1);
          pVal.push(p);
        }
        for (const v of variants) {
          cVar.push(v);
          cIv.push(t);
          cTok.push(x);
          cD.push(d);
          cErr.push(errScale[v] * (Math.abs(d) + 1e-3) * gauss());
        }
      }
      for (const v of variants) {
        sIv.push(t);
        sVar.push(v);
        sFall.push(v === 'paper' ? Math.floor(rand() * 3) : 0);
        sPan.push(v === 'path' ? 2 + Math.floor(rand() * 4) : 1);
        sOut.push(v === 'path' ? 0.01 * rand() : 0);
        const errs = cErr.filter((_, i) => cIv[i] === t && cVar[i] === v).map(Math.abs);
        sMax.push(Math.max(...errs));
        sWithin.push(errs.filter((e) => e <= config.polca.pathTol).length / errs.length);
      }
    }
    await put(
      `polca/${s}`,
      'polca',
      { segment: s },
      {
        'polca.parquet': [
          { name: 'interval', type: 'int32', values: Int32Array.from(iv) },
          { name: 'token', type: 'int32', values: Int32Array.from(pTok) },
          { name: 'vector', type: 'int32', values: Int32Array.from(pVec) },
          { name: 'first', type: 'float32', values: Float32Array.from(pFirst) },
          { name: 'second', type: 'float32', values: Float32Array.from(pSecond) },
          { name: 'polca', type: 'float32', values: Float32Array.from(pVal) },
        ],
        'completeness.parquet': [
          { name: 'variant', type: 'utf8', values: cVar },
          { name: 'interval', type: 'int32', values: Int32Array.from(cIv) },
          { name: 'token', type: 'int32', values: Int32Array.from(cTok) },
          { name: 'dloss', type: 'float32', values: Float32Array.from(cD) },
          { name: 'error', type: 'float32', values: Float32Array.from(cErr) },
        ],
        'summary.parquet': [
          { name: 'interval', type: 'int32', values: Int32Array.from(sIv) },
          { name: 'variant', type: 'utf8', values: sVar },
          { name: 'fallbacks', type: 'int32', values: Int32Array.from(sFall) },
          { name: 'panels', type: 'int32', values: Int32Array.from(sPan) },
          { name: 'out_of_span', type: 'float64', values: Float64Array.from(sOut) },
          { name: 'max_abs_error', type: 'float64', values: Float64Array.from(sMax) },
          { name: 'within_tol', type: 'float64', values: Float64Array.from(sWithin) },
        ],
      },
    );
  }

  // trajectories
  await put(
    'trajectories',
    'trajectories',
    {},
    {
      'loss.parquet': [
        { name: 'token', type: 'int32', values: Int32Array.from({ length: n * (T + 1) }, (_, i) => i % n) },
        { name: 'checkpoint', type: 'int32', values: Int32Array.from({ length: n * (T + 1) }, (_, i) => Math.floor(i / n)) },
        { name: 'iteration', type: 'int32', values: Int32Array.from({ length: n * (T + 1) }, (_, i) => ckIter[Math.floor(i / n)]) },
        { name: 'loss', type: 'float32', values: Float32Array.from({ length: n * (T + 1) }, (_, i) => loss[Math.floor(i / n)][i % n]) },
      ],
    },
  );

  // clusters: labels follow a skill grouping with 10% outliers and 10% reassigned at random
  const rows: Float64Array[] = Array.from({ length: n }, (_, x) => Float64Array.from(loss, (l) => l[x]));
  const drows = rows.map((r) => Float64Array.from({ length: T }, (_, t) => r[t + 1] - r[t]));
  const arows = drows.map((r) => r.map(Math.abs));
  const families: { step: string; family: string; vector: number; rows: () => Float64Array[]; group: (x: number) => number }[] = [
    { step: 'cluster/loss', family: 'loss', vector: -1, rows: () => rows, group: (x) => digit[x] },
    { step: 'cluster/dloss', family: 'dloss', vector: -1, rows: () => drows, group: (x) => digit[x] * 2 + carry[x] },
    { step: 'cluster/absdloss', family: 'absdloss', vector: -1, rows: () => arows, group: (x) => Math.min(value[x], 5) },
    ...Array.from({ length: m }, (_, j) => ({
      step: `cluster/polca/${j}`,
      family: 'polca',
      vector: j,
      rows: () => drows.map((r, x) => r.map((d) => d * share(x, j))),
      group: (x: number) => (j % 2 === 0 ? carry[x] * 4 + digit[x] : (digit[x] + j) % 3),
    })),
  ];
  for (const f of families) {
    const labels = Int32Array.from({ length: n }, (_, x) => {
      const u = rand();
      if (u < 0.1) return -1;
      if (u < 0.2) return Math.floor(rand() * 6);
      return f.group(x);
    });
    // renumber labels 0..k−1 in order of first appearance, as HDBSCAN's output would be dense
    const remap = new Map<number, number>();
    for (const l of labels) if (l >= 0 && !remap.has(l)) remap.set(l, remap.size);
    for (let x = 0; x < n; x++) if (labels[x] >= 0) labels[x] = remap.get(labels[x])!;
    const { perCluster } = readSkills(labels, { carry, digit, value }, config.cluster.shuffles, config.seed);
    const summary = scopedSkillTable(labels, { carry, digit, value }, config.cluster.shuffles, config.seed);
    const curves = clusterCurves(f.rows(), labels);
    const fam = (k: number) => Array.from({ length: k }, () => f.family);
    const vec = (k: number) => new Int32Array(k).fill(f.vector);
    await put(
      f.step,
      'cluster',
      { family: f.family, vector: f.vector },
      {
        'labels.parquet': [
          { name: 'family', type: 'utf8', values: fam(n) },
          { name: 'vector', type: 'int32', values: vec(n) },
          { name: 'token', type: 'int32', values: tokenIdx },
          { name: 'label', type: 'int32', values: labels },
          { name: 'probability', type: 'float32', values: Float32Array.from(labels, (l) => (l < 0 ? 0 : 0.5 + 0.5 * rand())) },
        ],
        'skills.parquet': [
          { name: 'family', type: 'utf8', values: fam(perCluster.length) },
          { name: 'vector', type: 'int32', values: vec(perCluster.length) },
          { name: 'cluster', type: 'int32', values: Int32Array.from(perCluster, (c) => c.cluster) },
          { name: 'size', type: 'int32', values: Int32Array.from(perCluster, (c) => c.size) },
          { name: 'skill', type: 'utf8', values: perCluster.map((c) => c.skill) },
          { name: 'dominant', type: 'int32', values: Int32Array.from(perCluster, (c) => c.dominant) },
          { name: 'share', type: 'float64', values: Float64Array.from(perCluster, (c) => c.share) },
        ],
        'summary.parquet': [
          { name: 'family', type: 'utf8', values: fam(summary.length) },
          { name: 'vector', type: 'int32', values: vec(summary.length) },
          { name: 'scope', type: 'utf8', values: summary.map((s) => s.scope) },
          { name: 'skill', type: 'utf8', values: summary.map((s) => s.skill) },
          { name: 'coincidesWith', type: 'utf8', values: summary.map((s) => s.coincidesWith) },
          { name: 'tokens', type: 'int32', values: Int32Array.from(summary, (s) => s.tokens) },
          { name: 'clustered', type: 'int32', values: Int32Array.from(summary, (s) => s.clustered) },
          { name: 'coverage', type: 'float64', values: Float64Array.from(summary, (s) => s.coverage) },
          { name: 'clusters', type: 'int32', values: Int32Array.from(summary, (s) => s.clusters) },
          { name: 'outliers', type: 'int32', values: Int32Array.from(summary, (s) => s.outliers) },
          { name: 'homogeneity', type: 'float64', values: Float64Array.from(summary, (s) => s.homogeneity) },
          { name: 'baseline', type: 'float64', values: Float64Array.from(summary, (s) => s.baseline) },
          { name: 'ami', type: 'float64', values: Float64Array.from(summary, (s) => s.ami) },
          { name: 'amiWithOutliers', type: 'float64', values: Float64Array.from(summary, (s) => s.amiWithOutliers) },
          { name: 'amiShuffledMean', type: 'float64', values: Float64Array.from(summary, (s) => s.amiShuffledMean) },
          { name: 'amiShuffledSd', type: 'float64', values: Float64Array.from(summary, (s) => s.amiShuffledSd) },
        ],
        'curves.parquet': [
          { name: 'family', type: 'utf8', values: fam(curves.length) },
          { name: 'vector', type: 'int32', values: vec(curves.length) },
          { name: 'cluster', type: 'int32', values: Int32Array.from(curves, (c) => c.cluster) },
          { name: 'checkpoint', type: 'int32', values: Int32Array.from(curves, (c) => c.checkpoint) },
          { name: 'mean', type: 'float64', values: Float64Array.from(curves, (c) => c.mean) },
          { name: 'std', type: 'float64', values: Float64Array.from(curves, (c) => c.std) },
        ],
      },
    );
  }

  const record: RunRecord = { name, workflowId: name, config, steps, createdAt: new Date().toISOString() };
  await store.putRun(name, record);
  return record;
}
