/**
 * Ablating directions during training (core/train/ablate.ts) and its reading (core/train/ablation-reading.ts):
 * the projected run never moves along A (to one float32 rounding, at every checkpoint of a segment);
 * one projected step is θ + (I − AAᵀ)Δθ of an independent float64 AdamW, with the moments of the
 * full gradient; with A empty the run is the unablated one bit for bit; on a toy quadratic where
 * removing a direction freezes one group of points and leaves the other untouched, the reading
 * gives exactly that effect; the reading's numbers against a direct computation; the random
 * directions; the config's validation, naming the field and what is allowed; the report's view of
 * a reading; and the ablate step resumed after an interruption, bit for bit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Progress, StepContext } from '../../activities/steps/context.ts';
import { ablateSpec, ablateStep } from '../../activities/steps/ablate.ts';
import { dataStep } from '../../activities/steps/data.ts';
import { ArtifactStore, decodeParquet, decodeSafetensors, LocalBackend, stepKey } from '../../artifacts/index.ts';
import { storeDigest } from '../../bench/experiment.ts';
import { ConfigError, resolveConfig } from '../../config/index.ts';
import {
  ablation,
  anchorOf,
  F32_ROUNDING,
  offsetAlong,
  orthonormalise,
  projectOff,
  randomDirections,
  roundingBound,
} from '../../core/train/ablate.ts';
import { readAblation, summariseAblation, type TokenGroup } from '../../core/train/ablation-reading.ts';
import { initBackend } from '../../core/model/backend.ts';
import { modelShape } from '../../core/data.ts';
import { decayMask, numParams } from '../../core/model/model.ts';
import { randomBlock } from '../../core/basis/random-basis.ts';
import { adamwStep, cloneState, initTrainState, type TrainState, trainSegment } from '../../core/train/train.ts';
import { ablationFigures, ablationHtml, ablationMetrics } from '../../report/ablation.ts';
import { ablationSummaryLine } from '../../report/ablation-line.ts';
import { renderSvg } from '../../report/render.ts';
import { sweepHtml } from '../../report/sweep.ts';

before(async () => {
  await initBackend();
});

const config = resolveConfig({ preset: 'tiny' });
const same = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('the projected run', () => {
  let at20: TrainState;
  let control: Awaited<ReturnType<typeof trainSegment>>;
  before(async () => {
    at20 = (await trainSegment(config, initTrainState(config), 20)).state;
    control = await trainSegment(config, at20, 60);
  });

  test('never moves along A: a_jᵀ(θ_t − θ_from) within one float32 rounding of θ_t at every checkpoint of a segment', async () => {
    const d = at20.params.length;
    // The direction the unablated run moves along most over the segment, and two random ones.
    const disp = Float64Array.from(control.state.params, (p, i) => p - at20.params[i]);
    const A = orthonormalise([disp, ...randomDirections(d, 2, 5)]);
    const abl = ablation(A, 20);
    const r = await trainSegment(config, at20, 60, { update: abl.update });
    const anchor = abl.anchor();
    assert.ok(anchor);
    assert.deepEqual([...anchor], [...anchorOf(A, at20.params)]);
    assert.equal(r.checkpoints.length, 4);
    let worst = 0;
    for (const cp of r.checkpoints) {
      const off = offsetAlong(A, cp.params, anchor);
      const bound = roundingBound(A, cp.params);
      for (let j = 0; j < A.length; j++) {
        worst = Math.max(worst, Math.abs(off[j]) / bound[j]);
        assert.ok(Math.abs(off[j]) <= bound[j] * (1 + 1e-6) + 1e-13, `iteration ${cp.iteration}, direction ${j}: ${off[j]} > ${bound[j]}`);
      }
    }
    // The control does move along the first direction, by orders of magnitude more than the bound.
    const moved = offsetAlong(A, control.state.params, anchor)[0];
    assert.ok(Math.abs(moved) > 1e4 * roundingBound(A, control.state.params)[0], `the control moved ${moved} along A`);
    assert.ok(worst <= 1 + 1e-6, `worst offset ${worst} of the rounding bound`);
    // and the ablated run still trains (it moves, and orthogonally to A)
    assert.ok(!same(r.state.params, at20.params));
  });

  test('one projected step is θ + (I − AAᵀ)Δθ of an independent float64 AdamW; the moments see the full gradient', () => {
    const d = 200;
    const train = { ...config.train, lr: 0.01, warmup: 0, weightDecay: 0.1, gradClip: 0.5, schedule: 'constant' as const };
    const mask = Float32Array.from({ length: d }, (_, i) => (i % 4 === 0 ? 0 : 1));
    const state: TrainState = {
      step: 7,
      params: Float32Array.from({ length: d }, (_, i) => Math.sin(i + 1)),
      m: Float32Array.from({ length: d }, (_, i) => 0.01 * Math.cos(i)),
      v: Float32Array.from({ length: d }, (_, i) => 1e-4 * (1 + Math.sin(3 * i) ** 2)),
    };
    const g = Float32Array.from({ length: d }, (_, i) => Math.cos(0.7 * i) * 0.3);
    const A = randomDirections(d, 3, 11);
    // independent: AdamW in float64 (as tests/unit/train.test.ts writes it), then the projection of its step
    const t = state.step + 1;
    const sc = Math.min(1, 0.5 / Math.hypot(...g));
    const next = new Float64Array(d);
    const m = new Float64Array(d);
    const v = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      const gi = g[i] * sc;
      m[i] = train.beta1 * state.m[i] + (1 - train.beta1) * gi;
      v[i] = train.beta2 * state.v[i] + (1 - train.beta2) * gi * gi;
      const mh = m[i] / (1 - train.beta1 ** t);
      const vh = v[i] / (1 - train.beta2 ** t);
      next[i] = state.params[i] - 0.01 * 0.1 * mask[i] * state.params[i] - (0.01 * mh) / (Math.sqrt(vh) + train.eps);
    }
    const delta = Float64Array.from(next, (x, i) => x - state.params[i]);
    const expected = Float64Array.from(state.params);
    for (let i = 0; i < d; i++) expected[i] += delta[i];
    for (const a of A) {
      let c = 0;
      for (let i = 0; i < d; i++) c += a[i] * delta[i];
      for (let i = 0; i < d; i++) expected[i] -= c * a[i];
    }
    const plain = cloneState(state);
    adamwStep(train, plain, g, mask, 0.01);
    const projected = cloneState(state);
    ablation(A, 0).update(train, projected, g, mask, 0.01);
    assert.equal(projected.step, t);
    for (let i = 0; i < d; i++)
      assert.ok(
        Math.abs(projected.params[i] - expected[i]) <= 2 * F32_ROUNDING * Math.abs(expected[i]) + 1e-9,
        `param ${i}: ${projected.params[i]} vs ${expected[i]}`,
      );
    assert.ok(same(projected.m, plain.m) && same(projected.v, plain.v), 'the moments are those of the unprojected step');
    // the step removed is AAᵀΔθ: the projected and the plain step differ along A only
    const diff = Float64Array.from(projected.params, (p, i) => p - plain.params[i]);
    const rest = Float64Array.from(diff);
    projectOff(rest, A, new Float64Array(A.length));
    for (let i = 0; i < d; i++) assert.ok(Math.abs(rest[i]) < 1e-6, `component ${i} off A: ${rest[i]}`);
  });

  test('with A empty the run is the unablated one bit for bit (parameters, moments, losses, evaluations)', async () => {
    for (const abl of [ablation([], 10), ablation(randomDirections(at20.params.length, 2, 1), 60)]) {
      const r = await trainSegment(config, at20, 60, { update: abl.update });
      assert.equal(r.checkpoints.length, control.checkpoints.length);
      for (const [i, cp] of r.checkpoints.entries())
        assert.ok(same(cp.params, control.checkpoints[i].params), `checkpoint ${cp.iteration}`);
      for (const [i, row] of r.evalRows.entries()) assert.ok(same(row.loss, control.evalRows[i].loss), `evaluation ${row.iteration}`);
      assert.ok(same(r.state.m, control.state.m) && same(r.state.v, control.state.v));
      assert.deepEqual(r.trainLoss, control.trainLoss);
    }
  });
});

describe('a toy quadratic', () => {
  test('removing the direction one group depends on freezes that group and leaves the other; a direction no point depends on changes nothing', () => {
    // θ ∈ R^3. Points 0–9 (group 1) have loss ½(θ_1 − y_x)², points 10–29 (group 2) ½(θ_2 − y_x)²;
    // no point depends on θ_3. AdamW without clipping is coordinate-wise, so projecting the update
    // off e_1 from iteration 50 on freezes θ_1 at θ_1(50) and leaves θ_2 exactly as it was; off e_3
    // it changes no loss. Known effect: Δ_t(group 1) = mean ½(θ_1(50) − y)² − ½(θ_1(t) − y)², Δ(group 2) = 0.
    const y = Float64Array.from({ length: 30 }, (_, x) => (x < 10 ? 2 + 0.05 * x : -1 - 0.03 * (x - 10)));
    const group1 = Int32Array.from({ length: 10 }, (_, i) => i);
    const group2 = Int32Array.from({ length: 20 }, (_, i) => 10 + i);
    const loss = (p: ArrayLike<number>) => Float32Array.from(y, (yx, x) => 0.5 * ((x < 10 ? p[0] : p[1]) - yx) ** 2);
    const train = { ...config.train, lr: 0.01, warmup: 0, weightDecay: 0.01, gradClip: 0, schedule: 'constant' as const, iterations: 200 };
    const mask = new Float32Array([1, 1, 1]);
    const run = (update: (s: TrainState, g: Float32Array) => void) => {
      const s: TrainState = { step: 0, params: new Float32Array([0, 0, 0.5]), m: new Float32Array(3), v: new Float32Array(3) };
      const out = new Map<number, Float32Array>();
      out.set(0, s.params.slice());
      while (s.step < 200) {
        const g = new Float32Array(3);
        for (let x = 0; x < 30; x++) g[x < 10 ? 0 : 1] += ((x < 10 ? s.params[0] : s.params[1]) - y[x]) / 30;
        update(s, g);
        if (s.step % 10 === 0) out.set(s.step, s.params.slice());
      }
      return out;
    };
    const ctl = run((s, g) => adamwStep(train, s, g, mask, 0.01));
    const e1 = ablation([Float64Array.of(1, 0, 0)], 50);
    const abl = run((s, g) => e1.update(train, s, g, mask, 0.01));
    const e3 = ablation([Float64Array.of(0, 0, 1)], 50);
    const rnd = run((s, g) => e3.update(train, s, g, mask, 0.01));
    const its = [...ctl.keys()].filter((it) => it >= 50);
    for (const it of its) {
      assert.equal(abl.get(it)![0], ctl.get(50)![0], `θ_1 frozen at iteration ${it}`);
      assert.equal(abl.get(it)![1], ctl.get(it)![1], `θ_2 untouched at iteration ${it}`);
      assert.equal(rnd.get(it)![2], ctl.get(50)![2], `θ_3 frozen under the control at iteration ${it}`);
    }
    const groups: TokenGroup[] = [
      { kind: 'all', vector: -1, cluster: -1, skill: '', value: '', tokens: Int32Array.from({ length: 30 }, (_, i) => i) },
      { kind: 'cluster', vector: 0, cluster: 0, skill: '', value: '', tokens: group1 },
      { kind: 'cluster', vector: 0, cluster: 1, skill: '', value: '', tokens: group2 },
    ];
    const reading = readAblation({
      iterations: its,
      control: its.map((it) => loss(ctl.get(it)!)),
      arms: [
        { arm: 'basis', loss: its.slice(1).map((it) => loss(abl.get(it)!)) },
        { arm: 'random', loss: its.slice(1).map((it) => loss(rnd.get(it)!)) },
      ],
      groups,
    });
    // the known effect, from the control's θ_1 alone (every checkpoint 10 iterations apart: equal weights)
    const frozen = ctl.get(50)![0];
    let known = 0;
    for (const it of its.slice(1)) {
      const t1 = ctl.get(it)![0];
      let s = 0;
      for (let x = 0; x < 10; x++) s += 0.5 * (frozen - y[x]) ** 2 - 0.5 * (t1 - y[x]) ** 2;
      known += s / 10;
    }
    known /= its.length - 1;
    assert.ok(known > 0.5, `removing θ_1 at iteration 50 costs group 1 ${known}: the test needs an effect to find`);
    const q = new Map(reading.questions.map((x) => [x.cluster, x]));
    const g1 = q.get(0)!;
    const g2 = q.get(1)!;
    assert.ok(Math.abs(g1.delta - known) < 1e-5 * known, `group 1: ${g1.delta} vs ${known}`);
    assert.equal(g2.delta, 0);
    assert.equal(g1.deltaRandom, 0);
    assert.equal(g2.deltaRandom, 0);
    assert.ok(Math.abs(g1.deltaOthers) < 1e-12 && Math.abs(g2.deltaOthers - g1.delta) < 1e-6 * known);
    assert.ok(g1.excessOthers > 0 && g1.excessRandom > 0, 'removing b hurts its own group more than the others and than the control');
    assert.ok(g2.excessOthers < 0 && g2.excessRandom === 0);
    const sum = summariseAblation(reading);
    assert.deepEqual([sum.clusters, sum.hurtMoreThanOthers, sum.hurtMoreThanRandom, sum.hurtMoreThanBoth], [2, 1, 1, 1]);
  });
});

describe('the reading', () => {
  test('every group mean, the others and the curves match a direct computation', () => {
    const n = 37;
    const its = [40, 45, 50, 60, 80, 100];
    const rnd = (k: number) => Float32Array.from({ length: n }, (_, x) => Math.abs(Math.sin(3.1 * x + 7.3 * k)) * 2);
    const control = its.map((_, t) => rnd(t));
    const arms = ['basis', 'random'].map((arm, a) => ({ arm, loss: its.slice(1).map((_, t) => rnd(100 + 10 * a + t)) }));
    const labels = Int32Array.from({ length: n }, (_, x) => (x % 5) - 1);
    const groups: TokenGroup[] = [
      { kind: 'all', vector: -1, cluster: -1, skill: '', value: '', tokens: Int32Array.from({ length: n }, (_, i) => i) },
    ];
    for (let c = -1; c < 4; c++)
      groups.push({
        kind: 'cluster',
        vector: 3,
        cluster: c,
        skill: '',
        value: '',
        tokens: Int32Array.from([...labels.keys()].filter((x) => labels[x] === c)),
      });
    const r = readAblation({ iterations: its, control, arms, groups });
    const direct = (arm: number, tokens: number[]) => {
      let num = 0;
      for (let t = 1; t < its.length; t++) {
        let s = 0;
        for (const x of tokens) s += arms[arm].loss[t - 1][x] - control[t][x];
        num += (its[t] - its[t - 1]) * (s / tokens.length);
      }
      return num / (its.at(-1)! - its[0]);
    };
    for (const q of r.questions) {
      const inside = [...labels.keys()].filter((x) => labels[x] === q.cluster);
      const outside = [...labels.keys()].filter((x) => labels[x] !== q.cluster);
      assert.ok(Math.abs(q.delta - direct(0, inside)) < 1e-12);
      assert.ok(Math.abs(q.deltaOthers - direct(0, outside)) < 1e-12);
      assert.ok(Math.abs(q.deltaRandom - direct(1, inside)) < 1e-12);
    }
    assert.equal(r.questions.length, 4, 'outliers are read but not asked about');
    assert.equal(r.rows.length, 2 * groups.length);
    const curve = r.curves.filter((p) => p.arm === 'random' && p.kind === 'cluster' && p.cluster === 2);
    assert.deepEqual(
      curve.map((p) => p.iteration),
      its,
    );
    const tok = [...labels.keys()].filter((x) => labels[x] === 2);
    assert.ok(Math.abs(curve[3].ablated - tok.reduce((s, x) => s + arms[1].loss[2][x], 0) / tok.length) < 1e-12);
    assert.equal(curve[0].ablated, curve[0].control);
  });
});

describe('directions', () => {
  test('random directions are orthonormal to float64 precision, a pure function of the seed, and not the random basis', () => {
    const d = numParams(modelShape(config));
    const A = randomDirections(d, 4, 3);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += A[i][k] * A[j][k];
        assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-14, `${i}·${j} = ${s}`);
      }
    assert.deepEqual(randomDirections(d, 4, 3), A);
    assert.notDeepEqual(randomDirections(d, 4, 4)[0], A[0]);
    assert.notDeepEqual(randomBlock(d, [], 1, 3)[0], A[0]);
    assert.equal(decayMask(modelShape(config)).length, d);
  });

  test('dependent directions are refused', () => {
    assert.throws(() => orthonormalise([Float64Array.of(1, 2, 3), Float64Array.of(2, 4, 6)]), /span of the earlier ones/);
    assert.throws(() => orthonormalise([new Float64Array(3)]), /zero/);
  });
});

describe('config', () => {
  const refuse = (sets: string[], field: RegExp, allowed: RegExp) =>
    assert.throws(
      () => resolveConfig({ preset: 'tiny', sets }),
      (e: Error) => e instanceof ConfigError && field.test(e.message) && allowed.test(e.message),
    );
  test('an ablation resolves; `from` and the directions are kept as given', () => {
    const c = resolveConfig({ preset: 'tiny', sets: ['ablate.vectors=[0,2]', 'ablate.from=60'] });
    assert.deepEqual(c.ablate, { vectors: [0, 2], from: 60 });
    assert.deepEqual(resolveConfig({ preset: 'tiny', sets: ['ablate.random=2', 'ablate.seed=4', 'ablate.from=0'] }).ablate, {
      random: 2,
      seed: 4,
      from: 0,
    });
    assert.equal(resolveConfig({ preset: 'tiny' }).ablate, undefined);
  });
  test('errors name the field and what is allowed, before anything runs', () => {
    refuse(['ablate.vectors=[3]', 'ablate.from=60'], /ablate\.vectors/, /allowed: 0 … 2/);
    refuse(['ablate.vectors=[0]', 'ablate.from=55'], /ablate\.from/, /one of 0, 10, 20, 30, …, 100, 110; got 55/);
    refuse(['ablate.vectors=[0]', 'ablate.from=120'], /ablate\.from/, /before the last/);
    refuse(['ablate.vectors=[0]'], /ablate\.from/, /expected number/);
    refuse(['ablate.vectors=[0]', 'ablate.random=1', 'ablate.from=60'], /ablate\.random/, /exactly one of ablate\.vectors/);
    refuse(['ablate.from=60'], /ablate\.vectors/, /exactly one of/);
    refuse(['ablate.vectors=[1,1]', 'ablate.from=60'], /ablate\.vectors/, /at most once/);
    refuse(
      ['ablate.vectors=[0]', 'ablate.from=60', 'cluster.families=["loss"]'],
      /ablate\.vectors/,
      /cluster\.families must include "polca"/,
    );
    refuse(['ablate.random=0', 'ablate.from=60'], /ablate\.random/, /≥ 1|> 0/);
    refuse(['ablate.direction=1'], /ablate\.direction/, /allowed fields of ablate: from, random, seed, vectors/);
  });
});

describe('the report', () => {
  test('metrics, table, figure and summary line from a reading', async () => {
    const its = [60, 70, 80];
    const n = 6;
    const control = its.map((_, t) => Float32Array.from({ length: n }, (_, x) => 1 + x + t));
    const arms = [
      { arm: 'basis', loss: its.slice(1).map((_, t) => Float32Array.from({ length: n }, (_, x) => 1 + x + (t + 1) + 1 + (x < 3 ? 1 : 0))) },
      { arm: 'random', loss: its.slice(1).map((_, t) => Float32Array.from({ length: n }, (_, x) => 1 + x + (t + 1) + 1)) },
    ];
    const groups: TokenGroup[] = [
      { kind: 'all', vector: -1, cluster: -1, skill: '', value: '', tokens: Int32Array.of(0, 1, 2, 3, 4, 5) },
      { kind: 'skill', vector: -1, cluster: -1, skill: 'carry', value: 'true', tokens: Int32Array.of(0, 5) },
      { kind: 'cluster', vector: 0, cluster: 0, skill: '', value: '', tokens: Int32Array.of(0, 1, 2) },
      { kind: 'cluster', vector: 0, cluster: 1, skill: '', value: '', tokens: Int32Array.of(3, 4, 5) },
    ];
    const r = readAblation({ iterations: its, control, arms, groups });
    const data = {
      from: 60,
      vectors: [0],
      groups: r.rows,
      questions: r.questions,
      curves: r.curves,
    };
    const m = ablationMetrics(data);
    // basis: +2 on cluster 0, +1 on cluster 1 (Δ all 1.5); random: +1 everywhere
    assert.deepEqual(
      [m['ablation.delta.basis'], m['ablation.delta.random'], m['ablation.clusters'], m['ablation.hurtMoreThanBoth']],
      [1.5, 1, 2, 1],
    );
    assert.equal(m['ablation.excessOthers'], 0);
    const html = ablationHtml(data);
    assert.match(html, /carry = true/);
    assert.match(html, /hurt more than random/);
    const figs = ablationFigures(data);
    assert.deepEqual(
      figs.map((f) => f.name),
      ['ablation-b0'],
    );
    assert.match(await renderSvg(figs[0].spec), /cluster 0 \(3 tokens\)/);
    const line = ablationSummaryLine({ ...summariseAblation(r), from: 60, vectors: [0], count: 1, final: { basis: { driftRatio: 0.04 } } });
    assert.match(
      line ?? '',
      /ablation of b0 from iteration 60: .* 1\.5 \(random directions: 1\); of 2 clusters .* 1 both; .* 0\.04 of one float32 rounding/,
    );
    assert.equal(ablationSummaryLine(undefined), undefined);
  });
});

describe('the ablate step', () => {
  test('interrupted after a resume point, it continues there (anchor included) and gives the bytes of an uninterrupted run', async () => {
    const c = resolveConfig({ preset: 'tiny', sets: ['ablate.random=2', 'ablate.from=10', 'runtime.backend="wasm"'] });
    const stores = ['clean', 'interrupted'].map(
      (n) => new ArtifactStore(new LocalBackend(mkdtempSync(join(tmpdir(), `polca-ablate-${n}-`)))),
    );
    const ctx = (store: ArtifactStore, heartbeat: (p: Progress) => void = () => undefined): StepContext => ({
      store,
      heartbeat,
      owner: 'ablate-test',
    });
    const results = [];
    let partialAnchor: Float64Array | undefined;
    for (const [i, store] of stores.entries()) {
      const data = await dataStep(ctx(store), c);
      if (i === 1)
        await assert.rejects(
          ablateStep(
            ctx(store, (p) => {
              if (p.phase === 'train' && Number(p.iteration) >= 30) throw new Error('interrupted at 30');
            }),
            c,
            'random',
            0,
            { data: data.key },
          ),
          /interrupted at 30/,
        );
      if (i === 1) {
        const raw = await store.getScratch(stepKey(ablateSpec(c, 'random', 0, { data: data.key })), 'partial.safetensors');
        assert.ok(raw, 'a resume point');
        partialAnchor = decodeSafetensors(raw).tensors.ablate_anchor?.data as Float64Array | undefined;
      }
      results.push(await ablateStep(ctx(store), c, 'random', 0, { data: data.key }));
    }
    assert.equal(results[0].key, results[1].key);
    // the resume point carried the anchor Aᵀθ_10, and the finished state carries the same one
    const anchor = decodeSafetensors(await stores[1].get(results[1].key, 'state.safetensors')).tensors.ablate_anchor?.data as Float64Array;
    assert.ok(partialAnchor && anchor && anchor.length === 2);
    assert.deepEqual([...partialAnchor], [...anchor]);
    assert.equal(results[0].meta?.resumedFrom, undefined);
    assert.equal(results[1].meta?.resumedFrom, 30);
    const [a, b] = await Promise.all(stores.map((s) => storeDigest(s)));
    assert.equal(b.get(results[0].key), a.get(results[0].key));
    const drift = await decodeParquet(await stores[1].get(results[1].key, 'drift.parquet'), ['iteration', 'offset', 'rounding_bound']);
    assert.deepEqual([...new Set(drift.iteration as Int32Array)], [20, 30, 40]);
    const off = drift.offset as Float64Array;
    const bound = drift.rounding_bound as Float64Array;
    for (let i = 0; i < off.length; i++) assert.ok(Math.abs(off[i]) <= bound[i] * (1 + 1e-6), `offset ${off[i]} against ${bound[i]}`);
  });
});

describe('the sweep report', () => {
  test('groups the ablations over seeds: Δ mean ± sd, clusters hurt summed over seeds', () => {
    const row = (seed: number, kind: string, basis: number, hurt: number) => ({
      point: { seed, 'basis.kind': kind },
      workflowId: `w-${kind}-${seed}`,
      metrics: {
        'ablation.from': 100,
        'ablation.delta.basis': basis,
        'ablation.delta.random': 0.001,
        'ablation.clusters': 4,
        'ablation.hurtMoreThanOthers': hurt,
        'ablation.hurtMoreThanRandom': hurt,
        'ablation.hurtMoreThanBoth': hurt,
        'ablation.excessOthers': 0.01 * hurt,
        'ablation.excessRandom': 0.02,
      },
    });
    const html = sweepHtml([row(0, 'hessian', 0.1, 1), row(1, 'hessian', 0.3, 2), row(0, 'pca-displacement', 0.5, 4)]);
    assert.match(html, /The ablations over seeds/);
    const rows = html.split('<tr>').filter((r) => r.includes('basis.kind = '));
    assert.equal(rows.length, 2);
    assert.match(
      rows[0],
      /&quot;hessian&quot;.*<td class="num">2<\/td><td class="num">0\.2000 ± 0\.1414<\/td>.*<td class="num">3 of 8<\/td>/,
    );
    assert.match(rows[1], /&quot;pca-displacement&quot;.*<td class="num">1<\/td>.*<td class="num">4 of 4<\/td>/);
    assert.doesNotMatch(sweepHtml([{ point: { seed: 0 }, workflowId: 'w', metrics: { 'final.loss': 1 } }]), /The ablations over seeds/);
  });
});
