/**
 * An independent float64 implementation of the transformer of core/model.ts, written from the
 * documented flat layout (it walks θ in the documented order and never calls paramLayout) and
 * from TransformerLens' definitions: pre-LayerNorm blocks, causal attention, gelu_new, final
 * LayerNorm, unembedding; cross-entropy of the 4 output tokens. Plain loops, no TF.js: used to
 * check the TF.js model's forward pass, gradients and Hessian-vector products in tests.
 */
import { encodeExamples, type Example, INPUT_LEN, OUTPUT_POSITIONS, VOCAB_SIZE } from '../../core/data.ts';

export interface RefModelConfig {
  nLayers: number;
  dModel: number;
  nHeads: number;
  dMlp: number;
}

interface Layer {
  ln1w: number;
  ln1b: number;
  wqkv: number;
  bqkv: number;
  wo: number;
  bo: number;
  ln2w: number;
  ln2b: number;
  win: number;
  bin: number;
  wout: number;
  bout: number;
}

/** Offsets of every tensor, read in the order the header of core/model.ts documents. */
export function referenceOffsets(m: RefModelConfig) {
  const D = m.dModel;
  const M = m.dMlp;
  const V = VOCAB_SIZE;
  let at = 0;
  const take = (n: number) => {
    const o = at;
    at += n;
    return o;
  };
  const embed = take(V * D);
  const pos = take(INPUT_LEN * D);
  const layers: Layer[] = [];
  for (let l = 0; l < m.nLayers; l++) {
    layers.push({
      ln1w: take(D),
      ln1b: take(D),
      wqkv: take(D * 3 * D),
      bqkv: take(3 * D),
      wo: take(D * D),
      bo: take(D),
      ln2w: take(D),
      ln2b: take(D),
      win: take(D * M),
      bin: take(M),
      wout: take(M * D),
      bout: take(D),
    });
  }
  const lnfw = take(D);
  const lnfb = take(D);
  const wu = take(D * V);
  const bu = take(V);
  return { embed, pos, layers, lnfw, lnfb, wu, bu, total: at };
}

const LN_EPS = 1e-5;
const GELU_C = Math.sqrt(2 / Math.PI);

function layerNormRow(x: Float64Array, xo: number, th: ArrayLike<number>, w: number, b: number, D: number, out: Float64Array, oo: number) {
  let mu = 0;
  for (let i = 0; i < D; i++) mu += x[xo + i];
  mu /= D;
  let v = 0;
  for (let i = 0; i < D; i++) v += (x[xo + i] - mu) ** 2;
  v /= D;
  const r = 1 / Math.sqrt(v + LN_EPS);
  for (let i = 0; i < D; i++) out[oo + i] = (x[xo + i] - mu) * r * th[w + i] + th[b + i];
}

/** Per-token cross-entropy [n·4] (float64) and logits [n·4·V] of the reference model. */
export function referenceForward(m: RefModelConfig, theta: ArrayLike<number>, examples: Example[]) {
  const { inputs, targets } = encodeExamples(examples);
  const off = referenceOffsets(m);
  const D = m.dModel;
  const M = m.dMlp;
  const H = m.nHeads;
  const dh = D / H;
  const L = INPUT_LEN;
  const V = VOCAB_SIZE;
  const n = examples.length;
  const losses = new Float64Array(n * 4);
  const logitsOut = new Float64Array(n * 4 * V);
  const x = new Float64Array(L * D);
  const h = new Float64Array(L * D);
  const qkv = new Float64Array(L * 3 * D);
  const z = new Float64Array(L * D);
  const hid = new Float64Array(M);
  const att = new Float64Array(L);
  const hf = new Float64Array(D);
  const scale = 1 / Math.sqrt(dh);
  for (let e = 0; e < n; e++) {
    for (let p = 0; p < L; p++) {
      const tok = inputs[e * L + p];
      for (let i = 0; i < D; i++) x[p * D + i] = theta[off.embed + tok * D + i] + theta[off.pos + p * D + i];
    }
    for (const ly of off.layers) {
      for (let p = 0; p < L; p++) layerNormRow(x, p * D, theta, ly.ln1w, ly.ln1b, D, h, p * D);
      for (let p = 0; p < L; p++)
        for (let c = 0; c < 3 * D; c++) {
          let s = theta[ly.bqkv + c];
          for (let i = 0; i < D; i++) s += h[p * D + i] * theta[ly.wqkv + i * 3 * D + c];
          qkv[p * 3 * D + c] = s;
        }
      for (let hd = 0; hd < H; hd++) {
        const qo = hd * dh;
        const ko = D + hd * dh;
        const vo = 2 * D + hd * dh;
        for (let i = 0; i < L; i++) {
          let mx = -Infinity;
          for (let j = 0; j <= i; j++) {
            let s = 0;
            for (let t = 0; t < dh; t++) s += qkv[i * 3 * D + qo + t] * qkv[j * 3 * D + ko + t];
            att[j] = s * scale;
            mx = Math.max(mx, att[j]);
          }
          let den = 0;
          for (let j = 0; j <= i; j++) {
            att[j] = Math.exp(att[j] - mx);
            den += att[j];
          }
          for (let t = 0; t < dh; t++) {
            let s = 0;
            for (let j = 0; j <= i; j++) s += att[j] * qkv[j * 3 * D + vo + t];
            z[i * D + hd * dh + t] = s / den;
          }
        }
      }
      for (let p = 0; p < L; p++)
        for (let c = 0; c < D; c++) {
          let s = theta[ly.bo + c];
          for (let i = 0; i < D; i++) s += z[p * D + i] * theta[ly.wo + i * D + c];
          x[p * D + c] += s;
        }
      for (let p = 0; p < L; p++) {
        layerNormRow(x, p * D, theta, ly.ln2w, ly.ln2b, D, h, p * D);
        for (let c = 0; c < M; c++) {
          let s = theta[ly.bin + c];
          for (let i = 0; i < D; i++) s += h[p * D + i] * theta[ly.win + i * M + c];
          hid[c] = 0.5 * s * (1 + Math.tanh(GELU_C * (s + 0.044715 * s * s * s)));
        }
        for (let c = 0; c < D; c++) {
          let s = theta[ly.bout + c];
          for (let i = 0; i < M; i++) s += hid[i] * theta[ly.wout + i * D + c];
          x[p * D + c] += s;
        }
      }
    }
    OUTPUT_POSITIONS.forEach((p, k) => {
      layerNormRow(x, p * D, theta, off.lnfw, off.lnfb, D, hf, 0);
      const lo = (e * 4 + k) * V;
      let mx = -Infinity;
      for (let c = 0; c < V; c++) {
        let s = theta[off.bu + c];
        for (let i = 0; i < D; i++) s += hf[i] * theta[off.wu + i * V + c];
        logitsOut[lo + c] = s;
        mx = Math.max(mx, s);
      }
      let se = 0;
      for (let c = 0; c < V; c++) se += Math.exp(logitsOut[lo + c] - mx);
      losses[e * 4 + k] = mx + Math.log(se) - logitsOut[lo + targets[e * 4 + k]];
    });
  }
  return { losses, logits: logitsOut };
}

/** Mean cross-entropy over all output tokens (float64). */
export function referenceMeanLoss(m: RefModelConfig, theta: ArrayLike<number>, examples: Example[]): number {
  const { losses } = referenceForward(m, theta, examples);
  let s = 0;
  for (const l of losses) s += l;
  return s / losses.length;
}
