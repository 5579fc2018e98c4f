/** The evaluation tokens of the `small` preset (digit, carry as 0/1, value), for skill-reading tests. */
import { resolveConfig } from '../../config/index.ts';
import { makeSplits, tokenRows } from '../../core/tasks/arithmetic/task.ts';

export function evalTokens(evalSize = 500) {
  const c = resolveConfig({ preset: 'small', config: { data: { evalSize } } });
  const t = tokenRows(makeSplits(c).evalExamples);
  return { digit: t.digit, carry: Int32Array.from(t.carry, (b) => (b ? 1 : 0)), value: t.value };
}
