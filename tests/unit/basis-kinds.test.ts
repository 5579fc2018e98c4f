/**
 * The basis kinds beside Algorithm 1, each against an independent computation: the shuffled
 * order (a seeded non-identity permutation), the random basis (orthonormal, seeded, Gaussian),
 * the principal directions (against a dense float64 eigendecomposition of XᵀX for the whole
 * trajectory), the preconditioned problem (against the generalised eigenproblem H x = μ D⁻¹ x on
 * the orthogonal complement of the basis, solved densely by a null-space basis and a Cholesky
 * factor), and the basis step of the random kind (bytes equal for equal seeds, different otherwise).
 * Also: Algorithm 1's key is unchanged by the new field.
 */
import { STEP_VERSIONS } from '../../activities/steps/registry.ts';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { basisSpec, basisStep } from '../../activities/steps/basis.ts';
import { ArtifactStore, decodeParquet, decodeSafetensors, LocalBackend, stepKey } from '../../artifacts/index.ts';
import { resolveConfig } from '../../config/index.ts';
import { orthonormalityError } from '../../core/basis/basis.ts';
import { shuffledOrder } from '../../core/basis/basis-order.ts';
import { dot, symmetricEigen } from '../../core/linalg.ts';
import { foldSketch, sketchBasis, trajectoryRows } from '../../core/basis/pca-basis.ts';
import { adamStabilityLimit, extendPreconditioned, preconditionerSqrt } from '../../core/basis/preconditioned-basis.ts';
import { randomBlock } from '../../core/basis/random-basis.ts';
import { uniform } from '../../core/rng.ts';
import { basisTrainSegment } from '../../pipeline/plan.ts';

const matvec = (A: Float64Array, n: number) => (v: ArrayLike<number>) => {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i] += A[i * n + j] * v[j];
  return out;
};
const column = (vectors: Float64Array, n: number, c: number) => Float64Array.from({ length: n }, (_, i) => vectors[i * n + c]);
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.abs(dot(a, b)) / Math.sqrt(dot(a, a) * dot(b, b));

describe('shuffled checkpoint order', () => {
  test('a permutation, never the identity, the same for the same seed, another for another seed', () => {
    for (const S of [2, 3, 10, 20]) {
      for (let seed = 0; seed < 20; seed++) {
        const p = shuffledOrder(S, seed);
        assert.deepEqual(
          [...p].sort((a, b) => a - b),
          Array.from({ length: S }, (_, i) => i),
          `S=${S} seed=${seed}: ${p}`,
        );
        assert.ok(
          p.some((v, i) => v !== i),
          `S=${S} seed=${seed}: not the identity`,
        );
        assert.deepEqual(shuffledOrder(S, seed), p);
      }
    }
    assert.deepEqual(shuffledOrder(1, 0), [0]);
    assert.notDeepEqual(shuffledOrder(10, 0), shuffledOrder(10, 1));
    // Uniform over the 5 non-identity permutations of 3: every one appears over 600 seeds, none far off 120.
    const counts = new Map<string, number>();
    for (let seed = 0; seed < 600; seed++) counts.set(shuffledOrder(3, seed).join(), (counts.get(shuffledOrder(3, seed).join()) ?? 0) + 1);
    assert.equal(counts.size, 5, [...counts.keys()].join(' '));
    for (const [p, n] of counts) assert.ok(n > 80 && n < 160, `${p}: ${n} of 600`);
  });

  test('extension s reads training segment π(s); the random basis reads none, the others their own', () => {
    const c = resolveConfig({ config: { preset: 'small', basis: { kind: 'shuffled' } } });
    const p = shuffledOrder(10, c.seed);
    assert.deepEqual(
      Array.from({ length: 10 }, (_, s) => basisTrainSegment(c, s)),
      p,
    );
    const random = resolveConfig({ config: { preset: 'small', basis: { kind: 'random' } } });
    assert.equal(basisTrainSegment(random, 3), undefined);
    for (const kind of ['hessian', 'pca-update', 'preconditioned'] as const)
      assert.equal(basisTrainSegment(resolveConfig({ config: { preset: 'small', basis: { kind } } }), 3), 3);
  });
});

