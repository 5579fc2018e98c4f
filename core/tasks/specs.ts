/**
 * The registry of task specs (core/tasks/task.ts `TaskSpec`): `task.name` → schema, shape and
 * skill names. Pure, for config validation and workflow code; core/tasks/index.ts has the tasks
 * with their data.
 */
import { arithmeticTask } from './arithmetic/task.ts';
import { englishSpec } from './english/spec.ts';
import type { TaskReadings, TaskSpec } from './task.ts';

export const TASK_SPECS = { arithmetic: arithmeticTask, english: englishSpec } as const;
export const TASK_NAMES = Object.keys(TASK_SPECS) as (keyof typeof TASK_SPECS)[];
export type TaskName = keyof typeof TASK_SPECS;
/** The task of a config without a `task` field. */
export const DEFAULT_TASK: TaskName = 'arithmetic';

export function getTaskSpec(name: string): TaskSpec {
  const t = (TASK_SPECS as unknown as Record<string, TaskSpec | undefined>)[name];
  if (!t) throw new Error(`task.name: unknown task ${JSON.stringify(name)}; allowed: ${TASK_NAMES.join(', ')}`);
  return t;
}

/** What a config's task reads of its clusterings (TaskReadings): the one way the plan, the steps and the report ask. */
export function taskReads(c: { task?: { name: string } }): TaskReadings {
  return getTaskSpec(c.task?.name ?? DEFAULT_TASK).reads;
}
