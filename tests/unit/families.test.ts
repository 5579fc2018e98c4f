/**
 * The baseline trajectory families: LCA (core/attribution/lca.ts), per-token Fisher information along the
 * basis (core/attribution/fisher.ts) and first-order POLCA, as numerics against independent computations (a
 * float64 reference model, reverse-mode gradients, the POLCA step's own rows) and as cached steps
 * on the `tiny` preset in a temporary local store (keys, determinism, resume, the loader).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Progress, StepContext } from '../../activities/steps/context.ts';
import { basisStep } from '../../activities/steps/basis.ts';
import { dataStep } from '../../activities/steps/data.ts';
import { countFamilyTrajectories, familySize, familyTensorName, loadFamilyTrajectories } from '../../activities/steps/families.ts';
import { firstTrajectoriesStep } from '../../activities/steps/first-trajectories.ts';
import { fisherCheckpoints, fisherStep } from '../../activities/steps/fisher.ts';
import { fisherTrajectoriesStep } from '../../activities/steps/fisher-trajectories.ts';
import { loadBasis, loadCheckpoints, loadState } from '../../activities/steps/io.ts';
import { lcaStep } from '../../activities/steps/lca.ts';
import { lcaParamsStep, loadLcaParams } from '../../activities/steps/lca-params.ts';
import { lcaTrajectoriesStep } from '../../activities/steps/lca-trajectories.ts';
import { polcaStep } from '../../activities/steps/polca.ts';
import { trainStep } from '../../activities/steps/train.ts';
import { trajectoriesStep } from '../../activities/steps/trajectories.ts';
import { runTask } from '../../compute/task.ts';
import { ArtifactStore, decodeParquet, decodeSafetensors, LocalBackend } from '../../artifacts/index.ts';
import { resolveConfig } from '../../config/index.ts';
import type { Config } from '../../config/schema.ts';
import { initBackend } from '../../core/model/backend.ts';
import { modelShape } from '../../core/data.ts';
import { ARITHMETIC_SHAPE, encodeSequences, makeSplits } from '../../core/tasks/arithmetic/task.ts';
import { basisFisher } from '../../core/attribution/fisher.ts';
import { lcaInterval, midpoint, paramGradients, selectLcaParams } from '../../core/attribution/lca.ts';
import { paramLayout } from '../../core/model/layout.ts';
import { initParams } from '../../core/model/model.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';
import { normal } from '../../core/rng.ts';
import { checkpointIterations } from '../../core/train/schedule.ts';
import { intervalCount, segmentCount } from '../../pipeline/plan.ts';
import { referenceForward, referenceJet } from '../helpers/reference-model.ts';

before(async () => {
  await initBackend();
});

/** A model small enough to allocate to every one of its parameters: 1 layer, dModel 8. */
const TINY_SETTINGS = { nLayers: 1, dModel: 8, nHeads: 2, dMlp: 16 };
const TINY_MODEL = { ...ARITHMETIC_SHAPE, ...TINY_SETTINGS };

/**
 * θ_t: the initialisation with N(0, 0.3²) noise everywhere (a model whose gradients are not tiny);
 * θ_t+1 = θ_t + 0.005·u, u ~ N(0, I): ΔL up to 0.06 per token, and Simpson's error (of order
 * ‖Δ‖⁵) below float32 rounding. At 0.02·u Simpson's error reaches 6e-5, in float64 as in float32.
 */
function tinyThetas(seed: number) {
  const base = initParams(TINY_MODEL, seed);
  const thetaT = Float32Array.from(base, (v, i) => v + 0.3 * normal(seed, 901, i));
  const thetaT1 = Float32Array.from(thetaT, (v, i) => v + 0.005 * normal(seed, 902, i));
  return { thetaT, thetaT1 };
}

/** One-hot e_i as a float64 vector. */
const oneHot = (d: number, i: number) => {
  const e = new Float64Array(d);
  e[i] = 1;
  return e;
};

