/**
 * End to end through Temporal: wall time of a preset's whole experiment, of a fully cached rerun,
 * and of the POLCA fan-out (with clustering and the report after it) on one worker versus two.
 * Starts its own Temporal dev server on free ports with temporary data.
 *
 *   node --import tsx bench/e2e.ts [preset ...]     (default: tiny small)
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore, LocalBackend } from '../artifacts/index.ts';
import { freePort, startTemporal, stopPid } from '../services/manager.ts';
import { polcaJson, type RunJson, sandbox, start } from './experiment.ts';

const presets = process.argv.slice(2).length ? process.argv.slice(2) : ['tiny', 'small'];
const dir = mkdtempSync(join(tmpdir(), 'polca-bench-e2e-'));
const t = await startTemporal(join(dir, 'temporal'), await freePort(), await freePort());
const lines: string[] = [];
const say = (s: string) => {
  console.log(s);
  lines.push(s);
};
say(`# end to end (${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, ${new Date().toISOString().slice(0, 10)})`);
say('| preset | full run | cached rerun | POLCA fan-out + clustering + report, 1 worker | same, 2 workers | speed-up |');
say('|---|---|---|---|---|---|');

async function withWorkers<T>(sbEnv: NodeJS.ProcessEnv, n: number, f: () => Promise<T>): Promise<T> {
  const ws = Array.from({ length: n }, () => start(['worker'], sbEnv));
  try {
    return await f();
  } finally {
    for (const w of ws) w.child.kill('SIGTERM');
    await Promise.all(ws.map((w) => w.exited));
  }
}

/** A copy of the store with the POLCA fan-out and everything after it removed. */
async function upToBasis(from: string, to: string): Promise<void> {
  cpSync(from, to, { recursive: true });
  const store = new ArtifactStore(new LocalBackend(to));
  for (const m of await store.list()) if (['polca', 'trajectories', 'cluster', 'report'].includes(m.step)) await store.delete(m.key);
}

try {
  for (const preset of presets) {
    const sb = sandbox(t.address, `bench-${preset}`);
    const args = ['run', '--preset', preset, '--workers', '0'];
    const full = await withWorkers(sb.env, 2, () => polcaJson<RunJson>([...args, '--id', `bench-${preset}-full`], sb.env));
    const cached = await withWorkers(sb.env, 2, () => polcaJson<RunJson>([...args, '--id', `bench-${preset}-cached`], sb.env));
    const fan: number[] = [];
    for (const n of [1, 2]) {
      const sbn = sandbox(t.address, `bench-${preset}-fan${n}`);
      await upToBasis(sb.storeDir, sbn.storeDir);
      const r = await withWorkers(sbn.env, n, () => polcaJson<RunJson>([...args, '--id', `bench-${preset}-fan${n}`], sbn.env));
      fan.push(r.seconds);
      rmSync(sbn.home, { recursive: true, force: true });
    }
    say(
      `| ${preset} | ${full.seconds.toFixed(1)} s | ${cached.seconds.toFixed(1)} s | ${fan[0].toFixed(1)} s | ${fan[1].toFixed(1)} s | ${(fan[0] / fan[1]).toFixed(2)}x |`,
    );
    rmSync(sb.home, { recursive: true, force: true });
  }
} finally {
  await stopPid(t.proc.pid!, 'temporal');
  rmSync(dir, { recursive: true, force: true });
}
