/**
 * The `data` step: the evaluation and Hessian sequences of the run's task and the evaluation
 * tokens with their label columns (core/data.ts, core/tasks/). examples.parquet: split, index,
 * then the task's example columns; tokens.parquet: token, example (the evaluation sequence the
 * token belongs to, T tokens per sequence), then the task's label columns.
 */
import { DATA_TABLES, EXAMPLE_COLUMNS, TOKEN_COLUMNS } from '../../artifacts/tables.ts';
import type { Config } from '../../config/schema.ts';
import { evalTokenCount, makeData, sequenceShape, taskKeyParams } from '../../core/data.ts';
import type { TaskColumn } from '../../core/tasks/index.ts';
import { runStep, type StepContext, type StepResult } from './context.ts';
import { defineStep } from './define.ts';
import { parquet } from './io.ts';

/** The step spec (whose stepKey is the artifact's key) of the data step. */
export function dataSpec(c: Config) {
  return {
    step: 'data',
    version: dataDef.version,
    params: { seed: c.seed, data: c.data, ...taskKeyParams(c) },
    inputs: {},
  };
}

const column = (col: TaskColumn, rows: number): Parameters<typeof parquet>[0][number] => {
  if (col.values.length !== rows) throw new Error(`data: task column ${col.name} has ${col.values.length} values for ${rows} rows`);
  return [col.name, col.type, col.values];
};

export async function dataStep(ctx: StepContext, c: Config): Promise<StepResult> {
  return runStep(ctx, 'data', dataSpec(c), async () => {
    const d = await makeData(c);
    const nEval = d.eval.n;
    const nHess = d.hessian.n;
    const rows = nEval + nHess;
    const examples = parquet([
      [EXAMPLE_COLUMNS.split, 'utf8', [...new Array<string>(nEval).fill('eval'), ...new Array<string>(nHess).fill('hessian')]],
      [EXAMPLE_COLUMNS.index, 'int32', Int32Array.from({ length: rows }, (_, i) => (i < nEval ? i : i - nEval))],
      ...d.exampleColumns.map((col) => column(col, rows)),
    ]);
    const n = evalTokenCount(c);
    const T = sequenceShape(c).outputsPerSequence;
    if (n !== nEval * T) throw new Error(`data: ${nEval} evaluation sequences of ${T} tokens for ${n} evaluation tokens`);
    const tokens = parquet([
      [TOKEN_COLUMNS.token, 'int32', Int32Array.from({ length: n }, (_, t) => t)],
      [TOKEN_COLUMNS.example, 'int32', Int32Array.from({ length: n }, (_, t) => Math.floor(t / T))],
      ...d.tokenColumns.map((col) => column(col, n)),
    ]);
    return {
      files: { [DATA_TABLES.examples]: examples, [DATA_TABLES.tokens]: tokens },
      meta: { tokens: n },
    };
  });
}

/** The `data` step in the registry (activities/steps/registry.ts). */
export const dataDef = defineStep({ version: '1', label: () => 'data', run: dataStep });
