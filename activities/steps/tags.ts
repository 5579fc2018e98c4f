/**
 * The `tags` step: one protocol clustering (a basis vector's POLCA, or the loss) read against
 * part-of-speech tags the paper's way (core/tasks/english/tag-reading.ts): each cluster's smallest tag sets
 * covering the coverage share at the target and its 3 predecessors, whether it is simply
 * labelled, the count chance gives under shuffled tags, and — for reading by eye, as the paper
 * did — each cluster's most frequent target words, mean curve and the contexts of the 10 tokens
 * nearest its medoid. Tables: docs/artifacts.md.
 */
import { DATA_TABLES } from '../../artifacts/tables.ts';
import { decodeParquet } from '../../artifacts/index.ts';
import type { Config } from '../../config/schema.ts';
import { clusterTagLabels, medoidNeighbours, shuffledSimpleCount } from '../../core/tasks/english/tag-reading.ts';
import { TAG_POSITIONS } from '../../core/tasks/english/spec.ts';
import { clusterCurves } from '../../core/attribution/trajectories.ts';
import type { TagTarget } from '../../pipeline/plan.ts';
import { readInput, runStep, type StepContext, type StepResult, yieldNow } from './context.ts';
import { defineStep } from './define.ts';
import { parquet } from './io.ts';
import { rowsOf } from './protocol.ts';

/** Contexts shown per cluster, and target words listed. */
export const NEAREST = 10;
export const TOP_WORDS = 8;

export const tagSettings = (c: Config) => ({ coverage: 0.7, maxTags: 2, shuffles: 100, ...c.protocol.tags });

