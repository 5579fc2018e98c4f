/**
 * The part-of-speech reading per family (core/tasks/english/tag-reading.ts for one trajectory set): of a
 * family's members (a basis vector's POLCA, or the loss as one member), those kept by the filters,
 * those with at least one simply-labelled cluster, and the count chance gives —
 * Σ over kept members of (shuffles with a simple cluster) ÷ shuffles — next to it. The paper: 22 of
 * 26 kept vectors had one; the loss's clustering found almost nothing.
 */
export interface TagMemberReading {
  family: string;
  member: number;
  dropped: boolean;
  clusters: number;
  simpleClusters: number;
  hasSimple: boolean;
  shuffledHits: number;
  shuffles: number;
}

export interface TagFamilyReading {
  family: string;
  members: number;
  kept: number;
  withSimple: number;
  /** Expected number of kept members with a simple cluster under shuffled tags. */
  chance: number;
  simpleClusters: number;
  clusters: number;
}

export function tagFamilies(readings: readonly TagMemberReading[]): TagFamilyReading[] {
  const by = new Map<string, TagFamilyReading>();
  for (const r of readings) {
    let f = by.get(r.family);
    if (!f) by.set(r.family, (f = { family: r.family, members: 0, kept: 0, withSimple: 0, chance: 0, simpleClusters: 0, clusters: 0 }));
    f.members++;
    if (r.dropped) continue;
    f.kept++;
    if (r.hasSimple) f.withSimple++;
    f.chance += r.shuffles > 0 ? r.shuffledHits / r.shuffles : 0;
    f.simpleClusters += r.simpleClusters;
    f.clusters += r.clusters;
  }
  return [...by.values()];
}
