/**
 * A Hugging Face checkpoint's weights as polca's flat parameter vector θ (core/model/layout.ts order).
 *
 * Files: `model.safetensors`, or a sharded `model.safetensors.index.json` ({weight_map: {tensor:
 * shard file}}) with its shards; tensors of dtype F32, F16, BF16 or F64, read as float32.
 * `pytorch_model.bin` (a pickle) is refused with the command that converts it: polca does not
 * unpickle.
 *
 * The map from checkpoint tensors to θ (`thetaMap`) is, per θ tensor, one checkpoint tensor and an
 * index map, so every coordinate of θ is one coordinate of the checkpoint:
 *   GPT-2 (`transformer.` prefix optional): wte → embed.W_E; the first L rows of wpe → W_pos
 *     (rows past the context never reach the loss); Conv1D weights are [in, out], polca's x·W
 *     orientation, and c_attn's columns are Q, K, V each head after head, polca's order: copied;
 *     ln_1, ln_2, ln_f → ln1, ln2, ln_final; a tied lm_head is not in θ (an untied one is
 *     lm_head.weightᵀ → unembed.W_U).
 *   GPT-NeoX (`gpt_neox.` prefix): embed_in → embed.W_E; nn.Linear weights are [out, in] and are
 *     transposed; query_key_value's outputs are per head [q | k | v] (index h·3·dHead + j·dHead + e)
 *     and are permuted to polca's [Q heads | K heads | V heads] (j·D + h·dHead + e);
 *     input_layernorm, post_attention_layernorm, final_layer_norm → ln1, ln2, ln_final;
 *     embed_out.weightᵀ → unembed.W_U (untied, no bias).
 * The same map carries any vector over the checkpoint's tensors (a direction given in the
 * checkpoint's coordinates) into θ's coordinates (`toTheta`).
 *
 * Refused before anything is computed, with the tensor named: a missing tensor, an unexpected one
 * (buffers transformers writes — attention masks, rotary inv_freq — are skipped), a shape that
 * differs from what config.json implies, a non-finite value, an unsupported dtype.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ModelShape, paramLayout } from '../../model/layout.ts';
import type { HfModelSpec } from './config.ts';

export interface HfTensor {
  shape: number[];
  data: Float32Array;
}

/** The one-line conversion of a pickled checkpoint to safetensors, named when one is refused. */
export const CONVERT_COMMAND =
  "python -c \"from transformers import AutoModelForCausalLM as M; M.from_pretrained('DIR').save_pretrained('DIR', safe_serialization=True)\"";

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** Every tensor of a safetensors file, as float32. */
export function readSafetensors(bytes: Uint8Array, file: string): Map<string, HfTensor> {
  if (bytes.length < 8) throw new Error(`${file}: not a safetensors file (shorter than its 8-byte header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > bytes.length) throw new Error(`${file}: not a safetensors file (header length ${n} exceeds the file)`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
  } catch {
    throw new Error(`${file}: not a safetensors file (its header is not JSON)`);
  }
  const base = 8 + n;
  const out = new Map<string, HfTensor>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const size = DTYPE_BYTES[t.dtype];
    if (!size) throw new Error(`${file}: tensor "${name}" has dtype ${t.dtype}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    const [b, e] = t.data_offsets;
    if (e - b !== count * size || base + e > bytes.length)
      throw new Error(`${file}: tensor "${name}" of shape ${JSON.stringify(t.shape)} has ${e - b} bytes at ${b}…${e}; the file is damaged`);
    const data = new Float32Array(count);
    const at = bytes.byteOffset + base + b;
    const dv = new DataView(bytes.buffer, at, e - b);
    if (t.dtype === 'F32') for (let i = 0; i < count; i++) data[i] = dv.getFloat32(4 * i, true);
    else if (t.dtype === 'F64') for (let i = 0; i < count; i++) data[i] = dv.getFloat64(8 * i, true);
    else if (t.dtype === 'F16') for (let i = 0; i < count; i++) data[i] = halfToFloat(dv.getUint16(2 * i, true));
    else {
      const bits = new Uint32Array(1);
      const f = new Float32Array(bits.buffer);
      for (let i = 0; i < count; i++) {
        bits[0] = dv.getUint16(2 * i, true) << 16;
        data[i] = f[0];
      }
    }
    out.set(name, { shape: t.shape, data });
  }
  return out;
}

