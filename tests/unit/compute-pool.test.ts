/**
 * The compute pool (compute/pool.ts) without Temporal: a step runs in a worker thread while the
 * caller's thread heartbeats on a timer with the latest progress; aborting the step terminates
 * its thread within seconds (no core kept busy afterwards, the pool still usable); the error
 * classes that decide retries survive the thread boundary.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BadInputError, InputIntegrityError, type Progress } from '../../activities/steps/context.ts';
import { ComputePool, rebuildError } from '../../compute/pool.ts';
import { serializeError } from '../../compute/task.ts';
import { ConfigError, resolveConfig } from '../../config/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};

// One segment of 20 000 iterations with a checkpoint only at its ends: minutes of computing
// during which the compute side posts no progress after the first checkpoint.
const long = resolveConfig({
  config: {
    preset: 'tiny',
    runtime: { backend: 'wasm' },
    train: { iterations: 20_000, checkpointEvery: 20_000 },
    basis: { every: 20_000 },
  },
});

const BEAT_MS = 100;
let pool: ComputePool;
let dataKey: string;
/** Aborts whatever step a failed test left running, so that the file ends. */
const leftRunning = new AbortController();

before(async () => {
  pool = new ComputePool({ kind: 'local', dir: mkdtempSync(join(tmpdir(), 'polca-pool-')) }, 1, BEAT_MS);
  dataKey = (await pool.run('data', [long], { owner: 'pool-test/data', onProgress: () => undefined })).key;
});
after(async () => {
  leftRunning.abort();
  await pool.close();
});

describe('ComputePool', { concurrency: false }, () => {
  test('heartbeats repeat on the timer while the compute side is silent; an abort stops the step and its thread within seconds', async (t) => {
    const beats: { at: number; p: Progress }[] = [];
    const ac = new AbortController();
    leftRunning.signal.addEventListener('abort', () => ac.abort());
    const running = pool.run('train', [long, 0, { data: dataKey }], {
      owner: 'pool-test/train',
      onProgress: (p) => beats.push({ at: Date.now(), p }),
      signal: ac.signal,
    });
    running.catch(() => undefined);
    // The first checkpoint (iteration 0) is posted by the compute side, then it trains silently.
    await waitFor(() => beats.some((b) => b.p.iteration === 0), 120_000);
    const firstTrain = beats.findIndex((b) => b.p.iteration === 0);
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    await sleep(2000);
    const busy = cpuSeconds(cpu0);
    const silent = beats.slice(firstTrain);
    // Every beat after the first checkpoint repeats the very progress object the compute side posted.
    assert.ok(
      silent.every((b) => b.p === silent[0].p),
      `no new progress from the compute side: ${JSON.stringify(silent.map((b) => b.p))}`,
    );
    const expected = (Date.now() - t0) / BEAT_MS;
    assert.ok(silent.length >= expected / 3, `${silent.length} heartbeats in ${Date.now() - t0} ms (timer every ${BEAT_MS} ms)`);
    assert.equal(pool.size, 1, 'one thread computing');

    const tAbort = Date.now();
    ac.abort();
    await assert.rejects(running, (e: Error) => /abort/i.test(`${e.name} ${e.message}`));
    const rejectMs = Date.now() - tAbort;
    assert.ok(rejectMs < 5000, `rejected ${rejectMs} ms after the abort`);
    const beatsAtReject = beats.length;
    await waitFor(() => pool.size === 0, 5000);
    const cpu1 = process.cpuUsage();
    await sleep(2000);
    const idle = cpuSeconds(cpu1);
    assert.equal(beats.length, beatsAtReject, 'no heartbeat after the step ended');
    // While training, this process used `busy` CPU seconds in 2 s (a share of a core on a loaded
    // machine); with the thread gone it must use far less.
    assert.ok(idle < Math.max(0.1, busy / 3), `CPU in 2 s: ${busy.toFixed(2)} s while training, ${idle.toFixed(2)} s after the abort`);
    t.diagnostic(`rejected ${rejectMs} ms after the abort; CPU in 2 s: ${busy.toFixed(2)} s training, ${idle.toFixed(2)} s after`);
    // The pool replaces the terminated thread on the next task.
    const again = await pool.run('data', [long], { owner: 'pool-test/data', onProgress: () => undefined });
    assert.equal(again.key, dataKey);
    assert.ok(again.cached);
  });

  test('close() ends a running step at once', async () => {
    const own = new ComputePool({ kind: 'local', dir: mkdtempSync(join(tmpdir(), 'polca-pool-close-')) }, 1, BEAT_MS);
    const data = await own.run('data', [long], { owner: 'pool-test/close-data', onProgress: () => undefined });
    let training = false;
    const running = own.run('train', [long, 0, { data: data.key }], {
      owner: 'pool-test/close-train',
      onProgress: (p) => {
        if (p.iteration === 0) training = true;
      },
    });
    running.catch(() => undefined);
    await waitFor(() => training, 120_000);
    const t0 = Date.now();
    await own.close();
    const ms = Date.now() - t0;
    await assert.rejects(running);
    assert.ok(ms < 5000, `closed in ${ms} ms`);
    assert.equal(own.size, 0);
  });

  test('a missing input crosses the thread boundary as InputIntegrityError with its key', async () => {
    const missing = 'train-0000000000000000000000000000000000000000';
    await assert.rejects(
      pool.run('basis', [long, 0, { data: dataKey, train: missing }], { owner: 'pool-test/basis', onProgress: () => undefined }),
      (e: Error) => {
        assert.ok(e instanceof InputIntegrityError, `${e.name}: ${e.message}`);
        assert.equal(e.key, missing);
        assert.match(e.message, new RegExp(missing));
        return true;
      },
    );
  });

  test('the error classes that decide retries are rebuilt from their serialized form', () => {
    const cases: [Error, new (...a: never[]) => Error][] = [
      [new InputIntegrityError('input x failed', 'basis-abc'), InputIntegrityError],
      [new BadInputError('cluster.target: unknown'), BadInputError],
      [new ConfigError('invalid config: model.nHeads'), ConfigError],
    ];
    for (const [e, cls] of cases) {
      const back = rebuildError(structuredClone(serializeError(e)));
      assert.ok(back instanceof cls, `${e.name} rebuilt as ${back.constructor.name}`);
      assert.equal(back.name, e.name);
      assert.equal(back.message, e.message);
      assert.equal(back.stack, e.stack);
    }
    assert.equal((rebuildError(serializeError(cases[0][0])) as InputIntegrityError).key, 'basis-abc');
    const other = rebuildError(serializeError(new RangeError('out of range')));
    assert.equal(other.name, 'RangeError');
    assert.ok(!(other instanceof InputIntegrityError || other instanceof BadInputError || other instanceof ConfigError));
    assert.equal(serializeError('thrown string').message, 'thrown string');
  });
});

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}
