/**
 * The checkpoint schedule: at which iterations the parameters and the per-token evaluation loss
 * are recorded. Checkpoint t (0 = initialisation) is the t-th of these iterations in ascending
 * order, and POLCA interval t runs from checkpoint t to t+1.
 *
 * Uniform: every multiple of `checkpointEvery` in [0, iterations]. With `denseCheckpoints
 * {every, until}` also every multiple of `denseCheckpoints.every` in [0, until], so that the
 * early iterations, where the loss moves most, are resolved finely and the rest stays sparse.
 * Without `denseCheckpoints` the schedule is the uniform one, so older configs mean the same.
 * Every multiple of `checkpointEvery` is a checkpoint in both cases: segment and basis
 * boundaries (multiples of basis.every, itself a multiple of checkpointEvery) always are.
 */
export interface ScheduleConfig {
  iterations: number;
  checkpointEvery: number;
  denseCheckpoints?: { every: number; until: number };
}

/** The checkpoint iterations in ascending order, 0 and `iterations` included. */
export function checkpointIterations(t: ScheduleConfig): number[] {
  const its = new Set<number>();
  for (let i = 0; i <= t.iterations; i += t.checkpointEvery) its.add(i);
  const d = t.denseCheckpoints;
  if (d) for (let i = 0; i <= Math.min(d.until, t.iterations); i += d.every) its.add(i);
  return [...its].sort((a, b) => a - b);
}

/** Whether iteration `it` is a checkpoint of the schedule. */
export function isCheckpoint(t: ScheduleConfig, it: number): boolean {
  if (it % t.checkpointEvery === 0) return it >= 0 && it <= t.iterations;
  const d = t.denseCheckpoints;
  return d !== undefined && it >= 0 && it <= Math.min(d.until, t.iterations) && it % d.every === 0;
}

/** Index of each checkpoint iteration in the schedule (checkpoint number). */
export function checkpointIndex(its: number[]): Map<number, number> {
  return new Map(its.map((it, t) => [it, t]));
}

/** A one-line description: "every 20" or "every 2 up to 200, then every 20". */
export function describeSchedule(t: ScheduleConfig): string {
  const d = t.denseCheckpoints;
  return d ? `every ${d.every} up to iteration ${d.until}, then every ${t.checkpointEvery}` : `every ${t.checkpointEvery}`;
}
