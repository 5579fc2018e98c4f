import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../../config/index.ts';
import { initBackend } from '../../core/backend.ts';
import { initTrainState, trainSegment } from '../../core/train.ts';

before(async () => {
  await initBackend('wasm');
});

const config = resolveConfig({ preset: 'tiny' });
const mean = (a: Float32Array) => a.reduce((s, x) => s + x, 0) / a.length;

test('tiny training lowers the evaluation loss and keeps the tensor count flat', async () => {
  const before = tf.memory().numTensors;
  const r = await trainSegment(config, initTrainState(config), 80);
  assert.equal(r.checkpoints.length, 80 / config.train.checkpointEvery + 1);
  const first = mean(r.evalRows[0].loss);
  const last = mean(r.evalRows.at(-1)!.loss);
  assert.ok(last < 0.8 * first, `loss ${first} → ${last}`);
  assert.equal(tf.memory().numTensors, before);
});

test('the same seed gives bit-identical checkpoints', async () => {
  const a = await trainSegment(config, initTrainState(config), 20);
  const b = await trainSegment(config, initTrainState(config), 20);
  assert.deepEqual(a.state.params, b.state.params);
  const c = await trainSegment({ ...config, seed: 1 }, initTrainState({ ...config, seed: 1 }), 20);
  assert.notDeepEqual(a.state.params, c.state.params);
});

test('segments run one by one in separate processes give the bytes of one continuous run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'polca-resume-'));
  const child = (from: string, until: number, out: string) =>
    JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../helpers/train-child.ts'), from, String(until), out], {
        encoding: 'utf8',
      }).trim().split('\n').at(-1)!,
    ) as [number, string][];
  const whole = child('-', 60, join(dir, 'whole.json'));
  const a = child('-', 20, join(dir, 's1.json'));
  const b = child(join(dir, 's1.json'), 40, join(dir, 's2.json'));
  const c = child(join(dir, 's2.json'), 60, join(dir, 's3.json'));
  assert.deepEqual([...a, ...b, ...c], whole);
});