describe('random orthonormal basis', () => {
  test('orthonormal to rounding, orthogonal to the vectors before it, Gaussian entries, seeded', () => {
    const d = 20_000;
    const first = randomBlock(d, [], 3, 0);
    const next = randomBlock(d, first, 2, 0);
    const all = [...first, ...next];
    assert.ok(orthonormalityError(all) < 1e-12, `max |BBᵀ − I| ${orthonormalityError(all)}`);
    // Blocks seeded alike give the same vectors as one block: vector j depends on j, not on the split.
    const once = randomBlock(d, [], 5, 0);
    for (let j = 0; j < 5; j++) assert.ok(cosine(once[j], all[j]) > 1 - 1e-12, `vector ${j}`);
    assert.deepEqual(randomBlock(d, [], 3, 0), first, 'same seed, same bits');
    const other = randomBlock(d, [], 3, 1);
    assert.ok(Math.abs(dot(other[0], first[0])) < 0.05, 'another seed, another (nearly orthogonal) direction');
    // √d·v has mean 0, variance 1, kurtosis 3, as a normal vector's direction does for large d.
    const x = Array.from(first[0], (v) => v * Math.sqrt(d));
    const mean = x.reduce((a, b) => a + b, 0) / d;
    const m2 = x.reduce((a, b) => a + (b - mean) ** 2, 0) / d;
    const m4 = x.reduce((a, b) => a + (b - mean) ** 4, 0) / d;
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(m2 - 1) < 0.03, `variance ${m2}`);
    assert.ok(Math.abs(m4 / m2 ** 2 - 3) < 0.15, `kurtosis ${m4 / m2 ** 2}`);
  });

  test('more vectors than dimensions is refused', () => {
    assert.throws(() => randomBlock(4, randomBlock(4, [], 3, 0), 2, 0), /5 orthonormal vectors asked in dimension 4/);
  });
});

/** A trajectory with a few dominant directions of distinct size, plus noise: checkpoints θ_0 … θ_T. */
function trajectory(d: number, T: number, seed: number): Float64Array[] {
  const dirs = Array.from({ length: 5 }, (_, k) => Float64Array.from({ length: d }, (_, i) => uniform(seed, 10 + k, i) - 0.5));
  const out: Float64Array[] = [];
  for (let t = 0; t <= T; t++) {
    const theta = Float64Array.from({ length: d }, (_, i) => uniform(seed, 1, i) + 0.01 * (uniform(seed, 2, t * d + i) - 0.5));
    dirs.forEach((dir, k) => {
      const a = (5 - k) * Math.sin(0.3 * t * (k + 1)) + (k === 0 ? 0.5 * t : 0);
      for (let i = 0; i < d; i++) theta[i] += a * dir[i];
    });
    out.push(theta);
  }
  return out;
}

/** Dense reference: eigenpairs of XᵀX (d × d) for the rows of X, i.e. X's right singular vectors and σ². */
function denseSvd(X: Float64Array[], d: number) {
  const XtX = new Float64Array(d * d);
  for (const x of X) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) XtX[i * d + j] += x[i] * x[j];
  return symmetricEigen(XtX, d);
}

