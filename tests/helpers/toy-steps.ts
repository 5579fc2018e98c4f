/**
 * A step registry with one toy step, added through the registry alone (its definition and a
 * registry line; nothing else in the repository names it): `toy(word)` stores the word reversed
 * as `reversed.txt` under the key of { step: 'toy', version, params: { word } }.
 */
import { runStep, type StepContext } from '../../activities/steps/context.ts';
import { defineStep } from '../../activities/steps/define.ts';
import type { StepResult } from '../../pipeline/contract.ts';

async function toyStep(ctx: StepContext, word: string): Promise<StepResult> {
  const spec = { step: 'toy', version: toyDef.version, params: { word }, inputs: {} };
  return runStep(ctx, toyDef.label(word), spec, async () => {
    ctx.heartbeat({ phase: 'reversing', done: 0, total: 1 });
    const reversed = [...word].reverse().join('');
    return { files: { 'reversed.txt': new TextEncoder().encode(reversed) }, meta: { length: word.length } };
  });
}

const toyDef = defineStep({ version: '1', label: (word: string) => `toy/${word}`, run: toyStep });

export const STEPS = { toy: toyDef };
