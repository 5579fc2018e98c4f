/**
 * The run summary's line for an ablation (`polca run`'s text summary), from the experiment's
 * `ablation` metrics. Light on imports: the CLI loads it at start.
 */
import { fmt } from './format.ts';

/** The run summary's line for an ablation (`polca run`), from the DAG's `ablation` metrics; undefined without one. */
export function ablationSummaryLine(meta: unknown): string | undefined {
  if (!meta || typeof meta !== 'object') return undefined;
  const m = meta as {
    from: number;
    vectors: number[];
    count: number;
    deltaAll: Record<string, number>;
    clusters: number;
    hurtMoreThanOthers: number;
    hurtMoreThanRandom: number;
    hurtMoreThanBoth: number;
    final?: Record<string, { driftRatio?: number }>;
  };
  const what = m.vectors.length ? m.vectors.map((j) => `b${j}`).join(', ') : `${m.count} random direction${m.count === 1 ? '' : 's'}`;
  const drift = Math.max(...Object.values(m.final ?? {}).map((f) => Number(f.driftRatio ?? 0)), 0);
  return `ablation of ${what} from iteration ${m.from}: loss change over the rest of training ${m.vectors.length ? `${fmt(m.deltaAll.basis)} (random directions: ${fmt(m.deltaAll.random)})` : fmt(m.deltaAll.random)}; ${m.clusters ? `of ${m.clusters} clusters of POLCA along the removed vectors, ${m.hurtMoreThanOthers} hurt more than the other tokens, ${m.hurtMoreThanRandom} more than by random directions, ${m.hurtMoreThanBoth} both` : 'no cluster to read'}; largest move along the removed directions ${drift.toFixed(2)} of one float32 rounding`;
}
