/**
 * The `protocol` step: the published evaluation protocol on one trajectory set (a family, or
 * one member of it: a basis vector, a parameter) — core/cluster/protocol.ts. The filters for
 * decomposition families, HDBSCAN on the raw trajectories of the kept tokens with settings
 * relative to the token count, each cluster's carry reading with the top-1 carry cluster under
 * the place rule, and each cluster's breakthrough time. Computed next to the `cluster` reading,
 * never instead of it. Tables: docs/artifacts.md.
 */
import { DATA_TABLES } from '../../artifacts/tables.ts';
import { decodeParquet, decodeSafetensors } from '../../artifacts/index.ts';
import type { Config, ProtocolFamily } from '../../config/schema.ts';
import { evalTokenCount } from '../../core/data.ts';
import { taskReads } from '../../core/tasks/specs.ts';
import { hdbscan } from '../../core/cluster/hdbscan.ts';
import { breakthroughTime, cumulative, defaultTiming, keptTokens, relativeHdbscanSettings, rowSums } from '../../core/cluster/protocol.ts';
import { topCarryCluster } from '../../core/tasks/arithmetic/carry.ts';
import { checkpointIterations } from '../../core/train/schedule.ts';
import { clusterCurves, deltaTrajectories, lossTrajectories } from '../../core/attribution/trajectories.ts';
import { intervalCount, type ProtocolTarget } from '../../pipeline/plan.ts';
import { readInput, runStep, type StepContext, type StepResult, yieldNow } from './context.ts';
import { defineStep } from './define.ts';
import { type BaselineFamily, loadFamilyTrajectories } from './families.ts';
import { parquet } from './io.ts';

/** Families whose trajectories decompose the loss change: the filters apply to them. */
export const DECOMPOSITION_FAMILIES: readonly ProtocolFamily[] = ['polca', 'polca-first', 'lca'];
/** Families whose trajectories are levels at checkpoints (the rest are changes over intervals). */
const LEVEL_FAMILIES: readonly ProtocolFamily[] = ['loss', 'fisher'];

export async function rowsOf(ctx: StepContext, c: Config, target: ProtocolTarget, source: string): Promise<Float64Array[]> {
  const n = evalTokenCount(c);
  const T = intervalCount(c);
  if (target.family === 'loss' || target.family === 'dloss') {
    const tab = await decodeParquet(await readInput(ctx, source, 'loss.parquet'), ['loss']);
    const l = tab.loss as Float32Array;
    const loss = lossTrajectories(Array.from({ length: T + 1 }, (_, t) => Float64Array.from({ length: n }, (_, x) => l[x * (T + 1) + t])));
    return target.family === 'loss' ? loss : deltaTrajectories(loss, false);
  }
  if (target.family === 'polca') {
    const { tensors } = decodeSafetensors(await readInput(ctx, source, 'polca.safetensors'));
    const t = tensors[`vector_${String(target.member).padStart(4, '0')}`];
    if (!t) throw new Error(`protocol: basis vector ${target.member} has no POLCA trajectory`);
    return Array.from({ length: n }, (_, x) => Float64Array.from((t.data as Float32Array).subarray(x * T, (x + 1) * T)));
  }
  const baseline: Record<string, BaselineFamily> = { 'polca-first': 'first', fisher: 'fisher', lca: 'lca' };
  return loadFamilyTrajectories(ctx, baseline[target.family], source, target.member);
}

