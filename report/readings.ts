/**
 * The readings of the paper's table in the report: basis capture (the `capture` step,
 * core/attribution/capture.ts) and the published evaluation protocol (the `protocol` steps, core/cluster/protocol.ts),
 * read from their tables, turned into headline metrics, a figure and the table with the paper's
 * own numbers beside ours.
 */
import type { Table } from '../artifacts/index.ts';
import { type FamilyReading, type MemberReading, protocolFamilies } from '../core/cluster/protocol.ts';

export interface CaptureData {
  tokens: number;
  intervals: {
    iteration: number;
    nextIteration: number;
    dloss: number;
    first: number;
    second: number;
    polca: number;
    motionInSpan: number;
    motion: number;
  }[];
  vectors: { vector: number; first: number; second: number; polca: number; share: number; rising: boolean }[];
}

export interface ProtocolData {
  members: (MemberReading & {
    tokens: number;
    total: number;
    minClusterSize: number;
    minSamples: number;
    lag: number;
    hiddenAfter: number;
  })[];
  families: FamilyReading[];
}

type Read = (step: string, file: string) => Promise<Table | undefined>;
const num = (col: Table[string] | undefined, i: number): number => Number((col as ArrayLike<unknown>)[i]);

export async function loadCapture(steps: Record<string, string>, read: Read, tokens: number): Promise<CaptureData | undefined> {
  if (!steps.capture) return undefined;
  const iv = await read('capture', 'intervals.parquet');
  const vs = await read('capture', 'vectors.parquet');
  if (!iv || !vs) return undefined;
  return {
    tokens,
    intervals: Array.from({ length: iv.interval.length }, (_, i) => ({
      iteration: num(iv.iteration, i),
      nextIteration: num(iv.next_iteration, i),
      dloss: num(iv.dloss, i),
      first: num(iv.first, i),
      second: num(iv.second, i),
      polca: num(iv.polca, i),
      motionInSpan: num(iv.motion_in_span, i),
      motion: num(iv.motion, i),
    })),
    vectors: Array.from({ length: vs.vector.length }, (_, i) => ({
      vector: num(vs.vector, i),
      first: num(vs.first, i),
      second: num(vs.second, i),
      polca: num(vs.polca, i),
      share: num(vs.share, i),
      rising: Boolean((vs.rising as unknown[])[i]),
    })),
  };
}

export async function loadProtocol(steps: Record<string, string>, read: Read): Promise<ProtocolData | undefined> {
  const names = Object.keys(steps).filter((s) => s.startsWith('protocol/'));
  if (names.length === 0) return undefined;
  const members: ProtocolData['members'] = [];
  for (const step of names) {
    const t = await read(step, 'summary.parquet');
    if (!t) continue;
    const h = num(t.top_homogeneity, 0);
    members.push({
      family: String((t.family as unknown[])[0]),
      member: num(t.member, 0),
      dropped: Boolean((t.dropped as unknown[])[0]),
      tokens: num(t.tokens, 0),
      total: num(t.total, 0),
      kept: num(t.kept, 0),
      clusters: num(t.clusters, 0),
      hidden: num(t.hidden, 0),
      minClusterSize: num(t.min_cluster_size, 0),
      minSamples: num(t.min_samples, 0),
      lag: num(t.lag, 0),
      hiddenAfter: num(t.hidden_after, 0),
      ...(Number.isFinite(h)
        ? { top: { cluster: num(t.top_cluster, 0), size: 0, homogeneity: h, recall: num(t.top_recall, 0), f1: num(t.top_f1, 0) } }
        : {}),
    });
  }
  const order = (f: string) => PAPER_ROWS.findIndex((r) => r.family === f);
  members.sort((a, b) => order(a.family) - order(b.family) || a.member - b.member);
  return { members, families: protocolFamilies(members) };
}

/** The full paper's table (one run, no seeds): trajectories clustered → top-1 carry homogeneity / recall / F1, hidden fraction. */
export const PAPER_ROWS: { family: string; label: string; homogeneity: number; recall: number; f1: number; hidden: number }[] = [
  { family: 'loss', label: 'exact loss', homogeneity: 0.514, recall: 0.771, f1: 0.617, hidden: 0 },
  { family: 'dloss', label: 'change in exact loss', homogeneity: 0.524, recall: 0.958, f1: 0.678, hidden: 0 },
  { family: 'fisher', label: 'per-token Fisher information', homogeneity: 0.664, recall: 0.947, f1: 0.781, hidden: 0.284 },
  { family: 'lca', label: 'LCA on the 50 largest-magnitude parameters', homogeneity: 0.792, recall: 0.772, f1: 0.782, hidden: 0.019 },
  { family: 'polca-first', label: 'first-order POLCA', homogeneity: 0.948, recall: 0.767, f1: 0.848, hidden: 0.307 },
  { family: 'polca', label: 'POLCA', homogeneity: 0.973, recall: 0.736, f1: 0.838, hidden: 0.355 },
];
/** The paper's basis ablations (POLCA). */
export const PAPER_BASES: { kind: string; label: string; homogeneity: number; recall: number; f1: number; hidden: number }[] = [
  { kind: 'hessian', label: 'Hessian, Algorithm 1', homogeneity: 0.973, recall: 0.736, f1: 0.838, hidden: 0.355 },
  { kind: 'random', label: 'random orthonormal', homogeneity: 0.902, recall: 0.655, f1: 0.759, hidden: 0.031 },
  { kind: 'shuffled', label: 'Hessian with the checkpoint order shuffled', homogeneity: 0.856, recall: 0.699, f1: 0.769, hidden: 0.304 },
];

/** Headline metrics of the readings (NaN-free), for the report header and sweep tables. */
export function readingMetrics(capture: CaptureData | undefined, protocol: ProtocolData | undefined): Record<string, number> {
  const m: Record<string, number> = {};
  const set = (k: string, v: number | undefined | null) => {
    if (v !== undefined && v !== null && Number.isFinite(v)) m[k] = v;
  };
  if (capture) {
    const s = captureTotals(capture);
    set('capture.total', s.capture);
    set('capture.first', s.first);
    set('capture.second', s.second);
    set('capture.risingVectors', capture.vectors.filter((v) => v.rising).length);
    set('capture.motionShare', s.motionShare);
  }
  for (const f of protocol?.families ?? []) {
    set(`protocol.${f.family}.kept`, f.kept);
    set(`protocol.${f.family}.homogeneity`, f.top?.homogeneity);
    set(`protocol.${f.family}.recall`, f.top?.recall);
    set(`protocol.${f.family}.f1`, f.top?.f1);
    set(`protocol.${f.family}.hiddenFraction`, f.hiddenFraction);
  }
  return m;
}

export function captureTotals(c: CaptureData): {
  dloss: number;
  first: number;
  second: number;
  polca: number;
  capture: number;
  motionShare: number;
} {
  let d = 0;
  let f = 0;
  let s = 0;
  let p = 0;
  let mi = 0;
  let mt = 0;
  for (const r of c.intervals) {
    d += r.dloss;
    f += r.first;
    s += r.second;
    p += r.polca;
    mi += r.motionInSpan;
    mt += r.motion;
  }
  return { dloss: d, first: f / d, second: s / d, polca: p, capture: p / d, motionShare: mi / mt };
}
