/**
 * The `lca-params` step: the P parameters the LCA family allocates the loss change to, the P
 * largest |θ_i| at the final checkpoint, ties broken by the lower flat index (core/attribution/lca.ts
 * `selectLcaParams`). Output `lca-params.parquet`: rank, index (flat), name (layout tensor),
 * element (index within that tensor), value (θ_i at the final checkpoint).
 */
import { modelShape, taskKeyParams } from '../../core/data.ts';
import { decodeParquet } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { type LcaParam, selectLcaParams } from '../../core/attribution/lca.ts';
import { paramLayout } from '../../core/model/layout.ts';
import { BadInputError, readInput, runStep, type StepContext, type StepResult } from './context.ts';
import { defineStep } from './define.ts';
import { loadState, parquet } from './io.ts';

/** The paper's baseline: LCA on the 50 largest-magnitude parameters. */
export const DEFAULT_LCA_PARAMS = 50;

/** Selection of the final train state `inputs.train` (the last segment's). */
export async function lcaParamsStep(
  ctx: StepContext,
  c: Config,
  inputs: { train: string },
  lcaParams = DEFAULT_LCA_PARAMS,
): Promise<StepResult> {
  if (!Number.isInteger(lcaParams) || lcaParams < 1) {
    throw new BadInputError(`lcaParams: must be a positive integer (the number of parameters LCA allocates to); got ${lcaParams}`);
  }
  const spec = {
    step: 'lca-params',
    version: lcaParamsDef.version,
    params: { model: c.model, ...taskKeyParams(c), lcaParams },
    inputs: { train: inputs.train },
  };
  return runStep(ctx, 'lca-params', spec, async () => {
    const state = await loadState(ctx, inputs.train);
    const layout = paramLayout(modelShape(c));
    if (lcaParams > state.params.length) {
      throw new BadInputError(`lcaParams: must be at most the model's parameter count ${state.params.length}; got ${lcaParams}`);
    }
    const sel = selectLcaParams(state.params, layout, lcaParams);
    return {
      files: {
        'lca-params.parquet': parquet([
          ['rank', 'int32', Int32Array.from(sel, (_, r) => r)],
          ['index', 'int32', Int32Array.from(sel, (p) => p.index)],
          ['name', 'utf8', sel.map((p) => p.name)],
          ['element', 'int32', Int32Array.from(sel, (p) => p.element)],
          ['value', 'float32', Float32Array.from(sel, (p) => p.value)],
        ]),
      },
      meta: { params: sel.length, iteration: state.step, smallestAbs: Math.abs(sel[sel.length - 1].value) },
    };
  });
}

/** The selection stored by `lca-params`, in rank order. */
export async function loadLcaParams(ctx: StepContext, key: string): Promise<LcaParam[]> {
  const t = await decodeParquet(await readInput(ctx, key, 'lca-params.parquet'), ['rank', 'index', 'name', 'element', 'value']);
  const rank = t.rank as Int32Array;
  const index = t.index as Int32Array;
  const name = t.name as string[];
  const element = t.element as Int32Array;
  const value = t.value as Float32Array;
  rank.forEach((r, i) => {
    if (r !== i) throw new Error(`lca-params ${key}: row ${i} has rank ${r}`);
  });
  return Array.from(index, (ix, i) => ({ index: ix, name: name[i], element: element[i], value: value[i] }));
}

/** The `lcaParams` step in the registry (activities/steps/registry.ts). */
export const lcaParamsDef = defineStep({ version: '1', label: () => 'lca-params', run: lcaParamsStep });
