/**
 * The flat parameter layout of the transformer (documented in core/model/model.ts): names, shapes and
 * offsets of every tensor in θ, in order.
 */
import type { ModelSettings } from '../settings.ts';
import type { SequenceShape } from '../tasks/task.ts';
import type { ParamEntry } from '../types.ts';

/**
 * How an imported checkpoint's architecture departs from polca's own model (core/model/model.ts), as its
 * config.json gives it. Absent on polca's own configs, so that their shapes, layouts and keys are
 * what they always were.
 *   positions  'learned': pos_embed.W_pos [L, D] added to the embedding (GPT-2);
 *              'rotary': no position parameters; the first `rotaryDims` of every head's query
 *              and key dimensions rotated by position (GPT-NeoX: rotary_pct · dHead, base rotaryBase)
 *   unembed    'untied-bias': unembed.W_U [D, V] and unembed.b_U [V] (polca's model);
 *              'untied': unembed.W_U only (GPT-NeoX's embed_out);
 *              'tied': no parameters of its own, logits = h·W_Eᵀ (GPT-2's lm_head is its wte)
 *   parallelResidual  x + attn(ln1(x)) + mlp(ln2(x)) (GPT-NeoX) instead of two residual steps
 *   activation 'gelu_tanh' (gelu_new, polca's and GPT-2's) or 'gelu_erf' (exact, x·Φ(x))
 *   lnEps      every LayerNorm's ε
 */
export interface Architecture {
  positions: 'learned' | 'rotary';
  rotaryDims: number;
  rotaryBase: number;
  unembed: 'untied-bias' | 'untied' | 'tied';
  parallelResidual: boolean;
  activation: 'gelu_tanh' | 'gelu_erf';
  lnEps: number;
}

/**
 * The model's settings with the task's sequence shape (core/data.ts `modelShape`): all a layout
 * depends on; `arch` only for an imported architecture.
 */
export type ModelShape = ModelSettings & SequenceShape & { arch?: Architecture };

export function paramLayout(m: ModelShape): ParamEntry[] {
  const D = m.dModel;
  const M = m.dMlp;
  const V = m.vocabSize;
  const shapes: [string, number[]][] = [['embed.W_E', [V, D]]];
  if (m.arch?.positions !== 'rotary') shapes.push(['pos_embed.W_pos', [m.contextLength, D]]);
  for (let l = 0; l < m.nLayers; l++) {
    const p = `blocks.${l}`;
    shapes.push(
      [`${p}.ln1.w`, [D]],
      [`${p}.ln1.b`, [D]],
      [`${p}.attn.W_QKV`, [D, 3 * D]],
      [`${p}.attn.b_QKV`, [3 * D]],
      [`${p}.attn.W_O`, [D, D]],
      [`${p}.attn.b_O`, [D]],
      [`${p}.ln2.w`, [D]],
      [`${p}.ln2.b`, [D]],
      [`${p}.mlp.W_in`, [D, M]],
      [`${p}.mlp.b_in`, [M]],
      [`${p}.mlp.W_out`, [M, D]],
      [`${p}.mlp.b_out`, [D]],
    );
  }
  shapes.push(['ln_final.w', [D]], ['ln_final.b', [D]]);
  const unembed = m.arch?.unembed ?? 'untied-bias';
  if (unembed !== 'tied') shapes.push(['unembed.W_U', [D, V]]);
  if (unembed === 'untied-bias') shapes.push(['unembed.b_U', [V]]);
  let offset = 0;
  return shapes.map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const e = { name, shape, offset, size };
    offset += size;
    return e;
  });
}

export function numParams(m: ModelShape): number {
  const layout = paramLayout(m);
  const last = layout[layout.length - 1];
  return last.offset + last.size;
}
