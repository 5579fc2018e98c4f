/**
 * Per-token trajectories over checkpoints (method notes, "Trajectories and clustering"):
 *   loss      ℓ_x(θ_t), t = 0..T               (T+1 points)
 *   dloss     ΔL_x(t) = ℓ_x(θ_{t+1}) − ℓ_x(θ_t) (T points)
 *   absdloss  |ΔL_x(t)|                        (T points)
 *   polca     POLCA(x, b, t) for one basis vector b (T points)
 * Each family is clustered separately; POLCA rows come from the POLCA step, one n×T block per
 * basis vector, and take the same scalings. Checks: ragged input, non-finite values and fewer
 * checkpoints than a family needs throw an Error naming the token and checkpoint.
 * The scalings applied before clustering (config `cluster.scaling`, default none):
 *   none          the raw values;
 *   zscore-token  each token's trajectory minus its mean, divided by its standard deviation
 *                 (a constant trajectory becomes all zeros);
 *   unit-norm     each trajectory divided by its Euclidean norm (a zero trajectory stays zero).
 */
export type Scaling = 'none' | 'zscore-token' | 'unit-norm';

function checkRows(rows: ArrayLike<number>[], what: string, minLength: number): number {
  const T = rows[0]?.length ?? 0;
  rows.forEach((r, x) => {
    if (r.length !== T) throw new Error(`${what}: token ${x} has ${r.length} values, token 0 has ${T}`);
    for (let t = 0; t < T; t++)
      if (!Number.isFinite(r[t])) throw new Error(`${what}: token ${x} has a non-finite value ${r[t]} at checkpoint ${t}`);
  });
  if (rows.length > 0 && T < minLength) throw new Error(`${what}: needs at least ${minLength} checkpoint(s) per token; got ${T}`);
  return T;
}

/** losses[t][x] (checkpoint-major) → one row per token. No checkpoints → no tokens. */
export function lossTrajectories(losses: ArrayLike<number>[]): Float64Array[] {
  const T1 = losses.length;
  const n = losses[0]?.length ?? 0;
  losses.forEach((l, t) => {
    if (l.length !== n) throw new Error(`lossTrajectories: checkpoint ${t} has ${l.length} token losses, checkpoint 0 has ${n}`);
  });
  const rows = Array.from({ length: n }, (_, x) => Float64Array.from({ length: T1 }, (_, t) => losses[t][x]));
  checkRows(rows, 'lossTrajectories', 1);
  return rows;
}

/** ΔL (or |ΔL| with abs) between consecutive checkpoints: T+1 losses → T changes (needs T ≥ 1). */
export function deltaTrajectories(loss: Float64Array[], abs = false): Float64Array[] {
  checkRows(loss, 'deltaTrajectories', 2);
  return loss.map((row) =>
    Float64Array.from({ length: row.length - 1 }, (_, t) => (abs ? Math.abs(row[t + 1] - row[t]) : row[t + 1] - row[t])),
  );
}

/** Scales each token's row on its own (see the header); 'none' returns the rows unchanged. */
export function scale(rows: Float64Array[], how: Scaling): Float64Array[] {
  if (how !== 'none' && how !== 'zscore-token' && how !== 'unit-norm') throw new Error(`scale: unknown scaling ${String(how)}`);
  checkRows(rows, 'scale', 0);
  if (how === 'none') return rows;
  return rows.map((r) => {
    const out = new Float64Array(r.length);
    if (how === 'zscore-token') {
      const mean = r.reduce((s, v) => s + v, 0) / r.length;
      const sd = Math.sqrt(r.reduce((s, v) => s + (v - mean) ** 2, 0) / r.length);
      if (sd > 0) for (let i = 0; i < r.length; i++) out[i] = (r[i] - mean) / sd;
    } else {
      const nrm = Math.sqrt(r.reduce((s, v) => s + v * v, 0));
      if (nrm > 0) for (let i = 0; i < r.length; i++) out[i] = r[i] / nrm;
    }
    return out;
  });
}

/**
 * Mean and population standard deviation (÷ size) per checkpoint index for each cluster label,
 * outliers (−1) included as their own group, sorted by label then checkpoint.
 */
export function clusterCurves(rows: Float64Array[], labels: ArrayLike<number>) {
  if (rows.length !== labels.length) throw new Error(`clusterCurves: ${rows.length} rows but ${labels.length} labels`);
  checkRows(rows, 'clusterCurves', 0);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const g = groups.get(labels[i]) ?? [];
    g.push(i);
    groups.set(labels[i], g);
  }
  const out: { cluster: number; checkpoint: number; mean: number; std: number; size: number }[] = [];
  const T = rows[0]?.length ?? 0;
  for (const [cluster, members] of [...groups.entries()].sort((a, b) => a[0] - b[0])) {
    for (let t = 0; t < T; t++) {
      let s = 0;
      for (const i of members) s += rows[i][t];
      const mean = s / members.length;
      let v = 0;
      for (const i of members) v += (rows[i][t] - mean) ** 2;
      out.push({ cluster, checkpoint: t, mean, std: Math.sqrt(v / members.length), size: members.length });
    }
  }
  return out;
}
