/** The registry of tasks: `task.name` in the config → the task module (core/tasks/task.ts). */
import { arithmeticTask } from './arithmetic.ts';
import type { Task } from './task.ts';

export type { Sequences, SequenceShape, Task, TaskColumn, TaskData, TaskSettings } from './task.ts';
export { checkSequences, evalTokens, labelCodes, sliceSequences } from './task.ts';

export const TASKS = { arithmetic: arithmeticTask } as const;
export const TASK_NAMES = Object.keys(TASKS) as (keyof typeof TASKS)[];
export type TaskName = keyof typeof TASKS;
/** The task of a config without a `task` field. */
export const DEFAULT_TASK: TaskName = 'arithmetic';

export function getTask(name: string): Task {
  const t = (TASKS as Record<string, Task | undefined>)[name];
  if (!t) throw new Error(`task.name: unknown task ${JSON.stringify(name)}; allowed: ${TASK_NAMES.join(', ')}`);
  return t;
}
