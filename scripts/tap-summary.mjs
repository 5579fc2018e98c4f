// The counts at the end of node's TAP reporter output (`# pass N`, `# fail N`, …), and the plain
// final line `npm test` prints for CI.

/** @returns {{ tests: number, pass: number, fail: number, cancelled: number, skipped: number, todo: number } | undefined} */
export function parseTapSummary(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^# (tests|pass|fail|cancelled|skipped|todo) (\d+)\s*$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  if (out.pass === undefined || out.fail === undefined) return undefined;
  return { tests: 0, cancelled: 0, skipped: 0, todo: 0, ...out };
}

/** `N passed, N failed`; cancelled tests (a file that crashed or timed out) count as failed. */
export function summaryLine(s) {
  return `${s.pass} passed, ${s.fail + s.cancelled} failed`;
}
