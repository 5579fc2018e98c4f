/**
 * `polca cancel <workflowId>`: end a workflow on the server — an experiment or a sweep, for
 * instance one left running by an interrupted `polca run`. With a worker serving the task queue the
 * workflow is asked to cancel (its running steps are cancelled); with none it is terminated, since
 * nothing would act on the request. Every step already stored stays in the store.
 */
import type { Command } from 'commander';
import { connectTemporal, queueHasWorker } from './temporal.ts';

async function cancelCommand(workflowId: string, opts: { json?: boolean }): Promise<void> {
  const t = await connectTemporal({ startLocal: false });
  try {
    const handle = t.client.workflow.getHandle(workflowId);
    const desc = await handle.describe();
    let action: 'cancelled' | 'terminated' | 'none' = 'none';
    if (desc.status.name === 'RUNNING') {
      if (await queueHasWorker(t)) {
        await handle.cancel();
        action = 'cancelled';
      } else {
        await handle.terminate('polca cancel (no worker serves the task queue)');
        action = 'terminated';
      }
    }
    const status = (await handle.describe()).status.name;
    if (opts.json) console.log(JSON.stringify({ workflowId, action, status }));
    else if (action === 'none') console.log(`${workflowId} is not running (${status}): nothing to cancel`);
    else
      console.log(
        `${workflowId}: ${action === 'cancelled' ? 'cancellation requested (a worker serves the queue)' : 'terminated (no worker serves the queue)'}; every step already stored stays in the store`,
      );
  } finally {
    await t.connection.close();
  }
}

export function register(program: Command): void {
  program
    .command('cancel')
    .description('End a running workflow on the server (cancel it, or terminate it when no worker serves the queue); stored steps are kept')
    .argument('<workflowId>')
    .option('--json', 'print JSON: workflowId, action, status')
    .action(cancelCommand);
}
