/**
 * An imported GPT-NeoX at Pythia-14m's shape (6 layers, d_model 128, 4 heads, MLP 512, vocabulary
 * 50 304, rotary on 25 % of each head, parallel residual, exact GELU, untied embed_out; random
 * weights N(0, 0.02²), LayerNorms 1/0) with an evaluation context of 128, on polca's side:
 *   - per-token losses of the evaluation sequences (core/model/token-loss-model.ts tokenLosses),
 *   - d1 and d2 of every token along 10 random directions (the jets, default passes: with
 *     Pythia's vocabulary 1 direction of 1 sequence per pass, core/model/jet.ts VOCAB_PASS_FLOATS),
 *   - one exact H·v of the mean loss over a Hessian sample (forward over reverse),
 * each timed once after a warm-up call, with the process's peak RSS after each (getrusage maxRSS).
 * The same operations on PyTorch (transformers' GPTNeoXForCausalLM, torch.func): bench/hf_scale_torch.py.
 *
 *   node --expose-gc --import tsx bench/hf-scale.ts [--eval 2] [--hessian 2] [--out bench/results/hf-scale.md]
 *
 * Sequences are random token ids (the cost does not depend on them). Results are printed and, with
 * --out, appended to that file with the machine, load and backend.
 */
import { appendFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { initBackend } from '../core/model/backend.ts';
import type { ModelShape } from '../core/model/layout.ts';
import { initParams, numParams } from '../core/model/model.ts';
import { normal } from '../core/rng.ts';
import type { Sequences } from '../core/tasks/task.ts';
import { makeTokenLossModel } from '../core/model/token-loss-model.ts';

const { values } = parseArgs({
  options: { eval: { type: 'string', default: '2' }, hessian: { type: 'string', default: '2' }, out: { type: 'string' } },
});
const nEval = Number(values.eval);
const nHess = Number(values.hessian);
const V = 50304;
const L = 128;
const K = 10;

export const PYTHIA_14M: ModelShape = {
  nLayers: 6,
  dModel: 128,
  nHeads: 4,
  dMlp: 512,
  vocabSize: V,
  contextLength: L,
  outputsPerSequence: L,
  arch: {
    positions: 'rotary',
    rotaryDims: 8,
    rotaryBase: 10000,
    unembed: 'untied',
    parallelResidual: true,
    activation: 'gelu_erf',
    lnEps: 1e-5,
  },
};

function randomSequences(n: number, seed: number): Sequences {
  let x = seed * 2654435761;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % V;
  };
  const inputs = Int32Array.from({ length: n * L }, next);
  const targets = Int32Array.from({ length: n * L }, next);
  return { n, inputs, targets };
}

const maxRssMB = () => process.resourceUsage().maxRSS / 1024;

async function main() {
  const backend = await initBackend();
  const m = PYTHIA_14M;
  const d = numParams(m);
  const theta = initParams(m, 1);
  const model = makeTokenLossModel(m, randomSequences(nEval, 1), randomSequences(nHess, 2));
  const dirs = Array.from({ length: K }, (_, k) => Float32Array.from({ length: d }, (_, i) => normal(7, k, i)));
  const rows: string[] = [];
  const time = (label: string, f: () => void) => {
    f(); // warm-up
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = performance.now();
    f();
    const s = (performance.now() - t0) / 1000;
    const line = `| ${label} | ${s.toFixed(2)} s | ${maxRssMB().toFixed(0)} MB |`;
    console.log(line);
    rows.push(line);
  };
  console.log(`Pythia-14m shape: ${d} parameters, ${nEval}×${L} evaluation tokens, ${nHess}×${L} Hessian tokens, backend ${backend}`);
  time(`per-token loss (${nEval * L} tokens)`, () => model.tokenLosses(theta));
  time(`d1, d2 along ${K} directions (${nEval * L} tokens)`, () => model.tokenDerivatives(theta, dirs));
  time(`H·v (${nHess * L} Hessian tokens)`, () => model.hvp(theta, dirs[0]));
  model.dispose();
  if (values.out) {
    const head = `\n### polca, ${new Date().toISOString().slice(0, 16)} UTC, ${cpus()[0].model}, ${cpus().length} cores, load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}, backend ${backend}\n\n| operation | time | peak RSS so far |\n|---|---|---|\n`;
    appendFileSync(values.out, `${head}${rows.join('\n')}\n`);
  }
}

await main();
