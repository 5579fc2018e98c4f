/** The `data` step: the evaluation and Hessian examples, and the evaluation tokens with their skills (core/data.ts). */
import type { Config } from '../../config/schema.ts';
import { makeData, tokenRows } from '../../core/data.ts';
import { runStep, type StepContext, type StepResult } from '../context.ts';
import { parquet, STEP_VERSIONS } from './io.ts';

export async function dataStep(ctx: StepContext, c: Config): Promise<StepResult> {
  const spec = {
    step: 'data',
    version: STEP_VERSIONS.data,
    params: { seed: c.seed, data: c.data },
    inputs: {},
  };
  return runStep(ctx, 'data', spec, async () => {
    const { evalExamples, hessianExamples } = makeData(c);
    const all = [...evalExamples.map((e) => ['eval', e] as const), ...hessianExamples.map((e) => ['hessian', e] as const)];
    const counter = () => {
      let i = 0;
      return () => i++;
    };
    const ie = counter();
    const ih = counter();
    const examples = parquet([
      ['split', 'utf8', all.map(([s]) => s)],
      ['index', 'int32', Int32Array.from(all.map(([s]) => (s === 'eval' ? ie() : ih())))],
      ['a', 'int32', Int32Array.from(all.map(([, e]) => e.a))],
      ['b', 'int32', Int32Array.from(all.map(([, e]) => e.b))],
      ['sum', 'int32', Int32Array.from(all.map(([, e]) => e.a + e.b))],
    ]);
    const t = tokenRows(evalExamples);
    const tokens = parquet([
      ['token', 'int32', t.token],
      ['example', 'int32', t.example],
      ['a', 'int32', t.a],
      ['b', 'int32', t.b],
      ['digit', 'int32', t.digit],
      ['carry', 'boolean', t.carry],
      ['value', 'int32', t.value],
    ]);
    return {
      files: { 'examples.parquet': examples, 'tokens.parquet': tokens },
      meta: { tokens: t.token.length },
    };
  });
}
