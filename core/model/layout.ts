/**
 * The flat parameter layout of the transformer (documented in core/model/model.ts): names, shapes and
 * offsets of every tensor in θ, in order.
 */
import type { ModelSettings } from '../settings.ts';
import type { SequenceShape } from '../tasks/task.ts';
import type { ParamEntry } from '../types.ts';

/** The model's settings with the task's sequence shape (core/data.ts `modelShape`): all a layout depends on. */
export type ModelShape = ModelSettings & SequenceShape;

export function paramLayout(m: ModelShape): ParamEntry[] {
  const D = m.dModel;
  const M = m.dMlp;
  const V = m.vocabSize;
  const shapes: [string, number[]][] = [
    ['embed.W_E', [V, D]],
    ['pos_embed.W_pos', [m.contextLength, D]],
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
  shapes.push(['ln_final.w', [D]], ['ln_final.b', [D]], ['unembed.W_U', [D, V]], ['unembed.b_U', [V]]);
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
