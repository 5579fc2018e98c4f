import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scopedSkillTable } from '../../core/tasks/arithmetic/scopes.ts';
import { type ClaimFamily, claimChecks, follows, MIN_COVERAGE } from '../../report/claims.ts';
import { evalTokens } from '../helpers/tokens.ts';

const tok = evalTokens(500);
const n = tok.digit.length;
const family = (name: string, vector: number, label: (i: number) => number): ClaimFamily => ({
  family: name,
  vector,
  summary: scopedSkillTable(
    Int32Array.from({ length: n }, (_, i) => label(i)),
    tok,
    20,
    0,
  ),
});
/** Loss clusters by digit, |ΔL| clusters by digit (no value within digits). */
const lossByDigit = family('loss', -1, (i) => tok.digit[i]);
const absdByDigit = family('absdloss', -1, (i) => tok.digit[i]);
const claim = (fs: ClaimFamily[], id: string) => claimChecks(fs).find((c) => c.id === id)!;

test('clusters of thousands tokens only, split by value, are not a carry finding', () => {
  // the artifact of the default run: every clustered token is a thousands token, split 0/1
  const polca = family('polca', 0, (i) => (tok.digit[i] === 0 ? tok.value[i] : -1));
  const all = polca.summary.find((r) => r.scope === 'all' && r.skill === 'carry')!;
  assert.ok(all.ami > 0.9, `the trap: carry AMI on clustered tokens ${all.ami}`);
  assert.ok(all.coverage < 0.3);
  const c = claim([lossByDigit, absdByDigit, polca], 'polca-carry');
  assert.equal(c.holds, false);
  assert.equal(c.verdict, 'not reproduced');
  assert.match(c.measured, /0 of 1 vectors follow carry/);
  // neither does covering more tokens with outliers-free thousands clusters help
  const thousands = polca.summary.find((r) => r.scope === 'thousands' && r.skill === 'carry')!;
  assert.equal(thousands.coincidesWith, 'value');
});

test('clusters that split carry within the hundreds and tens are a carry finding', () => {
  const polca = family('polca', 3, (i) =>
    tok.digit[i] === 1 || tok.digit[i] === 2 ? 2 * tok.digit[i] + tok.carry[i] : tok.digit[i] === 0 ? 0 : 1,
  );
  const c = claim([lossByDigit, absdByDigit, polca], 'polca-carry');
  assert.equal(c.holds, true);
  assert.equal(c.verdict, 'reproduced');
  assert.match(c.measured, /1 of 1 vectors follow carry; best b3: (hundreds|tens) AMI 1\.00/);
  assert.ok(Math.abs(c.metric - 1) < 1e-12);
});

test('a perfect carry split on too few tokens does not count (coverage)', () => {
  // carry clusters on 10 % of the hundreds and tens tokens, the rest outliers
  const polca = family('polca', 1, (i) =>
    (tok.digit[i] === 1 || tok.digit[i] === 2) && i % 40 < 4 ? 2 * tok.digit[i] + tok.carry[i] : -1,
  );
  const rows = polca.summary.filter((r) => r.skill === 'carry' && (r.scope === 'hundreds' || r.scope === 'tens'));
  for (const r of rows) {
    assert.ok(r.coverage < MIN_COVERAGE && r.ami > 0.999, `${r.scope}: coverage ${r.coverage}, ami ${r.ami}`);
    assert.equal(follows(r), false);
  }
  assert.equal(claim([polca], 'polca-carry').verdict, 'not reproduced');
});

test('loss: digit clusters reproduce the claim; clusters that also split carry do not', () => {
  assert.equal(claim([lossByDigit], 'loss-digit').verdict, 'reproduced');
  const lossCarry = family('loss', -1, (i) => 2 * tok.digit[i] + tok.carry[i]);
  const c = claim([lossCarry], 'loss-digit');
  assert.equal(c.verdict, 'not reproduced');
  assert.match(c.measured, /carry within hundreds AMI 1\.00/);
});

test('|ΔL|: value must be followed within digit positions, not only across them', () => {
  // digit clusters: value AMI over all tokens is above 0 (the thousands digit holds 0/1 only) …
  const allValue = absdByDigit.summary.find((r) => r.scope === 'all' && r.skill === 'value')!;
  assert.ok(allValue.ami > 0.05, `value AMI over all tokens ${allValue.ami}`);
  // … but within digits there is none: not reproduced
  assert.equal(claim([absdByDigit], 'absdloss-value').verdict, 'not reproduced');
  const byValue = family('absdloss', -1, (i) => 10 * tok.digit[i] + tok.value[i]);
  const c = claim([byValue], 'absdloss-value');
  assert.equal(c.verdict, 'reproduced');
  assert.match(c.measured, /value followed in 3 of 3 digit positions/);
});

test('a claim whose clusterings are missing is not checked', () => {
  const checks = claimChecks([]);
  assert.deepEqual(
    checks.map((c) => c.verdict),
    ['not checked', 'not checked', 'not checked'],
  );
});