describe('LCA numerics', () => {
  test('selectLcaParams: the P largest |θ|, ties to the lower index, with layout names', () => {
    const layout = [
      { name: 'a', shape: [3], offset: 0, size: 3 },
      { name: 'b', shape: [2, 2], offset: 3, size: 4 },
    ];
    const theta = Float32Array.from([1, -3, 0.5, 3, 2, -2, 0]);
    const sel = selectLcaParams(theta, layout, 4);
    assert.deepEqual(
      sel.map((p) => [p.index, p.name, p.element, p.value]),
      [
        [1, 'a', 1, -3],
        [3, 'b', 0, 3],
        [4, 'b', 1, 2],
        [5, 'b', 2, -2],
      ],
    );
    // Against a full sort of a long random vector with many ties.
    const long = Float32Array.from({ length: 5000 }, (_, i) => Math.round(normal(3, 7, i) * 4) / 4);
    const ref = Array.from(long.keys())
      .sort((i, j) => Math.abs(long[j]) - Math.abs(long[i]) || i - j)
      .slice(0, 50);
    const got = selectLcaParams(long, [{ name: 'x', shape: [5000], offset: 0, size: 5000 }], 50).map((p) => p.index);
    assert.deepEqual(got, ref);
    assert.throws(() => selectLcaParams(theta, layout, 0), /lcaParams: must be an integer in 1\.\.7/);
    assert.throws(() => selectLcaParams(theta, layout, 8), /lcaParams/);
  });

  test('over all parameters of a tiny model, Σ_i LCA_i = ΔL per token and every LCA_i matches a float64 path integral', () => {
    const c = resolveConfig({ config: { preset: 'tiny', data: { evalSize: 3 }, model: TINY_SETTINGS } });
    const { evalExamples, hessianExamples } = makeSplits(c);
    const model = makeTokenLossModel(TINY_MODEL, encodeSequences(evalExamples), encodeSequences(hessianExamples.slice(0, 1)));
    const { thetaT, thetaT1 } = tinyThetas(5);
    const d = thetaT.length;
    const n = model.numTokens;
    const indices = Int32Array.from({ length: d }, (_, i) => i);
    let r: ReturnType<typeof lcaInterval>;
    try {
      r = lcaInterval({ model, thetaT, thetaT1, indices });
    } finally {
      model.dispose();
    }
    // Float64 reference: ΔL from the reference forward pass; ∂ℓ/∂θ_i from the reference jet along e_i.
    const l0 = referenceForward(TINY_MODEL, thetaT, encodeSequences(evalExamples)).losses;
    const l1 = referenceForward(TINY_MODEL, thetaT1, encodeSequences(evalExamples)).losses;
    const dL = Float64Array.from(l1, (v, x) => v - l0[x]);
    const maxDL = Math.max(...dL.map(Math.abs));
    assert.ok(maxDL > 1e-3, `the step changes the loss (max |ΔL| ${maxDL})`);
    // 5-point Gauss–Legendre on [0, 1] (exact to degree 9) on the float64 path θ_t + sΔ.
    const gl = [
      [0.5 - 0.4530899229693319, 0.1184634425280945],
      [0.5 - 0.2692346550528415, 0.2393143352496832],
      [0.5, 0.2844444444444444],
      [0.5 + 0.2692346550528415, 0.2393143352496832],
      [0.5 + 0.4530899229693319, 0.1184634425280945],
    ];
    const delta = Float64Array.from(thetaT1, (v, i) => v - thetaT[i]);
    const points = gl.map(([s]) => Float64Array.from(thetaT, (v, i) => v + s * delta[i]));
    const refLca = new Float64Array(d * n);
    for (let i = 0; i < d; i++) {
      const e = oneHot(d, i);
      gl.forEach(([, w], q) => {
        const { d1 } = referenceJet(TINY_MODEL, points[q], e, encodeSequences(evalExamples));
        for (let x = 0; x < n; x++) refLca[i * n + x] += delta[i] * w * d1[x];
      });
    }
    let worstRefCompleteness = 0;
    let worstCompleteness = 0;
    for (let x = 0; x < n; x++) {
      let sRef = 0;
      let s = 0;
      for (let i = 0; i < d; i++) {
        sRef += refLca[i * n + x];
        s += r.lca[i * n + x];
      }
      worstRefCompleteness = Math.max(worstRefCompleteness, Math.abs(sRef - dL[x]));
      worstCompleteness = Math.max(worstCompleteness, Math.abs(s - dL[x]));
    }
    assert.ok(worstRefCompleteness < 1e-9 * Math.max(1, maxDL), `the float64 reference is complete (${worstRefCompleteness})`);
    // Measured: at most 2.4e-8 (float32 rounding of the jet passes; max |ΔL| 0.056).
    assert.ok(worstCompleteness < 5e-7, `Σ_i LCA_i = ΔL within ${worstCompleteness} (max |ΔL| ${maxDL})`);
    // The step's ΔL (the jet passes' float32 losses) agrees with the reference.
    for (let x = 0; x < n; x++) assert.ok(Math.abs(r.dloss[x] - dL[x]) < 1e-6, `ΔL of token ${x}`);
    const maxLca = Math.max(...refLca.map(Math.abs));
    let worst = 0;
    for (let k = 0; k < d * n; k++) worst = Math.max(worst, Math.abs(r.lca[k] - refLca[k]));
    assert.ok(worst < 1e-4 * maxLca, `every LCA_i within ${worst} of the float64 integral (max |LCA| ${maxLca})`);
    assert.ok(maxLca > 1e-4, `some parameters carry a visible share (${maxLca})`);
  });

  test("Simpson's rule on the jets equals Simpson's rule on float64 derivatives, endpoints shared between intervals", () => {
    const c = resolveConfig({ config: { preset: 'tiny', data: { evalSize: 3 }, model: TINY_SETTINGS } });
    const { evalExamples, hessianExamples } = makeSplits(c);
    const model = makeTokenLossModel(TINY_MODEL, encodeSequences(evalExamples), encodeSequences(hessianExamples.slice(0, 1)));
    const { thetaT, thetaT1 } = tinyThetas(6);
    const thetaT2 = Float32Array.from(thetaT1, (v, i) => v - 0.01 * normal(6, 903, i));
    const indices = Int32Array.from([0, 200, 400, 907, 500]);
    const n = model.numTokens;
    try {
      const a = lcaInterval({ model, thetaT, thetaT1, indices });
      const shared = lcaInterval({ model, thetaT: thetaT1, thetaT1: thetaT2, indices, atT: a.atT1 });
      const fresh = lcaInterval({ model, thetaT: thetaT1, thetaT1: thetaT2, indices });
      assert.deepEqual(shared.lca, fresh.lca, 'sharing the endpoint changes nothing');
      for (const [t0, t1, got] of [
        [thetaT, thetaT1, a.lca],
        [thetaT1, thetaT2, shared.lca],
      ] as const) {
        const mid = midpoint(t0, t1);
        indices.forEach((i, p) => {
          const e = oneHot(t0.length, i);
          const [g0, gm, g1] = [t0, mid, t1].map((th) => referenceJet(TINY_MODEL, th, e, encodeSequences(evalExamples)).d1);
          const dl = t1[i] - t0[i];
          for (let x = 0; x < n; x++) {
            const ref = (dl * (g0[x] + 4 * gm[x] + g1[x])) / 6;
            assert.ok(Math.abs(got[p * n + x] - ref) <= 1e-5 * Math.abs(dl) + 1e-9, `param ${i} token ${x}: ${got[p * n + x]} vs ${ref}`);
          }
        });
      }
    } finally {
      model.dispose();
    }
  });
  test('one-hot directions several to a pass (zero tangents left out per tensor) give the derivatives of one to a pass', () => {
    const c = resolveConfig({ config: { preset: 'tiny', data: { evalSize: 3 }, model: TINY_SETTINGS } });
    const { evalExamples, hessianExamples } = makeSplits(c);
    const { thetaT: theta } = tinyThetas(9);
    const d = theta.length;
    const indices = Int32Array.from({ length: d }, (_, i) => i);
    const one = makeTokenLossModel(TINY_MODEL, encodeSequences(evalExamples), encodeSequences(hessianExamples.slice(0, 1)), {
      directionsPerPass: 1,
    });
    const seven = makeTokenLossModel(TINY_MODEL, encodeSequences(evalExamples), encodeSequences(hessianExamples.slice(0, 1)), {
      directionsPerPass: 7,
    });
    try {
      // Groups of 7 straddle tensor boundaries; 13 per call straddles passes.
      const a = paramGradients(one, theta, indices, 13);
      const b = paramGradients(seven, theta, indices, 13);
      const scale = Math.max(...a.g.map(Math.abs));
      let worst = 0;
      for (let k = 0; k < a.g.length; k++) worst = Math.max(worst, Math.abs(a.g[k] - b.g[k]));
      assert.ok(worst <= 1e-6 * scale, `largest difference ${worst} (scale ${scale})`);
      assert.deepEqual(a.loss, b.loss);
    } finally {
      one.dispose();
      seven.dispose();
    }
  });
});

