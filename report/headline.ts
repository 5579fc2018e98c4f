/**
 * The first thing a run says about the paper's findings: three readings side by side, none alone.
 *  1. basis capture, Σ POLCA / Σ ΔL over the evaluation tokens and intervals (core/capture.ts):
 *     how much of the loss change the basis explains at all;
 *  2. the published protocol's verdict (core/protocol.ts): whether its POLCA clustering holds a
 *     qualifying top-1 carry cluster, with the paper's number beside ours;
 *  3. polca's claim rule (report/claims.ts): which of the three findings a coverage-aware reading
 *     of the run's own clusterings reproduces.
 * POLCA's clusters speak for the learning only as far as its basis carries the learning: a claim
 * rule "reproduced" for the POLCA finding is shown as the paper's finding only when the basis
 * explains at least BASIS_CARRIES of the loss change and the published protocol finds a POLCA
 * carry cluster too; otherwise it is shown as the claim rule's alone, next to what the other two
 * readings found. The loss and |ΔL| findings do not depend on the basis.
 */
import type { ArtifactStore } from '../artifacts/index.ts';
import type { FamilyReading } from '../core/cluster/protocol.ts';
import { type ClaimCheck, type ClaimFamily, claimChecks } from './claims.ts';
import { PAPER_ROWS } from './readings.ts';

/** The share of the loss change a basis must explain for its POLCA clusters to stand for the learning (most of it). */
export const BASIS_CARRIES = 0.5;

export type BasisReading = 'most' | 'little' | 'none' | 'unknown';

/** How much of the learning the basis carries, from its capture Σ POLCA / Σ ΔL. */
export function basisReading(capture: number | undefined): BasisReading {
  if (capture === undefined || !Number.isFinite(capture)) return 'unknown';
  if (capture <= 0) return 'none';
  return capture < BASIS_CARRIES ? 'little' : 'most';
}

export interface Readings {
  /** Σ POLCA / Σ ΔL (undefined: the run has no capture step). */
  capture?: number;
  /** The published protocol's family readings (undefined: the run has none). */
  protocol?: FamilyReading[];
  /** polca's claim checks (undefined: not read). */
  claims?: ClaimCheck[];
}

export type ClaimShown = 'reproduced' | 'claim rule only' | 'not reproduced' | 'not checked';

/**
 * How a claim is shown next to the other readings: the POLCA finding's "reproduced" stays the
 * claim rule's alone unless the basis carries most of the learning and the protocol agrees.
 */
export function shownVerdict(c: ClaimCheck, r: Readings): ClaimShown {
  if (c.holds === undefined) return 'not checked';
  if (!c.holds) return 'not reproduced';
  if (c.id !== 'polca-carry') return 'reproduced';
  const polca = r.protocol?.find((f) => f.family === 'polca');
  return basisReading(r.capture) === 'most' && polca?.top !== undefined ? 'reproduced' : 'claim rule only';
}

const f3 = (x: number | undefined | null) =>
  x === undefined || x === null || !Number.isFinite(x) ? 'n/a' : Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(1) : x.toFixed(3);

const CLAIM_NAMES: Record<ClaimCheck['id'], string> = {
  'loss-digit': 'loss → digit',
  'absdloss-value': '|ΔL| → value',
  'polca-carry': 'POLCA → carry',
};

/** The basis-capture reading in words. */
export function captureLine(capture: number | undefined): string {
  const b = basisReading(capture);
  if (b === 'unknown') return 'basis capture: not computed in this run (no capture step)';
  const what =
    b === 'none'
      ? 'the basis explains none of the loss change'
      : b === 'little'
        ? `the basis explains only ${f3(capture)} of the loss change (less than ${BASIS_CARRIES})`
        : `the basis explains ${f3(capture)} of the loss change`;
  return `basis capture ${f3(capture)}: ${what}`;
}

