/** A workflow that calls the toy step of tests/helpers/toy-steps.ts, typed by that registry. */
import { proxyActivities } from '@temporalio/workflow';
import type { RegistryActivities } from '../../activities/steps/define.ts';
import type { StepResult } from '../../pipeline/contract.ts';
import type { STEPS } from './toy-steps.ts';

const { toy } = proxyActivities<RegistryActivities<typeof STEPS>>({ startToCloseTimeout: '1 minute', heartbeatTimeout: '30s' });

export async function toyWorkflow(word: string): Promise<StepResult> {
  return toy(word);
}
