/**
 * An independent float64 implementation of the transformer of core/model/model.ts, written from the
 * documented flat layout (it walks θ in the documented order and never calls paramLayout) and
 * from TransformerLens' definitions: pre-LayerNorm blocks, causal attention, gelu_new, final
 * LayerNorm, unembedding; cross-entropy of the T evaluated tokens of each sequence (its last T
 * positions, V, L and T given with the model: arithmetic's 12, 11, 4 or any other task's). Plain loops, no TF.js: used to
 * check the TF.js model's forward pass, gradients and Hessian-vector products in tests.
 */
import type { Sequences } from '../../core/tasks/task.ts';

export interface RefModelConfig {
  nLayers: number;
  dModel: number;
  nHeads: number;
  dMlp: number;
  vocabSize: number;
  contextLength: number;
  outputsPerSequence: number;
}

/** The evaluated positions: the last T of the L. */
const outputPositions = (m: RefModelConfig) =>
  Array.from({ length: m.outputsPerSequence }, (_, k) => m.contextLength - m.outputsPerSequence + k);

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

/** Offsets of every tensor, read in the order the header of core/model/model.ts documents. */
export function referenceOffsets(m: RefModelConfig) {
  const D = m.dModel;
  const M = m.dMlp;
  const V = m.vocabSize;
  let at = 0;
  const take = (n: number) => {
    const o = at;
    at += n;
    return o;
  };
  const embed = take(V * D);
  const pos = take(m.contextLength * D);
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

/** Per-token cross-entropy [n·T] (float64) and logits [n·T·V] of the reference model. */
export function referenceForward(m: RefModelConfig, theta: ArrayLike<number>, seqs: Sequences) {
  const { inputs, targets } = seqs;
  const T = m.outputsPerSequence;
  const off = referenceOffsets(m);
  const D = m.dModel;
  const M = m.dMlp;
  const H = m.nHeads;
  const dh = D / H;
  const L = m.contextLength;
  const V = m.vocabSize;
  const n = seqs.n;
  const losses = new Float64Array(n * T);
  const logitsOut = new Float64Array(n * T * V);
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
    outputPositions(m).forEach((p, k) => {
      layerNormRow(x, p * D, theta, off.lnfw, off.lnfb, D, hf, 0);
      const lo = (e * T + k) * V;
      let mx = -Infinity;
      for (let c = 0; c < V; c++) {
        let s = theta[off.bu + c];
        for (let i = 0; i < D; i++) s += hf[i] * theta[off.wu + i * V + c];
        logitsOut[lo + c] = s;
        mx = Math.max(mx, s);
      }
      let se = 0;
      for (let c = 0; c < V; c++) se += Math.exp(logitsOut[lo + c] - mx);
      losses[e * T + k] = mx + Math.log(se) - logitsOut[lo + targets[e * T + k]];
    });
  }
  return { losses, logits: logitsOut };
}

/** Mean cross-entropy over all output tokens (float64). */
export function referenceMeanLoss(m: RefModelConfig, theta: ArrayLike<number>, seqs: Sequences): number {
  const { losses } = referenceForward(m, theta, seqs);
  let s = 0;
  for (const l of losses) s += l;
  return s / losses.length;
}

/**
 * The same model in float64 along a line θ(s) = θ + s·u: every scalar is carried as
 * (value, d/ds, d²/ds²) with the ordinary rules of differentiation, written independently of
 * core/model/jet.ts (GELU differentiated in its tanh form, softmax by the quotient rule on exponentials,
 * the cross-entropy by the derivatives of log Σ exp). Returns, per output token, ℓ, dℓ/ds and
 * d²ℓ/ds² at s = 0, exact up to float64 rounding.
 */