/** The published protocol's verdict on POLCA in words, with the paper's number. */
export function protocolLine(protocol: FamilyReading[] | undefined): string {
  if (!protocol?.length) return 'published protocol: not computed in this run (no protocol steps)';
  const paper = PAPER_ROWS.find((p) => p.family === 'polca')!;
  const polca = protocol.find((f) => f.family === 'polca');
  const others = protocol.filter((f) => f.family !== 'polca' && f.top).sort((a, b) => b.top!.homogeneity - a.top!.homogeneity);
  const best = others[0] ? `; best other row: ${others[0].family} ${f3(others[0].top!.homogeneity)}` : '; no other row has one either';
  if (!polca) return `published protocol: POLCA not computed (add it to protocol.families)${best}`;
  if (!polca.top)
    return `published protocol: no qualifying POLCA carry cluster (${polca.kept} of ${polca.members} vectors kept by its filters; the paper: top-1 carry homogeneity ${f3(paper.homogeneity)})${best}`;
  return `published protocol: POLCA top-1 carry cluster homogeneity / recall / F1 ${f3(polca.top.homogeneity)} / ${f3(polca.top.recall)} / ${f3(polca.top.f1)} (the paper: ${f3(paper.homogeneity)} / ${f3(paper.recall)} / ${f3(paper.f1)})`;
}

/** polca's claim rule in words: the count, and each finding as shown next to the other readings. */
export function claimRuleLine(r: Readings): string {
  if (!r.claims) return "polca's claim rule: not read";
  const held = r.claims.filter((c) => c.holds === true).length;
  const checked = r.claims.filter((c) => c.holds !== undefined).length;
  const each = r.claims.map((c) => `${CLAIM_NAMES[c.id]} ${shownVerdict(c, r)}`).join('; ');
  return `polca's claim rule: ${held} of ${checked} findings reproduced (${each})`;
}

/** One sentence on the paper's central (POLCA) finding, from the three readings together. */
export function polcaFindingLine(r: Readings): string {
  const claim = r.claims?.find((c) => c.id === 'polca-carry');
  const b = basisReading(r.capture);
  const polca = r.protocol?.find((f) => f.family === 'polca');
  const protocolFound = polca?.top !== undefined;
  if (claim && shownVerdict(claim, r) === 'reproduced')
    return "the paper's POLCA finding: shown by all three readings (the basis carries most of the learning, the protocol finds a POLCA carry cluster, the claim rule reproduces it)";
  const basisText =
    b === 'none'
      ? 'the basis carries none of the learning'
      : b === 'little'
        ? 'the basis carries only a small part of the learning'
        : b === 'most'
          ? 'the basis carries most of the learning'
          : 'how much of the learning the basis carries was not measured';
  const protocolText = !r.protocol?.length
    ? 'the published protocol was not computed'
    : protocolFound
      ? 'the published protocol finds a POLCA carry cluster'
      : 'the published protocol finds no POLCA carry cluster';
  const claimText =
    claim?.holds === true
      ? "polca's claim rule alone finds POLCA clusters that follow the carry"
      : claim?.holds === false
        ? "polca's claim rule finds no POLCA clustering that follows the carry"
        : "polca's claim rule did not check it";
  return `the paper's POLCA finding: not shown by this run — ${basisText}, ${protocolText}, and ${claimText}`;
}

/** The three readings and the POLCA finding, as the first lines of a run's summary (plain text). */
export function headlineLines(r: Readings): string[] {
  return [
    'three readings of this run, side by side:',
    `  1. ${captureLine(r.capture)}`,
    `  2. ${protocolLine(r.protocol)}`,
    `  3. ${claimRuleLine(r)}`,
    `  → ${polcaFindingLine(r)}`,
  ];
}

/** The claim checks of a stored run, from its clusterings' summary tables alone (no figures, no curves). */
export async function loadClaimChecks(store: ArtifactStore, steps: Record<string, string>): Promise<ClaimCheck[]> {
  // The table codecs load here, not with the text functions above (the CLI imports those at start).
  const { stepTableReader, summaryRow } = await import('./data.ts');
  const read = stepTableReader(store, steps, []);
  const families: ClaimFamily[] = [];
  for (const step of Object.keys(steps).filter((s) => s.startsWith('cluster/'))) {
    const t = await read(step, 'summary.parquet');
    if (!t) continue;
    const rest = step.slice('cluster/'.length);
    const family = rest.startsWith('polca/') ? 'polca' : rest;
    families.push({
      family,
      vector: family === 'polca' ? Number(rest.slice('polca/'.length)) : -1,
      summary: Array.from({ length: t.skill.length }, (_, i) => summaryRow(t, i)),
    });
  }
  return claimChecks(families);
}
