/**
 * The experiment as a durable Temporal workflow, against a real Temporal dev server and MinIO:
 * end to end on the local store and on MinIO, cached reruns, a clustering-only change, kill -9
 * of workers during training and during the POLCA fan-out, two workers sharing a run, a sweep
 * that trains each seed once, and `temporal workflow start` with a good and a bad input.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ArtifactStore, LocalBackend } from '../../artifacts/index.ts';
import { S3Backend } from '../../artifacts/s3.ts';
import { BINARIES, findBinary } from '../../services/binaries.ts';
import {
  killHard,
  polca,
  polcaJson,
  type Proc,
  type RunJson,
  type Sandbox,
  sandbox,
  start,
  storeDigest,
  waitUntil,
} from '../../bench/experiment.ts';
import { getTestServices, s3Env, type TestServices } from '../helpers/services.ts';

// A short heartbeat timeout so that a killed worker's activity is retried within seconds.
const FAST = ['--preset', 'tiny', '--set', 'runtime.heartbeatSeconds=4'];
const localStore = (sb: Sandbox) => new ArtifactStore(new LocalBackend(sb.storeDir));

let services: TestServices;
let reference: { sb: Sandbox; run: RunJson; digest: Map<string, string> };
const workers: Proc[] = [];

before(async () => {
  services = await getTestServices();
});
after(async () => {
  for (const w of workers) if (w.child.exitCode === null) await killHard(w);
});

function startWorker(sb: Sandbox): Proc {
  const w = start(['worker'], sb.env);
  workers.push(w);
  return w;
}

describe('polcaExperiment', { concurrency: false }, () => {
  test('the tiny experiment end to end on the local store, through `polca run`', async () => {
    const sb = sandbox(services.temporalAddress, 'e2e');
    const run = await polcaJson<RunJson>(['run', ...FAST, '--id', `e2e-${Date.now()}`], sb.env);
    const names = run.steps.map((s) => s.name);
    for (const n of [
      'data',
      'train/0',
      'train/2',
      'basis/2',
      'polca/0',
      'polca/2',
      'trajectories',
      'cluster/loss',
      'cluster/absdloss',
      'cluster/polca/2',
      'report',
    ]) {
      assert.ok(names.includes(n), `step ${n} in ${names.join(', ')}`);
    }
    assert.deepEqual(
      run.steps.filter((s) => s.cached).map((s) => s.name),
      [],
      'a fresh store computes every step',
    );
    assert.ok(existsSync(run.report), `report at ${run.report}`);
    const store = localStore(sb);
    const record = await store.getRun(run.workflowId);
    assert.ok(record, 'the run record is stored under the workflow id');
    assert.deepEqual(Object.keys(record.steps).sort(), names.sort());
    assert.equal((record.metrics as Record<string, unknown>).accuracy, run.metrics.accuracy);
    assert.equal((run.metrics.eigenvalues as number[]).length, 3);
    for (const s of run.steps) assert.ok(await store.verify(s.key), `artifact ${s.key} verifies`);
    reference = { sb, run, digest: await storeDigest(store) };
  });

  test('a rerun of the same config runs no computing activity; a clustering change recomputes only clustering and the report', async () => {
    const { sb } = reference;
    const again = await polcaJson<RunJson>(['run', ...FAST, '--id', `rerun-${Date.now()}`], sb.env);
    assert.deepEqual(
      again.steps.filter((s) => !s.cached).map((s) => s.name),
      [],
      'every step cached',
    );
    assert.deepEqual(
      again.steps.map((s) => [s.name, s.key]),
      reference.run.steps.map((s) => [s.name, s.key]),
    );
    assert.ok(again.seconds < 30, `a cached rerun takes seconds (took ${again.seconds} s)`);
    const status = await polcaJson<{ status: string; report: string; progress: Record<string, { done: number; total: number }> }>(
      ['status', again.workflowId],
      sb.env,
    );
    assert.equal(status.status, 'COMPLETED');
    assert.equal(status.report, again.report);
    assert.deepEqual(status.progress.polca, { ...status.progress.polca, done: 3, total: 3 });
    const changed = await polcaJson<RunJson>(['run', ...FAST, '--set', 'cluster.minClusterSize=12', '--id', `mcs-${Date.now()}`], sb.env);
    const computed = changed.steps.filter((s) => !s.cached).map((s) => s.name.split('/')[0]);
    assert.deepEqual([...new Set(computed)].sort(), ['cluster', 'report']);
    assert.equal(computed.filter((s) => s === 'cluster').length, changed.steps.filter((s) => s.name.startsWith('cluster/')).length);
  });

  test('kill -9 of the worker during training and again during the POLCA fan-out: new workers finish with the same bytes', async () => {
    const sb = sandbox(services.temporalAddress, 'crash');
    const scratchDir = join(sb.storeDir, 'scratch');
    const hasPartial = () =>
      existsSync(scratchDir) && readdirSync(scratchDir).some((k) => existsSync(join(scratchDir, k, 'partial.safetensors')));
    const locks = () => (existsSync(join(sb.storeDir, 'locks')) ? readdirSync(join(sb.storeDir, 'locks')) : []);
    const w1 = startWorker(sb);
    const run = start(['run', ...FAST, '--workers', '0', '--json', '--id', `crash-${Date.now()}`], sb.env);
    workers.push(run); // stopped by the after hook if this test fails
    // Mid-segment: a checkpoint of a training segment has been made durable, the segment is not done.
    await waitUntil('a training checkpoint in scratch', hasPartial, 120_000, 5);
    await killHard(w1);
    const w2 = startWorker(sb);
    await waitUntil('a POLCA activity holding its lease', () => locks().some((l) => l.startsWith('polca-')), 180_000, 5);
    await killHard(w2);
    startWorker(sb);
    const code = await run.exited;
    assert.equal(code, 0, run.stderr());
    const result = JSON.parse(run.stdout().trim().split('\n').pop()!) as RunJson;
    assert.deepEqual(
      result.steps.map((s) => [s.name, s.key]),
      reference.run.steps.map((s) => [s.name, s.key]),
      'the same keys as an uninterrupted run',
    );
    const store = localStore(sb);
    const digest = await storeDigest(store);
    for (const [key, files] of digest) assert.equal(files, reference.digest.get(key), `artifact ${key} has the same bytes`);
    const resumed = (await store.list()).filter(
      (m) => m.step === 'train' && (m.meta as Record<string, unknown>)?.resumedFrom !== undefined,
    );
    assert.ok(resumed.length >= 1, 'a training segment resumed from its last heartbeated checkpoint');
    // (a writer killed mid-write may leave a `.tmp-` file, which no reader lists)
    assert.deepEqual(await store.backend.list('locks/'), [], 'no lease left behind');
  });

  test('two worker processes share one run and give the same result as one', async () => {
    const sb = sandbox(services.temporalAddress, 'two');
    startWorker(sb);
    startWorker(sb);
    const run = await polcaJson<RunJson>(['run', ...FAST, '--workers', '0', '--id', `two-${Date.now()}`], sb.env);
    assert.deepEqual(
      run.steps.map((s) => [s.name, s.key]),
      reference.run.steps.map((s) => [s.name, s.key]),
    );
    const store = localStore(sb);
    const manifests = await store.list();
    const byWorker = new Set(manifests.map((m) => (m.meta as Record<string, unknown>)?.worker));
    assert.equal(byWorker.size, 2, `activities ran on ${[...byWorker].join(', ')}`);
    const digest = await storeDigest(store);
    for (const [key, files] of digest) assert.equal(files, reference.digest.get(key), `artifact ${key} has the same bytes`);
  });

  test('the tiny experiment on MinIO gives the same artifacts as on the local store', async () => {
    const prefix = `wf-${Date.now()}`;
    const sb = sandbox(services.temporalAddress, 'minio', s3Env(services, prefix));
    const run = await polcaJson<RunJson>(['run', ...FAST, '--id', `minio-${Date.now()}`], sb.env);
    assert.match(run.store, /^s3:\/\//);
    const prev = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = services.s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = services.s3.secretAccessKey;
    try {
      const store = new ArtifactStore(new S3Backend({ bucket: services.s3.bucket, endpoint: services.s3.endpoint, prefix }));
      const digest = await storeDigest(store);
      assert.equal(digest.size, reference.digest.size);
      for (const [key, files] of digest) assert.equal(files, reference.digest.get(key), `artifact ${key} has the same bytes`);
      assert.ok(await store.getRun(run.workflowId));
      // The credentials live in the workers' environment only: not in the workflow history, not in any manifest.
      const temporal = findBinary(BINARIES.temporal)!;
      const { spawnSync } = await import('node:child_process');
      const shown = spawnSync(
        temporal,
        ['workflow', 'show', '--workflow-id', run.workflowId, '--output', 'json', '--address', services.temporalAddress],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(shown.status, 0, shown.stderr);
      assert.ok(shown.stdout.includes('polcaExperiment'), 'the history was read');
      assert.ok(!shown.stdout.includes(services.s3.secretAccessKey), 'the S3 secret is not in the workflow history');
      for (const m of await store.list()) assert.ok(!JSON.stringify(m).includes(services.s3.secretAccessKey), `manifest ${m.key}`);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = prev.id;
      process.env.AWS_SECRET_ACCESS_KEY = prev.secret;
    }
  });

  test('a sweep over two seeds and two clustering settings trains twice, not four times', async () => {
    const sb = sandbox(services.temporalAddress, 'sweep');
    const { writeFileSync } = await import('node:fs');
    const grid = join(sb.home, 'grid.json');
    writeFileSync(grid, JSON.stringify({ base: { preset: 'tiny' }, grid: { seed: [0, 1], 'cluster.minClusterSize': [10, 14] } }));
    const r = await polcaJson<{
      points: { point: Record<string, unknown>; trained: number; workflowId: string; metrics: Record<string, number> }[];
      report?: string;
    }>(
      ['sweep', '--grid', grid, '--parallel', '4', '--workers', '2', '--id', `sweep-${Date.now()}`, '--out', join(sb.home, 'sweep-report')],
      { ...sb.env },
    );
    assert.equal(r.points.length, 4);
    assert.ok(r.report && existsSync(r.report), 'the sweep report is written');
    for (const p of r.points) assert.ok(Number.isFinite(p.metrics['final.accuracy']), `headline metrics of ${p.workflowId}`);
    const trained = r.points.reduce((a, p) => a + p.trained, 0);
    assert.equal(trained, 2 * 3, `training segments computed across the sweep: ${trained} (2 seeds × 3 segments)`);
    const store = localStore(sb);
    const trainArtifacts = (await store.list()).filter((m) => m.step === 'train');
    assert.equal(trainArtifacts.length, 6);
    assert.equal((await store.list()).filter((m) => m.step === 'cluster').length, 4 * 6);
  });

  test('`temporal workflow start` runs the experiment against a worker, and a bad input fails at once naming the field', async () => {
    const { sb } = reference;
    startWorker(sb);
    const temporal = findBinary(BINARIES.temporal)!;
    const { spawnSync } = await import('node:child_process');
    const cli = (args: string[]) =>
      spawnSync(temporal, [...args, '--address', services.temporalAddress], { encoding: 'utf8', timeout: 180_000 });
    const good = `tw-good-${Date.now()}`;
    const startExperiment = (workflowId: string, input: string) =>
      cli(['workflow', 'start', '--task-queue', sb.taskQueue, '--type', 'polcaExperiment', '--workflow-id', workflowId, '--input', input]);
    let r = startExperiment(good, '{"preset":"tiny","runtime":{"heartbeatSeconds":4}}');
    assert.equal(r.status, 0, r.stderr);
    r = cli(['workflow', 'result', '--workflow-id', good, '--output', 'json']);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const result = JSON.parse(r.stdout);
    assert.match(JSON.stringify(result), /"report":"report-[0-9a-f]{40}"/);
    const bad = `tw-bad-${Date.now()}`;
    r = startExperiment(bad, '{"preset":"tiny","model":{"nHeads":3}}');
    assert.equal(r.status, 0, r.stderr);
    const t0 = Date.now();
    r = cli(['workflow', 'result', '--workflow-id', bad]);
    assert.notEqual(r.status, 0);
    assert.match(`${r.stdout}${r.stderr}`, /model\.nHeads/);
    assert.ok(Date.now() - t0 < 30_000, 'a bad input fails at once, without retries');
  });

  test('bad config on the command line is rejected before anything starts', async () => {
    const sb = sandbox('127.0.0.1:1', 'badcfg');
    const r = await polca(['run', '--preset', 'tiny', '--set', 'model.nHeads=3'], sb.env);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /model\.nHeads/);
    assert.doesNotMatch(r.stderr, /connect|ECONNREFUSED/i);
    const schema = await polca(['config', 'schema'], sb.env);
    assert.equal(schema.code, 0, schema.stderr);
    const json = JSON.parse(schema.stdout);
    assert.ok(json.properties.train.properties.lr, 'the JSON Schema describes train.lr');
    const r2 = await polca(['run', '--preset', 'huge'], sb.env);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /preset.*tiny, small, medium, paper, iclr/);
  });
});
