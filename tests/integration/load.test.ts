/**
 * The experiment on a loaded machine: the `tiny` run, with `runtime.heartbeatSeconds` 10, while
 * busy-loop processes (2 per core) compete for every core. The numerics run in the workers'
 * compute threads, so the event loop that answers workflow tasks and sends heartbeats keeps up:
 * the workflow history, read with the Temporal client, has no workflow task timeout and no
 * activity attempt that failed or timed out on its heartbeat, and the run completes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { polcaJson, type RunJson, sandbox } from '../../bench/experiment.ts';
import { getTestServices, type TestServices } from '../helpers/services.ts';

const { temporal } = proto;
const HEARTBEAT = temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT;

/** Each burner stops by itself after this long, whatever happens to the test process. */
const BURN_SECONDS = 600;
const burners: ChildProcess[] = [];
let services: TestServices;

before(async () => {
  services = await getTestServices();
});
after(() => {
  for (const b of burners) if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL');
});

function burn(n: number): void {
  const code = `const end = Date.now() + ${BURN_SECONDS * 1000}; let x = 0; while (Date.now() < end) x++;`;
  for (let i = 0; i < n; i++) {
    const b = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
    b.unref();
    burners.push(b);
  }
}

test('tiny under 2 busy processes per core: no workflow task timeout, no heartbeat timeout, the run completes', {
  timeout: 15 * 60_000,
}, async (t) => {
  const cores = availableParallelism();
  const load0 = loadavg()[0];
  burn(2 * cores);
  const sb = sandbox(services.temporalAddress, 'load');
  const id = `load-${Date.now()}`;
  const t0 = Date.now();
  const run = await polcaJson<RunJson>(['run', '--preset', 'tiny', '--set', 'runtime.heartbeatSeconds=10', '--id', id], sb.env);
  const seconds = (Date.now() - t0) / 1000;
  t.diagnostic(
    `${2 * cores} burners on ${cores} cores; load ${load0.toFixed(1)} before, ${loadavg()[0].toFixed(1)} at the end; run ${seconds.toFixed(0)} s`,
  );
  assert.equal(run.workflowId, id);

  const connection = await Connection.connect({ address: services.temporalAddress });
  try {
    const client = new Client({ connection });
    const history = await client.workflow.getHandle(run.workflowId).fetchHistory();
    const events = history.events ?? [];
    assert.ok(events.length > 50, `a whole experiment's history (${events.length} events)`);
    assert.ok(events.at(-1)?.workflowExecutionCompletedEventAttributes, 'the workflow completed');

    const taskTimeouts = events.filter((e) => e.workflowTaskTimedOutEventAttributes);
    assert.equal(taskTimeouts.length, 0, `WorkflowTaskTimedOut events: ${taskTimeouts.map((e) => e.eventId).join(', ')}`);

    const scheduled = new Map<string, string>();
    for (const e of events) {
      const a = e.activityTaskScheduledEventAttributes;
      if (a) scheduled.set(String(e.eventId), `${a.activityType?.name} ${a.activityId}`);
    }
    const activityOf = (id: unknown) => scheduled.get(String(id)) ?? `scheduled event ${id}`;
    // A retried attempt names the failure of the attempt before it (ActivityTaskStarted.lastFailure);
    // a final failure or timeout is an event of its own.
    const heartbeatRetries = events
      .filter((e) => e.activityTaskStartedEventAttributes?.lastFailure?.timeoutFailureInfo?.timeoutType === HEARTBEAT)
      .map(
        (e) =>
          `${activityOf(e.activityTaskStartedEventAttributes?.scheduledEventId)} attempt ${e.activityTaskStartedEventAttributes?.attempt}`,
      );
    assert.deepEqual(heartbeatRetries, [], 'no activity attempt timed out on its heartbeat');
    const timedOut = events
      .filter((e) => e.activityTaskTimedOutEventAttributes)
      .map(
        (e) =>
          `${activityOf(e.activityTaskTimedOutEventAttributes?.scheduledEventId)}: ${e.activityTaskTimedOutEventAttributes?.failure?.message}`,
      );
    assert.deepEqual(timedOut, [], 'no ActivityTaskTimedOut');
    const failed = events
      .filter((e) => e.activityTaskFailedEventAttributes)
      .map(
        (e) =>
          `${activityOf(e.activityTaskFailedEventAttributes?.scheduledEventId)}: ${e.activityTaskFailedEventAttributes?.failure?.message}`,
      );
    assert.deepEqual(failed, [], 'no ActivityTaskFailed');
    const retried = events
      .filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)
      .map(
        (e) =>
          `${activityOf(e.activityTaskStartedEventAttributes?.scheduledEventId)}: ${e.activityTaskStartedEventAttributes?.lastFailure?.message}`,
      );
    t.diagnostic(`activities retried for other reasons: ${retried.length ? retried.join('; ') : 'none'}`);
  } finally {
    await connection.close();
  }
});