describe('Fisher numerics', () => {
  test('basisFisher is (bᵀ∇ℓ_x)² with ∇ℓ_x from reverse mode, for every token and direction', () => {
    const c = resolveConfig({ config: { preset: 'tiny', data: { evalSize: 3 }, model: TINY_SETTINGS } });
    const { evalExamples, hessianExamples } = makeSplits(c);
    const model = makeTokenLossModel(TINY_MODEL, encodeSequences(evalExamples), encodeSequences(hessianExamples.slice(0, 1)));
    const { thetaT: theta } = tinyThetas(7);
    const d = theta.length;
    // Three orthonormal directions by Gram–Schmidt (float64), stored as float32.
    const basis: Float32Array[] = [];
    for (let j = 0; j < 3; j++) {
      const v = Float64Array.from({ length: d }, (_, i) => normal(8, 910 + j, i));
      for (const b of basis) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += v[i] * b[i];
        for (let i = 0; i < d; i++) v[i] -= dot * b[i];
      }
      const norm = Math.hypot(...v);
      basis.push(Float32Array.from(v, (x) => x / norm));
    }
    try {
      const F = basisFisher(model, theta, basis);
      const n = model.numTokens;
      assert.equal(F.length, 3 * n);
      for (let x = 0; x < n; x++) {
        const g = model.tokenGrad(theta, x);
        basis.forEach((b, j) => {
          let dot = 0;
          for (let i = 0; i < d; i++) dot += b[i] * g[i];
          const ref = dot * dot;
          assert.ok(Math.abs(F[j * n + x] - ref) <= 1e-4 * ref + 1e-10, `token ${x}, vector ${j}: ${F[j * n + x]} vs ${ref}`);
        });
      }
      assert.ok(Math.max(...F) > 1e-4, 'the Fisher values are not all negligible');
    } finally {
      model.dispose();
    }
  });
});

