/**
 * One experiment's DAG, written once and driven two ways: by the Temporal workflow (activities
 * through proxyActivities) and by the in-process runner (the same step functions called
 * directly). Deterministic: only promise composition, no I/O, clocks or randomness.
 *
 *   data ─► train[0] ─► … ─► train[S−1]            (chain)
 *              │                  │
 *           basis[0] ─► … ─► basis[S−1]             (chain; basis[s] starts when train[s] exists,
 *                                                     or train[π(s)] for a shuffled basis, or at once for a random one)
 *                                 │
 *           polca[0 … S−1]  (fan-out, capped)       (each needs the final basis)
 *                                 │
 *             trajectories ─► cluster[targets] (fan-out, capped) ─┐
 *                  │      └──► capture (basis capture and motion)     ├─► report ─► run record
 *                  └─────────► protocol[targets] (fan-out, capped) ───┘
 *
 * `capture` and `protocol` (the published evaluation protocol) are the readings of the paper's
 * table; workflows started before they existed replay without them (`readings: false`).
 *
 * With `ablate` in the config, once the basis is final: per arm a chain ablate/<arm>/s for the
 * segments from the one after `ablate.from` (the first starts from train[s−1]), beside the readings;
 * then ablate/reading (after the clusters) ─► report. Without it nothing of this is scheduled.
 *
 * The steps' arguments and results are pipeline/contract.ts's; the run record (`saveRun`) returns
 * the headline metrics, aggregated from the results where it runs (activities/steps/report.ts).
 */
import type { Config, ProtocolFamily } from '../config/schema.ts';
import type { ExperimentActivities, StepResult } from './contract.ts';
import {
  ablationArms,
  ablationFirstSegment,
  basisTrainSegment,
  clusterTargets,
  protocolTargets,
  STAGES,
  type Stage,
  segmentCount,
  stageTotals,
  tagTargets,
} from './plan.ts';

export interface StageProgress {
  done: number;
  total: number;
  cached: number;
  running: number;
}
export type ProgressState = Record<Stage, StageProgress>;

export function emptyProgress(c: Config, readings = true): ProgressState {
  const totals = stageTotals(c);
  if (!readings) {
    totals.trajectories = 1;
    totals.capture = 0;
    totals.fisher = 0;
    totals.lca = 0;
    totals.protocol = 0;
    totals.tags = 0;
  }
  return Object.fromEntries(STAGES.map((s) => [s, { done: 0, total: totals[s], cached: 0, running: 0 }])) as ProgressState;
}

export interface ExperimentResult {
  runName: string;
  config: Config;
  steps: StepResult[];
  metrics: Record<string, unknown>;
  report: string;
}

export interface DagOptions {
  /** The key of an input artifact that failed its integrity check, when `err` says so. */
  integrityKey(err: unknown): string | undefined;
  progress: ProgressState;
  /** Compute basis capture and the published protocol (default true; false replays workflows started before them). */
  readings?: boolean;
}

const stageIndex = (r: StepResult) => STAGES.indexOf((r.name === 'lca-params' ? 'lca' : r.name.split('/')[0]) as Stage);
/** Steps in DAG order: by stage, then by name with numbers in numeric order (train/2 before train/10). */
const byStage = (a: StepResult, b: StepResult) => stageIndex(a) - stageIndex(b) || a.name.localeCompare(b.name, 'en', { numeric: true });

