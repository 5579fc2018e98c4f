/**
 * A long-running worker must not leak: running the experiment's steps again and again in one
 * process leaves TF.js with the same number of tensors and bytes, and the resident set stops growing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { runLocal } from '../../activities/local.ts';
import { ArtifactStore, LocalBackend } from '../../artifacts/index.ts';
import { resolveConfig } from '../../config/index.ts';
import { initBackend } from '../../core/model/backend.ts';

const dir = mkdtempSync(join(tmpdir(), 'polca-memory-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('every step of repeated runs in one process leaves TF.js memory where it was and RSS flat', { timeout: 600_000 }, async (t) => {
  await initBackend();
  // A smaller tiny: 2 segments, fewer tokens, so that several whole runs stay quick.
  const config = (seed: number) =>
    resolveConfig({
      preset: 'tiny',
      sets: [`seed=${seed}`, 'train.iterations=80', 'data.evalSize=60', 'cluster.families=["loss","polca"]'],
    });
  const rss: number[] = [];
  let before = tf.memory();
  for (let seed = 0; seed < 4; seed++) {
    // A fresh store each time: every step computes.
    const store = new ArtifactStore(new LocalBackend(join(dir, `store-${seed}`)));
    const r = await runLocal(config(seed), store, `memory-${seed}`);
    assert.ok(r.steps.every((s) => !s.cached));
    const now = tf.memory();
    assert.equal(now.numTensors, before.numTensors, `run ${seed}: tensors ${before.numTensors} → ${now.numTensors}`);
    assert.equal(now.numBytes, before.numBytes, `run ${seed}: bytes ${before.numBytes} → ${now.numBytes}`);
    before = now;
    (globalThis as { gc?: () => void }).gc?.();
    rss.push(process.memoryUsage().rss / 2 ** 20);
  }
  // The first run warms caches (wasm heap, compiled kernels); after it the resident set stays flat.
  const growth = rss[3] - rss[1];
  t.diagnostic(`RSS after each run: ${rss.map((x) => x.toFixed(0)).join(', ')} MB; TF.js tensors ${before.numTensors}`);
  assert.ok(growth < 64, `RSS after runs 2..4: ${rss.map((x) => x.toFixed(0)).join(', ')} MB (growth ${growth.toFixed(0)} MB)`);
});