/** A step context on a store; `heartbeat` may throw to interrupt a step. */
const context = (store: ArtifactStore, heartbeat: (p: Progress) => void = () => undefined): StepContext => ({
  store,
  heartbeat,
  owner: 'families-test',
});

class Interrupted extends Error {}

const fileHashes = async (store: ArtifactStore, key: string) => {
  const m = await store.manifest(key);
  assert.ok(m, `${key} is stored`);
  return m.files.map((f) => `${f.name}:${f.sha256}`).join(',');
};

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('family steps on the tiny preset', { concurrency: false }, () => {
  const P = 4;
  const c: Config = resolveConfig({ config: { preset: 'tiny' } });
  const storeDir = mkdtempSync(join(tmpdir(), 'polca-families-'));
  const store = new ArtifactStore(new LocalBackend(storeDir));
  const ctx = context(store);
  const S = segmentCount(c);
  const T = intervalCount(c);
  const n = c.data.evalSize * 4;
  let data: string;
  const train: string[] = [];
  let basis: string;
  const polca: string[] = [];
  const fisher: string[] = [];
  const lca: string[] = [];
  let lcaParams: string;
  const keys: Record<string, string> = {};

  before(async () => {
    data = (await dataStep(ctx, c)).key;
    for (let s = 0; s < S; s++) train.push((await trainStep(ctx, c, s, { data, ...(s > 0 ? { prev: train[s - 1] } : {}) })).key);
    // The final basis (one vector per segment), as POLCA uses it.
    for (let s = 0; s < S; s++) basis = (await basisStep(ctx, c, s, { data, train: train[s], ...(s > 0 ? { prev: basis } : {}) })).key;
    for (let s = 0; s < S; s++) {
      const inputs = { data, basis, train: train[s], ...(s > 0 ? { prevTrain: train[s - 1] } : {}) };
      polca.push((await polcaStep(ctx, c, s, inputs)).key);
      fisher.push((await fisherStep(ctx, c, s, inputs)).key);
    }
    lcaParams = (await lcaParamsStep(ctx, c, { train: train[S - 1] }, P)).key;
    for (let s = 0; s < S; s++) {
      lca.push((await lcaStep(ctx, c, s, { data, train: train[s], ...(s > 0 ? { prevTrain: train[s - 1] } : {}), lcaParams })).key);
    }
    keys.first = (await firstTrajectoriesStep(ctx, c, { polca })).key;
    keys.fisher = (await fisherTrajectoriesStep(ctx, c, { fisher })).key;
    keys.lca = (await lcaTrajectoriesStep(ctx, c, { lcaParams, lca })).key;
  });

  /** All checkpoints θ_t, t = 0..T, from the train steps. */
  async function allCheckpoints(): Promise<Float32Array[]> {
    const its = checkpointIterations(c.train);
    const byIt = new Map<number, Float32Array>();
    for (const k of train) for (const [it, th] of await loadCheckpoints(ctx, k)) byIt.set(it, th);
    return its.map((it) => {
      const th = byIt.get(it);
      assert.ok(th, `checkpoint ${it}`);
      return th;
    });
  }

  test('first-order trajectories are the POLCA chunks’ `first` values, [token, T] per vector', async () => {
    const { tensors } = decodeSafetensors(await store.get(keys.first, 'first.safetensors'));
    const m = familySize(c, 'first');
    assert.equal(m, 3);
    assert.deepEqual(
      Object.keys(tensors),
      Array.from({ length: m }, (_, j) => familyTensorName('first', j)),
    );
    for (const v of Object.values(tensors)) assert.deepEqual(v.shape, [n, T]);
    let rows = 0;
    for (const k of polca) {
      const t = await decodeParquet(await store.get(k, 'polca.parquet'), ['interval', 'token', 'vector', 'first']);
      const iv = t.interval as Int32Array;
      for (let r = 0; r < iv.length; r++) {
        const x = (t.token as Int32Array)[r];
        const j = (t.vector as Int32Array)[r];
        assert.equal((tensors[familyTensorName('first', j)].data as Float32Array)[x * T + iv[r]], (t.first as Float32Array)[r]);
        rows++;
      }
    }
    assert.equal(rows, m * n * T, 'every (vector, token, interval) once');
  });

  test('Fisher trajectories: T + 1 points, (first/⟨b, Δ_t⟩)² at the interval starts and (bᵀ∇ℓ)² at the end', async () => {
    assert.deepEqual(
      Array.from({ length: S }, (_, s) => fisherCheckpoints(c, s)).flat(),
      Array.from({ length: T + 1 }, (_, t) => t),
      'the chunks cover every checkpoint once',
    );
    const thetas = await allCheckpoints();
    const B = await loadBasis(ctx, basis);
    assert.equal(B.length, 3);
    const { evalExamples, hessianExamples } = makeSplits(c);
    const model = makeTokenLossModel(modelShape(c), encodeSequences(evalExamples), encodeSequences(hessianExamples.slice(0, 1)));
    const grads = [0, 1, 2, 3, 397].map((x) => ({ x, g: model.tokenGrad(thetas[T], x) }));
    model.dispose();
    for (const [j, b] of B.entries()) {
      const rows = await loadFamilyTrajectories(ctx, 'fisher', keys.fisher, j);
      assert.equal(rows.length, n);
      assert.equal(rows[0].length, T + 1);
      const first = await loadFamilyTrajectories(ctx, 'first', keys.first, j);
      let compared = 0;
      for (let t = 0; t < T; t++) {
        let step = 0;
        for (let i = 0; i < b.length; i++) step += b[i] * (thetas[t + 1][i] - thetas[t][i]);
        if (Math.abs(step) < 1e-3) continue;
        const scale = Math.max(...rows.map((r) => r[t]));
        for (let x = 0; x < n; x++) {
          const ref = (first[x][t] / step) ** 2;
          assert.ok(
            Math.abs(rows[x][t] - ref) <= 1e-4 * scale + 1e-4 * ref,
            `vector ${j}, token ${x}, checkpoint ${t}: ${rows[x][t]} vs ${ref}`,
          );
        }
        compared++;
      }
      assert.ok(compared >= T / 2, `vector ${j}: compared ${compared} checkpoints`);
      for (const { x, g } of grads) {
        let dot = 0;
        for (let i = 0; i < b.length; i++) dot += b[i] * g[i];
        assert.ok(Math.abs(rows[x][T] - dot * dot) <= 1e-4 * dot * dot + 1e-9, `vector ${j}, token ${x} at the final checkpoint`);
      }
    }
  });

  test('lca-params is the P largest |θ| of the final state; LCA values match a float64 Simpson integral', async () => {
    const final = (await loadState(ctx, train[S - 1])).params;
    const sel = await loadLcaParams(ctx, lcaParams);
    const order = Array.from(final.keys()).sort((i, j) => Math.abs(final[j]) - Math.abs(final[i]) || i - j);
    assert.deepEqual(
      sel.map((p) => p.index),
      order.slice(0, P),
    );
    const layout = paramLayout(modelShape(c));
    for (const p of sel) {
      const e = layout.find((l) => p.index >= l.offset && p.index < l.offset + l.size);
      assert.equal(p.name, e?.name);
      assert.equal(p.element, p.index - (e?.offset ?? 0));
      assert.equal(p.value, final[p.index]);
    }
    const copy = await store.get(keys.lca, 'lca-params.parquet');
    assert.equal(sha(copy), sha(await store.get(lcaParams, 'lca-params.parquet')), 'the selection travels with the trajectories');
    const thetas = await allCheckpoints();
    const { evalExamples } = makeSplits(c);
    for (const t of [0, T - 1]) {
      for (const [rank, p] of sel.entries()) {
        const rows = await loadFamilyTrajectories(ctx, 'lca', keys.lca, rank);
        assert.equal(rows[0].length, T);
        const e = oneHot(final.length, p.index);
        const mid = midpoint(thetas[t], thetas[t + 1]);
        const [g0, gm, g1] = [thetas[t], mid, thetas[t + 1]].map(
          (th) => referenceJet(modelShape(c), th, e, encodeSequences(evalExamples)).d1,
        );
        const dl = thetas[t + 1][p.index] - thetas[t][p.index];
        const refs = Array.from({ length: n }, (_, x) => (dl * (g0[x] + 4 * gm[x] + g1[x])) / 6);
        const scale = Math.max(...refs.map(Math.abs));
        for (let x = 0; x < n; x++) {
          assert.ok(
            Math.abs(rows[x][t] - refs[x]) <= 1e-4 * scale + 1e-9,
            `rank ${rank}, interval ${t}, token ${x}: ${rows[x][t]} vs ${refs[x]}`,
          );
        }
      }
    }
  });

  test('the loader: counts and rows of every family; an unknown family is refused', async () => {
    for (const [fam, key, size] of [
      ['first', keys.first, familySize(c, 'first')],
      ['fisher', keys.fisher, familySize(c, 'fisher')],
      ['lca', keys.lca, familySize(c, 'lca', P)],
    ] as const) {
      assert.equal(await countFamilyTrajectories(ctx, fam, key), size, fam);
      const last = await loadFamilyTrajectories(ctx, fam, key, size - 1);
      assert.equal(last.length, n);
      await assert.rejects(loadFamilyTrajectories(ctx, fam, key, size), /there is no/);
    }
    assert.equal(familySize(c, 'lca'), 50, 'the paper’s P by default');
    assert.throws(() => familySize(c, 'loss' as never), /allowed: first, fisher, lca/);
  });

  test('keys: one per family and step, none equal to an existing step’s, the basis not part of LCA’s', async () => {
    const traj = (await trajectoriesStep(ctx, c, { data, train, polca })).key;
    const all = [...polca, traj, ...fisher, ...lca, lcaParams, keys.first, keys.fisher, keys.lca];
    assert.equal(new Set(all).size, all.length);
    assert.ok(keys.first.startsWith('trajectories-first-'));
    assert.ok(keys.fisher.startsWith('trajectories-fisher-'));
    assert.ok(keys.lca.startsWith('trajectories-lca-'));
    assert.ok(fisher.every((k) => k.startsWith('fisher-')) && lca.every((k) => k.startsWith('lca-')));
    const other = (await lcaParamsStep(ctx, c, { train: train[S - 1] }, P + 1)).key;
    assert.notEqual(other, lcaParams, 'P is part of the selection key');
    // A second call finds every step in the store.
    assert.ok((await fisherStep(ctx, c, 0, { data, basis, train: train[0] })).cached);
    assert.ok((await lcaStep(ctx, c, 0, { data, train: train[0], lcaParams })).cached);
    await assert.rejects(lcaParamsStep(ctx, c, { train: train[S - 1] }, 0), /lcaParams: must be a positive integer/);
  });

  test('the compute thread knows the new steps by name: a stored step is found through it', async () => {
    const args: Record<string, unknown[]> = {
      trajectoriesFirst: [c, { polca }],
      fisher: [c, 0, { data, basis, train: train[0] }],
      trajectoriesFisher: [c, { fisher }],
      lcaParams: [c, { train: train[S - 1] }, P],
      lca: [c, 0, { data, train: train[0], lcaParams }],
      trajectoriesLca: [c, { lcaParams, lca }],
    };
    const expected: Record<string, string> = {
      trajectoriesFirst: keys.first,
      fisher: fisher[0],
      trajectoriesFisher: keys.fisher,
      lcaParams,
      lca: lca[0],
      trajectoriesLca: keys.lca,
    };
    for (const [step, a] of Object.entries(args)) {
      const reply = await runTask({ step, args: a, store: { kind: 'local', dir: storeDir }, owner: 'families-test' });
      assert.ok(reply.ok && 'result' in reply, `${step}: ${JSON.stringify(reply)}`);
      assert.equal(reply.result.key, expected[step], step);
      assert.ok(reply.result.cached, step);
    }
  });

  test('determinism and resume: recomputed or interrupted steps end with the same bytes', async () => {
    const cases: [string, (h?: (p: Progress) => void) => Promise<{ key: string; meta?: Record<string, unknown> }>][] = [
      ['fisher/1', (h) => fisherStep(context(store, h), c, 1, { data, basis, train: train[1], prevTrain: train[0] })],
      ['lca/1', (h) => lcaStep(context(store, h), c, 1, { data, train: train[1], prevTrain: train[0], lcaParams })],
      ['fisher/2', (h) => fisherStep(context(store, h), c, 2, { data, basis, train: train[2], prevTrain: train[1] })],
      ['trajectories/lca', () => lcaTrajectoriesStep(ctx, c, { lcaParams, lca })],
      ['trajectories/fisher', () => fisherTrajectoriesStep(ctx, c, { fisher })],
      ['trajectories/first', () => firstTrajectoriesStep(ctx, c, { polca })],
    ];
    for (const [name, run] of cases) {
      const { key } = await run();
      const before = await fileHashes(store, key);
      await store.delete(key);
      if (name.includes('/1') || name.includes('/2')) {
        await assert.rejects(
          run((p) => {
            if (p.done >= 2) throw new Interrupted(`${name} stopped`);
          }),
          Interrupted,
        );
        const again = await run();
        assert.equal(again.meta?.replayed, 2, `${name}: the two finished results were replayed`);
      } else await run();
      assert.equal(await fileHashes(store, key), before, `${name}: the same bytes`);
    }
  });
});
