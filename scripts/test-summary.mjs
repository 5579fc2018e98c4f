// The counts in the summary that node's spec reporter prints at the end of a run (`ℹ pass N`,
// `ℹ fail N`, …), and the plain final line `npm test` prints for CI.

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes
const ANSI = /\x1b\[[0-9;]*m/g;
const COUNT = /^ℹ (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)\s*$/;

/**
 * Counts from the last summary in spec reporter output; undefined when there is none.
 * @returns {{ tests: number, pass: number, fail: number, cancelled: number, skipped: number, todo: number } | undefined}
 */
export function parseSpecSummary(text) {
  let out = {};
  let seen = false;
  for (const raw of text.split('\n')) {
    const m = COUNT.exec(raw.replace(ANSI, ''));
    if (!m) continue;
    if (m[1] === 'tests') out = {}; // a new summary starts
    out[m[1]] = Number(m[2]);
    seen = true;
  }
  if (!seen || out.pass === undefined || out.fail === undefined) return undefined;
  return { tests: 0, cancelled: 0, skipped: 0, todo: 0, ...out };
}

/** `N passed, N failed`; cancelled tests (a file that crashed or timed out) count as failed. */
export function summaryLine(s) {
  return `${s.pass} passed, ${s.fail + s.cancelled} failed`;
}

/** Two runs' counts added up. */
export function addSummaries(a, b) {
  const out = { ...a };
  for (const k of Object.keys(b)) out[k] = (a[k] ?? 0) + b[k];
  return out;
}
