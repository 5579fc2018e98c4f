/**
 * A fully cached rerun through `polca run`, against a real Temporal dev server: when the run record
 * exists for the workflow id, holds this config, every step's artifact passes the cache-hit check
 * and the workflow with that id has completed, the stored summary is printed (the same JSON shape,
 * every step `cached`) without starting a worker or a workflow, in under 2 s (wall clock scaled by
 * the machine's load when it is oversubscribed, and CPU time unscaled). With one manifest deleted
 * the rerun starts a worker and the step says `recomputed`; afterwards the shortcut applies again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { before, describe, test } from 'node:test';
import { ArtifactStore, LocalBackend } from '../../artifacts/index.ts';
import { polcaBin, polcaJson, type RunJson, root, type Sandbox, sandbox } from '../../bench/experiment.ts';
import { getTestServices } from '../helpers/services.ts';

interface Timed {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall clock, and the CPU time (user + system) of the command and its children, in seconds. */
  wall: number;
  cpu: number;
}

/** `polca ARGS` under bash's `time` (wall clock and CPU time of the whole process tree). */
function timedPolca(args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  const quoted = [process.execPath, polcaBin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('bash', ['-c', `TIMEFORMAT='@time %R %U %S'; time ${quoted}`], { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const m = /@time ([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
      assert.ok(m, `bash time line in ${stderr.slice(-500)}`);
      resolve({
        code,
        stdout,
        stderr: stderr.slice(0, m.index),
        wall: Number(m[1]),
        cpu: Number(m[2]) + Number(m[3]),
      });
    }),
  );
}

const STARTED_WORKER = /started \d+ worker\(s\)/;
const args = (id: string) => ['run', '--preset', 'tiny', '--set', 'runtime.heartbeatSeconds=30', '--id', id];

/** 2 s of wall clock, scaled by how oversubscribed the machine is (1-minute load average per core) when it is. */
function wallLimit(): { limit: number; why: string } {
  const load = loadavg()[0];
  const cores = availableParallelism();
  const factor = Math.max(1, load / cores);
  return { limit: 2 * factor, why: `load ${load.toFixed(1)} on ${cores} cores: 2 s × ${factor.toFixed(2)}` };
}

describe('a fully cached `polca run` starts nothing', { concurrency: false }, () => {
  let sb: Sandbox;
  let first: RunJson & Record<string, unknown>;
  const id = `cached-rerun-${Date.now()}`;

  before(async () => {
    const services = await getTestServices();
    sb = sandbox(services.temporalAddress, 'cached-rerun');
    first = await polcaJson<RunJson & Record<string, unknown>>(args(id), sb.env);
    assert.ok(
      first.steps.every((s) => !s.cached),
      'a fresh store computes every step',
    );
  });

  test('every step stored and the workflow completed: the stored summary, no worker, no new workflow run, under 2 s', async () => {
    const runs: Timed[] = [];
    for (let i = 0; i < 3; i++) runs.push(await timedPolca([...args(id), '--json'], sb.env));
    for (const r of runs) {
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, STARTED_WORKER, 'no worker started');
    }
    const again = JSON.parse(runs[0].stdout.trim().split('\n').pop()!) as RunJson & Record<string, unknown>;
    assert.deepEqual(Object.keys(again).sort(), Object.keys(first).sort(), 'the same JSON shape');
    assert.equal(again.workflowId, first.workflowId);
    assert.equal(again.runId, first.runId, 'no workflow run was started: the summary is the completed one');
    assert.equal(again.store, first.store);
    assert.equal(again.report, first.report);
    assert.deepEqual(again.metrics, first.metrics);
    assert.deepEqual(
      again.steps.map((s) => [s.name, s.key]),
      first.steps.map((s) => [s.name, s.key]),
    );
    for (const s of again.steps) {
      assert.equal(s.cached, true, `${s.name} cached`);
      assert.equal((s as { recomputed?: boolean }).recomputed, false);
      assert.equal(typeof s.seconds, 'number');
    }
    const best = runs.reduce((a, b) => (b.wall < a.wall ? b : a));
    const { limit, why } = wallLimit();
    console.log(
      `# cached rerun of tiny: best of 3 ${best.wall.toFixed(2)} s wall, ${best.cpu.toFixed(2)} s CPU (${why}; all: ${runs.map((r) => r.wall.toFixed(2)).join(', ')} s)`,
    );
    assert.ok(Math.min(...runs.map((r) => r.cpu)) < 2, `CPU time ${runs.map((r) => r.cpu.toFixed(2)).join(', ')} s`);
    assert.ok(best.wall < limit, `wall ${best.wall.toFixed(2)} s, allowed ${limit.toFixed(2)} s (${why})`);

    // the text summary too
    const text = await timedPolca(args(id), sb.env);
    assert.equal(text.code, 0, text.stderr);
    assert.doesNotMatch(text.stderr, STARTED_WORKER);
    assert.match(text.stderr, /nothing to run \(no worker started\)/);
    const n = first.steps.length;
    assert.match(text.stdout, new RegExp(`${id}: ${n} steps \\(0 computed, 0 recomputed, ${n} cached\\)`));
    assert.match(text.stdout, /exact-match accuracy/);
    assert.ok(text.stdout.includes(`report: ${first.report}`));
  });

  test('a manifest missing: the rerun starts a worker and recomputes that step; then the shortcut applies again', async () => {
    const store = new ArtifactStore(new LocalBackend(sb.storeDir));
    const victim = first.steps.find((s) => s.name === 'polca/1')!;
    await store.backend.deleteObject(`objects/${victim.key}/manifest.json`);
    const r = await timedPolca([...args(id), '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, STARTED_WORKER, 'a worker was started');
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as RunJson;
    assert.notEqual(out.runId, first.runId, 'a new workflow run');
    const step = out.steps.find((s) => s.name === 'polca/1') as unknown as { cached: boolean; recomputed: boolean };
    assert.deepEqual([step.cached, step.recomputed], [false, true]);
    assert.deepEqual(
      out.steps.filter((s) => !s.cached).map((s) => s.name),
      ['polca/1'],
    );
    assert.ok(await store.verify(victim.key));
    console.log(`# rerun with a manifest missing (worker started): ${r.wall.toFixed(2)} s wall, ${r.cpu.toFixed(2)} s CPU`);

    const after = await timedPolca([...args(id), '--json'], sb.env);
    assert.equal(after.code, 0, after.stderr);
    assert.doesNotMatch(after.stderr, STARTED_WORKER);
    const fast = JSON.parse(after.stdout.trim().split('\n').pop()!) as RunJson;
    assert.equal(fast.runId, out.runId, 'the summary of the run that repaired it');
    assert.ok(
      fast.steps.every((s) => s.cached),
      'every step cached',
    );
  });

  test('a changed file (same size) or a damaged run record: the workflow runs again', async () => {
    const store = new ArtifactStore(new LocalBackend(sb.storeDir));
    const victim = first.steps.find((s) => s.name === 'cluster/loss')!;
    const m = (await store.manifest(victim.key))!;
    const path = `objects/${victim.key}/${m.files[0].name}`;
    const data = (await store.backend.getObject(path))!;
    data[data.byteLength >> 1] ^= 0x20;
    await store.backend.putObject(path, data);
    const r = await timedPolca([...args(id), '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, STARTED_WORKER);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as RunJson;
    const step = out.steps.find((s) => s.name === 'cluster/loss') as unknown as { cached: boolean; recomputed: boolean };
    assert.deepEqual([step.cached, step.recomputed], [false, true]);

    // a run record that names another config is not this run's
    const record = (await store.getRun(id))!;
    await store.putRun(id, { ...record, config: { ...(record.config as object), seed: 12345 } });
    const other = await timedPolca([...args(id), '--json'], sb.env);
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stderr, STARTED_WORKER, 'the record disagrees with the config: the workflow runs');
    assert.ok((JSON.parse(other.stdout.trim().split('\n').pop()!) as RunJson).steps.every((s) => s.cached));
  });
});
