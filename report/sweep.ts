/**
 * The report of a sweep: the paper's claims over seeds (report/sweep-claims.ts: per group of
 * non-seed parameters, each claim's AMI per seed, mean ± sd, against its shuffled baseline and
 * threshold), then one table row per grid point with its parameters, headline metrics
 * (report/metrics.ts `headlineMetrics`) and a relative link to the point's own report.
 */
import { fmt } from './build.ts';
import { MIN_AMI, MIN_COVERAGE, SIGMAS } from './claims.ts';
import { escapeHtml, page } from './html.ts';
import { type ClaimSpread, claimSpread, hasClaimMetrics } from './sweep-claims.ts';
import { hasTableMetrics, paperTableHtml } from './sweep-table.ts';
import { ablationSweepHtml, hasAblationMetrics } from './sweep-ablation.ts';

const CLAIM_TEXT: Record<string, string> = {
  'loss-digit': 'loss clusters follow the digit, not the carry (loss digit AMI)',
  'absdloss-value': '|ΔL| clusters follow the value within digits, not the carry (mean within-digit value AMI)',
  'polca-carry': 'some POLCA vector’s clusters follow the carry within hundreds or tens (best such AMI)',
};

function claimsTable(spread: ClaimSpread[]): string {
  const byGroup = new Map<string, ClaimSpread[]>();
  for (const c of spread) {
    const k = JSON.stringify(c.group);
    byGroup.set(k, [...(byGroup.get(k) ?? []), c]);
  }
  return [...byGroup.values()]
    .map((cs) => {
      const g = Object.entries(cs[0].group);
      const title = g.length ? g.map(([k, v]) => `${escapeHtml(k)} = ${escapeHtml(JSON.stringify(v))}`).join(', ') : 'all points';
      const seeds = cs[0].seeds;
      const head = `<tr><th>claim</th>${seeds.map((sd) => `<th>seed ${escapeHtml(String(sd))}: AMI (needs)</th>`).join('')}<th>mean</th><th>sd</th><th>shuffled AMI mean</th><th>mean threshold</th><th>reproduced</th></tr>`;
      const body = cs
        .map(
          (c) =>
            `<tr><td>${escapeHtml(CLAIM_TEXT[c.claim] ?? c.claim)}</td>${c.values
              .map((v, i) => `<td class="num">${fmt(v)} (${fmt(c.thresholds[i])})${c.reproduced[i] ? ' ✓' : ''}</td>`)
              .join(
                '',
              )}<td class="num">${fmt(c.mean)}</td><td class="num">${fmt(c.sd)}</td><td class="num">${fmt(c.shuffledMean)}</td><td class="num">${fmt(c.thresholdMean)}</td><td class="num">${c.held} of ${c.checked}</td></tr>`,
        )
        .join('');
      return `<h3>${title}</h3><table class="data">${head}${body}</table>`;
    })
    .join('');
}

export interface SweepRow {
  point: Record<string, unknown>;
  workflowId: string;
  /** Relative path of the point's index.html, as the sweep's folder lays it out. */
  reportPath?: string;
  metrics: Record<string, number>;
}

/** Preferred metric order; any other metric follows in alphabetical order. */
const METRIC_ORDER = [
  'final.loss',
  'final.accuracy',
  'final.exactMatch',
  'claims.held',
  'claims.checked',
  'ami.loss.digit',
  'ami.loss.carry',
  'ami.absdloss.value',
  'ami.absdloss.carry',
  'ami.polcaBest.carry',
  'ami.polcaBest.carry.vector',
  'capture.total',
  'capture.first',
  'capture.second',
  'capture.risingVectors',
  'capture.motionShare',
  'protocol.polca.homogeneity',
  'protocol.polca.recall',
  'protocol.polca.f1',
  'protocol.polca.hiddenFraction',
  'ablation.from',
  'ablation.directions',
  'ablation.delta.basis',
  'ablation.delta.random',
  'ablation.clusters',
  'ablation.hurtMoreThanOthers',
  'ablation.hurtMoreThanRandom',
  'ablation.hurtMoreThanBoth',
  'ablation.excessOthers',
  'ablation.excessRandom',
  'basis.vectors',
  'completeness.paper.median',
  'completeness.exact-curvature.median',
  'completeness.path.median',
];