describe('principal directions of the trajectory', () => {
  const d = 40;
  const T = 30;
  const cps = trajectory(d, T, 3);
  // segments of 10 checkpoint intervals: segment 0 holds θ_0 … θ_10, segment s θ_{10s+1} … θ_{10s+10}
  const segments = [cps.slice(0, 11), cps.slice(11, 21), cps.slice(21, 31)];

  for (const kind of ['pca-displacement', 'pca-update'] as const) {
    test(`${kind}: folded over three segments, the top directions and σ² of a dense SVD of the whole trajectory`, () => {
      let sketch: ArrayLike<number>[] = [];
      let last: Float64Array | undefined;
      let dropped = 0;
      for (const seg of segments) {
        const fold = foldSketch(sketch, trajectoryRows(kind, seg, cps[0], last), 1000);
        sketch = fold.rows;
        dropped += fold.dropped;
        last = seg[seg.length - 1];
      }
      assert.equal(dropped, 0);
      // the reference rows, written out directly
      const X = cps
        .slice(1)
        .map((theta, t) => Float64Array.from(theta, (v, i) => v - (kind === 'pca-displacement' ? cps[0][i] : cps[t][i])));
      assert.equal(sketch.length, Math.min(T, d), 'every nonzero component kept');
      const ref = denseSvd(X, d);
      const m = 4;
      const B = sketchBasis(sketch, m);
      assert.ok(orthonormalityError(B) < 1e-12);
      for (let j = 0; j < m; j++) {
        const s2 = dot(sketch[j], sketch[j]);
        assert.ok(Math.abs(s2 - ref.values[j]) < 1e-9 * ref.values[0], `σ²_${j}: ${s2} vs ${ref.values[j]}`);
        assert.ok(cosine(B[j], column(ref.vectors, d, j)) > 1 - 1e-9, `direction ${j}: |cos| ${cosine(B[j], column(ref.vectors, d, j))}`);
      }
      // the sketch holds the whole squared movement: Σσ² = Σ‖x‖²
      const moved = X.reduce((a, x) => a + dot(x, x), 0);
      const held = sketch.reduce((a, w) => a + dot(w, w), 0);
      assert.ok(Math.abs(held - moved) < 1e-10 * moved, `${held} vs ${moved}`);
    });
  }

  test('truncation to fewer components than the rank reports exactly the squared norm it drops', () => {
    const X = trajectoryRows('pca-displacement', cps, cps[0], undefined);
    const ref = denseSvd(X, d);
    const keep = 6;
    const fold = foldSketch([], X, keep);
    assert.equal(fold.rows.length, keep);
    let tail = 0;
    for (let j = keep; j < d; j++) tail += Math.max(ref.values[j], 0);
    assert.ok(Math.abs(fold.dropped - tail) < 1e-9 * ref.values[0], `${fold.dropped} vs ${tail}`);
  });

  test('fewer nonzero directions than basis vectors is refused', () => {
    assert.throws(
      () => sketchBasis(foldSketch([], [Float64Array.of(1, 0, 0)], 10).rows, 2),
      /1 nonzero directions, fewer than the 2 asked/,
    );
  });
});

/** Cholesky factor L (lower, row-major) of an SPD n × n matrix. */
function cholesky(A: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i === j ? Math.sqrt(s) : s / L[j * n + j];
    }
  return L;
}

/**
 * The top eigenpair of H x = μ·M x on {x : Bᵀx = 0}, densely: Z an orthonormal basis of B's
 * complement, then (L⁻¹ ZᵀHZ L⁻ᵀ) y = μ y with ZᵀMZ = LLᵀ and x = Z L⁻ᵀ y.
 */
function constrainedGeneralisedTop(H: Float64Array, Mdiag: Float64Array, B: ArrayLike<number>[], d: number) {
  const Z: Float64Array[] = [];
  const all: Float64Array[] = B.map((b) => Float64Array.from(b));
  for (let e = 0; e < d && Z.length < d - B.length; e++) {
    const v = new Float64Array(d);
    v[e] = 1;
    for (let pass = 0; pass < 2; pass++)
      for (const q of all) {
        const c = dot(v, q);
        for (let i = 0; i < d; i++) v[i] -= c * q[i];
      }
    const n = Math.sqrt(dot(v, v));
    if (n < 1e-8) continue;
    for (let i = 0; i < d; i++) v[i] /= n;
    all.push(v);
    Z.push(v);
  }
  const r = Z.length;
  const Hz = new Float64Array(r * r);
  const Mz = new Float64Array(r * r);
  const mv = matvec(H, d);
  for (let a = 0; a < r; a++) {
    const hz = mv(Z[a]);
    for (let b = 0; b < r; b++) {
      Hz[b * r + a] = dot(Z[b], hz);
      let m = 0;
      for (let i = 0; i < d; i++) m += Z[a][i] * Mdiag[i] * Z[b][i];
      Mz[a * r + b] = m;
    }
  }
  const L = cholesky(Mz, r);
  // Linv: forward substitution on the identity
  const Linv = new Float64Array(r * r);
  for (let c = 0; c < r; c++)
    for (let i = 0; i < r; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= L[i * r + k] * Linv[k * r + c];
      Linv[i * r + c] = s / L[i * r + i];
    }
  const A = new Float64Array(r * r);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < r; j++) {
      let s = 0;
      for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) s += Linv[i * r + a] * Hz[a * r + b] * Linv[j * r + b];
      A[i * r + j] = s;
    }
  const e = symmetricEigen(A, r);
  const y = column(e.vectors, r, 0);
  const w = new Float64Array(r); // L⁻ᵀ y
  for (let a = 0; a < r; a++) for (let i = 0; i < r; i++) w[a] += Linv[i * r + a] * y[i];
  const x = new Float64Array(d);
  for (let a = 0; a < r; a++) for (let i = 0; i < d; i++) x[i] += w[a] * Z[a][i];
  return { mu: e.values[0], x };
}

