/**
 * What the report's figure sections share: the Figure type and sections, number formatting, colours,
 * the Vega-Lite base config, axis and caption helpers, and cluster lookups.
 */
import type { TopLevelSpec } from 'vega-lite';
import { binFactor, type FamilyData, type ReportData } from '../data.ts';
export interface Figure {
  name: string;
  section: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

export const SECTIONS = [
  { id: 'training', title: 'Training' },
  { id: 'figure1', title: 'Breakthrough clusters (the paper’s Figure 1)' },
  { id: 'digits', title: 'Per-digit curves (Figures 2–3)' },
  { id: 'homogeneity', title: 'Dominant-skill homogeneity (Figures 4–10)' },
  { id: 'basis', title: 'The POLCA basis' },
  { id: 'capture', title: 'Does the basis carry the learning? (basis capture)' },
  { id: 'completeness', title: 'Completeness of the decomposition' },
  { id: 'protocol', title: 'The paper’s table: the published evaluation protocol' },
  { id: 'ablation', title: 'Does a direction matter? Ablating it during training' },
  { id: 'claim', title: 'The claim in numbers' },
] as const;

/** 4 significant digits: enough for a plot, a third of the JSON. */
export const r4 = (v: number): number | null => (Number.isFinite(v) ? Number(v.toPrecision(4)) : null);

export const DIGIT_COLORS = ['#4c78a8', '#f58518', '#54a24b', '#e45756'];
// tableau20 pairs: the dark shade for carry, the light one for no carry, one hue per digit
export const GROUP_COLORS = ['#1f77b4', '#aec7e8', '#ff7f0e', '#ffbb78', '#2ca02c', '#98df8a', '#d62728', '#ff9896'];
export const VARIANT_COLORS: Record<string, string> = { paper: '#4c78a8', 'exact-curvature': '#f58518', path: '#54a24b' };

export const BASE_CONFIG = {
  background: 'white',
  padding: 8,
  config: {
    axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const },
    legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const, labelLimit: 240, titleLimit: 300 },
    header: { labelFontSize: 11, titleFontSize: 12 },
    title: { fontSize: 13, anchor: 'start' as const, fontWeight: 'normal' as const },
    view: { stroke: '#ddd' },
  },
};

export function spec(s: Record<string, unknown>): TopLevelSpec {
  return { ...BASE_CONFIG, ...s } as unknown as TopLevelSpec;
}

/** Log-axis ticks at powers of ten when the values span three decades or more (vega crowds them). */
export function logAxis(values: (number | null)[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const pos = values.filter((v): v is number => v !== null && v > 0);
  if (pos.length === 0) return extra;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of pos) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  if (Math.log10(hi / lo) < 2.5) return extra;
  const step = Math.ceil((b - a + 1) / 8);
  const ticks: number[] = [];
  for (let e = a; e <= b; e += step) ticks.push(Number(`1e${e}`));
  return { ...extra, values: ticks, format: '.0e' };
}

export function binNote(length: number, max: number, what = 'checkpoints'): string {
  const k = binFactor(length, max);
  return k > 1 ? ` Curves are averaged over bins of ${k} consecutive ${what} to keep the page small.` : '';
}

export function scalingNote(data: ReportData): string {
  const scaling = (data.config?.cluster as { scaling?: string } | undefined)?.scaling;
  return scaling && scaling !== 'none'
    ? ` Trajectories were clustered after ${scaling} scaling; cluster means are in the units of the clustered values.`
    : '';
}

/** Iteration of a family's curve point: checkpoint t for loss, the interval's end t+1 for changes. */
export function curveIteration(data: ReportData, family: string, t: number): number {
  const its = data.checkpointIterations;
  const idx = family === 'loss' ? t : t + 1;
  return its[idx] ?? (its.length >= 2 ? its[0] + idx * (its[1] - its[0]) : idx);
}

export function familyUnits(family: string): string {
  if (family === 'loss') return 'loss';
  if (family === 'dloss') return 'ΔL';
  if (family === 'absdloss') return '|ΔL|';
  return 'POLCA';
}

export function dominant(fd: FamilyData, cluster: number, skill: string): { dominant: number; share: number } | undefined {
  return fd.skills.find((s) => s.cluster === cluster && s.skill === skill);
}

export function clustersBySize(fd: FamilyData): number[] {
  return [...fd.sizes.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([c]) => c);
}

/** What every section's figures share: the checkpoint count and the digit × carry colour scale of Figures 1b and 1c. */
export interface Shared {
  T1: number;
  groupScale: { domain: string[]; range: string[] };
}