function cell(v: unknown): string {
  if (v === undefined || v === null) return '<td class="num">–</td>';
  if (typeof v === 'number') return `<td class="num">${fmt(v)}</td>`;
  if (typeof v === 'string' || typeof v === 'boolean') return `<td>${escapeHtml(String(v))}</td>`;
  return `<td><code>${escapeHtml(JSON.stringify(v))}</code></td>`;
}

function union(keys: string[][]): string[] {
  const seen: string[] = [];
  for (const ks of keys) for (const k of ks) if (!seen.includes(k)) seen.push(k);
  return seen;
}

export function sweepHtml(rows: SweepRow[], title = 'POLCA sweep'): string {
  const params = union(rows.map((r) => Object.keys(r.point)));
  const metrics = union(rows.map((r) => Object.keys(r.metrics))).sort((a, b) => {
    const ia = METRIC_ORDER.indexOf(a);
    const ib = METRIC_ORDER.indexOf(b);
    return (ia < 0 ? 1e9 : ia) - (ib < 0 ? 1e9 : ib) || (a < b ? -1 : a > b ? 1 : 0);
  });
  const head = ['#', ...params, 'workflow', 'report', ...metrics].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((r, i) => {
      const link = r.reportPath ? `<td><a href="${escapeHtml(r.reportPath)}">report</a></td>` : '<td class="na">–</td>';
      return `<tr><td class="num">${i + 1}</td>${params.map((p) => cell(r.point[p])).join('')}<td><code>${escapeHtml(r.workflowId)}</code></td>${link}${metrics
        .map((m) => cell(r.metrics[m]))
        .join('')}</tr>`;
    })
    .join('');
  return page({
    title,
    header: `<h1>${escapeHtml(title)}</h1><p>${rows.length} grid point${rows.length === 1 ? '' : 's'}. Parameters are the config fields the sweep varied; metrics: final evaluation loss and accuracy, how many of the paper’s three findings hold, AMI of the clusterings with the skills (the best POLCA vector for each skill), the median completeness error per POLCA variant, and for an ablation (config <code>ablate</code>) the loss change over the rest of training with the basis vectors removed and with random directions removed, and how many clusters of POLCA along the removed vectors were hurt more than the other tokens, more than by the random directions, and both. Each report link opens that point’s full report.</p>`,
    sections: [
      ...(hasClaimMetrics(rows)
        ? [
            {
              id: 'claims',
              title: 'The paper’s claims over seeds',
              figures: [],
              intro: `<p>Per group of grid points that differ only in the seed: each claim’s deciding AMI (on clustered tokens) per seed with the threshold it had to pass (✓: reproduced in that run), the mean and sample sd over seeds, the mean AMI of the same rows with the skill shuffled, and in how many seeds the claim was reproduced. A run reproduces a claim when its clusters cover at least ${MIN_COVERAGE} of a scope’s tokens with an AMI of at least ${MIN_AMI} that also exceeds the shuffled mean + ${SIGMAS} sd (report/claims.ts).</p>${claimsTable(claimSpread(rows))}`,
            },
          ]
        : []),
      ...(hasTableMetrics(rows)
        ? [
            {
              id: 'table',
              title: 'The paper’s table, computed (published protocol, basis capture)',
              figures: [],
              intro: paperTableHtml(rows),
            },
          ]
        : []),
      ...(hasAblationMetrics(rows)
        ? [{ id: 'ablation', title: 'Does a direction matter? The ablations over seeds', figures: [], intro: ablationSweepHtml(rows) }]
        : []),
      {
        id: 'points',
        title: 'Grid points',
        figures: [],
        intro: `<div style="overflow-x:auto"><table class="data"><tr>${head}</tr>${body}</table></div>`,
      },
    ],
    withFigures: false,
  });
}

/** `index.html` of the sweep, as files to write or store. */
export function buildSweepReport(rows: SweepRow[], title?: string): Record<string, Uint8Array> {
  return { 'index.html': new Uint8Array(Buffer.from(sweepHtml(rows, title), 'utf8')) };
}
