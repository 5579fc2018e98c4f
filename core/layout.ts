/**
 * The flat parameter layout of the transformer (documented in core/model.ts): names, shapes and
 * offsets of every tensor in θ, in order.
 */
import type { Config } from '../config/schema.ts';
import { INPUT_LEN, VOCAB_SIZE } from './data.ts';
import type { ParamEntry } from './types.ts';

type ModelConfig = Config['model'];

export function paramLayout(m: ModelConfig): ParamEntry[] {
  const D = m.dModel;
  const M = m.dMlp;
  const shapes: [string, number[]][] = [
    ['embed.W_E', [VOCAB_SIZE, D]],
    ['pos_embed.W_pos', [INPUT_LEN, D]],
  ];
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
  shapes.push(['ln_final.w', [D]], ['ln_final.b', [D]], ['unembed.W_U', [D, VOCAB_SIZE]], ['unembed.b_U', [VOCAB_SIZE]]);
  let offset = 0;
  return shapes.map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const e = { name, shape, offset, size };
    offset += size;
    return e;
  });
}

export function numParams(m: ModelConfig): number {
  const layout = paramLayout(m);
  const last = layout[layout.length - 1];
  return last.offset + last.size;
}
