/**
 * The `report` step (report/build.ts) and the run record. Every byte of the report is covered by
 * its key (config and input keys): the run's name (its workflow id) is not in the report, so runs
 * of one config share one report; run records name the runs and carry the headline metrics,
 * aggregated here from the steps' results.
 */
import type { ArtifactStore } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { type MemberReading, protocolFamilies } from '../../core/cluster/protocol.ts';
import { type TagMemberReading, tagFamilies } from '../../core/tasks/english/tag-families.ts';
import type { RunRecordInput, StepResult } from '../../pipeline/contract.ts';
import {
  ablateName,
  ablationArms,
  ablationFirstSegment,
  ablationReadingName,
  clusterTargets,
  protocolTargets,
  segmentCount,
  tagTargets,
} from '../../pipeline/plan.ts';
import { runStep, type StepContext } from './context.ts';
import { defineStep } from './define.ts';

/** The run's report (report/build.ts) from every other step's artifacts. */
export async function reportStep(ctx: StepContext, c: Config, _runName: string, steps: Record<string, string>): Promise<StepResult> {
  const spec = {
    step: 'report',
    version: reportDef.version,
    params: { config: c },
    inputs: steps,
  };
  return runStep(ctx, 'report', spec, async () => {
    const { buildReport } = await import('../../report/build.ts');
    ctx.heartbeat({ phase: 'report', done: 0, total: 1 });
    const files = await buildReport(ctx.store, {
      // The run's name is not part of the key: it stays out of the bytes (run records carry it).
      name: '',
      config: c,
      steps,
      // No time stamp: the report is content-addressed, equal inputs give equal bytes.
      createdAt: '',
    });
    return {
      files,
      meta: {
        figures: Object.keys(files).filter((f) => f.endsWith('.svg')).length,
      },
    };
  });
}

/**
 * The run's headline metrics from its steps' results (their small metadata): the last training
 * segment's accuracy and loss, every basis extension's eigenvalues, POLCA's largest completeness
 * error, each clustering's size and summary, and, where the run computed them, basis capture, the
 * protocol's family readings and the tag readings, and an ablation's reading with each arm's
 * accuracy, loss and largest drift along the removed directions at its last segment.
 */
export function runMetrics(c: Config, results: StepResult[]): Record<string, unknown> {
  const byName = new Map(results.map((r) => [r.name, r]));
  const named = (names: string[]) => names.flatMap((n) => byName.get(n) ?? []);
  const S = segmentCount(c);
  const segments = Array.from({ length: S }, (_, s) => s);
  const lastTrain = byName.get(`train/${S - 1}`);
  const capture = byName.get('capture');
  const tags = named(tagTargets(c).map((t) => t.name));
  return {
    accuracy: lastTrain?.meta?.accuracy,
    evalLoss: lastTrain?.meta?.evalLoss,
    eigenvalues: named(segments.map((s) => `basis/${s}`)).flatMap((r) => (r.meta?.eigenvalues as number[] | undefined) ?? []),
    polcaMaxAbsError: Math.max(...named(segments.map((s) => `polca/${s}`)).map((r) => Number(r.meta?.maxAbsError ?? Number.NaN))),
    clustering: named(clusterTargets(c).map((t) => t.name)).map((r) => ({
      name: r.name,
      clusters: r.meta?.clusters,
      summary: r.meta?.summary,
    })),
    // Basis capture and the protocol are computed together (workflows from before them have neither).
    ...(capture ? { capture: capture.meta } : {}),
    ...(capture
      ? { protocol: protocolFamilies(named(protocolTargets(c).map((t) => t.name)).map((r) => r.meta as unknown as MemberReading)) }
      : {}),
    ...(tags.length ? { tags: tagFamilies(tags.map((r) => r.meta as unknown as TagMemberReading)) } : {}),
    ...ablationMetrics(c, byName),
  };
}

/** The ablation's headline (config `ablate`): its reading's summary and, per arm, the last segment's accuracy and loss and the largest drift ratio. */
function ablationMetrics(c: Config, byName: Map<string, StepResult>): { ablation?: Record<string, unknown> } {
  const reading = byName.get(ablationReadingName);
  if (!c.ablate || !reading) return {};
  const first = ablationFirstSegment(c);
  const S = segmentCount(c);
  const final = Object.fromEntries(
    ablationArms(c).map((arm) => {
      const segments = Array.from({ length: S - first }, (_, i) => byName.get(ablateName(arm, first + i))).flatMap((r) => r ?? []);
      const m = segments[segments.length - 1]?.meta ?? {};
      return [
        arm,
        { accuracy: m.accuracy, evalLoss: m.evalLoss, driftRatio: Math.max(...segments.map((r) => Number(r.meta?.driftRatio ?? 0))) },
      ];
    }),
  );
  return { ablation: { ...reading.meta, final } };
}

/** The run record: a human name (the workflow id) → every step's key, with the config and headline metrics (returned). */
export async function saveRun(store: ArtifactStore, record: RunRecordInput): Promise<Record<string, unknown>> {
  const metrics = runMetrics(record.config, record.results);
  await store.putRun(record.name, {
    name: record.name,
    config: record.config,
    steps: record.steps,
    metrics,
    ...(record.workflowId !== undefined ? { workflowId: record.workflowId } : {}),
    createdAt: new Date().toISOString(),
  });
  return metrics;
}

/** The `report` step in the registry (activities/steps/registry.ts). */
export const reportDef = defineStep({ version: '2', label: () => 'report', run: reportStep });