export function referenceJet(m: RefModelConfig, theta: ArrayLike<number>, u: ArrayLike<number>, seqs: Sequences) {
  const { inputs, targets } = seqs;
  const T = m.outputsPerSequence;
  const off = referenceOffsets(m);
  const D = m.dModel;
  const M = m.dMlp;
  const H = m.nHeads;
  const dh = D / H;
  const L = m.contextLength;
  const V = m.vocabSize;
  const n = seqs.n;
  const loss = new Float64Array(n * T);
  const d1 = new Float64Array(n * T);
  const d2 = new Float64Array(n * T);
  const J = (size: number) => ({ v: new Float64Array(size), a: new Float64Array(size), b: new Float64Array(size) });
  type J3 = ReturnType<typeof J>;
  const x = J(L * D);
  const h = J(L * D);
  const qkv = J(L * 3 * D);
  const z = J(L * D);
  const hf = J(D);
  const e = J(L);
  const logit = J(V);
  const scale = 1 / Math.sqrt(dh);

  const layerNorm = (src: J3, so: number, w: number, bb: number, out: J3, oo: number) => {
    let mv = 0;
    let ma = 0;
    let mb = 0;
    for (let i = 0; i < D; i++) {
      mv += src.v[so + i];
      ma += src.a[so + i];
      mb += src.b[so + i];
    }
    mv /= D;
    ma /= D;
    mb /= D;
    let vv = 0;
    let va = 0;
    let vb = 0;
    for (let i = 0; i < D; i++) {
      const cv = src.v[so + i] - mv;
      const ca = src.a[so + i] - ma;
      const cb = src.b[so + i] - mb;
      vv += cv * cv;
      va += 2 * cv * ca;
      vb += 2 * ca * ca + 2 * cv * cb;
    }
    vv /= D;
    va /= D;
    vb /= D;
    const uu = vv + LN_EPS;
    const rv = 1 / Math.sqrt(uu);
    const r1 = -0.5 * rv ** 3;
    const r2 = 0.75 * rv ** 5;
    const ra = r1 * va;
    const rb = r2 * va * va + r1 * vb;
    for (let i = 0; i < D; i++) {
      const cv = src.v[so + i] - mv;
      const ca = src.a[so + i] - ma;
      const cb = src.b[so + i] - mb;
      const nv = cv * rv;
      const na = ca * rv + cv * ra;
      const nb = cb * rv + 2 * ca * ra + cv * rb;
      const wv = theta[w + i];
      const wa = u[w + i];
      out.v[oo + i] = nv * wv + theta[bb + i];
      out.a[oo + i] = na * wv + nv * wa + u[bb + i];
      out.b[oo + i] = nb * wv + 2 * na * wa;
    }
  };
  /** out[oo + c] (+)= bias[c] + Σ_i src[so + i]·W[i·cols + c] */
  const linear = (src: J3, so: number, rows: number, W: number, cols: number, bias: number, out: J3, oo: number, accumulate: boolean) => {
    for (let c = 0; c < cols; c++) {
      let sv = theta[bias + c];
      let sa = u[bias + c];
      let sb = 0;
      for (let i = 0; i < rows; i++) {
        const wv = theta[W + i * cols + c];
        const wa = u[W + i * cols + c];
        sv += src.v[so + i] * wv;
        sa += src.a[so + i] * wv + src.v[so + i] * wa;
        sb += src.b[so + i] * wv + 2 * src.a[so + i] * wa;
      }
      if (accumulate) {
        out.v[oo + c] += sv;
        out.a[oo + c] += sa;
        out.b[oo + c] += sb;
      } else {
        out.v[oo + c] = sv;
        out.a[oo + c] = sa;
        out.b[oo + c] = sb;
      }
    }
  };
  const hid = J(M);
  for (let ex = 0; ex < n; ex++) {
    for (let p = 0; p < L; p++) {
      const tok = inputs[ex * L + p];
      for (let i = 0; i < D; i++) {
        x.v[p * D + i] = theta[off.embed + tok * D + i] + theta[off.pos + p * D + i];
        x.a[p * D + i] = u[off.embed + tok * D + i] + u[off.pos + p * D + i];
        x.b[p * D + i] = 0;
      }
    }
    for (const ly of off.layers) {
      for (let p = 0; p < L; p++) layerNorm(x, p * D, ly.ln1w, ly.ln1b, h, p * D);
      for (let p = 0; p < L; p++) linear(h, p * D, D, ly.wqkv, 3 * D, ly.bqkv, qkv, p * 3 * D, false);
      for (let hd = 0; hd < H; hd++) {
        const qo = hd * dh;
        const ko = D + hd * dh;
        const vo = 2 * D + hd * dh;
        for (let i = 0; i < L; i++) {
          let mx = -Infinity;
          const sv = new Float64Array(i + 1);
          const sa = new Float64Array(i + 1);
          const sb = new Float64Array(i + 1);
          for (let j = 0; j <= i; j++) {
            for (let t = 0; t < dh; t++) {
              const qi = i * 3 * D + qo + t;
              const kj = j * 3 * D + ko + t;
              sv[j] += qkv.v[qi] * qkv.v[kj];
              sa[j] += qkv.a[qi] * qkv.v[kj] + qkv.v[qi] * qkv.a[kj];
              sb[j] += qkv.b[qi] * qkv.v[kj] + 2 * qkv.a[qi] * qkv.a[kj] + qkv.v[qi] * qkv.b[kj];
            }
            sv[j] *= scale;
            sa[j] *= scale;
            sb[j] *= scale;
            mx = Math.max(mx, sv[j]);
          }
          // e_j = exp(s_j − max): e' = e·s', e'' = e·(s'' + s'²); S = Σ e; p = e / S
          let Sv = 0;
          let Sa = 0;
          let Sb = 0;
          for (let j = 0; j <= i; j++) {
            e.v[j] = Math.exp(sv[j] - mx);
            e.a[j] = e.v[j] * sa[j];
            e.b[j] = e.v[j] * (sb[j] + sa[j] * sa[j]);
            Sv += e.v[j];
            Sa += e.a[j];
            Sb += e.b[j];
          }
          // 1/S: (1/S)' = −S'/S², (1/S)'' = 2S'²/S³ − S''/S²
          const iv = 1 / Sv;
          const ia = -Sa / (Sv * Sv);
          const ib = (2 * Sa * Sa) / Sv ** 3 - Sb / (Sv * Sv);
          for (let t = 0; t < dh; t++) {
            let ov = 0;
            let oa = 0;
            let ob = 0;
            for (let j = 0; j <= i; j++) {
              const vj = j * 3 * D + vo + t;
              ov += e.v[j] * qkv.v[vj];
              oa += e.a[j] * qkv.v[vj] + e.v[j] * qkv.a[vj];
              ob += e.b[j] * qkv.v[vj] + 2 * e.a[j] * qkv.a[vj] + e.v[j] * qkv.b[vj];
            }
            const zi = i * D + hd * dh + t;
            z.v[zi] = ov * iv;
            z.a[zi] = oa * iv + ov * ia;
            z.b[zi] = ob * iv + 2 * oa * ia + ov * ib;
          }
        }
      }
      for (let p = 0; p < L; p++) linear(z, p * D, D, ly.wo, D, ly.bo, x, p * D, true);
      for (let p = 0; p < L; p++) {
        layerNorm(x, p * D, ly.ln2w, ly.ln2b, h, p * D);
        linear(h, p * D, D, ly.win, M, ly.bin, hid, 0, false);
        for (let c = 0; c < M; c++) {
          // g(s) = ½ s (1 + tanh(w)), w = C(s + 0.044715 s³)
          const s = hid.v[c];
          const w1 = GELU_C * (1 + 3 * 0.044715 * s * s);
          const w2 = GELU_C * 6 * 0.044715 * s;
          const T = Math.tanh(GELU_C * (s + 0.044715 * s * s * s));
          const T1 = (1 - T * T) * w1;
          const T2 = (1 - T * T) * w2 - 2 * T * (1 - T * T) * w1 * w1;
          const g1 = 0.5 * (1 + T) + 0.5 * s * T1;
          const g2 = T1 + 0.5 * s * T2;
          const a = hid.a[c];
          hid.b[c] = g2 * a * a + g1 * hid.b[c];
          hid.a[c] = g1 * a;
          hid.v[c] = 0.5 * s * (1 + T);
        }
        linear(hid, 0, M, ly.wout, D, ly.bout, x, p * D, true);
      }
    }
    outputPositions(m).forEach((p, k) => {
      layerNorm(x, p * D, off.lnfw, off.lnfb, hf, 0);
      linear(hf, 0, D, off.wu, V, off.bu, logit, 0, false);
      let mx = -Infinity;
      for (let c = 0; c < V; c++) mx = Math.max(mx, logit.v[c]);
      // log S with S = Σ exp(z_c − max): (log S)' = S'/S, (log S)'' = S''/S − (S'/S)²
      let Sv = 0;
      let Sa = 0;
      let Sb = 0;
      for (let c = 0; c < V; c++) {
        const ec = Math.exp(logit.v[c] - mx);
        Sv += ec;
        Sa += ec * logit.a[c];
        Sb += ec * (logit.b[c] + logit.a[c] * logit.a[c]);
      }
      const y = targets[ex * T + k];
      const t = ex * T + k;
      loss[t] = mx + Math.log(Sv) - logit.v[y];
      d1[t] = Sa / Sv - logit.a[y];
      d2[t] = Sb / Sv - (Sa / Sv) ** 2 - logit.b[y];
    });
  }
  return { loss, d1, d2 };
}
