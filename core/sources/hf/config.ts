/**
 * A Hugging Face checkpoint's config.json as polca's model shape (core/model/layout.ts): the sizes
 * (`model`), the vocabulary, the longest context the checkpoint supports and the architecture's
 * departures from polca's own model (`Architecture`). Two architectures are read:
 *   GPT2LMHeadModel     n_layer, n_embd, n_head, n_inner (null: 4·n_embd), vocab_size, n_positions,
 *                       activation_function, layer_norm_epsilon, tie_word_embeddings
 *   GPTNeoXForCausalLM  num_hidden_layers, hidden_size, num_attention_heads, intermediate_size,
 *                       vocab_size, max_position_embeddings, hidden_act, layer_norm_eps,
 *                       rotary_pct and rotary_emb_base (Pythia's names) or rope_parameters /
 *                       rope_scaling {rope_type: "default", partial_rotary_factor, rope_theta}
 *                       (transformers 5's), use_parallel_residual, tie_word_embeddings, attention_bias
 * Anything else (another architecture, an activation, a setting that changes the computation in a
 * way polca does not implement) is refused with an error naming the field, its value and what is
 * supported. Reads nothing but the parsed JSON.
 */
import type { Architecture } from '../../model/layout.ts';

export const SUPPORTED_ARCHITECTURES = ['GPT2LMHeadModel', 'GPTNeoXForCausalLM'] as const;
export type HfArchitecture = (typeof SUPPORTED_ARCHITECTURES)[number];

/** The activation names of transformers' ACT2FN that polca implements, and which GELU each is. */
export const ACTIVATIONS: Record<string, Architecture['activation']> = {
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu: 'gelu_erf',
};

export interface HfModelSpec {
  architecture: HfArchitecture;
  /** polca's model sizes (config/schema.ts `model`). */
  model: { nLayers: number; dModel: number; nHeads: number; dMlp: number };
  vocabSize: number;
  /** The longest context the checkpoint's positions support (n_positions, max_position_embeddings). */
  maxPositions: number;
  /** The config field that gives maxPositions, for messages. */
  maxPositionsField: string;
  arch: Architecture;
  /** The config.json fields the spec was read from, with their values (compared across checkpoints). */
  fields: Record<string, unknown>;
}

function fail(where: string, field: string, value: unknown, allowed: string): never {
  throw new Error(`${where}: config.json field "${field}" is ${JSON.stringify(value)}; ${allowed}`);
}

