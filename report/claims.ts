/**
 * The paper's three findings (method notes, "The finding to reproduce") checked on a run's
 * clusterings, with a decision rule that coverage and coinciding skills cannot fool.
 *
 * A clustering *follows* a skill on a scope (core/cluster/skill-scopes.ts: all tokens, or one digit
 * position) when all three hold:
 *  - coverage ≥ MIN_COVERAGE: at least that share of the scope's tokens is clustered;
 *  - ami ≥ MIN_AMI: the adjusted mutual information on the clustered tokens is an effect, not a
 *    rounding of zero;
 *  - ami > amiShuffledMean + SIGMAS · amiShuffledSd: it is beyond what the same clusters reach
 *    with the skill shuffled among their tokens.
 * Carry is read only where it is informative: within a digit position where it is neither
 * constant nor the same partition as the value (the hundreds and tens; `coincidesWith` empty).
 * Value is read within digit positions too, where it is not the carry (all tokens mix the digit
 * into the value: the thousands digit only takes 0 and 1).
 *
 *  1. loss clusters follow the digit, not the carry: loss follows digit on `all`, and follows
 *     carry on no informative scope;
 *  2. |ΔL| clusters follow the value, not the carry: |ΔL| follows value on at least half of the
 *     informative value scopes, and carry on none;
 *  3. the clusters of some POLCA basis vector follow the carry: some vector follows carry on
 *     some informative scope.
 * A check whose clustering is absent is "not checked"; otherwise it is "reproduced" or
 * "not reproduced", with the numbers that decided it. Each check also gives one number for
 * tables over runs (`metric`, with `shuffled` and `threshold` from the same rows): 1. the loss
 * digit AMI; 2. the mean of |ΔL|'s value AMIs over the informative value rows; 3. the AMI of the
 * quoted POLCA carry row (the best following one, else the best with enough coverage).
 */
import type { ScopedSkillRow } from '../core/cluster/skill-scopes.ts';

export const MIN_COVERAGE = 0.2;
export const MIN_AMI = 0.1;
export const SIGMAS = 3;

/** The summary rows a claim check reads (core/cluster/skill-scopes.ts ScopedSkillRow, names as strings). */
export type SummaryRow = Pick<
  ScopedSkillRow,
  'coincidesWith' | 'coverage' | 'ami' | 'amiWithOutliers' | 'amiShuffledMean' | 'amiShuffledSd'
> & {
  scope: string;
  skill: string;
};

export interface ClaimFamily {
  family: string;
  vector: number;
  summary: SummaryRow[];
}

export type ClaimId = 'loss-digit' | 'absdloss-value' | 'polca-carry';

export interface ClaimCheck {
  id: ClaimId;
  statement: string;
  measured: string;
  /** undefined when the run lacks the clusterings the check needs. */
  holds: boolean | undefined;
  verdict: 'reproduced' | 'not reproduced' | 'not checked';
  /** The deciding number (AMI on clustered tokens), its shuffled-label mean, and the threshold it had to pass. */
  metric: number;
  shuffled: number;
  threshold: number;
}

export const CLAIM_IDS: ClaimId[] = ['loss-digit', 'absdloss-value', 'polca-carry'];

/** The AMI a row has to exceed: max(MIN_AMI, shuffled mean + SIGMAS·sd); NaN without clustered tokens. */
export function threshold(r: SummaryRow): number {
  const chance = r.amiShuffledMean + SIGMAS * r.amiShuffledSd;
  return Number.isFinite(chance) ? Math.max(MIN_AMI, chance) : Number.NaN;
}

export function follows(r: SummaryRow | undefined): boolean {
  if (!r) return false;
  const t = threshold(r);
  return (
    Number.isFinite(r.coverage) &&
    r.coverage >= MIN_COVERAGE &&
    Number.isFinite(r.ami) &&
    Number.isFinite(t) &&
    r.ami >= MIN_AMI &&
    r.ami > t
  );
}

