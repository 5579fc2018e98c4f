/**
 * Every basis kind through the experiment's DAG, in process (activities/local.ts), on `tiny`:
 * the random, shuffled, principal-direction and preconditioned bases reach POLCA, trajectories,
 * clustering and the report unchanged; the training segments are shared with Algorithm 1's run
 * (cached); each basis step reads the training segment the kind asks for (none, π(s), s); the
 * final principal directions are those of the whole trajectory, checked by power iteration on
 * the stored checkpoints.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runLocal } from '../../activities/local.ts';
import { loadCheckpoints, loadState } from '../../activities/steps/io.ts';
import { ArtifactStore, decodeParquet, decodeSafetensors, LocalBackend } from '../../artifacts/index.ts';
import { resolveConfig } from '../../config/index.ts';
import type { BasisKind } from '../../config/schema.ts';
import { extendBasis, orthonormalityError } from '../../core/basis/basis.ts';
import { shuffledOrder } from '../../core/basis/basis-order.ts';
import { modelShape } from '../../core/data.ts';
import { encodeSequences, makeSplits } from '../../core/tasks/arithmetic/task.ts';
import { dot } from '../../core/linalg.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';
import type { ExperimentResult } from '../../pipeline/dag.ts';

const store = new ArtifactStore(new LocalBackend(mkdtempSync(join(tmpdir(), 'polca-basis-kinds-'))));
const config = (kind?: BasisKind) =>
  resolveConfig({ preset: 'tiny', config: { runtime: { backend: 'wasm' } }, sets: kind ? [`basis.kind=${kind}`] : [] });
const key = (r: ExperimentResult, name: string) => {
  const s = r.steps.find((x) => x.name === name);
  assert.ok(s, `step ${name}`);
  return s.key;
};

async function finalBasis(r: ExperimentResult) {
  const k = key(r, 'basis/2');
  const { tensors } = decodeSafetensors(await store.get(k, 'basis.safetensors'));
  const [m, d] = tensors.B.shape;
  const rows = Array.from({ length: m }, (_, j) => (tensors.B.data as Float32Array).subarray(j * d, (j + 1) * d));
  return { rows, table: await decodeParquet(await store.get(k, 'basis.parquet')) };
}

describe('basis kinds through the DAG', { concurrency: false }, () => {
  let hessian: ExperimentResult;
  before(async () => {
    hessian = await runLocal(config(), store, 'basis-kinds-hessian');
  });

  /** A run of `kind`: the whole DAG, training from Algorithm 1's run, an orthonormal basis of 3. */
  async function run(kind: BasisKind) {
    const t0 = Date.now();
    const r = await runLocal(config(kind), store, `basis-kinds-${kind}`);
    console.log(`tiny with basis.kind=${kind}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (let s = 0; s < 3; s++) {
      assert.equal(key(r, `train/${s}`), key(hessian, `train/${s}`), `train/${s} shared`);
      assert.ok(r.steps.find((x) => x.name === `train/${s}`)?.cached, `train/${s} cached`);
      assert.notEqual(key(r, `basis/${s}`), key(hessian, `basis/${s}`));
    }
    for (const n of ['polca/0', 'polca/2', 'trajectories', 'cluster/polca/0', 'cluster/polca/2', 'report'])
      assert.ok(
        r.steps.some((x) => x.name === n && !x.cached),
        `${n} computed`,
      );
    const b = await finalBasis(r);
    assert.equal(b.rows.length, 3);
    assert.ok(orthonormalityError(b.rows) < 1e-5, `max |BBᵀ − I| ${orthonormalityError(b.rows)}`);
    assert.ok(Number(r.metrics.polcaMaxAbsError) >= 0, 'POLCA ran on the basis');
    return { r, b };
  }

  test('random: no training input, POLCA and clustering on it', { timeout: 600_000 }, async () => {
    const { r, b } = await run('random');
    for (let s = 0; s < 3; s++) assert.equal((await store.manifest(key(r, `basis/${s}`)))?.inputs.train, undefined);
    assert.ok(Array.from(b.table.eigenvalue as Float64Array).every(Number.isNaN));
  });

  test('pca-displacement: the top directions of θ_t − θ_0 over every checkpoint of the run', { timeout: 600_000 }, async () => {
    const { r, b } = await run('pca-displacement');
    const cps = new Map<number, Float32Array>();
    for (let s = 0; s < 3; s++) {
      assert.equal((await store.manifest(key(r, `basis/${s}`)))?.inputs.train, key(r, `train/${s}`));
      for (const [it, p] of await loadCheckpoints({ store, heartbeat: () => undefined, owner: 'test' }, key(r, `train/${s}`)))
        cps.set(it, p);
    }
    const origin = cps.get(0) as Float32Array;
    const X = [...cps.entries()].filter(([it]) => it > 0).map(([, p]) => Float64Array.from(p, (x, i) => x - origin[i]));
    // the top direction by power iteration on XᵀX, from the stored checkpoints alone
    const d = origin.length;
    let v = Float64Array.from({ length: d }, (_, i) => Math.sin(i + 1));
    for (let it = 0; it < 300; it++) {
      const w = new Float64Array(d);
      for (const x of X) {
        const c = dot(x, v);
        for (let i = 0; i < d; i++) w[i] += c * x[i];
      }
      const n = Math.sqrt(dot(w, w));
      v = w.map((x) => x / n);
    }
    const cos = Math.abs(dot(v, b.rows[0]));
    assert.ok(cos > 1 - 1e-5, `top direction: |cos| ${cos}`);
    const moved = X.reduce((a, x) => a + dot(x, x), 0);
    const along = X.reduce((a, x) => a + dot(x, b.rows[0]) ** 2, 0);
    const explained = (b.table.explained as Float64Array)[0];
    assert.ok(Math.abs(explained - along / moved) < 1e-5, `explained ${explained} vs ${along / moved}`);
  });

  test('shuffled: extension s at the end of training segment π(s), with its eigenvalue', { timeout: 600_000 }, async () => {
    const { r, b } = await run('shuffled');
    const order = shuffledOrder(3, 0);
    for (let s = 0; s < 3; s++) assert.equal((await store.manifest(key(r, `basis/${s}`)))?.inputs.train, key(r, `train/${order[s]}`));
    assert.deepEqual(
      Array.from(b.table.iteration as Int32Array),
      order.map((p) => (p + 1) * 40),
    );
    assert.ok(Array.from(b.table.eigenvalue as Float64Array).every(Number.isFinite));
    // extension 0 is Algorithm 1's first extension at θ of segment π(0), bit for bit
    const c = config('shuffled');
    const state = await loadState({ store, heartbeat: () => undefined, owner: 'test' }, key(r, `train/${order[0]}`));
    const { evalExamples, hessianExamples } = makeSplits(c);
    const model = makeTokenLossModel(modelShape(c), encodeSequences(evalExamples.slice(0, 1)), encodeSequences(hessianExamples));
    const ext = extendBasis(model, state.params, [], c.basis, c.seed);
    model.dispose();
    assert.ok(Buffer.from(Float32Array.from(ext.vectors[0]).buffer).equals(Buffer.from(Float32Array.from(b.rows[0]).buffer)));
    assert.equal((b.table.eigenvalue as Float64Array)[0], ext.eigenvalues[0]);
  });

  test('preconditioned: the preconditioned eigenvalue and its stability limit recorded', { timeout: 600_000 }, async () => {
    const { b } = await run('preconditioned');
    const limit = Array.from(b.table.stability_limit as Float64Array);
    // tiny: β₁ 0.9, lr 3e-3 after warm-up: (2 + 1.8) / (0.1 · 3e-3)
    for (const x of limit) assert.ok(Math.abs(x - 3.8 / 3e-4) < 1e-6 * x, `limit ${x}`);
    assert.ok(Array.from(b.table.eigenvalue as Float64Array).every((x) => Number.isFinite(x) && x > 0));
  });
});
