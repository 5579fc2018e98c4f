import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { runLocal } from '../../activities/local.ts';
import { decodeParquet, decodeSafetensors, openStore } from '../../artifacts/index.ts';
import { ConfigError, resolveConfig } from '../../config/index.ts';
import { initBackend } from '../../core/model/backend.ts';
import { checkpointIterations, describeSchedule, isCheckpoint } from '../../core/train/schedule.ts';
import { initTrainState, trainSegment } from '../../core/train/train.ts';
import { intervalCount, segmentIntervals } from '../../pipeline/plan.ts';

before(async () => {
  await initBackend();
});

test('uniform and dense schedules, by enumeration', () => {
  assert.deepEqual(checkpointIterations({ iterations: 40, checkpointEvery: 10 }), [0, 10, 20, 30, 40]);
  const dense = { iterations: 40, checkpointEvery: 10, denseCheckpoints: { every: 3, until: 13 } };
  assert.deepEqual(checkpointIterations(dense), [0, 3, 6, 9, 10, 12, 20, 30, 40]);
  for (let it = -2; it <= 42; it++) assert.equal(isCheckpoint(dense, it), checkpointIterations(dense).includes(it), `iteration ${it}`);
  assert.equal(describeSchedule(dense), 'every 3 up to iteration 13, then every 10');
  assert.equal(describeSchedule({ iterations: 40, checkpointEvery: 10 }), 'every 10');
});

test('a config without denseCheckpoints keeps the uniform schedule and its shape', () => {
  const c = resolveConfig({ preset: 'tiny' });
  assert.equal(c.train.denseCheckpoints, undefined);
  assert.equal(intervalCount(c), c.train.iterations / c.train.checkpointEvery);
  assert.deepEqual(segmentIntervals(c, 1), {
    first: c.basis.every / c.train.checkpointEvery,
    count: c.basis.every / c.train.checkpointEvery,
  });
  const d = resolveConfig({ preset: 'tiny', sets: ['train.denseCheckpoints={"every":2,"until":30}'] });
  // tiny: 120 iterations, a checkpoint every 10, basis every 40; dense: every 2 up to 30
  assert.equal(intervalCount(d), 15 + 9);
  assert.deepEqual(segmentIntervals(d, 0), { first: 0, count: 15 + 1 });
  assert.deepEqual(segmentIntervals(d, 1), { first: 16, count: 4 });
});

test('a bad dense schedule names the field and the allowed values', () => {
  const rejects = (set: string, ...fragments: string[]) =>
    assert.throws(
      () => resolveConfig({ preset: 'tiny', sets: [set] }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        for (const f of fragments) assert.ok(e.message.includes(f), `${JSON.stringify(e.message)} should mention ${f}`);
        return true;
      },
    );
  rejects('train.denseCheckpoints={"every":10,"until":30}', 'train.denseCheckpoints.every', 'smaller than train.checkpointEvery (10)');
  rejects('train.denseCheckpoints={"every":0,"until":30}', 'train.denseCheckpoints.every');
  rejects('train.denseCheckpoints={"every":2}', 'train.denseCheckpoints.until');
});

test('a dense schedule that reaches past the last iteration is dense to the end (a shortened run keeps its preset schedule)', () => {
  const c = resolveConfig({ preset: 'tiny', sets: ['train.denseCheckpoints={"every":5,"until":500}'] });
  const its = checkpointIterations(c.train);
  assert.equal(its.at(-1), c.train.iterations);
  assert.deepEqual(
    its,
    Array.from({ length: c.train.iterations / 5 + 1 }, (_, i) => i * 5),
  );
});

test('dense checkpoints leave training bit-identical: same parameters at the shared checkpoints', async () => {
  const c = resolveConfig({ preset: 'tiny' });
  const d = resolveConfig({ preset: 'tiny', sets: ['train.denseCheckpoints={"every":3,"until":20}'] });
  const a = await trainSegment(c, initTrainState(c), 40);
  const b = await trainSegment(d, initTrainState(d), 40);
  assert.deepEqual(
    b.checkpoints.map((x) => x.iteration),
    checkpointIterations(d.train).filter((it) => it <= 40),
  );
  for (const cp of a.checkpoints) {
    const other = b.checkpoints.find((x) => x.iteration === cp.iteration)!;
    assert.ok(Buffer.from(cp.params.buffer).equals(Buffer.from(other.params.buffer)), `iteration ${cp.iteration}`);
  }
  assert.ok(Buffer.from(a.state.m.buffer).equals(Buffer.from(b.state.m.buffer)));
  assert.deepEqual(a.trainLoss, b.trainLoss);
});

test('the whole DAG on a dense schedule: trajectories and POLCA intervals follow it', async () => {
  const d = resolveConfig({ preset: 'tiny', sets: ['train.denseCheckpoints={"every":2,"until":30}', 'cluster.families=["loss","polca"]'] });
  const store = openStore({ kind: 'local', dir: join(mkdtempSync(join(tmpdir(), 'polca-schedule-')), 'store') });
  const r = await runLocal(d, store, 'schedule-dense');
  const key = (name: string) => r.steps.find((s) => s.name === name)!.key;
  const read = async (name: string, file: string) => store.get(key(name), file);
  const its = checkpointIterations(d.train);
  const loss = await decodeParquet(await read('trajectories', 'loss.parquet'), ['token', 'checkpoint', 'iteration']);
  const tok0 = [...(loss.iteration as Int32Array)].filter((_, i) => (loss.token as Int32Array)[i] === 0);
  assert.deepEqual(tok0, its);
  const T = its.length - 1;
  const { tensors } = decodeSafetensors(await read('trajectories', 'polca.safetensors'));
  assert.deepEqual(tensors.vector_0000.shape, [d.data.evalSize * 4, T]);
  // POLCA chunk 0 holds the dense intervals, chunk 1 the uniform ones
  const p0 = await decodeParquet(await read('polca/0', 'polca.parquet'), ['interval']);
  assert.deepEqual(
    [...new Set(p0.interval as Int32Array)].sort((a, b) => a - b),
    Array.from({ length: 16 }, (_, i) => i),
  );
  const curves = await decodeParquet(await read('cluster/loss', 'curves.parquet'), ['checkpoint']);
  assert.equal(Math.max(...(curves.checkpoint as Int32Array)), T);
});