describe("Adam's preconditioned Hessian", () => {
  const d = 14;
  // An explicit symmetric indefinite H, and a second moment spread over four orders of magnitude.
  const H = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j <= i; j++) {
      const h = uniform(7, 1, i * d + j) - 0.5 + (i === j ? 2 * Math.sin(i) : 0);
      H[i * d + j] = h;
      H[j * d + i] = h;
    }
  const v = Float32Array.from({ length: d }, (_, i) => 10 ** (-8 + 4 * uniform(7, 2, i)));
  const train = { beta2: 0.98, eps: 1e-8 };
  const step = 40;
  // D⁻¹ = √v̂ + ε, written out from the AdamW update
  const Dinv = Float64Array.from(v, (x) => Math.sqrt(x / (1 - 0.98 ** 40)) + 1e-8);
  const model = { hvp: (_: Float32Array, x: ArrayLike<number>) => matvec(H, d)(x) };
  const theta = new Float32Array(d);
  const cfg = { k: 1, maxIter: d, tol: 1e-10 };

  test('the preconditioner is 1/√(√v̂ + ε), v̂ bias-corrected', () => {
    const s = preconditionerSqrt(v, step, train);
    for (let i = 0; i < d; i++) assert.ok(Math.abs(s[i] * s[i] * Dinv[i] - 1) < 1e-12, `entry ${i}`);
    assert.throws(() => preconditionerSqrt(v, 0, train), /no update/);
  });

  test('extensions match the generalised problem H x = μ D⁻¹ x on the complement of the basis so far, densely', () => {
    const sqrtD = preconditionerSqrt(v, step, train);
    // The first: the top eigenpair of D^{1/2} H D^{1/2}, mapped back by D^{1/2}.
    const A = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) A[i * d + j] = H[i * d + j] / Math.sqrt(Dinv[i] * Dinv[j]);
    const dense = symmetricEigen(A, d);
    const B: Float64Array[] = [];
    for (let ext = 0; ext < 4; ext++) {
      const r = extendPreconditioned(model, theta, sqrtD, B, cfg, 0);
      const ref = constrainedGeneralisedTop(H, Dinv, B, d);
      if (ext === 0) {
        assert.ok(Math.abs(ref.mu - dense.values[0]) < 1e-10 * Math.abs(dense.values[0]), 'the two dense references agree');
        const u = column(dense.vectors, d, 0);
        assert.ok(
          cosine(
            r.vectors[0],
            Float64Array.from(u, (x, i) => x * sqrtD[i]),
          ) >
            1 - 1e-10,
        );
      }
      assert.ok(Math.abs(r.eigenvalues[0] - ref.mu) < 1e-9 * Math.abs(ref.mu), `extension ${ext}: μ ${r.eigenvalues[0]} vs ${ref.mu}`);
      assert.ok(cosine(r.vectors[0], ref.x) > 1 - 1e-9, `extension ${ext}: |cos| ${cosine(r.vectors[0], ref.x)}`);
      assert.ok(r.converged[0]);
      B.push(r.vectors[0]);
    }
    assert.ok(orthonormalityError(B) < 1e-12, `max |BBᵀ − I| ${orthonormalityError(B)}`);
  });

  test('k = 2 at once: the first direction exact, both orthonormal and orthogonal to the basis so far', () => {
    const sqrtD = preconditionerSqrt(v, step, train);
    const first = extendPreconditioned(model, theta, sqrtD, [], cfg, 0);
    const two = extendPreconditioned(model, theta, sqrtD, first.vectors, { ...cfg, k: 2 }, 0);
    const ref = constrainedGeneralisedTop(H, Dinv, first.vectors, d);
    assert.ok(cosine(two.vectors[0], ref.x) > 1 - 1e-9);
    assert.ok(orthonormalityError([...first.vectors, ...two.vectors]) < 1e-12);
    assert.ok(two.eigenvalues[0] >= two.eigenvalues[1]);
  });

  test("Adam's stability limit (2 + 2β₁)/((1 − β₁)·lr)", () => {
    assert.ok(Math.abs(adamStabilityLimit(0.9, 1e-3) - 38_000) < 1e-9);
    assert.ok(Math.abs(adamStabilityLimit(0, 0.5) - 4) < 1e-12);
  });
});