/** Reads config fields, recording every field read (and its default when absent). */
class Reader {
  readonly fields: Record<string, unknown> = {};
  constructor(
    readonly json: Record<string, unknown>,
    readonly where: string,
  ) {}
  raw(field: string, dflt?: unknown): unknown {
    const v = field in this.json ? this.json[field] : dflt;
    this.fields[field] = v;
    return v;
  }
  posInt(field: string, dflt?: number): number {
    const v = this.raw(field, dflt);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(this.where, field, v, 'allowed: a positive integer');
    return v;
  }
  posNum(field: string, dflt?: number): number {
    const v = this.raw(field, dflt);
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(this.where, field, v, 'allowed: a positive number');
    return v;
  }
  bool(field: string, dflt: boolean, allowed?: boolean): boolean {
    const v = this.raw(field, dflt);
    if (typeof v !== 'boolean') fail(this.where, field, v, 'allowed: true or false');
    if (allowed !== undefined && v !== allowed) fail(this.where, field, v, `supported: ${allowed} only`);
    return v;
  }
  activation(field: string, dflt: string): Architecture['activation'] {
    const v = this.raw(field, dflt);
    const a = typeof v === 'string' ? ACTIVATIONS[v] : undefined;
    if (!a) fail(this.where, field, v, `supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
    return a;
  }
}

/**
 * The model spec of a parsed config.json. `where` names the checkpoint in messages (its path).
 */
export function readHfConfig(json: unknown, where: string): HfModelSpec {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${where}: config.json is not a JSON object`);
  const r = new Reader(json as Record<string, unknown>, where);
  const archs = r.raw('architectures');
  const supported = `supported: exactly one of ${SUPPORTED_ARCHITECTURES.join(', ')}`;
  if (!Array.isArray(archs) || archs.length !== 1) fail(where, 'architectures', archs, supported);
  const architecture = archs[0] as HfArchitecture;
  if (!SUPPORTED_ARCHITECTURES.includes(architecture)) fail(where, 'architectures', archs, supported);
  const spec = architecture === 'GPT2LMHeadModel' ? gpt2(r) : neox(r);
  const { nHeads, dModel } = spec.model;
  if (dModel % nHeads !== 0)
    throw new Error(
      `${where}: the number of heads (${nHeads}) does not divide the model width (${dModel}); no such checkpoint is supported`,
    );
  return { ...spec, architecture, fields: r.fields };
}

function gpt2(r: Reader): Omit<HfModelSpec, 'architecture' | 'fields'> {
  const dModel = r.posInt('n_embd');
  const inner = r.raw('n_inner', null);
  const dMlp = inner === null ? 4 * dModel : r.posInt('n_inner');
  const model = { nLayers: r.posInt('n_layer'), dModel, nHeads: r.posInt('n_head'), dMlp };
  r.bool('scale_attn_weights', true, true);
  r.bool('scale_attn_by_inverse_layer_idx', false, false);
  r.bool('add_cross_attention', false, false);
  // reorder_and_upcast_attn only changes the precision of the attention scores (float32 there).
  r.bool('reorder_and_upcast_attn', false);
  const tied = r.bool('tie_word_embeddings', true);
  return {
    model,
    vocabSize: r.posInt('vocab_size'),
    maxPositions: r.posInt('n_positions'),
    maxPositionsField: 'n_positions',
    arch: {
      positions: 'learned',
      rotaryDims: 0,
      rotaryBase: 0,
      unembed: tied ? 'tied' : 'untied',
      parallelResidual: false,
      activation: r.activation('activation_function', 'gelu_new'),
      lnEps: r.posNum('layer_norm_epsilon', 1e-5),
    },
  };
}

function neox(r: Reader): Omit<HfModelSpec, 'architecture' | 'fields'> {
  const model = {
    nLayers: r.posInt('num_hidden_layers'),
    dModel: r.posInt('hidden_size'),
    nHeads: r.posInt('num_attention_heads'),
    dMlp: r.posInt('intermediate_size'),
  };
  const dHead = model.dModel / model.nHeads;
  // Rotary settings: Pythia's rotary_pct / rotary_emb_base, or transformers 5's rope_parameters
  // (rope_scaling in some versions), of the "default" type only.
  let pct: number;
  let base: number;
  const rope = r.raw('rope_parameters', undefined) ?? r.raw('rope_scaling', undefined);
  if (rope !== undefined && rope !== null) {
    const field = 'rope_parameters' in r.json ? 'rope_parameters' : 'rope_scaling';
    if (typeof rope !== 'object' || Array.isArray(rope)) fail(r.where, field, rope, 'supported: an object with rope_type "default"');
    const p = rope as Record<string, unknown>;
    const type = p.rope_type ?? p.type ?? 'default';
    if (type !== 'default') fail(r.where, `${field}.rope_type`, type, 'supported: "default" only (no scaled rotary embeddings)');
    pct = (p.partial_rotary_factor as number) ?? (r.json.rotary_pct as number) ?? 0.25;
    base = (p.rope_theta as number) ?? (r.json.rotary_emb_base as number) ?? 10000;
    if (typeof pct !== 'number' || !(pct > 0 && pct <= 1))
      fail(r.where, `${field}.partial_rotary_factor`, pct, 'allowed: a number in (0, 1]');
    if (typeof base !== 'number' || !(base > 0)) fail(r.where, `${field}.rope_theta`, base, 'allowed: a positive number');
  } else {
    pct = r.posNum('rotary_pct', 0.25);
    if (pct > 1) fail(r.where, 'rotary_pct', pct, 'allowed: a number in (0, 1]');
    base = r.posNum('rotary_emb_base', 10000);
  }
  const rotaryDims = Math.floor(dHead * pct);
  if (rotaryDims < 2 || rotaryDims % 2 !== 0)
    fail(
      r.where,
      'rotary_pct',
      pct,
      `it gives ${rotaryDims} rotary dimensions of a head of ${dHead}; supported: an even number of at least 2 (int(head size · rotary_pct))`,
    );
  r.bool('attention_bias', true, true);
  const tied = r.bool('tie_word_embeddings', false);
  return {
    model,
    vocabSize: r.posInt('vocab_size'),
    maxPositions: r.posInt('max_position_embeddings'),
    maxPositionsField: 'max_position_embeddings',
    arch: {
      positions: 'rotary',
      rotaryDims,
      rotaryBase: base,
      unembed: tied ? 'tied' : 'untied',
      parallelResidual: r.bool('use_parallel_residual', true),
      activation: r.activation('hidden_act', 'gelu'),
      lnEps: r.posNum('layer_norm_eps', 1e-5),
    },
  };
}
