/**
 * polca's GPT-2 and GPT-NeoX (core/model/model.ts, core/model/jet.ts, core/model/backward.ts with an imported
 * architecture, read by core/sources/hf/) against the float64 results of Hugging Face
 * `transformers` + `torch.func` (scripts/fixtures/hf_checkpoints.py → tests/fixtures/hf/), at
 * every checkpoint of both fixture series (GPT-2 in the folder layout, one step sharded; GPT-NeoX
 * in the hub-cache layout), on 2 sequences of 16 tokens of chapter 1 (every next-token prediction
 * evaluated), along the fixture's two xorshift directions (defined over the checkpoint's tensors,
 * carried into θ by the loader's own map — so the map is checked too):
 *   - logits within 2e-5 of the checkpoint's largest |logit|;
 *   - per-token losses within 2e-5 absolute;
 *   - d1 and d2 of every token's loss within 1e-4 of the largest |d1| / |d2| over the tokens of
 *     that checkpoint and direction (float32 jets round relative to their largest tangents);
 *   - H·u₀ of the mean loss (forward over reverse): per checkpoint tensor, ‖(H·u₀)_t‖ within 1e-4
 *     of the largest such norm, and ⟨(H·u₀)_t, u_k,t⟩ (k = 0, 1) within 1e-4 of Σ_t |⟨(H·u₀)_t, u_k,t⟩|.
 * Measured worst errors over all 5 checkpoints of each series, in the same units (each test prints
 * its own), GPT-2 / GPT-NeoX:
 *   tensorflow backend  logits 3.3e-7 / 3.3e-7, losses 7.9e-7 / 9.8e-7, d1 3.4e-7 / 6.1e-7,
 *                       d2 1.3e-6 / 1.1e-6, ‖(Hu)_t‖ 2.1e-7 / 1.1e-7, ⟨(Hu)_t, u_t⟩ 1.6e-7 / 2.0e-7
 *   wasm backend        logits 3.5e-7 / 3.3e-7, losses 1.5e-6 / 1.1e-6, d1 9.5e-7 / 9.8e-7,
 *                       d2 5.2e-6 / 1.4e-6, ‖(Hu)_t‖ 5.8e-8 / 9.9e-8, ⟨(Hu)_t, u_t⟩ 9.4e-8 / 1.3e-7
 * float32 rounding; the tolerances leave a factor of 10 or more. (A wrong rotary, residual,
 * GELU, ε or weight map moves these to 1e-3 … 1.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { decodeSafetensors } from '../../artifacts/safetensors.ts';
import { initBackend } from '../../core/model/backend.ts';
import type { ModelShape } from '../../core/model/layout.ts';
import { disposeBatch, encodeBatch, outputLogits, paramLayout, readTidy } from '../../core/model/model.ts';
import { type CheckpointRef, folderSeries, hfModelShape, hubCacheSeries, seriesSpec } from '../../core/sources/hf/series.ts';
import { checkTensors, readCheckpointTensors, toTheta } from '../../core/sources/hf/weights.ts';
import type { Sequences } from '../../core/tasks/task.ts';
import { makeTokenLossModel } from '../../core/model/token-loss-model.ts';

const FIX = 'tests/fixtures/hf';
let backend = '';
before(async () => {
  backend = await initBackend();
});

/** The fixture's directions (scripts/fixtures/hf_checkpoints.py): xorshift32 over the sorted tensors. */
export function xorshiftDirection(seed: number, names: readonly string[], sizes: ReadonlyMap<string, number>): Map<string, Float32Array> {
  let x = seed >>> 0;
  const out = new Map<string, Float32Array>();
  for (const name of names) {
    const v = new Float32Array(sizes.get(name) as number);
    for (let i = 0; i < v.length; i++) {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      v[i] = Math.fround((x / 2 ** 32) * 2 - 1) / 64;
    }
    out.set(name, v);
  }
  return out;
}

interface Reference {
  tensors: Record<string, { data: ArrayLike<number>; shape: number[] }>;
  meta: Record<string, string>;
}

function readReference(file: string): Reference {
  const { tensors, metadata } = decodeSafetensors(readFileSync(file));
  return { tensors, meta: metadata };
}

function evalSequences(ref: Reference): { seqs: Sequences; L: number } {
  const ids = ref.tensors['eval.ids'];
  const [n, L1] = ids.shape;
  const L = L1 - 1;
  const inputs = new Int32Array(n * L);
  const targets = new Int32Array(n * L);
  for (let i = 0; i < n; i++)
    for (let t = 0; t < L; t++) {
      inputs[i * L + t] = ids.data[i * L1 + t];
      targets[i * L + t] = ids.data[i * L1 + t + 1];
    }
  return { seqs: { n, inputs, targets }, L };
}

interface Worst {
  logits: number;
  loss: number;
  d1: number;
  d2: number;
  hvNorm: number;
  hvDot: number;
}

const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