/** Run `fn` over `items` with at most `limit` at once, results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return out;
}

export async function runExperimentDag(
  c: Config,
  runName: string,
  acts: ExperimentActivities,
  opts: DagOptions,
): Promise<ExperimentResult> {
  const S = segmentCount(c);
  const results: StepResult[] = [];
  /** Producers by key, so that an input that fails its integrity check can be recomputed. */
  const producers = new Map<string, { run: () => Promise<StepResult>; stage: Stage }>();

  /**
   * The producer of a damaged input again (the reader removed the artifact, so this computes it):
   * its result replaces the earlier one and says `recomputed`.
   */
  const recompute = async (key: string): Promise<boolean> => {
    const producer = producers.get(key);
    if (!producer) return false;
    const r = await producer.run();
    const i = results.findIndex((x) => x.key === key);
    const before = i >= 0 ? results[i] : undefined;
    const after: StepResult = { ...r, cached: false, recomputed: true };
    if (i >= 0) results[i] = after;
    if (before?.cached) opts.progress[producer.stage].cached--;
    return true;
  };

  const step = async (stage: Stage, run: () => Promise<StepResult>): Promise<StepResult> => {
    const p = opts.progress[stage];
    p.running++;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await run();
          producers.set(r.key, { run, stage });
          results.push(r);
          p.done++;
          if (r.cached) p.cached++;
          return r;
        } catch (e) {
          const bad = opts.integrityKey(e);
          // at most two recomputations of damaged inputs per step: damage that keeps coming back is not transient
          if (bad === undefined || attempt >= 2 || !(await recompute(bad))) throw e;
        }
      }
    } finally {
      p.running--;
    }
  };

  const data = await step('data', () => acts.data(c));
  const train: Promise<StepResult>[] = [];
  const basis: Promise<StepResult>[] = [];
  // Training segments as they are created, for an extension that reads a later segment than its
  // own (a shuffled basis): resolved with train[s] when it exists. Their rejections are the
  // training steps' own, seen where those are awaited.
  const settle: ((r: Promise<StepResult>) => void)[] = [];
  const later = Array.from({ length: S }, () => {
    const p = new Promise<StepResult>((resolve) => settle.push(resolve));
    p.catch(() => undefined);
    return p;
  });
  for (let s = 0; s < S; s++) {
    const prevTrain = s > 0 ? train[s - 1] : undefined;
    train.push(
      (async () => {
        const prev = prevTrain ? (await prevTrain).key : undefined;
        return step('train', () => acts.train(c, s, { data: data.key, ...(prev ? { prev } : {}) }));
      })(),
    );
    settle[s](train[s]);
    // Extension s waits for the previous one and for the training segment it reads: segment s
    // (Algorithm 1), π(s) (`shuffled`, possibly a later one) or none (`random`).
    const prevBasis = s > 0 ? basis[s - 1] : undefined;
    const source = basisTrainSegment(c, s);
    const trained = source === undefined ? undefined : source <= s ? train[source] : later[source];
    const extension = (async () => {
      const t = trained ? (await trained).key : undefined;
      const prev = prevBasis ? (await prevBasis).key : undefined;
      return step('basis', () =>
        acts.basis(c, s, {
          data: data.key,
          ...(t ? { train: t } : {}),
          ...(prev ? { prev } : {}),
        }),
      );
    })();
    // A failed training segment fails the extensions after it too, but the workflow reports the
    // first failure (awaiting `train` below); left without a handler, theirs would fail the
    // workflow task instead, over and over, and the workflow would never end.
    extension.catch(() => undefined);
    basis.push(extension);
  }
  const trainKeys = (await Promise.all(train)).map((r) => r.key);
  const finalBasis = (await Promise.all(basis))[S - 1].key;

  // Ablated runs (config `ablate`): per arm a chain of segments from the one after ablate.from,
  // started from the unablated chain there, beside the readings below; read once the clusters exist.
  const firstAblated = ablationFirstSegment(c);
  const ablated = ablationArms(c).map((arm) => {
    const chain = (async () => {
      const segments: StepResult[] = [];
      for (let s = firstAblated; s < S; s++) {
        const prev = s === firstAblated ? (s > 0 ? trainKeys[s - 1] : undefined) : segments[segments.length - 1].key;
        segments.push(
          await step('ablate', () =>
            acts.ablate(c, arm, s, { data: data.key, ...(prev ? { prev } : {}), ...(arm === 'basis' ? { basis: finalBasis } : {}) }),
          ),
        );
      }
      return { arm, segments };
    })();
    // Its rejection is seen where it is awaited, after the other steps.
    chain.catch(() => undefined);
    return chain;
  });

  const polca = await mapLimit(
    Array.from({ length: S }, (_, s) => s),
    c.runtime.concurrency,
    (s) =>
      step('polca', () =>
        acts.polca(c, s, {
          data: data.key,
          basis: finalBasis,
          train: trainKeys[s],
          ...(s > 0 ? { prevTrain: trainKeys[s - 1] } : {}),
        }),
      ),
  );
  const traj = await step('trajectories', () =>
    acts.trajectories(c, {
      data: data.key,
      train: trainKeys,
      polca: polca.map((r) => r.key),
    }),
  );
  const readings = opts.readings ?? true;
  const clusters = await mapLimit(clusterTargets(c), c.runtime.concurrency, (target) =>
    step('cluster', () => acts.cluster(c, target, { data: data.key, trajectories: traj.key })),
  );
  if (readings) {
    const polcaKeys = polca.map((r) => r.key);
    await step('capture', () => acts.capture(c, { trajectories: traj.key, basis: finalBasis, train: trainKeys, polca: polcaKeys }));
    // Each protocol family reads its trajectories from one artifact; the baselines' are computed only when asked for.
    const families = c.protocol.families;
    const sources: Partial<Record<ProtocolFamily, string>> = { loss: traj.key, dloss: traj.key, polca: traj.key };
    const segments = Array.from({ length: S }, (_, s) => s);
    const chunk = (s: number) => ({ data: data.key, train: trainKeys[s], ...(s > 0 ? { prevTrain: trainKeys[s - 1] } : {}) });
    if (families.includes('polca-first'))
      sources['polca-first'] = (await step('trajectories', () => acts.trajectoriesFirst(c, { polca: polcaKeys }))).key;
    if (families.includes('fisher')) {
      const fisher = await mapLimit(segments, c.runtime.concurrency, (s) =>
        step('fisher', () => acts.fisher(c, s, { ...chunk(s), basis: finalBasis })),
      );
      sources.fisher = (await step('trajectories', () => acts.trajectoriesFisher(c, { fisher: fisher.map((r) => r.key) }))).key;
    }
    if (families.includes('lca')) {
      const params = await step('lca', () => acts.lcaParams(c, { train: trainKeys[S - 1] }, c.protocol.lcaParams));
      const lca = await mapLimit(segments, c.runtime.concurrency, (s) =>
        step('lca', () => acts.lca(c, s, { ...chunk(s), lcaParams: params.key })),
      );
      sources.lca = (await step('trajectories', () => acts.trajectoriesLca(c, { lcaParams: params.key, lca: lca.map((r) => r.key) }))).key;
    }
    const protocol = await mapLimit(protocolTargets(c), c.runtime.concurrency, (target) =>
      step('protocol', () => acts.protocol(c, target, { data: data.key, trajectories: sources[target.family] as string })),
    );
    // A task with part-of-speech tags reads the protocol's and polca's own clusterings against them.
    const byName = new Map([...protocol, ...clusters].map((r) => [r.name, r.key]));
    await mapLimit(tagTargets(c), c.runtime.concurrency, (target) =>
      step('tags', () =>
        acts.tags(c, target, {
          data: data.key,
          trajectories: target.source === 'protocol' ? (sources[target.family] as string) : traj.key,
          clustering: byName.get(target.clustering) as string,
        }),
      ),
    );
  }

  if (c.ablate) {
    const arms = await Promise.all(ablated);
    const clusterKey = new Map(clusters.map((r) => [r.name, r.key]));
    await step('ablate', () =>
      acts.ablation(c, {
        data: data.key,
        train: trainKeys,
        arms: arms.map((a) => ({ arm: a.arm, segments: a.segments.map((r) => r.key) })),
        clusters: (c.ablate?.vectors ?? []).map((j) => clusterKey.get(`cluster/polca/${j}`) as string),
      }),
    );
  }

  // In DAG order, not completion order: the report lists them, and equal inputs must give equal bytes.
  const steps: Record<string, string> = {};
  for (const r of [...results].sort(byStage)) steps[r.name] = r.key;
  const report = await step('report', () => acts.report(c, runName, { ...steps }));
  steps.report = report.key;

  // The run record aggregates the headline metrics from the results, off the workflow's thread.
  const ordered = [...results].sort(byStage);
  const metrics = (await acts.saveRun({ name: runName, config: c, steps, results: ordered })) ?? {};
  return {
    runName,
    config: c,
    steps: ordered,
    metrics,
    report: report.key,
  };
}