export async function protocolStep(
  ctx: StepContext,
  c: Config,
  target: ProtocolTarget,
  inputs: { data: string; trajectories: string },
): Promise<StepResult> {
  const { families: _families, lcaParams: _lcaParams, tags: _tags, ...protocolParams } = c.protocol;
  const timing = defaultTiming(c.train.iterations);
  const lag = c.protocol.lag ?? timing.lag;
  const hiddenAfter = c.protocol.hiddenAfter ?? timing.hiddenAfter;
  const spec = {
    step: 'protocol',
    version: protocolDef.version,
    params: {
      protocol: { ...protocolParams, lag, hiddenAfter },
      family: target.family,
      member: target.member,
      checkpointEvery: c.train.checkpointEvery,
      ...(c.train.denseCheckpoints ? { denseCheckpoints: c.train.denseCheckpoints } : {}),
      iterations: c.train.iterations,
    },
    inputs: { data: inputs.data, trajectories: inputs.trajectories },
  };
  return runStep(ctx, target.name, spec, async () => {
    const rows = await rowsOf(ctx, c, target, inputs.trajectories);
    const n = rows.length;
    const decomposition = DECOMPOSITION_FAMILIES.includes(target.family);
    const total = rowSums(rows).total;
    const dropped = decomposition && total > 0;
    const kept = dropped ? new Int32Array(0) : decomposition ? keptTokens(rows) : Int32Array.from({ length: n }, (_, x) => x);
    const settings = relativeHdbscanSettings(c.protocol, n, kept.length);
    ctx.heartbeat({ phase: 'hdbscan', done: 0, total: 1 });
    await yieldNow();
    const labels = new Int32Array(n).fill(-1);
    let clusters = 0;
    if (kept.length >= settings.minClusterSize && kept.length > settings.minSamples) {
      const res = hdbscan(
        Array.from(kept, (x) => rows[x]),
        { ids: kept, minClusterSize: settings.minClusterSize, minSamples: settings.minSamples },
      );
      kept.forEach((x, i) => {
        labels[x] = res.labels[i];
      });
      clusters = res.nClusters;
    }
    // The carry reading where the task asks for it (arithmetic); for another task every token
    // reads as no carry, so no cluster qualifies and the carry columns are left out.
    const hasCarry = taskReads(c).carry;
    let digit: Int32Array = new Int32Array(n);
    let carry: Int32Array = new Int32Array(n);
    if (hasCarry) {
      const tok = await decodeParquet(await readInput(ctx, inputs.data, DATA_TABLES.tokens), ['digit', 'carry']);
      digit = tok.digit as Int32Array;
      carry = Int32Array.from(tok.carry as boolean[], (b) => (b ? 1 : 0));
    }
    const all = Int32Array.from({ length: n }, (_, x) => x);
    const reading = topCarryCluster(labels, all, carry, digit, c.protocol.carryPlaceShare);
    // Breakthrough times on the cluster's mean curve (a level, or the cumulative of a change).
    const its = checkpointIterations(c.train);
    const level = LEVEL_FAMILIES.includes(target.family);
    const curves = clusterCurves(rows, labels);
    const byCluster = new Map<number, number[]>();
    for (const p of curves) {
      if (p.cluster < 0) continue;
      let m = byCluster.get(p.cluster);
      if (!m) byCluster.set(p.cluster, (m = []));
      m.push(p.mean);
    }
    const breakthrough = new Map<number, number>();
    for (const [cl, mean] of byCluster) {
      const curve = level ? Float64Array.from(mean) : cumulative(mean);
      breakthrough.set(cl, breakthroughTime(its, curve, lag));
    }
    const cl = reading.clusters;
    const hidden = cl.map((r) => (breakthrough.get(r.cluster) ?? Number.NaN) > hiddenAfter);
    const top = reading.top;
    const clustered = labels.reduce((a, l) => a + (l >= 0 ? 1 : 0), 0);
    const hiddenCount = hidden.filter(Boolean).length;
    const tokenKept = new Array<boolean>(n).fill(false);
    for (const x of kept) tokenKept[x] = true;
    return {
      files: {
        'labels.parquet': parquet([
          ['token', 'int32', all],
          ['kept', 'boolean', tokenKept],
          ['label', 'int32', labels],
        ]),
        'clusters.parquet': parquet([
          ['cluster', 'int32', Int32Array.from(cl, (r) => r.cluster)],
          ['size', 'int32', Int32Array.from(cl, (r) => r.size)],
          ...(hasCarry
            ? ([
                ['carry_tokens', 'int32', Int32Array.from(cl, (r) => r.carryTokens)],
                ['homogeneity', 'float64', Float64Array.from(cl, (r) => r.homogeneity)],
                ['recall', 'float64', Float64Array.from(cl, (r) => r.recall)],
                ['f1', 'float64', Float64Array.from(cl, (r) => r.f1)],
                ['place_share', 'float64', Float64Array.from(cl, (r) => r.placeShare)],
                ['qualifies', 'boolean', cl.map((r) => r.carryTokens > 0 && r.placeShare > c.protocol.carryPlaceShare)],
              ] as Parameters<typeof parquet>[0])
            : []),
          ['breakthrough_iteration', 'float64', Float64Array.from(cl, (r) => breakthrough.get(r.cluster) ?? Number.NaN)],
          ['hidden', 'boolean', hidden],
        ]),
        'summary.parquet': parquet([
          ['family', 'utf8', [target.family]],
          ['member', 'int32', Int32Array.of(target.member)],
          ['dropped', 'boolean', [dropped]],
          ['total', 'float64', Float64Array.of(total)],
          ['tokens', 'int32', Int32Array.of(n)],
          ['kept', 'int32', Int32Array.of(kept.length)],
          ['clustered', 'int32', Int32Array.of(clustered)],
          ['clusters', 'int32', Int32Array.of(clusters)],
          ['min_cluster_size', 'int32', Int32Array.of(settings.minClusterSize)],
          ['min_samples', 'int32', Int32Array.of(settings.minSamples)],
          ['lag', 'int32', Int32Array.of(lag)],
          ['hidden_after', 'int32', Int32Array.of(hiddenAfter)],
          ['hidden', 'int32', Int32Array.of(hiddenCount)],
          ['top_cluster', 'int32', Int32Array.of(top ? top.cluster : -1)],
          ['top_homogeneity', 'float64', Float64Array.of(top ? top.homogeneity : Number.NaN)],
          ['top_recall', 'float64', Float64Array.of(top ? top.recall : Number.NaN)],
          ['top_f1', 'float64', Float64Array.of(top ? top.f1 : Number.NaN)],
        ]),
      },
      meta: {
        family: target.family,
        member: target.member,
        dropped,
        total,
        tokens: n,
        kept: kept.length,
        clustered,
        clusters,
        minClusterSize: settings.minClusterSize,
        minSamples: settings.minSamples,
        lag,
        hiddenAfter,
        hidden: hiddenCount,
        ...(top ? { top: { cluster: top.cluster, size: top.size, homogeneity: top.homogeneity, recall: top.recall, f1: top.f1 } } : {}),
      },
    };
  });
}

/** The `protocol` step in the registry (activities/steps/registry.ts). */
export const protocolDef = defineStep({ version: '1', label: (_c, target, _inputs) => target.name, run: protocolStep });