function compareSeries(refs: CheckpointRef[], ref: Reference): Worst {
  const spec = seriesSpec(refs);
  const { seqs, L } = evalSequences(ref);
  const shape: ModelShape = hfModelShape(spec, { vocabSize: spec.vocabSize, contextLength: L, outputsPerSequence: L });
  const names = JSON.parse(ref.meta.tensors) as string[];
  const steps = JSON.parse(ref.meta.steps) as number[];
  assert.deepEqual(
    refs.map((r) => r.step),
    steps,
  );
  const seeds = JSON.parse(ref.meta.direction_seeds) as number[];
  const worst: Worst = { logits: 0, loss: 0, d1: 0, d2: 0, hvNorm: 0, hvDot: 0 };
  const model = makeTokenLossModel(shape, seqs, seqs);
  const batch = encodeBatch(shape, seqs);
  const layout = paramLayout(shape);
  try {
    for (const r of refs) {
      const tensors = readCheckpointTensors(r.dir);
      assert.deepEqual([...tensors.keys()].sort(), names);
      const sources = checkTensors(spec, shape, tensors, r.label);
      const theta = toTheta(sources, shape, (n) => (tensors.get(n) as { data: Float32Array }).data);
      const sizes = new Map(names.map((n) => [n, (tensors.get(n) as { data: Float32Array }).data.length]));
      const dirsHf = seeds.map((s) => xorshiftDirection(s, names, sizes));
      dirsHf.forEach((d, k) => {
        const head = JSON.parse(ref.meta[`u${k}_head`]) as number[];
        assert.deepEqual(Array.from((d.get(names[0]) as Float32Array).slice(0, 4)), head, 'direction generator');
      });
      const dirs = dirsHf.map((d) => toTheta(sources, shape, (n) => d.get(n) as Float32Array));
      const at = (k: string) => ref.tensors[`step${r.step}.${k}`].data;

      const [logits] = readTidy(() => [outputLogits(shape, theta, batch)]);
      const refLogits = at('logits');
      const scale = maxAbs(refLogits);
      for (let i = 0; i < logits.length; i++) worst.logits = Math.max(worst.logits, Math.abs(logits[i] - refLogits[i]) / scale);

      const losses = model.tokenLosses(theta);
      const refLoss = at('loss');
      for (let i = 0; i < losses.length; i++) worst.loss = Math.max(worst.loss, Math.abs(losses[i] - refLoss[i]));

      const jet = model.tokenDerivatives(theta, dirs);
      const n = model.numTokens;
      for (const [key, got] of [
        ['d1', jet.d1],
        ['d2', jet.d2],
      ] as const) {
        const want = at(key);
        for (let k = 0; k < dirs.length; k++) {
          const row = Array.from({ length: n }, (_, x) => want[k * n + x]);
          const s = maxAbs(row);
          for (let x = 0; x < n; x++) {
            const e = Math.abs(got[k * n + x] - row[x]) / s;
            worst[key] = Math.max(worst[key], e);
          }
        }
        for (let x = 0; x < n; x++) assert.ok(Math.abs(jet.f0[x] - refLoss[x]) < 2e-5, `jet loss ${jet.f0[x]} vs ${refLoss[x]}`);
      }

      const hv = model.hvp(theta, dirs[0]);
      const norms = new Float64Array(names.length);
      const dots = [new Float64Array(names.length), new Float64Array(names.length)];
      layout.forEach((e, k) => {
        const t = names.indexOf(sources[k].source);
        for (let i = 0; i < e.size; i++) {
          const h = hv[e.offset + i];
          norms[t] += h * h;
          dots[0][t] += h * dirs[0][e.offset + i];
          dots[1][t] += h * dirs[1][e.offset + i];
        }
      });
      const refNorm = at('hv.norm');
      const nScale = maxAbs(refNorm);
      for (let t = 0; t < names.length; t++) worst.hvNorm = Math.max(worst.hvNorm, Math.abs(Math.sqrt(norms[t]) - refNorm[t]) / nScale);
      for (const k of [0, 1]) {
        const want = at(`hv.dot${k}`);
        let s = 0;
        for (let t = 0; t < names.length; t++) s += Math.abs(want[t]);
        for (let t = 0; t < names.length; t++) worst.hvDot = Math.max(worst.hvDot, Math.abs(dots[k][t] - want[t]) / s);
      }
    }
  } finally {
    model.dispose();
    disposeBatch(batch);
  }
  return worst;
}

function assertWithin(label: string, w: Worst): void {
  console.log(
    `${label} (${backend}): worst logits ${w.logits.toExponential(2)} of max |logit|, loss ${w.loss.toExponential(2)}, d1 ${w.d1.toExponential(2)} and d2 ${w.d2.toExponential(2)} of their row scale, ‖(Hu)_t‖ ${w.hvNorm.toExponential(2)}, ⟨(Hu)_t, u_t⟩ ${w.hvDot.toExponential(2)}`,
  );
  assert.ok(w.logits < 2e-5, `logits ${w.logits}`);
  assert.ok(w.loss < 2e-5, `loss ${w.loss}`);
  assert.ok(w.d1 < 1e-4, `d1 ${w.d1}`);
  assert.ok(w.d2 < 1e-4, `d2 ${w.d2}`);
  assert.ok(w.hvNorm < 1e-4, `H·u norms ${w.hvNorm}`);
  assert.ok(w.hvDot < 1e-4, `H·u projections ${w.hvDot}`);
}

test('GPT-2 (folder layout): logits, losses, d1, d2 and H·v match transformers in float64 at every checkpoint', () => {
  const w = compareSeries(folderSeries(`${FIX}/gpt2`), readReference(`${FIX}/reference-gpt2.safetensors`));
  assertWithin('GPT-2', w);
});

test('GPT-NeoX (hub cache): logits, losses, d1, d2 and H·v match transformers in float64 at every checkpoint', () => {
  const revisions = ['step0', 'step30', 'step90', 'step180', 'step300'];
  const w = compareSeries(
    hubCacheSeries(`${FIX}/cache`, 'polca-fixtures/tiny-neox', revisions),
    readReference(`${FIX}/reference-neox.safetensors`),
  );
  assertWithin('GPT-NeoX', w);
});
