/** The registry of tasks: `task.name` in the config → the task module (core/tasks/task.ts). */
import { arithmeticTask } from './arithmetic/task.ts';
import { englishTask } from './english/task.ts';
import { TASK_NAMES } from './specs.ts';
import type { Task } from './task.ts';

export type { Sequences, SequenceShape, Task, TaskColumn, TaskData, TaskSettings, TaskSpec } from './task.ts';
export { checkSequences, evalTokens, labelCodes, sliceSequences } from './task.ts';
export { DEFAULT_TASK, getTaskSpec, TASK_NAMES, type TaskName } from './specs.ts';

export const TASKS = { arithmetic: arithmeticTask, english: englishTask } as const;

export function getTask(name: string): Task {
  const t = (TASKS as unknown as Record<string, Task | undefined>)[name];
  if (!t) throw new Error(`task.name: unknown task ${JSON.stringify(name)}; allowed: ${TASK_NAMES.join(', ')}`);
  return t;
}