/**
 * The weight files of a checkpoint directory: model.safetensors, or the index and its shards.
 * Refuses pickles (with the conversion) and a directory with neither.
 */
export function weightFiles(dir: string): string[] {
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return [single];
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    let map: unknown;
    try {
      map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: unknown }).weight_map;
    } catch (e) {
      throw new Error(`${index}: not JSON (${(e as Error).message})`);
    }
    if (typeof map !== 'object' || map === null) throw new Error(`${index}: no "weight_map" object naming each tensor's shard`);
    const shards = [...new Set(Object.values(map as Record<string, string>))].sort();
    for (const s of shards) if (!existsSync(join(dir, s))) throw new Error(`${index}: shard ${s} is missing from ${dir}`);
    return [index, ...shards.map((s) => join(dir, s))];
  }
  for (const pickle of ['pytorch_model.bin', 'pytorch_model.bin.index.json'])
    if (existsSync(join(dir, pickle)))
      throw new Error(
        `${dir}: holds ${pickle}, a pickled PyTorch checkpoint, which polca does not read (unpickling runs code); convert it to safetensors once with: ${CONVERT_COMMAND.replaceAll('DIR', dir)}`,
      );
  throw new Error(`${dir}: no model.safetensors or model.safetensors.index.json (the checkpoint's weights)`);
}

/** Every tensor of a checkpoint directory (all shards together). */
export function readCheckpointTensors(dir: string): Map<string, HfTensor> {
  const files = weightFiles(dir);
  const out = new Map<string, HfTensor>();
  for (const f of files) {
    if (f.endsWith('.json')) continue;
    for (const [name, t] of readSafetensors(readFileSync(f), f)) {
      if (out.has(name)) throw new Error(`${dir}: tensor "${name}" occurs in more than one shard`);
      out.set(name, t);
    }
  }
  return out;
}

/** How θ's tensor `name` is read: checkpoint tensor `source` of shape `shape`, θ index i ← source index index(i). */
export interface ThetaSource {
  name: string;
  source: string;
  shape: number[];
  index: (i: number) => number;
}

const copy = (i: number) => i;
/** θ [C, R] ← checkpoint [R, C] transposed. */
const transposed = (R: number, C: number) => (i: number) => (i % R) * C + Math.floor(i / R);

/** Checkpoint tensors transformers writes that are not parameters (skipped). */
const BUFFERS = [/\.attn\.bias$/, /\.attn\.masked_bias$/, /\.attention\.bias$/, /\.attention\.masked_bias$/, /rotary_emb\.inv_freq$/];

/**
 * The source of every θ tensor for a checkpoint spec at a context length (the θ layout is that of
 * `shape`, core/model/layout.ts), and the checkpoint tensors a tied model may also hold. `names` are the
 * checkpoint's tensor names (for the optional `transformer.` prefix of GPT-2).
 */
