/**
 * The `cluster` step: HDBSCAN of one trajectory family and its skill reading (core/cluster/hdbscan.ts,
 * core/cluster/skills.ts per cluster, core/cluster/skill-scopes.ts per scope with coverage and the within-digit
 * metrics). Tables: docs/artifacts.md.
 */
import { DATA_TABLES } from '../../artifacts/tables.ts';
import { decodeParquet, decodeSafetensors } from '../../artifacts/index.ts';
import type { Config, Family } from '../../config/schema.ts';
import { evalTokenCount, taskOf } from '../../core/data.ts';
import { labelCodes } from '../../core/tasks/index.ts';
import { taskReads } from '../../core/tasks/specs.ts';
import { hdbscan } from '../../core/cluster/hdbscan.ts';
import { skillTable } from '../../core/cluster/skill-scopes.ts';
import { scopedSkillTable } from '../../core/tasks/arithmetic/scopes.ts';
import { readSkills } from '../../core/cluster/skills.ts';
import { clusterCurves, deltaTrajectories, lossTrajectories, scale } from '../../core/attribution/trajectories.ts';
import { type ClusterTarget, intervalCount } from '../../pipeline/plan.ts';
import { readInput, runStep, type StepContext, type StepResult, yieldNow } from './context.ts';
import { defineStep } from './define.ts';
import { parquet } from './io.ts';

async function familyRows(ctx: StepContext, c: Config, key: string, family: Family, vector: number): Promise<Float64Array[]> {
  const n = evalTokenCount(c);
  const T = intervalCount(c);
  if (family === 'polca') {
    const { tensors } = decodeSafetensors(await readInput(ctx, key, 'polca.safetensors'));
    const t = tensors[`vector_${String(vector).padStart(4, '0')}`];
    if (!t) throw new Error(`cluster: basis vector ${vector} has no POLCA trajectory`);
    return Array.from({ length: n }, (_, x) => Float64Array.from((t.data as Float32Array).subarray(x * T, (x + 1) * T)));
  }
  const tab = await decodeParquet(await readInput(ctx, key, 'loss.parquet'), ['loss']);
  const l = tab.loss as Float32Array;
  const perCheckpoint = Array.from({ length: T + 1 }, (_, t) => Float64Array.from({ length: n }, (_, x) => l[x * (T + 1) + t]));
  const loss = lossTrajectories(perCheckpoint);
  if (family === 'loss') return loss;
  return deltaTrajectories(loss, family === 'absdloss');
}