/** Within-digit rows where the skill is informative (not constant, not another skill). */
export function informative(f: ClaimFamily, skill: 'carry' | 'value'): SummaryRow[] {
  return f.summary.filter((r) => r.scope !== 'all' && r.skill === skill && r.coincidesWith === '');
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');
export function describe(r: SummaryRow | undefined): string {
  if (!r) return 'n/a';
  return `${r.scope === 'all' ? 'all tokens' : r.scope} AMI ${fmt(r.ami)} (needs > ${fmt(threshold(r))}; coverage ${fmt(r.coverage)}, with outliers ${fmt(r.amiWithOutliers)})`;
}

const verdictOf = (h: boolean | undefined): ClaimCheck['verdict'] =>
  h === undefined ? 'not checked' : h ? 'reproduced' : 'not reproduced';

/** The row to quote: the best-followed one, else the best with enough coverage, else the best AMI. */
function best(rows: SummaryRow[]): SummaryRow | undefined {
  const top = (rs: SummaryRow[]) => rs.filter((r) => Number.isFinite(r.ami)).sort((x, y) => y.ami - x.ami)[0];
  return top(rows.filter(follows)) ?? top(rows.filter((r) => r.coverage >= MIN_COVERAGE)) ?? top(rows);
}

function carryPart(f: ClaimFamily): { any: boolean; text: string } {
  const rows = informative(f, 'carry');
  return {
    any: rows.some(follows),
    text: rows.length ? `carry within ${rows.map((r) => describe(r)).join('; ')}` : 'no informative carry scope',
  };
}

export function claimChecks(families: ClaimFamily[]): ClaimCheck[] {
  const fam = (name: string) => families.find((f) => f.family === name);
  const out: ClaimCheck[] = [];

  const loss = fam('loss');
  {
    const digit = loss?.summary.find((r) => r.scope === 'all' && r.skill === 'digit');
    const carry = loss ? carryPart(loss) : undefined;
    const holds = loss && digit && carry ? follows(digit) && !carry.any : undefined;
    out.push({
      id: 'loss-digit',
      statement: 'Loss clusters follow the digit, not the carry.',
      measured: loss && digit && carry ? `digit: ${describe(digit)}; ${carry.text}` : 'no loss clustering',
      holds,
      verdict: verdictOf(holds),
      metric: digit?.ami ?? Number.NaN,
      shuffled: digit?.amiShuffledMean ?? Number.NaN,
      threshold: digit ? threshold(digit) : Number.NaN,
    });
  }

  const absd = fam('absdloss');
  {
    const values = absd ? informative(absd, 'value') : [];
    const carry = absd ? carryPart(absd) : undefined;
    const k = values.filter(follows).length;
    const holds = absd && values.length && carry ? k * 2 >= values.length && !carry.any : undefined;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    out.push({
      id: 'absdloss-value',
      statement: '|ΔL| clusters follow the value (within digit positions), not the carry.',
      measured:
        absd && carry
          ? `value followed in ${k} of ${values.length} digit positions: ${values.map((r) => describe(r)).join('; ')}; ${carry.text}`
          : 'no |ΔL| clustering',
      holds,
      verdict: verdictOf(holds),
      metric: values.length ? mean(values.map((r) => r.ami)) : Number.NaN,
      shuffled: values.length ? mean(values.map((r) => r.amiShuffledMean)) : Number.NaN,
      threshold: values.length ? mean(values.map(threshold)) : Number.NaN,
    });
  }

  const polca = families.filter((f) => f.family === 'polca');
  {
    const rows = polca.flatMap((f) => informative(f, 'carry').map((r) => ({ f, r })));
    const top = best(rows.map((x) => x.r));
    const at = rows.find((x) => x.r === top);
    const n = polca.filter((f) => informative(f, 'carry').some(follows)).length;
    const holds = polca.length ? n > 0 : undefined;
    const ref = ['loss', 'absdloss']
      .map((name) => fam(name))
      .filter((f): f is ClaimFamily => f !== undefined)
      .map((f) => `${f.family === 'loss' ? 'loss' : '|ΔL|'} best ${describe(best(informative(f, 'carry')))}`);
    out.push({
      id: 'polca-carry',
      statement: 'The clusters of some POLCA basis vector follow the carry (within the hundreds or tens).',
      measured: polca.length
        ? `${n} of ${polca.length} vectors follow carry; best b${at?.f.vector ?? '?'}: ${describe(top)}${ref.length ? `; for comparison ${ref.join(', ')}` : ''}`
        : 'no POLCA clusterings',
      holds,
      verdict: verdictOf(holds),
      metric: top?.ami ?? Number.NaN,
      shuffled: top?.amiShuffledMean ?? Number.NaN,
      threshold: top ? threshold(top) : Number.NaN,
    });
  }
  return out;
}