export async function tagsStep(
  ctx: StepContext,
  c: Config,
  target: TagTarget,
  inputs: { data: string; trajectories: string; clustering: string },
): Promise<StepResult> {
  const o = tagSettings(c);
  const spec = {
    step: 'tags',
    version: tagsDef.version,
    params: { seed: c.seed, tags: o, source: target.source, family: target.family, member: target.member },
    inputs,
  };
  return runStep(ctx, target.name, spec, async () => {
    const lab = await decodeParquet(await readInput(ctx, inputs.clustering, 'labels.parquet'), ['label']);
    const labels = lab.label as Int32Array;
    // A protocol clustering has the filters' verdict and each cluster's breakthrough time; polca's own has neither.
    let dropped = false;
    const breakthrough = new Map<number, number>();
    const hidden = new Map<number, boolean>();
    if (target.source === 'protocol') {
      const sum = await decodeParquet(await readInput(ctx, inputs.clustering, 'summary.parquet'), ['dropped']);
      dropped = Boolean((sum.dropped as boolean[])[0]);
      const prot = await decodeParquet(await readInput(ctx, inputs.clustering, 'clusters.parquet'), [
        'cluster',
        'breakthrough_iteration',
        'hidden',
      ]);
      (prot.cluster as Int32Array).forEach((cl, i) => {
        breakthrough.set(cl, Number((prot.breakthrough_iteration as Float64Array)[i]));
        hidden.set(cl, Boolean((prot.hidden as boolean[])[i]));
      });
    }
    const tok = await decodeParquet(await readInput(ctx, inputs.data, DATA_TABLES.tokens), [...TAG_POSITIONS, 'word', 'context']);
    // One code per tag string, shared by the 4 positions (code-unit order).
    const names = [...new Set(TAG_POSITIONS.flatMap((p) => tok[p] as string[]))].sort();
    const code = new Map(names.map((t, i) => [t, i]));
    const tags = TAG_POSITIONS.map((p) => Int32Array.from(tok[p] as string[], (t) => code.get(t) as number));
    const words = tok.word as string[];
    const contexts = tok.context as string[];
    ctx.heartbeat({ phase: 'tags', done: 0, total: 1 });
    await yieldNow();
    const read = clusterTagLabels(labels, tags, o);
    const hits = read.length ? shuffledSimpleCount(labels, tags, { ...o, seed: c.seed }) : 0;
    const rows = read.length
      ? await rowsOf(ctx, c, { family: target.family, member: target.member, name: target.name }, inputs.trajectories)
      : [];
    const curves = read.length ? clusterCurves(rows, labels).filter((p) => p.cluster >= 0) : [];
    const members = new Map<number, number[]>();
    labels.forEach((l, x) => {
      if (l < 0) return;
      let m = members.get(l);
      if (!m) members.set(l, (m = []));
      m.push(x);
    });
    const topWords: string[] = [];
    const near: { cluster: number; rank: number; token: number; distance: number }[] = [];
    const medoids: number[] = [];
    for (const r of read) {
      const idx = members.get(r.cluster) as number[];
      const counts = new Map<string, number>();
      for (const x of idx) counts.set(words[x], (counts.get(words[x]) ?? 0) + 1);
      const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, TOP_WORDS);
      topWords.push(ranked.map(([w, k]) => `${w === '\n' ? '⏎' : w} (${k})`).join(', '));
      const m = medoidNeighbours(rows, idx, NEAREST);
      medoids.push(m.medoid);
      m.nearest.forEach((p, rank) => {
        near.push({ cluster: r.cluster, rank, token: p.token, distance: p.distance });
      });
      await yieldNow();
    }
    const setText = (s: number[]) => s.map((k) => names[k]).join(',');
    const label = (r: (typeof read)[number]) => r.sets.map(setText).join(' · ');
    const simpleClusters = read.filter((r) => r.simple).length;
    const cols = TAG_POSITIONS.map((p, i) => [`tags_${p}`, 'utf8', read.map((r) => setText(r.sets[i]))] as const);
    const covered = TAG_POSITIONS.map((p, i) => [`covered_${p}`, 'float64', Float64Array.from(read, (r) => r.covered[i])] as const);
    const meta = {
      family: target.source === 'protocol' ? target.family : `cluster:${target.family}`,
      member: target.member,
      dropped,
      clusters: read.length,
      simpleClusters,
      hasSimple: simpleClusters > 0,
      shuffledHits: hits,
      shuffles: o.shuffles,
    };
    return {
      files: {
        'clusters.parquet': parquet([
          ['cluster', 'int32', Int32Array.from(read, (r) => r.cluster)],
          ['size', 'int32', Int32Array.from(read, (r) => r.size)],
          ['simple', 'boolean', read.map((r) => r.simple)],
          ['label', 'utf8', read.map(label)],
          ...cols,
          ...covered,
          ['top_words', 'utf8', topWords],
          ['medoid', 'int32', Int32Array.from(medoids)],
          ['breakthrough_iteration', 'float64', Float64Array.from(read, (r) => breakthrough.get(r.cluster) ?? Number.NaN)],
          ['hidden', 'boolean', read.map((r) => hidden.get(r.cluster) ?? false)],
        ] as Parameters<typeof parquet>[0]),
        'contexts.parquet': parquet([
          ['cluster', 'int32', Int32Array.from(near, (p) => p.cluster)],
          ['rank', 'int32', Int32Array.from(near, (p) => p.rank)],
          ['token', 'int32', Int32Array.from(near, (p) => p.token)],
          ['distance', 'float64', Float64Array.from(near, (p) => p.distance)],
          ['context', 'utf8', near.map((p) => contexts[p.token])],
        ]),
        'curves.parquet': parquet([
          ['cluster', 'int32', Int32Array.from(curves, (p) => p.cluster)],
          ['checkpoint', 'int32', Int32Array.from(curves, (p) => p.checkpoint)],
          ['mean', 'float64', Float64Array.from(curves, (p) => p.mean)],
          ['std', 'float64', Float64Array.from(curves, (p) => p.std)],
        ]),
        'summary.parquet': parquet([
          ['source', 'utf8', [target.source]],
          ['family', 'utf8', [target.family]],
          ['member', 'int32', Int32Array.of(target.member)],
          ['dropped', 'boolean', [dropped]],
          ['clusters', 'int32', Int32Array.of(read.length)],
          ['simple_clusters', 'int32', Int32Array.of(simpleClusters)],
          ['has_simple', 'boolean', [simpleClusters > 0]],
          ['shuffled_hits', 'int32', Int32Array.of(hits)],
          ['shuffles', 'int32', Int32Array.of(o.shuffles)],
          ['coverage', 'float64', Float64Array.of(o.coverage)],
          ['max_tags', 'int32', Int32Array.of(o.maxTags)],
        ]),
      },
      meta,
    };
  });
}

/** The `tags` step in the registry (activities/steps/registry.ts). */
export const tagsDef = defineStep({ version: '1', label: (_c, target, _inputs) => target.name, run: tagsStep });
