/**
 * The line a failed workflow is reported with: the innermost cause of the failure (the activity's
 * own message: a step's error, a store fault with what to do) and the step it came from, instead
 * of the client's `Workflow execution failed`.
 */
import { ActivityFailure, ChildWorkflowFailure, type TemporalFailure, WorkflowFailedError } from '@temporalio/client';

/** `<step> failed: <innermost message>` for a failed workflow; undefined for any other error. */
export function workflowFailureLine(e: unknown): string | undefined {
  if (!(e instanceof WorkflowFailedError)) return undefined;
  let step: string | undefined;
  let child: string | undefined;
  let cur: unknown = e.cause;
  let last: Error | undefined;
  for (let depth = 0; cur instanceof Error && depth < 16; depth++) {
    if (cur instanceof ActivityFailure) step = cur.activityType;
    else if (cur instanceof ChildWorkflowFailure) child = cur.execution?.workflowId ?? undefined;
    else last = cur;
    cur = (cur as TemporalFailure).cause;
  }
  if (!last?.message) return undefined;
  const where = [child && `run ${child}`, step && `step ${step}`].filter(Boolean).join(', ');
  return `${where ? `${where} failed: ` : ''}${last.message}`;
}
