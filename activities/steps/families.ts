/**
 * Readers of the baseline trajectory families, for the steps that cluster them:
 *   first   first-order POLCA F(x, b_j, t) = d1(x, b_j, θ_t)·⟨b_j, Δ_t⟩, T points, one set per basis vector
 *           (`trajectories/first`, first.safetensors, tensors vector_<jjjj>: [token, T]);
 *   fisher  F_b(x, θ_t) = d1(x, b_j, θ_t)², T + 1 points, one set per basis vector
 *           (`trajectories/fisher`, fisher.safetensors, tensors vector_<jjjj>: [token, T + 1]);
 *   lca     LCA_i(x, t) on the selected parameters, T points, one set per parameter in rank order
 *           (`trajectories/lca`, lca.safetensors, tensors param_<iiii>: [token, T]).
 */
import { decodeSafetensors, type Tensor } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { basisSize } from '../../pipeline/plan.ts';
import { readInput, type StepContext } from './context.ts';
import { DEFAULT_LCA_PARAMS } from './lca-params.ts';

export const BASELINE_FAMILIES = ['first', 'fisher', 'lca'] as const;
export type BaselineFamily = (typeof BASELINE_FAMILIES)[number];

export const FAMILY_FILES: Record<BaselineFamily, string> = {
  first: 'first.safetensors',
  fisher: 'fisher.safetensors',
  lca: 'lca.safetensors',
};

/** The name of trajectory set `index` in a family's file: vector_<jjjj> or param_<iiii>. */
export function familyTensorName(family: BaselineFamily, index: number): string {
  return `${family === 'lca' ? 'param' : 'vector'}_${String(index).padStart(4, '0')}`;
}

function checkFamily(family: string): asserts family is BaselineFamily {
  if (!(BASELINE_FAMILIES as readonly string[]).includes(family)) {
    throw new Error(`family: unknown baseline family ${JSON.stringify(family)}; allowed: ${BASELINE_FAMILIES.join(', ')}`);
  }
}

/** How many trajectory sets a family has, from the config: basis vectors m, or the P parameters of LCA. */
export function familySize(c: Config, family: BaselineFamily, lcaParams = DEFAULT_LCA_PARAMS): number {
  checkFamily(family);
  return family === 'lca' ? lcaParams : basisSize(c);
}

async function familyTensors(ctx: StepContext, family: BaselineFamily, key: string): Promise<Record<string, Tensor>> {
  checkFamily(family);
  return decodeSafetensors(await readInput(ctx, key, FAMILY_FILES[family])).tensors;
}

/** How many trajectory sets the stored artifact `key` of `family` holds. */
export async function countFamilyTrajectories(ctx: StepContext, family: BaselineFamily, key: string): Promise<number> {
  const tensors = await familyTensors(ctx, family, key);
  let k = 0;
  while (tensors[familyTensorName(family, k)]) k++;
  return k;
}

/** Trajectory set `index` of `family` from artifact `key`: one row per token. */
export async function loadFamilyTrajectories(
  ctx: StepContext,
  family: BaselineFamily,
  key: string,
  index: number,
): Promise<Float64Array[]> {
  const tensors = await familyTensors(ctx, family, key);
  const name = familyTensorName(family, index);
  const t = tensors[name];
  if (!t) throw new Error(`${family} trajectories ${key}: there is no ${name} (index ${index})`);
  if (t.shape.length !== 2)
    throw new Error(`${family} trajectories ${key}: ${name} has shape [${t.shape.join(', ')}]; expected [token, time]`);
  const [n, T] = t.shape;
  const data = t.data as Float32Array;
  return Array.from({ length: n }, (_, x) => Float64Array.from(data.subarray(x * T, (x + 1) * T)));
}
