/**
 * The wiring workflow: one activity that writes an object to the artifact store and reads it
 * back. `polca doctor` and the integration tests run it on a fresh task queue to prove that a
 * worker, the Temporal server and the store work together.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { WiringActivities, WiringInput, WiringResult } from '../activities/wiring.ts';

const { wiringRoundTrip } = proxyActivities<WiringActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

export interface WiringWorkflowResult extends WiringResult {
  workflowId: string;
  taskQueue: string;
}

export async function wiringWorkflow(input: WiringInput): Promise<WiringWorkflowResult> {
  const r = await wiringRoundTrip(input);
  const info = workflowInfo();
  return { ...r, workflowId: info.workflowId, taskQueue: info.taskQueue };
}
