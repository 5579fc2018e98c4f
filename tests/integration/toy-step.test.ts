/**
 * A step added through the registry alone (tests/helpers/toy-steps.ts) runs in process (the
 * in-process runner's calls derived from the registry) and on Temporal (the activities and the
 * compute threads derived from it, the threads loading the registry module the pool names), with
 * the same key, and the stored artifact holds what the step computed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createStepActivities } from '../../activities/index.ts';
import { localActivities } from '../../activities/local.ts';
import type { StepContext } from '../../activities/steps/context.ts';
import { ArtifactStore, LocalBackend, stepKey } from '../../artifacts/index.ts';
import { ComputePool } from '../../compute/pool.ts';
import { connectionOptions } from '../../services/connection.ts';
import { getTestServices, type TestServices } from '../helpers/services.ts';
import { STEPS } from '../helpers/toy-steps.ts';

let services: TestServices;
const dir = mkdtempSync(join(tmpdir(), 'polca-toy-step-'));
before(async () => {
  services = await getTestServices();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const text = async (store: ArtifactStore, key: string) => new TextDecoder().decode(await store.get(key, 'reversed.txt'));
const expectedKey = (word: string) => stepKey({ step: 'toy', version: '1', params: { word }, inputs: {} });

test('a toy step registered alone runs in process', async () => {
  const store = new ArtifactStore(new LocalBackend(join(dir, 'local')));
  const names: string[] = [];
  const ctx = (name: string): StepContext => ({ store, heartbeat: () => names.push(name), owner: `toy-${name}` });
  const acts = localActivities(STEPS, ctx);
  const r = await acts.toy('polca');
  assert.equal(r.name, 'toy/polca');
  assert.equal(r.key, expectedKey('polca'));
  assert.equal(r.cached, false);
  assert.deepEqual(r.meta?.length, 5);
  assert.equal(await text(store, r.key), 'aclop');
  assert.deepEqual(names, ['toy/polca'], 'the context was made for the invocation the registry names');
  const again = await acts.toy('polca');
  assert.equal(again.cached, true);
  assert.equal(again.key, r.key);
});

test('the same toy step runs on Temporal, in a compute thread that loads the registry module', { timeout: 180_000 }, async () => {
  const { NativeConnection, Worker, Runtime, DefaultLogger } = await import('@temporalio/worker');
  const { Client, Connection } = await import('@temporalio/client');
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // a runtime already exists in this process
  }
  const storeOptions = { kind: 'local' as const, dir: join(dir, 'temporal') };
  const pool = new ComputePool(storeOptions, 1, 1000, new URL('../helpers/toy-steps.ts', import.meta.url));
  const native = await NativeConnection.connect(connectionOptions(services.temporalAddress));
  const connection = await Connection.connect(connectionOptions(services.temporalAddress));
  const taskQueue = `polca-toy-${Date.now().toString(36)}`;
  try {
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('../helpers/toy-workflow.ts', import.meta.url)),
      activities: createStepActivities(pool, STEPS),
    });
    const client = new Client({ connection });
    const r = await worker.runUntil(
      client.workflow.execute('toyWorkflow', {
        taskQueue,
        workflowId: `toy-${taskQueue}`,
        args: ['temporal'],
        workflowExecutionTimeout: 120_000,
      }),
    );
    assert.equal(r.name, 'toy/temporal');
    assert.equal(r.key, expectedKey('temporal'));
    assert.equal(r.cached, false);
    const store = new ArtifactStore(new LocalBackend(storeOptions.dir));
    assert.equal(await text(store, r.key), 'laropmet');
  } finally {
    await connection.close();
    await native.close();
    await pool.close();
  }
});