/** HDBSCAN of one trajectory family (or one basis vector's POLCA trajectories) and its skill reading. */
export async function clusterStep(
  ctx: StepContext,
  c: Config,
  target: ClusterTarget,
  inputs: { data: string; trajectories: string },
): Promise<StepResult> {
  const { families: _families, ...clusterParams } = c.cluster;
  const spec = {
    step: 'cluster',
    version: clusterDef.version,
    params: {
      seed: c.seed,
      cluster: clusterParams,
      family: target.family,
      vector: target.vector,
    },
    inputs: { data: inputs.data, trajectories: inputs.trajectories },
  };
  return runStep(ctx, target.name, spec, async () => {
    const raw = await familyRows(ctx, c, inputs.trajectories, target.family, target.vector);
    const rows = scale(raw, c.cluster.scaling);
    ctx.heartbeat({ phase: 'hdbscan', done: 0, total: 1 });
    await yieldNow();
    const res = hdbscan(rows, {
      ids: Int32Array.from({ length: rows.length }, (_, i) => i),
      minClusterSize: c.cluster.minClusterSize,
      minSamples: c.cluster.minSamples,
      selection: c.cluster.selection,
      allowSingleCluster: c.cluster.allowSingleCluster,
      clusterSelectionEpsilon: c.cluster.clusterSelectionEpsilon,
    });
    // The task's skill columns of tokens.parquet (arithmetic: digit, carry, value), as integer codes.
    const task = taskOf(c);
    const tok = await decodeParquet(await readInput(ctx, inputs.data, DATA_TABLES.tokens), [...task.skillColumns]);
    const skills: Record<string, Int32Array> = {};
    for (const name of task.skillColumns) {
      const col = tok[name] as ArrayLike<number> | ArrayLike<boolean> | ArrayLike<string> | undefined;
      if (!col) throw new Error(`cluster: tokens.parquet has no column ${name}, a skill of task ${task.name}`);
      skills[name] = labelCodes(name, col);
    }
    const { perCluster } = readSkills(res.labels, skills, c.cluster.shuffles, c.seed);
    // The per-scope table reads the digit places (core/cluster/skill-scopes.ts) where the task has them
    // (arithmetic); any other task's skills are read over all tokens.
    const { digit, carry, value } = skills;
    if (taskReads(c).digitPlaces && !(digit && carry && value))
      throw new Error(`cluster: task ${task.name} reads digit places but has no digit, carry and value skills`);
    const summary =
      taskReads(c).digitPlaces && digit && carry && value
        ? scopedSkillTable(res.labels, { digit, carry, value }, c.cluster.shuffles, c.seed)
        : skillTable(res.labels, skills, c.cluster.shuffles, c.seed);
    const curves = clusterCurves(raw, res.labels);
    const n = rows.length;
    const fam = (k: number) => new Array<string>(k).fill(target.family);
    const vec = (k: number) => new Int32Array(k).fill(target.vector);
    const files = {
      'labels.parquet': parquet([
        ['family', 'utf8', fam(n)],
        ['vector', 'int32', vec(n)],
        ['token', 'int32', Int32Array.from({ length: n }, (_, i) => i)],
        ['label', 'int32', res.labels],
        ['probability', 'float32', Float32Array.from(res.probabilities)],
      ]),
      'skills.parquet': parquet([
        ['family', 'utf8', fam(perCluster.length)],
        ['vector', 'int32', vec(perCluster.length)],
        ['cluster', 'int32', Int32Array.from(perCluster.map((p) => p.cluster))],
        ['size', 'int32', Int32Array.from(perCluster.map((p) => p.size))],
        ['skill', 'utf8', perCluster.map((p) => p.skill)],
        ['dominant', 'int32', Int32Array.from(perCluster.map((p) => p.dominant))],
        ['share', 'float64', Float64Array.from(perCluster.map((p) => p.share))],
      ]),
      'summary.parquet': parquet([
        ['family', 'utf8', fam(summary.length)],
        ['vector', 'int32', vec(summary.length)],
        ['scope', 'utf8', summary.map((s) => s.scope)],
        ['skill', 'utf8', summary.map((s) => s.skill)],
        ['coincidesWith', 'utf8', summary.map((s) => s.coincidesWith)],
        ['tokens', 'int32', Int32Array.from(summary.map((s) => s.tokens))],
        ['clustered', 'int32', Int32Array.from(summary.map((s) => s.clustered))],
        ['coverage', 'float64', Float64Array.from(summary.map((s) => s.coverage))],
        ['clusters', 'int32', Int32Array.from(summary.map((s) => s.clusters))],
        ['outliers', 'int32', Int32Array.from(summary.map((s) => s.outliers))],
        ['homogeneity', 'float64', Float64Array.from(summary.map((s) => s.homogeneity))],
        ['baseline', 'float64', Float64Array.from(summary.map((s) => s.baseline))],
        ['ami', 'float64', Float64Array.from(summary.map((s) => s.ami))],
        ['amiWithOutliers', 'float64', Float64Array.from(summary.map((s) => s.amiWithOutliers))],
        ['amiShuffledMean', 'float64', Float64Array.from(summary.map((s) => s.amiShuffledMean))],
        ['amiShuffledSd', 'float64', Float64Array.from(summary.map((s) => s.amiShuffledSd))],
      ]),
      'curves.parquet': parquet([
        ['family', 'utf8', fam(curves.length)],
        ['vector', 'int32', vec(curves.length)],
        ['cluster', 'int32', Int32Array.from(curves.map((p) => p.cluster))],
        ['checkpoint', 'int32', Int32Array.from(curves.map((p) => p.checkpoint))],
        ['mean', 'float64', Float64Array.from(curves.map((p) => p.mean))],
        ['std', 'float64', Float64Array.from(curves.map((p) => p.std))],
      ]),
    };
    return {
      files,
      meta: {
        family: target.family,
        vector: target.vector,
        clusters: res.nClusters,
        coverage: summary[0].coverage,
        summary: summary
          .filter((s) => s.scope === 'all' || s.coincidesWith === '')
          .map((s) => ({
            scope: s.scope,
            skill: s.skill,
            coverage: s.coverage,
            homogeneity: s.homogeneity,
            baseline: s.baseline,
            ami: s.ami,
            amiWithOutliers: s.amiWithOutliers,
            outliers: s.outliers,
          })),
      },
    };
  });
}

/** The `cluster` step in the registry (activities/steps/registry.ts). */
export const clusterDef = defineStep({ version: '2', label: (_c, target, _inputs) => target.name, run: clusterStep });