describe('the basis step', () => {
  test("Algorithm 1's key: the same with basis.kind absent or `hessian`, as before the field existed", () => {
    const inputs = { data: 'data-0', train: 'train-0', prev: 'basis-0' };
    const plain = resolveConfig({ config: { preset: 'tiny' } });
    assert.ok(!('kind' in plain.basis), 'a config that does not set the kind resolves without it');
    const explicit = resolveConfig({ config: { preset: 'tiny' }, sets: ['basis.kind=hessian'] });
    assert.deepEqual(explicit, plain, 'basis.kind=hessian is the default, spelled out: the same config');
    // the spec of the step as it was written before other kinds existed (at the current version:
    // the version moves when Algorithm 1's numbers change, never because another kind exists)
    const before = {
      step: 'basis',
      version: STEP_VERSIONS.basis,
      params: { seed: 0, data: plain.data, model: plain.model, basis: plain.basis, segment: 1, iteration: 80 },
      inputs,
    };
    assert.equal(stepKey(basisSpec(plain, 1, inputs)), stepKey(before));
    assert.equal(stepKey(basisSpec(explicit, 1, inputs)), stepKey(before));
    const other = resolveConfig({ config: { preset: 'tiny' }, sets: ['basis.kind=shuffled'] });
    assert.notEqual(stepKey(basisSpec(other, 1, inputs)), stepKey(before));
  });

  test('keys of the random and principal-direction kinds do not depend on Hessian settings they do not read', () => {
    for (const kind of ['random', 'pca-update'] as const) {
      const a = resolveConfig({ config: { preset: 'tiny', basis: { kind } } });
      const b = resolveConfig({ config: { preset: 'tiny', basis: { kind, maxIter: 7, tol: 1e-2 }, data: { hessianSize: 10 } } });
      const inputs = { data: 'data-0', train: 'train-0' };
      assert.equal(stepKey(basisSpec(a, 0, inputs)), stepKey(basisSpec(b, 0, inputs)), kind);
      const k2 = resolveConfig({ config: { preset: 'tiny', basis: { kind, k: 2 } } });
      assert.notEqual(stepKey(basisSpec(a, 0, inputs)), stepKey(basisSpec(k2, 0, inputs)), kind);
    }
  });

  test('the random basis: orthonormal stored rows, the same bytes for the same seed, others for another seed', async () => {
    const run = async (seed: number) => {
      const store = new ArtifactStore(new LocalBackend(mkdtempSync(join(tmpdir(), 'polca-basis-random-'))));
      const c = resolveConfig({ config: { preset: 'tiny', seed, basis: { kind: 'random' }, runtime: { backend: 'wasm' } } });
      const ctx = { store, heartbeat: () => undefined, owner: 'basis-kinds-test' };
      let prev: string | undefined;
      for (let s = 0; s < 3; s++) prev = (await basisStep(ctx, c, s, { data: 'data-unused', ...(prev ? { prev } : {}) })).key;
      const basis = await store.get(prev as string, 'basis.safetensors');
      const table = await decodeParquet(await store.get(prev as string, 'basis.parquet'));
      return { key: prev as string, basis, table };
    };
    const a = await run(0);
    const again = await run(0);
    const other = await run(1);
    assert.equal(again.key, a.key);
    assert.ok(Buffer.from(again.basis).equals(Buffer.from(a.basis)), 'same seed, same bytes');
    assert.notEqual(other.key, a.key);
    assert.ok(!Buffer.from(other.basis).equals(Buffer.from(a.basis)), 'another seed, other bytes');
    const { tensors } = decodeSafetensors(a.basis);
    const [m, d] = tensors.B.shape;
    assert.equal(m, 3);
    const rows = Array.from({ length: m }, (_, j) => (tensors.B.data as Float32Array).subarray(j * d, (j + 1) * d));
    assert.ok(orthonormalityError(rows) < 1e-6, `max |BBᵀ − I| ${orthonormalityError(rows)}`);
    assert.deepEqual(Array.from(a.table.vector as Int32Array), [0, 1, 2]);
    assert.deepEqual(Array.from(a.table.iteration as Int32Array), [40, 80, 120]);
    assert.ok(Array.from(a.table.eigenvalue as Float64Array).every(Number.isNaN), 'no eigenvalue for a random direction');
  });
});
