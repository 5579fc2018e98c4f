/**
 * The arithmetic task's reading of a clustering: its skills (digit, carry, value) over all tokens,
 * and carry and value within each digit place (a skill constant within a place is left out, and
 * one that groups the place's tokens as another does says so), rows of core/cluster/skill-scopes.ts.
 */
import { isConstant, pick, samePartition, type ScopedSkillRow, skillRow } from '../../cluster/skill-scopes.ts';
import { DIGIT_PLACES, type DigitPlace, digitOf } from './digits.ts';

export const SCOPES = ['all', ...DIGIT_PLACES] as const;
export type Scope = (typeof SCOPES)[number];
/** Digit position of each per-digit scope (./digits.ts). */
export const SCOPE_DIGIT: Record<DigitPlace, number> = Object.fromEntries(DIGIT_PLACES.map((p) => [p, digitOf(p)])) as Record<
  DigitPlace,
  number
>;

export interface TokenSkillColumns {
  digit: ArrayLike<number>;
  carry: ArrayLike<number>;
  value: ArrayLike<number>;
}

/** Every row of the skill table (core/cluster/skill-scopes.ts) for one clustering, over all tokens and within each digit place (labels: −1 = outlier). */
export function scopedSkillTable(labels: ArrayLike<number>, skills: TokenSkillColumns, shuffles: number, seed: number): ScopedSkillRow[] {
  const n = labels.length;
  for (const k of ['digit', 'carry', 'value'] as const)
    if (skills[k].length !== n) throw new Error(`scopedSkillTable: skill ${k} has ${skills[k].length} values for ${n} labels`);
  const all = Array.from({ length: n }, (_, i) => i);
  const out: ScopedSkillRow[] = [];
  const L = pick(labels, all);
  for (const skill of ['digit', 'carry', 'value'] as const)
    out.push(skillRow('all', skill, '', L, pick(skills[skill], all), shuffles, seed));
  for (const scope of SCOPES) {
    if (scope === 'all') continue;
    const idx = all.filter((i) => skills.digit[i] === SCOPE_DIGIT[scope]);
    if (idx.length === 0) continue;
    const sub = { carry: pick(skills.carry, idx), value: pick(skills.value, idx) };
    for (const skill of ['carry', 'value'] as const) {
      if (isConstant(sub[skill])) continue;
      const other = skill === 'carry' ? 'value' : 'carry';
      const coincides = !isConstant(sub[other]) && samePartition(sub[skill], sub[other]) ? other : '';
      out.push(skillRow(scope, skill, coincides, pick(labels, idx), sub[skill], shuffles, seed));
    }
  }
  return out;
}