export function thetaMap(
  spec: HfModelSpec,
  shape: ModelShape,
  names: ReadonlySet<string>,
): { sources: ThetaSource[]; tiedCopy: string | null } {
  const { dModel: D, dMlp: M, nHeads: H, nLayers } = spec.model;
  const V = spec.vocabSize;
  const dh = D / H;
  const src = new Map<string, Omit<ThetaSource, 'name'>>();
  let tiedCopy: string | null = null;
  if (spec.architecture === 'GPT2LMHeadModel') {
    const p = names.has('transformer.wte.weight') ? 'transformer.' : '';
    src.set('embed.W_E', { source: `${p}wte.weight`, shape: [V, D], index: copy });
    src.set('pos_embed.W_pos', { source: `${p}wpe.weight`, shape: [spec.maxPositions, D], index: copy });
    for (let l = 0; l < nLayers; l++) {
      const h = `${p}h.${l}`;
      const b = `blocks.${l}`;
      src.set(`${b}.ln1.w`, { source: `${h}.ln_1.weight`, shape: [D], index: copy });
      src.set(`${b}.ln1.b`, { source: `${h}.ln_1.bias`, shape: [D], index: copy });
      src.set(`${b}.attn.W_QKV`, { source: `${h}.attn.c_attn.weight`, shape: [D, 3 * D], index: copy });
      src.set(`${b}.attn.b_QKV`, { source: `${h}.attn.c_attn.bias`, shape: [3 * D], index: copy });
      src.set(`${b}.attn.W_O`, { source: `${h}.attn.c_proj.weight`, shape: [D, D], index: copy });
      src.set(`${b}.attn.b_O`, { source: `${h}.attn.c_proj.bias`, shape: [D], index: copy });
      src.set(`${b}.ln2.w`, { source: `${h}.ln_2.weight`, shape: [D], index: copy });
      src.set(`${b}.ln2.b`, { source: `${h}.ln_2.bias`, shape: [D], index: copy });
      src.set(`${b}.mlp.W_in`, { source: `${h}.mlp.c_fc.weight`, shape: [D, M], index: copy });
      src.set(`${b}.mlp.b_in`, { source: `${h}.mlp.c_fc.bias`, shape: [M], index: copy });
      src.set(`${b}.mlp.W_out`, { source: `${h}.mlp.c_proj.weight`, shape: [M, D], index: copy });
      src.set(`${b}.mlp.b_out`, { source: `${h}.mlp.c_proj.bias`, shape: [D], index: copy });
    }
    src.set('ln_final.w', { source: `${p}ln_f.weight`, shape: [D], index: copy });
    src.set('ln_final.b', { source: `${p}ln_f.bias`, shape: [D], index: copy });
    if (spec.arch.unembed === 'tied') tiedCopy = 'lm_head.weight';
    else src.set('unembed.W_U', { source: 'lm_head.weight', shape: [V, D], index: transposed(V, D) });
  } else {
    const p = 'gpt_neox.';
    // polca column c = j·D + h·dh + e  ←  NeoX output o = h·3dh + j·dh + e
    const qkvOut = (c: number) => {
      const j = Math.floor(c / D);
      const h = Math.floor((c % D) / dh);
      const e = c % dh;
      return h * 3 * dh + j * dh + e;
    };
    src.set('embed.W_E', { source: `${p}embed_in.weight`, shape: [V, D], index: copy });
    for (let l = 0; l < nLayers; l++) {
      const h = `${p}layers.${l}`;
      const b = `blocks.${l}`;
      src.set(`${b}.ln1.w`, { source: `${h}.input_layernorm.weight`, shape: [D], index: copy });
      src.set(`${b}.ln1.b`, { source: `${h}.input_layernorm.bias`, shape: [D], index: copy });
      // θ W_QKV [D, 3D] (i, c) ← query_key_value.weight [3D, D] (qkvOut(c), i)
      src.set(`${b}.attn.W_QKV`, {
        source: `${h}.attention.query_key_value.weight`,
        shape: [3 * D, D],
        index: (t: number) => qkvOut(t % (3 * D)) * D + Math.floor(t / (3 * D)),
      });
      src.set(`${b}.attn.b_QKV`, { source: `${h}.attention.query_key_value.bias`, shape: [3 * D], index: qkvOut });
      src.set(`${b}.attn.W_O`, { source: `${h}.attention.dense.weight`, shape: [D, D], index: transposed(D, D) });
      src.set(`${b}.attn.b_O`, { source: `${h}.attention.dense.bias`, shape: [D], index: copy });
      src.set(`${b}.ln2.w`, { source: `${h}.post_attention_layernorm.weight`, shape: [D], index: copy });
      src.set(`${b}.ln2.b`, { source: `${h}.post_attention_layernorm.bias`, shape: [D], index: copy });
      src.set(`${b}.mlp.W_in`, { source: `${h}.mlp.dense_h_to_4h.weight`, shape: [M, D], index: transposed(M, D) });
      src.set(`${b}.mlp.b_in`, { source: `${h}.mlp.dense_h_to_4h.bias`, shape: [M], index: copy });
      src.set(`${b}.mlp.W_out`, { source: `${h}.mlp.dense_4h_to_h.weight`, shape: [D, M], index: transposed(D, M) });
      src.set(`${b}.mlp.b_out`, { source: `${h}.mlp.dense_4h_to_h.bias`, shape: [D], index: copy });
    }
    src.set('ln_final.w', { source: `${p}final_layer_norm.weight`, shape: [D], index: copy });
    src.set('ln_final.b', { source: `${p}final_layer_norm.bias`, shape: [D], index: copy });
    if (spec.arch.unembed === 'tied') tiedCopy = 'embed_out.weight';
    else src.set('unembed.W_U', { source: 'embed_out.weight', shape: [V, D], index: transposed(V, D) });
  }
  const sources = paramLayout(shape).map((e) => {
    const s = src.get(e.name);
    if (!s) throw new Error(`θ tensor ${e.name} has no source in a ${spec.architecture} checkpoint`);
    return { name: e.name, ...s };
  });
  return { sources, tiedCopy };
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Checks a checkpoint's tensors against its spec: every expected tensor present with the shape
 * config.json implies, nothing unexpected, every value finite; a tied copy of the embedding, if
 * stored, equal to it. `where` names the checkpoint in messages.
 */
export function checkTensors(spec: HfModelSpec, shape: ModelShape, tensors: Map<string, HfTensor>, where: string): ThetaSource[] {
  const { sources, tiedCopy } = thetaMap(spec, shape, new Set(tensors.keys()));
  const expected = new Set(sources.map((s) => s.source));
  for (const s of sources) {
    const t = tensors.get(s.source);
    if (!t) throw new Error(`${where}: tensor "${s.source}" is missing; a ${spec.architecture} checkpoint needs it`);
    if (!sameShape(t.shape, s.shape))
      throw new Error(
        `${where}: tensor "${s.source}" has shape ${JSON.stringify(t.shape)}; config.json implies ${JSON.stringify(s.shape)}`,
      );
  }
  for (const [name, t] of tensors) {
    if (expected.has(name) || BUFFERS.some((re) => re.test(name))) continue;
    if (name === tiedCopy) {
      const e = tensors.get(sources[0].source) as HfTensor;
      if (sameShape(t.shape, e.shape) && t.data.every((x, i) => Object.is(x, e.data[i]))) continue;
      throw new Error(
        `${where}: tensor "${name}" is not equal to "${sources[0].source}", yet config.json ties them (tie_word_embeddings); supported: equal tensors, or tie_word_embeddings false`,
      );
    }
    throw new Error(
      `${where}: tensor "${name}" is not part of a ${spec.architecture} as polca reads it (expected tensors: ${[...expected].join(', ')})`,
    );
  }
  for (const name of expected) {
    const d = (tensors.get(name) as HfTensor).data;
    for (let i = 0; i < d.length; i++)
      if (!Number.isFinite(d[i])) throw new Error(`${where}: tensor "${name}" holds a non-finite value (${d[i]}) at flat index ${i}`);
  }
  return sources;
}

/** θ from per-tensor values over the checkpoint's tensors (weights, or a direction in the checkpoint's coordinates). */
export function toTheta(sources: readonly ThetaSource[], shape: ModelShape, get: (source: string) => ArrayLike<number>): Float32Array {
  const layout = paramLayout(shape);
  const last = layout[layout.length - 1];
  const theta = new Float32Array(last.offset + last.size);
  layout.forEach((e, k) => {
    const s = sources[k];
    const v = get(s.source);
    for (let i = 0; i < e.size; i++) theta[e.offset + i] = v[s.index(i)];
  });
  return theta;
}
